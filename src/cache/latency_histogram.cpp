// Latency histogram of a cache tier.

#include <algorithm>

#include <fmt/format.h>

#include "cache/latency_histogram.hpp"

namespace artistry::cache {

void LatencyHistogram::observe(double seconds) {
    const auto i = static_cast<std::size_t>(
        std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin());
    const std::lock_guard lock(mutex_);
    ++counts_[i];
    ++count_;
    sum_ += seconds;
}

double LatencyHistogram::quantile(double q) const {
    const std::lock_guard lock(mutex_);
    if (count_ == 0) return 0;
    const double target = q * static_cast<double>(count_);
    double seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        const double n = static_cast<double>(counts_[i]);
        if (n > 0 && seen + n >= target) {
            if (i == bounds.size()) return bounds.back();
            const double lo = i == 0 ? 0 : bounds[i - 1];
            return lo + (bounds[i] - lo) * std::clamp((target - seen) / n, 0.0, 1.0);
        }
        seen += n;
    }
    return bounds.back();
}

double LatencyHistogram::sum() const {
    const std::lock_guard lock(mutex_);
    return sum_;
}

std::uint64_t LatencyHistogram::count() const {
    const std::lock_guard lock(mutex_);
    return count_;
}

void LatencyHistogram::write(std::string& out, const std::string& name,
                             const std::string& labels) const {
    const std::lock_guard lock(mutex_);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += counts_[i];
        out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, bounds[i], cumulative);
    }
    out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, count_);
    out += fmt::format("{}_sum{{{}}} {}\n", name, labels, sum_);
    out += fmt::format("{}_count{{{}}} {}\n", name, labels, count_);
}

}  // namespace artistry::cache
