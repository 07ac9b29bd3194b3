#pragma once
// Hit latencies of one tier: Prometheus buckets from 1 µs to 10 s, and quantile estimates
// interpolated within a bucket. Thread-safe.

#include <array>
#include <cstdint>
#include <mutex>
#include <string>

namespace artistry::cache {

class LatencyHistogram {
  public:
    static constexpr std::array<double, 22> bounds = {
        1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
        5e-3, 1e-2,   2.5e-2, 5e-2, 0.1,    0.25, 0.5,  1.0,    2.5,  5.0,  10.0};

    void observe(double seconds);
    double quantile(double q) const;  // 0 when empty
    double sum() const;
    std::uint64_t count() const;
    // _bucket/_sum/_count lines of `name` with `labels` ("tier=\"memory\"").
    void write(std::string& out, const std::string& name, const std::string& labels) const;

  private:
    mutable std::mutex mutex_;
    std::array<std::uint64_t, bounds.size() + 1> counts_{};  // last: above the top bound
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

}  // namespace artistry::cache
