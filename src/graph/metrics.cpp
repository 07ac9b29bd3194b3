// Prometheus text exposition of the engine's counters and histograms.

#include "graph/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace artistry::graph {

namespace {

// Seconds: from a 5 ms node on a thumbnail to a minute-long model run on a huge image.
const std::vector<double>& duration_buckets() {
    static const std::vector<double> b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                          1,     2.5,  5,     10,   30,  60};
    return b;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string number(double v) {
    return fmt::format("{}", v);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size(), 0) {}

void Histogram::observe(double value) {
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    if (it != bounds_.end()) ++counts_[static_cast<std::size_t>(it - bounds_.begin())];
    ++count_;
    sum_ += value;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& labels) const {
    const std::string sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += counts_[i];
        out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, number(bounds_[i]),
                           cumulative);
    }
    out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count_);
    const std::string braces = labels.empty() ? "" : "{" + labels + "}";
    out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, number(sum_), name, braces,
                       count_);
}

EngineMetrics::EngineMetrics() : runs_(duration_buckets()) {}

void EngineMetrics::node_finished(const std::string& op, NodeStatus status, double seconds) {
    std::lock_guard lock(mutex_);
    ++nodes_[{op, status}];
    if (status == NodeStatus::ok)
        processing_.try_emplace(op, duration_buckets()).first->second.observe(seconds);
}

void EngineMetrics::run_finished(RunStatus status, double wall_seconds, double node_seconds) {
    std::lock_guard lock(mutex_);
    ++runs_by_status_[static_cast<std::size_t>(status)];
    runs_.observe(wall_seconds);
    // A counter never goes down: a run with no overlap saves nothing rather than a negative.
    time_saved_ += std::max(0.0, node_seconds - wall_seconds);
}

std::string EngineMetrics::text() const {
    std::lock_guard lock(mutex_);
    std::string out;
    family(out, "artistry_processing_duration_seconds", "histogram",
           "Time one node spent in its effect, by op (completed nodes).");
    for (const auto& [op, h] : processing_)
        h.write(out, "artistry_processing_duration_seconds",
                fmt::format("op=\"{}\"", escape_label_value(op)));

    family(out, "artistry_run_duration_seconds", "histogram", "Wall time of one graph run.");
    runs_.write(out, "artistry_run_duration_seconds", "");

    family(out, "artistry_runs_total", "counter", "Graph runs finished, by status.");
    for (RunStatus s : {RunStatus::ok, RunStatus::partial, RunStatus::failed, RunStatus::cancelled})
        out += fmt::format("artistry_runs_total{{status=\"{}\"}} {}\n", run_status_name(s),
                           runs_by_status_[static_cast<std::size_t>(s)]);

    family(out, "artistry_nodes_total", "counter", "Graph nodes finished, by op and status.");
    for (const auto& [key, count] : nodes_)
        out += fmt::format("artistry_nodes_total{{op=\"{}\",status=\"{}\"}} {}\n",
                           escape_label_value(key.first), node_status_name(key.second), count);

    family(out, "artistry_parallel_time_saved_seconds", "counter",
           "Sum over runs of node times minus wall time: what running nodes side by side saved.");
    out += fmt::format("artistry_parallel_time_saved_seconds {}\n", number(time_saved_));
    return out;
}

}  // namespace artistry::graph
