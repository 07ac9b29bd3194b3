#pragma once
// The engine's insides: submits runs, schedules their nodes on the worker arena, delivers
// progress, learns throughput and keeps metrics.

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "artistry/engine.hpp"
#include "graph/metrics.hpp"
#include "graph/progress.hpp"
#include "graph/run_state.hpp"
#include "graph/worker_arena.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

class Executor {
  public:
    // cache and memory may be null (no caching, no reservations); both must outlive this, as
    // must models (null: ModelStore::shared()).
    Executor(const EffectRegistry& registry, int threads, int max_parallel, double default_mps,
             ResultCache* cache, MemoryManager* memory, double memory_wait_seconds,
             ModelStore* models = nullptr);
    ~Executor();  // cancels the runs still going and waits for them

    std::shared_ptr<RunState> submit(const Graph& graph, const Image& input, RunOptions options);
    bool cancel(std::uint64_t run_id);
    // A run that does not go through the workers (a streamed file run): an id from the same
    // sequence, under which cancel() sets `flag` until remove_external(id).
    std::uint64_t add_external(std::shared_ptr<std::atomic<bool>> flag);
    void remove_external(std::uint64_t run_id);

    const EffectRegistry& registry() const noexcept { return *registry_; }
    int threads() const noexcept { return arena_.threads(); }
    int max_parallel() const noexcept { return max_parallel_; }
    double throughput_mps(const std::string& op) const { return throughput_.get(op); }
    std::string metrics_text() const;

  private:
    using Lock = std::unique_lock<std::mutex>;
    struct Settled;

    void launch(const std::shared_ptr<RunState>& run, const std::vector<int>& nodes);
    static constexpr const char* cancelled_message = "run cancelled";

    // What running a node's effect gave: cancelled until it has run.
    struct NodeOutcome {
        NodeStatus status = NodeStatus::cancelled;
        std::string error = cancelled_message;
        Status code = Status::cancelled;
        Image image;
        std::string data;  // structured output (EffectInfo::has_data)
    };

    // What a node reads: its first image, the others (multi-input effects), and the
    // structured output of its inputs by node id.
    struct NodeInputs {
        Image first;
        std::vector<Image> more;
        std::map<std::string, std::string> data;
    };

    void run_node(const std::shared_ptr<RunState>& run, int node);
    // Under the run's lock, before the node's inputs are released.
    static NodeInputs gather_inputs(const RunState& run, int node);
    // The node's effect on its inputs, under its reservation; caches what it computed.
    NodeOutcome compute_node(RunState& run, int node, NodeInputs inputs);
    void on_units(RunState& run, int node, std::int64_t done, std::int64_t total);

    // Under the run's lock. settle: cancels what is left of a cancelled run, hands ready
    // nodes to the workers up to max_parallel, and builds the result when all are done.
    Settled settle(RunState& run);
    void release_reader(RunState& run, int node);
    void finish_node(RunState& run, int node, NodeStatus status, const std::string& error,
                     Status error_status, const std::string& cause);
    void finalize(RunState& run);
    void push_event(RunState& run, int node, Phase phase, const std::string& message = {});

    void deliver_events(RunState& run, bool wait_turn);
    void complete(RunState& run);
    void task_done();

    // The node's reservation: its effect's memory estimate plus its output.
    std::optional<Reservation> reserve_for(const RunState& run, int node, const Image& input);

    const EffectRegistry* registry_;
    int max_parallel_;
    ResultCache* cache_;
    MemoryManager* memory_;
    double memory_wait_seconds_;
    ModelStore* models_;
    graph::ThroughputTable throughput_;
    graph::EngineMetrics metrics_;

    std::mutex mutex_;  // guards the members below
    std::condition_variable idle_cv_;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, std::weak_ptr<RunState>> active_;
    std::map<std::uint64_t, std::shared_ptr<std::atomic<bool>>> external_;
    int tasks_ = 0;  // enqueued node tasks not yet done with this executor

    graph::WorkerArena arena_;  // last: destroyed first, after every task has finished
};

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
