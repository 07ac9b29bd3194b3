// The public face of the engine: Engine, RunHandle and Result over the executor.

#include "artistry/engine.hpp"

#include <chrono>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "graph/engine_config.hpp"
#include "graph/executor.hpp"
#include "graph/run_file.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

const char* node_status_name(NodeStatus status) noexcept {
    switch (status) {
        case NodeStatus::ok:
            return "ok";
        case NodeStatus::cached:
            return "cached";
        case NodeStatus::failed:
            return "failed";
        case NodeStatus::cancelled:
            return "cancelled";
        case NodeStatus::skipped:
            return "skipped";
    }
    return "?";
}

const char* run_status_name(RunStatus status) noexcept {
    switch (status) {
        case RunStatus::ok:
            return "ok";
        case RunStatus::partial:
            return "partial";
        case RunStatus::failed:
            return "failed";
        case RunStatus::cancelled:
            return "cancelled";
    }
    return "?";
}

const char* phase_name(Phase phase) noexcept {
    switch (phase) {
        case Phase::queued:
            return "queued";
        case Phase::running:
            return "running";
        case Phase::done:
            return "done";
        case Phase::cached:
            return "cached";
        case Phase::failed:
            return "failed";
        case Phase::cancelled:
            return "cancelled";
    }
    return "?";
}

const NodeResult& Result::node(const std::string& id) const {
    for (const auto& n : nodes)
        if (n.id == id) return n;
    throw Error(Status::not_found, fmt::format("run {} has no node '{}'", run_id, id));
}

const Image& Result::output(const std::string& id) const {
    const auto it = outputs.find(id);
    if (it != outputs.end()) return it->second;
    const NodeResult& n = node(id);
    if (n.status == NodeStatus::failed || n.status == NodeStatus::cancelled)
        throw Error(Status::not_found, fmt::format("node '{}' has no output: {}: {}", id,
                                                   node_status_name(n.status), n.error));
    throw Error(Status::not_found, fmt::format("node '{}' is not an output of the graph", id));
}

// ---- RunHandle

RunHandle::RunHandle() = default;
RunHandle::~RunHandle() = default;
RunHandle::RunHandle(const RunHandle&) = default;
RunHandle& RunHandle::operator=(const RunHandle&) = default;
RunHandle::RunHandle(RunHandle&&) noexcept = default;
RunHandle& RunHandle::operator=(RunHandle&&) noexcept = default;
RunHandle::RunHandle(std::shared_ptr<detail::RunState> state) : state_(std::move(state)) {}

namespace {

detail::RunState& checked(const std::shared_ptr<detail::RunState>& state) {
    if (!state) throw Error(Status::invalid_argument, "RunHandle: no run (default-constructed)");
    return *state;
}

}  // namespace

bool RunHandle::valid() const noexcept {
    return state_ != nullptr;
}

std::uint64_t RunHandle::id() const {
    return checked(state_).id;
}

bool RunHandle::done() const {
    auto& s = checked(state_);
    std::lock_guard lock(s.mutex);
    return s.finished;
}

void RunHandle::wait() const {
    auto& s = checked(state_);
    std::unique_lock lock(s.mutex);
    s.finished_cv.wait(lock, [&] { return s.finished; });
}

bool RunHandle::wait_for(double seconds) const {
    auto& s = checked(state_);
    std::unique_lock lock(s.mutex);
    return s.finished_cv.wait_for(lock, std::chrono::duration<double>(seconds),
                                  [&] { return s.finished; });
}

void RunHandle::cancel() const {
    checked(state_).cancel->store(true);
}

const Result& RunHandle::result() const {
    wait();
    return state_->result;  // immutable once finished
}

// ---- Engine

struct Engine::Impl {
    std::shared_ptr<MemoryManager> memory;  // before the cache: L1 is charged to it
    std::shared_ptr<ResultCache> cache;
    std::shared_ptr<ModelStore> models_owned;  // null: the process's shared store
    ModelStore* models;
    detail::Executor executor;
    double memory_wait_seconds;
    Impl(const EffectRegistry& registry, const graph::EngineConfig& config, EngineOptions& o)
        : memory(o.memory ? o.memory : std::make_shared<MemoryManager>(memory_options(o))),
          cache(make_cache(o, memory.get())),
          models_owned(o.models),
          models(o.models ? o.models.get() : &ModelStore::shared()),
          executor(registry, config.threads, config.max_parallel, o.default_throughput_mps,
                   cache.get(), memory.get(), o.memory_wait_seconds, models),
          memory_wait_seconds(o.memory_wait_seconds) {
        const auto names = preload_names(o);
        if (!names.empty()) models->preload(names);
    }

    static std::vector<std::string> preload_names(const EngineOptions& o) {
        if (!o.preload.empty() || !o.use_environment) return o.preload;
        std::vector<std::string> names;
        const char* env = std::getenv("ARTISTRY_PRELOAD");
        std::stringstream ss(env != nullptr ? env : "");
        for (std::string name; std::getline(ss, name, ',');)
            if (!name.empty()) names.push_back(name);
        return names;
    }

    static MemoryOptions memory_options(const EngineOptions& o) {
        MemoryOptions m = o.memory_options;
        if (!o.use_environment) m.use_environment = false;
        return m;
    }

    static std::shared_ptr<ResultCache> make_cache(EngineOptions& o, MemoryManager* memory) {
        if (o.cache) return o.cache;
        if (!o.use_environment) o.cache_options.use_environment = false;
        if (o.cache_options.memory_manager == nullptr) o.cache_options.memory_manager = memory;
        auto cache = std::make_shared<ResultCache>(o.cache_options);
        return cache->enabled() ? cache : nullptr;
    }
};

Engine::Engine(EngineOptions options) {
    const auto config = graph::resolve_engine_config(options);
    const EffectRegistry& registry =
        options.registry != nullptr ? *options.registry : EffectRegistry::builtin();
    impl_ = std::make_unique<Impl>(registry, config, options);
}

Engine::~Engine() = default;

Result Engine::run(const Graph& graph, const Image& input, const RunOptions& options) {
    return RunHandle(impl_->executor.submit(graph, input, options)).result();
}

RunHandle Engine::submit(const Graph& graph, const Image& input, RunOptions options) {
    return RunHandle(impl_->executor.submit(graph, input, std::move(options)));
}

FileRunResult Engine::run_file(const Graph& graph, const std::string& input_path,
                               const std::map<std::string, std::string>& output_paths,
                               const FileRunOptions& given) {
    // The run's id reaches it through Engine::cancel, streamed or not (an in-memory run shares
    // the flag with the engine run it makes); every event and the result carry it.
    FileRunOptions options = given;
    if (!options.run.cancel) options.run.cancel = std::make_shared<std::atomic<bool>>(false);
    detail::Executor& executor = impl_->executor;
    const std::uint64_t id = executor.add_external(options.run.cancel);
    if (given.run.progress)
        options.run.progress = [inner = given.run.progress, id](const ProgressEvent& e) {
            ProgressEvent tagged = e;
            tagged.run_id = id;
            inner(tagged);
        };
    struct Registered {
        detail::Executor& executor;
        std::uint64_t id;
        ~Registered() { executor.remove_external(id); }
    } registered{executor, id};
    return detail::run_file(*this, *impl_->memory, impl_->memory_wait_seconds, graph, input_path,
                            output_paths, options, id);
}

FilePlan Engine::plan_file(const Graph& graph, const std::string& input_path,
                           const FileRunOptions& options) const {
    return detail::plan_file(graph, *impl_->memory, input_path, options);
}

bool Engine::cancel(std::uint64_t run_id) {
    return impl_->executor.cancel(run_id);
}
std::string Engine::metrics_text() const {
    return impl_->executor.metrics_text() + impl_->models->metrics_text();
}
int Engine::threads() const noexcept {
    return impl_->executor.threads();
}
int Engine::max_parallel() const noexcept {
    return impl_->executor.max_parallel();
}
ModelStore& Engine::models() const noexcept {
    return *impl_->models;
}
ResultCache* Engine::cache() const noexcept {
    return impl_->cache.get();
}
MemoryManager& Engine::memory() const noexcept {
    return *impl_->memory;
}
const EffectRegistry& Engine::registry() const noexcept {
    return impl_->executor.registry();
}
double Engine::throughput_mps(const std::string& op) const {
    return impl_->executor.throughput_mps(op);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
