// Throughput learning and a run's fraction/ETA (progress.hpp).

#include "graph/progress.hpp"

#include <algorithm>

namespace artistry::graph {

ThroughputTable::ThroughputTable(double default_mps)
    : default_mps_(default_mps > 0 ? default_mps : 20.0) {}

double ThroughputTable::get(const std::string& op, double prior) const {
    std::lock_guard lock(mutex_);
    const auto it = rates_.find(op);
    if (it != rates_.end()) return it->second;
    return prior > 0 ? prior : default_mps_;
}

double model_node_prior_mps(double megapixels) {
    constexpr double inference_seconds = 3.0;
    constexpr double around_mps = 4.0;  // decode, resize, refinement at full resolution
    const double mp = std::max(megapixels, 1e-6);
    return mp / (inference_seconds + mp / around_mps);
}

void ThroughputTable::record(const std::string& op, double megapixels, double seconds) {
    if (megapixels <= 0 || seconds <= 0) return;
    const double measured = megapixels / seconds;
    std::lock_guard lock(mutex_);
    const auto [it, first] = rates_.emplace(op, measured);
    if (!first) it->second += smoothing * (measured - it->second);
}

RunProgress::RunProgress(std::vector<std::vector<int>> inputs, std::vector<int> order,
                         std::vector<bool> needed, std::vector<double> megapixels,
                         std::vector<double> rate_mps, int parallel)
    : inputs_(std::move(inputs)),
      order_(std::move(order)),
      needed_(std::move(needed)),
      megapixels_(std::move(megapixels)),
      rate_(std::move(rate_mps)),
      done_(needed_.size(), 0.0),
      parallel_(std::max(1, parallel)) {}

void RunProgress::set_megapixels(int node, double megapixels) {
    megapixels_[node] = megapixels;
}

void RunProgress::set_done(int node, double fraction) {
    done_[node] = std::clamp(fraction, done_[node], 1.0);
}

double RunProgress::expected_seconds(int node) const {
    return megapixels_[node] / std::max(rate_[node], 1e-9);
}

double RunProgress::fraction() const {
    double total = 0;
    double done = 0;
    for (int n : order_) {
        if (!needed_[n]) continue;
        const double w = expected_seconds(n);
        total += w;
        done += w * done_[n];
    }
    return total > 0 ? done / total : 1.0;
}

double RunProgress::eta_seconds() const {
    std::vector<double> finish(needed_.size(), 0.0);
    double longest = 0;
    double remaining = 0;
    for (int n : order_) {
        if (!needed_[n]) continue;
        const double left = expected_seconds(n) * (1.0 - done_[n]);
        double start = 0;
        for (int in : inputs_[n]) start = std::max(start, finish[in]);
        finish[n] = start + left;
        longest = std::max(longest, finish[n]);
        remaining += left;
    }
    return std::max(longest, remaining / parallel_);
}

}  // namespace artistry::graph
