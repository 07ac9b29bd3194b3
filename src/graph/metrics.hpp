#pragma once
// The engine's Prometheus metrics (text exposition format 0.0.4).

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "artistry/engine.hpp"

namespace artistry::graph {

// A label value with \, " and newline escaped as the exposition format requires.
std::string escape_label_value(std::string_view value);

class Histogram {
  public:
    explicit Histogram(std::vector<double> upper_bounds);
    void observe(double value);
    // The _bucket/_sum/_count lines; labels is "" or `op="x"` (no braces).
    void write(std::string& out, const std::string& name, const std::string& labels) const;

  private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;  // per bucket, not cumulative
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// Thread-safe.
class EngineMetrics {
  public:
    EngineMetrics();
    // seconds: time in the effect; observed in the duration histogram for completed nodes.
    void node_finished(const std::string& op, NodeStatus status, double seconds);
    // node_seconds: the sum of the run's node times; what exceeds the wall time was saved by
    // running nodes side by side.
    void run_finished(RunStatus status, double wall_seconds, double node_seconds);
    std::string text() const;

  private:
    mutable std::mutex mutex_;
    std::map<std::string, Histogram> processing_;
    Histogram runs_;
    std::array<std::uint64_t, 4> runs_by_status_{};
    std::map<std::pair<std::string, NodeStatus>, std::uint64_t> nodes_;
    double time_saved_ = 0;
};

}  // namespace artistry::graph
