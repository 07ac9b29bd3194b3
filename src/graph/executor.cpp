// Running graphs: ready nodes go to the worker arena, at most max_parallel of a run at a time;
// each finished node wakes its readers or fails them; progress events are made under the
// run's lock and delivered outside it, in order.
//
// Synchronisation is ours (std::mutex, std::condition_variable, atomics), so
// ThreadSanitizer sees it; TBB only carries tasks (worker_arena.hpp).

#include "graph/executor.hpp"

#include <algorithm>
#include <new>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "graph/plan.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

namespace {

double since(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

double megapixels(const Image& image) {
    return static_cast<double>(image.pixel_count()) / 1e6;
}

Phase phase_of(NodeStatus status) {
    switch (status) {
        case NodeStatus::ok:
            return Phase::done;
        case NodeStatus::cached:
            return Phase::cached;
        case NodeStatus::cancelled:
            return Phase::cancelled;
        default:
            return Phase::failed;
    }
}

}  // namespace

struct Executor::Settled {
    std::vector<int> launches;
    bool finalized = false;  // this call built the result: its caller completes the run
};

Executor::Executor(const EffectRegistry& registry, int threads, int max_parallel,
                   double default_mps, ResultCache* cache, MemoryManager* memory,
                   double memory_wait_seconds, ModelStore* models)
    : registry_(&registry),
      max_parallel_(max_parallel),
      cache_(cache),
      memory_(memory),
      memory_wait_seconds_(memory_wait_seconds),
      models_(models),
      throughput_(default_mps),
      arena_(threads) {}

std::string Executor::metrics_text() const {
    std::string text = metrics_.text();
    if (memory_ != nullptr) text += memory_->metrics_text();
    if (cache_ != nullptr) text += cache_->metrics_text();
    return text;
}

std::optional<Reservation> Executor::reserve_for(const RunState& run, int n, const Image& input) {
    if (memory_ == nullptr) return std::nullopt;
    const EffectPlan& plan = run.nodes[n].plan;
    // The output at its size (an upscaler's is larger than its input), and the effect's work.
    const std::uint64_t output = static_cast<std::uint64_t>(plan.scale.apply(input.width())) *
                                 static_cast<std::uint64_t>(plan.scale.apply(input.height())) * 4;
    const std::uint64_t work = plan.memory_bytes;
    const auto wait =
        std::chrono::milliseconds(static_cast<std::int64_t>(memory_wait_seconds_ * 1000));
    return memory_->reserve(Device::cpu(), work + output, wait, run.cancel.get());
}

Executor::~Executor() {
    Lock lock(mutex_);
    for (auto& [id, weak] : active_)
        if (const auto run = weak.lock()) run->cancel->store(true);
    idle_cv_.wait(lock, [&] { return active_.empty() && tasks_ == 0; });
}

std::shared_ptr<RunState> Executor::submit(const Graph& graph, const Image& input,
                                           RunOptions options) {
    if (input.empty()) throw Error(Status::invalid_argument, "input image is empty");
    if (options.max_parallel < 0)
        throw Error(Status::invalid_argument,
                    "RunOptions::max_parallel must be 0 (the engine's default) or positive");
    auto run = std::make_shared<RunState>(rebind(graph, *registry_));
    run->g = &GraphAccess::impl(run->graph);
    run->input = input;
    run->callback = std::move(options.progress);
    run->cancel =
        options.cancel ? std::move(options.cancel) : std::make_shared<std::atomic<bool>>(false);
    run->max_parallel = options.max_parallel > 0 ? options.max_parallel : max_parallel_;
    run->executor = this;
    {
        Lock lock(mutex_);
        run->id = next_id_++;
        active_.emplace(run->id, run);
    }

    const auto& g = *run->g;
    // Without a cache keys only need to be distinct, so the input's pixels are not hashed.
    const CacheKey input_key = cache_ != nullptr ? content_hash(input) : CacheKey{0, run->id};
    const auto plan = graph::plan_run(g, input_key, input.width(), input.height(), cache_, models_);
    Settled settled;
    {
        Lock lock(run->mutex);
        const auto count = g.nodes.size();
        run->nodes.resize(count);
        std::vector<bool> needed(count);
        std::vector<double> mp(count);  // each node's input, as planned
        for (std::size_t i = 0; i < count; ++i)
            mp[i] = static_cast<double>(plan[i].width) * plan[i].height / 1e6;
        std::vector<double> rate(count);
        for (std::size_t i = 0; i < count; ++i) {
            auto& node = run->nodes[i];
            node.needed = needed[i] = plan[i].needed;
            node.key = plan[i].key;
            node.plan = plan[i].effect;
            node.plan_failure = plan[i].plan_failure;
            node.waiting_inputs = g.inputs[i].size();
            for (int r : g.readers[i]) node.readers_left += plan[r].needed ? 1 : 0;
            if (node.needed) ++run->unfinished;
            // A model-backed node's ETA starts from a model's cost, not a point effect's.
            const double prior =
                plan[i].effect.models.empty() ? 0 : graph::model_node_prior_mps(mp[i]);
            rate[i] = throughput_.get(g.nodes[i].op, prior);
        }
        for (int o : g.output_nodes) run->nodes[o].is_output = true;
        run->progress.emplace(g.inputs, g.order, std::move(needed), std::move(mp), std::move(rate),
                              std::min(run->max_parallel, threads()));
        for (int n : g.order)
            if (run->nodes[n].needed && !plan[n].cached && run->nodes[n].waiting_inputs == 0)
                run->ready.push_back(n);
        run->start = Clock::now();
        // Cache hits finish before anything is launched; their readers become ready. They
        // count as launched first, so that a cached reader of a cached node is never queued.
        for (int n : g.order)
            if (plan[n].cached) run->nodes[n].launched = true;
        for (int n : g.order)
            if (plan[n].cached) {
                run->nodes[n].output = *plan[n].cached;
                run->nodes[n].data = plan[n].cached_data;
                finish_node(*run, n, NodeStatus::cached, {}, Status::ok, {});
            }
        settled = settle(*run);
    }
    launch(run, settled.launches);
    deliver_events(*run, true);
    if (settled.finalized) complete(*run);
    return run;
}

std::uint64_t Executor::add_external(std::shared_ptr<std::atomic<bool>> flag) {
    Lock lock(mutex_);
    const std::uint64_t id = next_id_++;
    external_.emplace(id, std::move(flag));
    return id;
}

void Executor::remove_external(std::uint64_t run_id) {
    Lock lock(mutex_);
    external_.erase(run_id);
}

bool Executor::cancel(std::uint64_t run_id) {
    Lock lock(mutex_);
    if (const auto ext = external_.find(run_id); ext != external_.end()) {
        ext->second->store(true);
        return true;
    }
    const auto it = active_.find(run_id);
    if (it == active_.end()) return false;
    const auto run = it->second.lock();
    if (!run) return false;
    run->cancel->store(true);
    return true;
}

void Executor::launch(const std::shared_ptr<RunState>& run, const std::vector<int>& nodes) {
    if (nodes.empty()) return;
    {
        Lock lock(mutex_);
        tasks_ += static_cast<int>(nodes.size());
    }
    for (int n : nodes) arena_.enqueue([this, run, n] { run_node(run, n); });
}

void Executor::run_node(const std::shared_ptr<RunState>& run_ptr, int n) {
    RunState& run = *run_ptr;
    const NodeSpec& spec = run.g->nodes[n];
    NodeInputs input;
    bool go = false;
    {
        Lock lock(run.mutex);
        if (!run.cancelled()) {
            go = true;
            auto& node = run.nodes[n];
            node.started = true;
            node.start = Clock::now();
            input = gather_inputs(run, n);
            for (int in : run.g->inputs[n]) release_reader(run, in);
            run.progress->set_megapixels(n, megapixels(input.first));
            push_event(run, n, Phase::running);
        }
    }

    NodeOutcome outcome;
    if (go) {
        deliver_events(run, true);
        outcome = compute_node(run, n, std::move(input));
    }
    auto& [status, error, code, out, data] = outcome;

    Settled settled;
    {
        const auto end = Clock::now();
        Lock lock(run.mutex);
        auto& node = run.nodes[n];
        if (go) {
            node.end = end;
            node.seconds = since(node.start, end);
        }
        if (status == NodeStatus::ok) {
            throughput_.record(spec.op, run.progress->megapixels(n), node.seconds);
            if (node.is_output || node.readers_left > 0) node.output = std::move(out);
            node.data = std::move(data);
        }
        --run.in_flight;
        finish_node(run, n, status, error, code, {});
        settled = settle(run);
    }
    launch(run_ptr, settled.launches);
    deliver_events(run, true);
    if (settled.finalized) complete(run);
    task_done();
}

Executor::NodeInputs Executor::gather_inputs(const RunState& run, int n) {
    NodeInputs in;
    const auto& inputs = run.g->inputs[n];
    in.first = inputs.empty() ? run.input : run.nodes[inputs.front()].output;
    for (std::size_t i = 1; i < inputs.size(); ++i) in.more.push_back(run.nodes[inputs[i]].output);
    for (int i : inputs)
        if (!run.nodes[i].data.empty()) in.data.emplace(run.g->nodes[i].id, run.nodes[i].data);
    return in;
}

Executor::NodeOutcome Executor::compute_node(RunState& run, int n, NodeInputs inputs) {
    NodeOutcome result;
    const bool has_data = run.g->effects[n]->has_data;
    Image input = std::move(inputs.first);
    EffectContext ctx;
    ctx.cancel = run.cancel.get();
    ctx.models = models_;
    ctx.cache = cache_;
    ctx.more_inputs = &inputs.more;
    ctx.input_data = &inputs.data;
    if (has_data) ctx.data = &result.data;
    ctx.progress = [this, &run, n](std::int64_t done, std::int64_t total) {
        on_units(run, n, done, total);
    };
    graph::run_isolated([&] {
        try {
            if (run.nodes[n].plan_failure) std::rethrow_exception(run.nodes[n].plan_failure);
            auto reservation = reserve_for(run, n, input);
            // The node's own images draw on its reservation and grow it: real accounting.
            const AllocationScope charged(
                memory_, reservation ? std::move(*reservation) : Reservation(),
                std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(
                        static_cast<std::int64_t>(memory_wait_seconds_ * 1000)),
                run.cancel.get());
            result.image = apply_effect(*run.g->effects[n], input, run.g->params[n], ctx);
            result.status = NodeStatus::ok;
            result.error.clear();
            result.code = Status::ok;
        } catch (...) {
            auto failure = exception_status(std::current_exception());
            if (failure.status == Status::cancelled && run.cancelled()) return;
            result.status = NodeStatus::failed;
            result.error = std::move(failure.message);
            result.code = failure.status;
        }
    });
    input = Image();
    if (result.status == NodeStatus::ok && cache_ != nullptr) {
        // The data first: a reader that finds the image then finds its data too.
        if (has_data)
            cache_->put(graph::data_key(run.nodes[n].key), graph::data_to_image(result.data));
        cache_->put(run.nodes[n].key, result.image);
    }
    return result;
}

void Executor::on_units(RunState& run, int n, std::int64_t done, std::int64_t total) {
    if (total <= 0) return;
    {
        Lock lock(run.mutex);
        auto& node = run.nodes[n];
        node.units_total = total;
        node.units_done = std::max(node.units_done, std::clamp<std::int64_t>(done, 0, total));
        run.progress->set_done(n,
                               static_cast<double>(node.units_done) / static_cast<double>(total));
        // About a hundred running events per node, whatever its row count.
        if ((node.units_done - node.units_reported) * 100 < total && node.units_done < total)
            return;
        node.units_reported = node.units_done;
        push_event(run, n, Phase::running);
    }
    // Effects report from inside their row loops: never block a worker there on a callback.
    deliver_events(run, false);
}

void Executor::release_reader(RunState& run, int n) {
    auto& node = run.nodes[n];
    if (node.readers_left > 0 && --node.readers_left == 0 && !node.is_output)
        node.output = Image();  // the last reader has it: let the pixels go with it
}

Executor::Settled Executor::settle(RunState& run) {
    Settled s;
    if (run.cancelled()) {
        run.ready.clear();
        for (std::size_t i = 0; i < run.nodes.size(); ++i) {
            const auto& node = run.nodes[i];
            if (node.needed && !node.launched && !node.finished)
                finish_node(run, static_cast<int>(i), NodeStatus::cancelled, cancelled_message,
                            Status::cancelled, {});
        }
    }
    while (run.in_flight < run.max_parallel && !run.ready.empty()) {
        const int n = run.ready.front();
        run.ready.pop_front();
        run.nodes[n].launched = true;
        ++run.in_flight;
        push_event(run, n, Phase::queued);
        s.launches.push_back(n);
    }
    if (run.unfinished == 0 && !run.finalized) {
        finalize(run);
        s.finalized = true;
    }
    return s;
}

void Executor::finish_node(RunState& run, int n, NodeStatus status, const std::string& error,
                           Status error_status, const std::string& cause) {
    const auto& g = *run.g;
    auto& node = run.nodes[n];
    node.finished = true;
    node.status = status;
    node.error = error;
    node.error_status = error_status;
    node.cause = cause;
    --run.unfinished;
    run.progress->set_done(n, 1.0);
    metrics_.node_finished(g.nodes[n].op, status, node.seconds);
    push_event(run, n, phase_of(status), error);
    const std::string& id = g.nodes[n].id;
    if (status == NodeStatus::failed && cause.empty() && run.first_error.empty())
        run.first_error = fmt::format("node '{}': {}", id, error);
    if (!node.started)
        for (int in : g.inputs[n]) release_reader(run, in);

    for (int r : g.readers[n]) {
        auto& reader = run.nodes[r];
        if (!reader.needed || reader.finished) continue;
        if (status == NodeStatus::ok || status == NodeStatus::cached) {
            if (reader.launched) continue;  // a cached reader, finished on its own
            if (--reader.waiting_inputs == 0) run.ready.push_back(r);
        } else if (status == NodeStatus::cancelled) {
            finish_node(run, r, NodeStatus::cancelled, cancelled_message, Status::cancelled, {});
        } else {
            finish_node(run, r, NodeStatus::failed, fmt::format("input '{}' failed: {}", id, error),
                        error_status, cause.empty() ? id : cause);
        }
    }
}

void Executor::finalize(RunState& run) {
    const auto& g = *run.g;
    const auto now = Clock::now();
    Result& r = run.result;
    r.run_id = run.id;
    r.wall_seconds = since(run.start, now);
    bool cancelled = false;
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
        auto& node = run.nodes[i];
        NodeResult nr;
        nr.id = g.nodes[i].id;
        nr.op = g.nodes[i].op;
        nr.status = node.status;
        nr.seconds = node.seconds;
        if (node.started) {
            nr.start_seconds = since(run.start, node.start);
            nr.end_seconds = since(run.start, node.end);
        }
        nr.error = node.error;
        nr.error_status = node.error_status;
        nr.cause = node.cause;
        nr.data = node.data;
        if (!node.data.empty()) r.data.emplace(nr.id, node.data);
        cancelled = cancelled || node.status == NodeStatus::cancelled;
        r.nodes.push_back(std::move(nr));
    }
    for (int o : g.output_nodes) {
        auto& node = run.nodes[o];
        if (node.status == NodeStatus::ok || node.status == NodeStatus::cached)
            r.outputs.emplace(g.nodes[o].id, node.output);
    }
    for (auto& node : run.nodes) node.output = Image();
    if (cancelled)
        r.status = RunStatus::cancelled;
    else if (r.outputs.size() == g.output_nodes.size())
        r.status = RunStatus::ok;
    else if (!r.outputs.empty())
        r.status = RunStatus::partial;
    else
        r.status = RunStatus::failed;
    r.error = run.first_error;
    if (r.error.empty() && cancelled) r.error = cancelled_message;
    run.finalized = true;
    push_event(run, -1,
               r.status == RunStatus::cancelled ? Phase::cancelled
               : r.status == RunStatus::failed  ? Phase::failed
                                                : Phase::done,
               r.error);
}

void Executor::push_event(RunState& run, int n, Phase phase, const std::string& message) {
    if (!run.callback) return;
    ProgressEvent e;
    e.run_id = run.id;
    e.phase = phase;
    e.message = message;
    if (n < 0) {  // the run's last event
        e.fraction = 1.0;
        double done_mp = 0;
        for (std::size_t i = 0; i < run.nodes.size(); ++i)
            if (run.nodes[i].status == NodeStatus::ok)
                done_mp += run.progress->megapixels(static_cast<int>(i));
        e.rate_mps = run.result.wall_seconds > 0 ? done_mp / run.result.wall_seconds : 0;
    } else {
        const auto& node = run.nodes[n];
        e.node = run.g->nodes[n].id;
        e.op = run.g->nodes[n].op;
        e.units_done = node.units_done;
        e.units_total = node.units_total;
        const double mp = run.progress->megapixels(n);
        if (node.finished && node.status == NodeStatus::ok && node.seconds > 0) {
            e.rate_mps = mp / node.seconds;
        } else if (node.started && !node.finished && node.units_total > 0 && node.units_done > 0) {
            const double elapsed = since(node.start, Clock::now());
            const double part =
                static_cast<double>(node.units_done) / static_cast<double>(node.units_total);
            e.rate_mps = elapsed > 0 ? mp * part / elapsed : run.progress->rate(n);
        } else {
            e.rate_mps = run.progress->rate(n);
        }
        // Below 1 until the last event, so 1.0 always means the run is over.
        e.fraction = std::max(run.last_fraction, std::min(run.progress->fraction(), 0.999));
        e.eta_seconds = run.progress->eta_seconds();
    }
    run.last_fraction = e.fraction;
    run.events.push_back(std::move(e));
}

void Executor::deliver_events(RunState& run, bool wait_turn) {
    if (!run.callback) return;
    Lock turn(run.emit_mutex, std::defer_lock);
    if (wait_turn)
        turn.lock();
    else if (!turn.try_lock())
        return;  // the thread delivering now, or a later one, takes them
    for (;;) {
        std::vector<ProgressEvent> batch;
        {
            Lock lock(run.mutex);
            batch.swap(run.events);
        }
        if (batch.empty()) return;
        for (const auto& e : batch) {
            try {
                run.callback(e);
            } catch (...) {
                // A callback's failure is not the run's: the event is dropped.
            }
        }
    }
}

void Executor::complete(RunState& run) {
    double node_seconds = 0;
    for (const auto& n : run.result.nodes) node_seconds += n.seconds;
    metrics_.run_finished(run.result.status, run.result.wall_seconds, node_seconds);
    {
        // Before the waiters wake: a finished run is no longer cancellable by id. The
        // destructor's wait is woken by task_done (or never blocked: a run completed by
        // submit has no tasks).
        Lock lock(mutex_);
        active_.erase(run.id);
    }
    Lock lock(run.mutex);
    run.finished = true;
    run.finished_cv.notify_all();
}

void Executor::task_done() {
    Lock lock(mutex_);
    --tasks_;
    idle_cv_.notify_all();  // under the lock: the destructor cannot return before this ends
}

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
