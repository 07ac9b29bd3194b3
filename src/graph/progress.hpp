#pragma once
// Progress of a run: its overall fraction and ETA, from per-op throughput the engine learns.

#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace artistry::graph {

// Megapixels per second per op: an exponential moving average of the nodes that completed,
// kept across runs, seeded with a default. Thread-safe.
class ThroughputTable {
  public:
    explicit ThroughputTable(double default_mps);
    // The learned rate, else `prior` when positive, else the default.
    double get(const std::string& op, double prior = 0) const;
    void record(const std::string& op, double megapixels, double seconds);

  private:
    static constexpr double smoothing = 0.3;  // weight of the newest measurement
    mutable std::mutex mutex_;
    std::map<std::string, double> rates_;
    double default_mps_;
};

// What a model-backed node is expected to cost before its op has been timed in this process
// (every CLI run): a fixed inference (ISNet at 1024², 2 cores: about 3 s) plus the per-pixel
// work around it, as a rate for `megapixels`. A point effect's default is 20 MP/s.
double model_node_prior_mps(double megapixels);

// One run's work model. Each node's expected time is its megapixels over its op's rate; the
// fraction is the expected time done over the total, and the ETA is the remaining expected
// time along the longest remaining chain of nodes or spread over the nodes allowed in flight,
// whichever is longer. Not thread-safe: the run's lock guards it.
class RunProgress {
  public:
    // inputs: by node, the nodes it reads; order: topological; only nodes with `needed` count.
    RunProgress(std::vector<std::vector<int>> inputs, std::vector<int> order,
                std::vector<bool> needed, std::vector<double> megapixels,
                std::vector<double> rate_mps, int parallel);

    void set_megapixels(int node, double megapixels);  // the real input, once known
    void set_done(int node, double fraction);          // 0..1 of the node
    double megapixels(int node) const { return megapixels_[node]; }
    double rate(int node) const { return rate_[node]; }

    double fraction() const;  // raw: the caller keeps it monotonic
    double eta_seconds() const;

  private:
    double expected_seconds(int node) const;
    std::vector<std::vector<int>> inputs_;
    std::vector<int> order_;
    std::vector<bool> needed_;
    std::vector<double> megapixels_;
    std::vector<double> rate_;
    std::vector<double> done_;
    int parallel_;
};

}  // namespace artistry::graph
