#pragma once
// The state of one run, shared by its node tasks and its handles.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "artistry/engine.hpp"
#include "graph/graph_impl.hpp"
#include "graph/progress.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

class Executor;
using Clock = std::chrono::steady_clock;

struct NodeRun {
    bool needed = false;
    bool is_output = false;
    bool launched = false;  // handed to the workers
    bool started = false;   // its effect was called
    bool finished = false;
    NodeStatus status = NodeStatus::skipped;
    std::size_t waiting_inputs = 0;   // inputs not finished yet
    std::size_t readers_left = 0;     // needed readers that have not taken the output yet
    CacheKey key;                     // plan.hpp: the node's result-cache key
    EffectPlan plan;                  // its effect's plan for its input (EffectInfo::describe)
    std::exception_ptr plan_failure;  // describe failed: running the node rethrows it
    Image output;                     // kept while a reader or the result needs it
    std::string data;                 // structured output (EffectInfo::has_data), JSON text
    Clock::time_point start{};
    Clock::time_point end{};
    double seconds = 0;
    std::int64_t units_done = 0;
    std::int64_t units_total = 0;
    std::int64_t units_reported = 0;  // units_done of the last running event
    std::string error;
    Status error_status = Status::ok;
    std::string cause;
};

struct RunState {
    // Set before the first task is enqueued; read-only afterwards.
    std::uint64_t id = 0;
    Graph graph;
    const GraphData* g = nullptr;
    Image input;
    ProgressCallback callback;
    std::shared_ptr<std::atomic<bool>> cancel;
    int max_parallel = 1;
    Executor* executor = nullptr;
    Clock::time_point start{};

    // Guarded by mutex.
    std::mutex mutex;
    std::condition_variable finished_cv;
    std::vector<NodeRun> nodes;
    std::deque<int> ready;
    int in_flight = 0;
    std::size_t unfinished = 0;  // needed nodes not finished
    std::optional<graph::RunProgress> progress;
    double last_fraction = 0;
    std::vector<ProgressEvent> events;  // made under the lock, delivered outside it
    std::string first_error;
    bool finalized = false;  // result built; the last event is queued
    bool finished = false;   // the last event was delivered; handles may read result
    Result result;

    // Held while events are delivered: one callback at a time, in the order they were made.
    std::mutex emit_mutex;

    explicit RunState(Graph g_) : graph(std::move(g_)) {}
    bool cancelled() const noexcept { return cancel->load(std::memory_order_relaxed); }
};

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
