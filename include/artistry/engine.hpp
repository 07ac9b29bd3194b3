#pragma once
// The engine: runs effect graphs, many at once, on one shared pool of worker threads.
//
// Each node runs once per run however many nodes read it; independent nodes run at the same
// time, at most max_parallel of one run in flight. Nodes report progress (fraction of the
// run, ETA from per-op throughput the engine learns as it runs), can be cancelled at the next
// row band, and a failing node fails only the nodes that read it.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "artistry/cache.hpp"
#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "artistry/image.hpp"
#include "artistry/io.hpp"
#include "artistry/memory.hpp"
#include "artistry/stream.hpp"
#include "artistry/tiling.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

class ModelStore;  // artistry/models.hpp

namespace detail {
struct RunState;
}

// How one node ended.
//   ok: it ran; cached: its result came from the cache (not run);
//   failed: it threw, or a node it reads failed (cause says which);
//   cancelled: the run was cancelled before it finished;
//   skipped: no requested output needs it, so it was not run.
enum class NodeStatus : std::uint8_t { ok, cached, failed, cancelled, skipped };
// ok: every output; partial: some outputs, others failed; failed: no output; cancelled.
enum class RunStatus : std::uint8_t { ok, partial, failed, cancelled };
enum class Phase : std::uint8_t { queued, running, done, cached, failed, cancelled };

const char* node_status_name(NodeStatus status) noexcept;
const char* run_status_name(RunStatus status) noexcept;
const char* phase_name(Phase phase) noexcept;

struct ProgressEvent {
    std::uint64_t run_id = 0;
    std::string node;  // empty in the run's last event
    std::string op;
    Phase phase = Phase::queued;
    std::int64_t units_done = 0;   // the node's units (rows, tiles) as its effect reports them
    std::int64_t units_total = 0;  // 0: the effect has not said
    double fraction = 0;     // the whole run, in [0, 1]; never decreases; the last event is 1.0
    double eta_seconds = 0;  // remaining time: learned MP/s per op × remaining megapixels
    double rate_mps = 0;     // megapixels per second: this node's measured rate, else learned
    std::string message;     // failed / cancelled: why
};
// Called on worker threads (and on the thread that submits), one event at a time per run, in
// order. Keep it short, do not throw (exceptions are dropped) and do not wait for the run
// from inside it.
using ProgressCallback = std::function<void(const ProgressEvent&)>;

struct RunOptions {
    int max_parallel = 0;  // nodes of this run in flight at once; 0: the engine's default
    ProgressCallback progress;
    // Set to true to cancel; may be shared by several runs. Null: the run makes its own
    // (RunHandle::cancel and Engine::cancel set it either way).
    std::shared_ptr<std::atomic<bool>> cancel;
};

struct EngineOptions {
    const EffectRegistry* registry = nullptr;  // null: EffectRegistry::builtin(); must outlive
    // Worker threads shared by all runs and by the effects' own row loops. 0: ARTISTRY_THREADS,
    // else one per core.
    int threads = 0;
    // Default per-run limit on nodes in flight. 0: from the environment — ARTISTRY_MAX_PARALLEL,
    // else 1 when ENABLE_PARALLEL_PROCESSING=false, else PARALLEL_BATCH_SIZE, else threads.
    int max_parallel = 0;
    bool use_environment = true;  // false: ignore the variables above
    // ETA for an op the engine has not timed yet, in megapixels per second.
    double default_throughput_mps = 20.0;

    // Node results by content key (input pixels + op + version + canonical params). Null: the
    // engine makes its own from cache_options (ARTISTRY_CACHE=off turns it off). Pass one cache
    // to several engines to share it.
    std::shared_ptr<ResultCache> cache;
    CacheOptions cache_options;
    // Byte budgets: every node reserves its memory estimate before it runs. Null: the engine
    // makes its own from memory_options (ARTISTRY_MEMORY_BUDGET ...).
    std::shared_ptr<MemoryManager> memory;
    MemoryOptions memory_options;
    // How long a node waits for its reservation before it fails with Status::timeout.
    double memory_wait_seconds = 600;

    // Models for model-backed effects. Null: ModelStore::shared(). Pass one to several engines
    // to share loaded weights.
    std::shared_ptr<ModelStore> models;
    // Models loaded when the engine is made (errors thrown then), "all" for every installed
    // one. Empty: ARTISTRY_PRELOAD (comma-separated) when use_environment.
    std::vector<std::string> preload;
};

struct NodeResult {
    std::string id;
    std::string op;
    NodeStatus status = NodeStatus::skipped;
    double seconds = 0;        // in the effect (0 when it did not run)
    double start_seconds = 0;  // since the run started
    double end_seconds = 0;
    std::string error;  // failed / cancelled: the message
    Status error_status = Status::ok;
    std::string cause;  // failed because of an input: the node that failed first
    std::string data;   // ok / cached: its structured output (JSON text), empty when none
};

struct Result {
    std::uint64_t run_id = 0;
    RunStatus status = RunStatus::ok;
    std::map<std::string, Image> outputs;  // the requested outputs that finished
    std::vector<NodeResult> nodes;         // in spec order
    // Structured outputs (JSON text: detections, the method used …) by node id, of every node
    // that finished (ran or was cached) and produced some, requested output or not.
    std::map<std::string, std::string> data;
    double wall_seconds = 0;
    std::string error;  // the first failure ("node 'x': ..."), empty when none

    bool ok() const noexcept { return status == RunStatus::ok; }
    const NodeResult& node(const std::string& id) const;  // Error(not_found)
    // Error(not_found) when the node is no output or did not finish (its error is named).
    const Image& output(const std::string& id) const;
};

// ---- Runs from a file to files (Engine::run_file)

struct FileRunOptions {
    // Rows per band when streamed; 0: the height that runs fastest within the budget
    // (band_rows_for_speed). Above 0 it also forces streaming.
    int tile_size = 0;
    // The budget the streamed run plans its bands for and the in-memory run must fit. 0: what
    // fits under the engine's MemoryManager CPU pressure threshold (largest_fit, threshold).
    std::uint64_t memory_budget_bytes = 0;
    // Stream when the input's pixels × 4 bytes exceed this. 0: min(budget / 4, 512 MiB).
    std::uint64_t streaming_threshold_bytes = 0;
    bool force_streaming = false;  // stream whatever the size (a non-chain graph is refused)
    LoadOptions load;              // the in-memory path's load (the streamed one lifts max_pixels)
    SaveOptions save;
    StreamWriteOptions stream_write;
    // progress, cancel and max_parallel. A streamed run reports a start event (fraction 0),
    // one per band written and a last one (node empty, fraction 1); it checks cancel between
    // bands. Engine::cancel(run_id) reaches it, streamed or not: the run id is in every
    // progress event and in the result.
    RunOptions run;
};

// How run_file will run a graph on a file (Engine::plan_file), decided from the header alone.
struct FilePlan {
    bool stream = false;  // streamed band by band (all outputs together), else in memory
    bool chain = false;   // every output is a chain of one-input nodes from the input
    int width = 0, height = 0, channels = 0;  // the input as stored
    std::uint64_t budget_bytes = 0;
    std::uint64_t threshold_bytes = 0;
    std::string reason;  // why streamed or not, for logs
    // For each output (in graph.outputs() order): its chain, input first.
    std::map<std::string, EffectChain> chains;
};

struct FileRunResult {
    FilePlan plan;
    // In memory: the engine's Result (failed nodes are reported there, as with run; outputs
    // hold the images written). Streamed: status ok, one NodeResult per output, no images, the
    // structured output of the nodes that ran whole (detect_faces) in data.
    Result result;
    std::map<std::string, TiledRunStats> tiled;  // streamed: by output id
    std::map<std::string, std::string> written;  // output id → the file written
};

// Writes an image as run_file does: JPEG, PNG and TIFF through the streaming writers (so an
// in-memory and a streamed run write the same bytes), WebP and BMP through save_image.
void save_run_output(const Image& image, const std::string& path, const SaveOptions& save = {},
                     const StreamWriteOptions& stream = {});

// An asynchronous run. Copies refer to the same run; it goes on if every handle is dropped.
class RunHandle {
  public:
    RunHandle();
    ~RunHandle();
    RunHandle(const RunHandle&);
    RunHandle& operator=(const RunHandle&);
    RunHandle(RunHandle&&) noexcept;
    RunHandle& operator=(RunHandle&&) noexcept;

    bool valid() const noexcept;
    std::uint64_t id() const;
    bool done() const;  // poll
    void wait() const;
    bool wait_for(double seconds) const;  // true when done
    void cancel() const;                  // no effect once done
    const Result& result() const;         // waits

  private:
    explicit RunHandle(std::shared_ptr<detail::RunState> state);
    std::shared_ptr<detail::RunState> state_;
    friend class Engine;
};

class Engine {
  public:
    explicit Engine(EngineOptions options = {});
    // Cancels the runs still going and waits for them.
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Runs a graph on an image and waits. Node failures come back in the Result; only bad
    // arguments throw (Error(invalid_argument): empty image, graph invalid for this registry).
    // Do not call from inside an effect or a progress callback.
    Result run(const Graph& graph, const Image& input, const RunOptions& options = {});
    RunHandle submit(const Graph& graph, const Image& input, RunOptions options = {});
    bool cancel(std::uint64_t run_id);  // false when no such run is going

    // Runs a graph on an image file and writes the outputs named in output_paths (node id →
    // file; format from the extension). Large inputs (FileRunOptions::streaming_threshold_bytes)
    // or a forced run are streamed: each output's chain goes through run_tiled_file band by
    // band (JPEG, PNG, TIFF only), memory bounded by the band, a failure throws and leaves that
    // output unwritten. Otherwise the image is loaded and run with run() and each finished
    // output saved. A graph whose outputs are not chains runs in memory when it fits the budget
    // (2 × the input's bytes), else Error(unsupported); forced streaming refuses it.
    // Error(invalid_argument): an output path for a node that is not an output, or none given.
    FileRunResult run_file(const Graph& graph, const std::string& input_path,
                           const std::map<std::string, std::string>& output_paths,
                           const FileRunOptions& options = {});
    // What run_file would do, from the file's header. Error(unsupported) as run_file.
    FilePlan plan_file(const Graph& graph, const std::string& input_path,
                       const FileRunOptions& options = {}) const;

    // Prometheus text exposition: artistry_processing_duration_seconds (histogram by op),
    // artistry_run_duration_seconds, artistry_runs_total{status}, artistry_nodes_total{op,status},
    // artistry_parallel_time_saved_seconds; then the engine's model store (artistry_models_*).
    std::string metrics_text() const;

    int threads() const noexcept;
    int max_parallel() const noexcept;
    ModelStore& models() const noexcept;  // the store the engine's effects use
    // The result cache the engine's runs use (null when caching is off); services and the
    // compat layer store their own entries in it under keys of their own ops.
    ResultCache* cache() const noexcept;
    MemoryManager& memory() const noexcept;  // the budgets every node reserves from
    const EffectRegistry& registry() const noexcept;
    double throughput_mps(const std::string& op) const;  // learned, or the default

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
