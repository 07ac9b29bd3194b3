#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "artistry/engine.hpp"
#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "fake_effects.hpp"
#include "graph/progress.hpp"
#include "test_support.hpp"

using namespace artistry;
using namespace std::chrono_literals;

namespace {

struct Fixture {
    std::shared_ptr<test::Probe> probe = std::make_shared<test::Probe>();
    EffectRegistry registry = test::fake_registry(probe);
    Image image = Image::allocate(32, 24, 3);

    EngineOptions options(int max_parallel = 2) const {
        EngineOptions o;
        o.registry = &registry;
        o.threads = 2;
        o.max_parallel = max_parallel;
        o.use_environment = false;
        o.cache_options.enabled = false;  // fake effects count their calls: compute every run
        return o;
    }
};

// Events as the callback saw them (it is called one event at a time, but from workers).
struct Recorder {
    std::mutex mutex;
    std::vector<ProgressEvent> events;
    ProgressCallback callback() {
        return [this](const ProgressEvent& e) {
            std::lock_guard lock(mutex);
            events.push_back(e);
        };
    }
};

// Sets an environment variable for the life of the object.
struct EnvVar {
    std::string name;
    EnvVar(std::string n, const char* value) : name(std::move(n)) {
        ::setenv(name.c_str(), value, 1);
    }
    ~EnvVar() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("a background cut read by five effects runs once per run") {
    Fixture f;
    Engine engine(f.options());
    auto b = Graph::Builder().node("cut", "copy", {}, {{"tag", "cut"}});
    for (const char* id : {"bw", "pop", "bits", "dots", "grade"})
        b.node(id, "copy", {"cut"}, {{"tag", id}}).output(id);
    const Graph g = b.build(f.registry);

    const Result r = engine.run(g, f.image);
    CHECK(r.status == RunStatus::ok);
    CHECK(r.error.empty());
    CHECK(f.probe->calls("cut") == 1);
    for (const char* id : {"bw", "pop", "bits", "dots", "grade"}) {
        CHECK(f.probe->calls(id) == 1);
        CHECK(r.output(id).same_pixels(f.image));
        CHECK(r.node(id).status == NodeStatus::ok);
    }
    CHECK(r.outputs.size() == 5);  // the cut is no output: its image is not returned
    CHECK(r.node("cut").status == NodeStatus::ok);
    engine.run(g, f.image);
    CHECK(f.probe->calls("cut") == 2);  // once per run: nothing is cached across runs yet
}

TEST_CASE("two independent nodes overlap under max_parallel=2 and never under 1") {
    // Each waits up to timeout_ms for the other to start: it returns at once when the other
    // has, so the long wait costs nothing when they overlap.
    const auto graph_of = [](const EffectRegistry& r, std::int64_t timeout_ms) {
        return Graph::Builder()
            .node("a", "meet", {}, {{"tag", "a"}, {"partner", "b"}, {"timeout_ms", timeout_ms}})
            .node("b", "meet", {}, {{"tag", "b"}, {"partner", "a"}, {"timeout_ms", timeout_ms}})
            .build(r);
    };
    SUBCASE("max_parallel=2: each sees the other start before either ends") {
        Fixture f;
        Engine engine(f.options(2));
        const Result r = engine.run(graph_of(f.registry, 20000), f.image);
        REQUIRE(r.status == RunStatus::ok);
        CHECK(f.probe->position("met:a") >= 0);
        CHECK(f.probe->position("met:b") >= 0);
        const long last_start =
            std::max(f.probe->position("start:a"), f.probe->position("start:b"));
        const long first_end = std::min(f.probe->position("end:a"), f.probe->position("end:b"));
        CHECK(last_start < first_end);
    }
    SUBCASE("max_parallel=1 on the engine, or on the run: one ends before the other starts") {
        for (const bool per_run : {false, true}) {
            Fixture f;
            Engine engine(f.options(per_run ? 2 : 1));
            RunOptions o;
            o.max_parallel = per_run ? 1 : 0;
            const Result r = engine.run(graph_of(f.registry, 300), f.image, o);
            REQUIRE(r.status == RunStatus::ok);
            const auto log = f.probe->log();
            REQUIRE(log.size() == 6);
            // start:x alone:x end:x start:y met:y end:y — the first waited and nobody came.
            CHECK(log[0].substr(0, 6) == "start:");
            CHECK(log[1].substr(0, 6) == "alone:");
            CHECK(log[2].substr(0, 4) == "end:");
            CHECK(log[3].substr(0, 6) == "start:");
        }
    }
}

TEST_CASE("cancelling a run stops its running node and everything after it; others go on") {
    Fixture f;
    Engine engine(f.options());
    const Graph held =
        Graph::Builder()
            .node("slow", "rows", {}, {{"tag", "slow"}, {"hold", true}, {"band", std::int64_t{4}}})
            .node("after", "copy", {"slow"}, {{"tag", "after"}})
            .build(f.registry);
    const Graph other =
        Graph::Builder().node("x", "copy", {}, {{"tag", "other"}}).build(f.registry);

    RunHandle h = engine.submit(held, f.image);
    REQUIRE(f.probe->wait_for("holding:slow", 5s));
    CHECK_FALSE(h.done());
    CHECK_FALSE(h.wait_for(0.01));
    const Result r2 = engine.run(other, f.image);  // on the other worker, while one is held
    CHECK(r2.status == RunStatus::ok);

    h.cancel();
    const Result& r = h.result();
    CHECK(h.done());
    CHECK(r.status == RunStatus::cancelled);
    CHECK(r.error == "run cancelled");
    CHECK(r.node("slow").status == NodeStatus::cancelled);
    CHECK(r.node("slow").error_status == Status::cancelled);
    CHECK(r.node("after").status == NodeStatus::cancelled);
    CHECK(f.probe->calls("after") == 0);
    CHECK(f.probe->position("end:slow") == -1);
    CHECK(r.outputs.empty());
    CHECK_FALSE(engine.cancel(r.run_id));  // no longer going

    // The engine is fine afterwards.
    CHECK(engine.run(other, f.image).status == RunStatus::ok);
}

TEST_CASE("a cancel flag shared by the caller cancels the run, also before it starts") {
    Fixture f;
    Engine engine(f.options());
    const Graph g = Graph::Builder().node("a", "copy", {}, {{"tag", "a"}}).build(f.registry);
    RunOptions o;
    o.cancel = std::make_shared<std::atomic<bool>>(true);
    const Result r = engine.run(g, f.image, o);
    CHECK(r.status == RunStatus::cancelled);
    CHECK(r.node("a").status == NodeStatus::cancelled);
    CHECK(f.probe->calls("a") == 0);

    const Graph held = Graph::Builder()
                           .node("slow", "rows", {}, {{"tag", "slow"}, {"hold", true}})
                           .build(f.registry);
    o.cancel = std::make_shared<std::atomic<bool>>(false);
    RunHandle h = engine.submit(held, f.image, o);
    REQUIRE(f.probe->wait_for("holding:slow", 5s));
    CHECK(engine.cancel(h.id()));
    CHECK(h.result().status == RunStatus::cancelled);
    CHECK(o.cancel->load());
}

TEST_CASE(
    "a failing node fails its readers with the cause named; its sibling's output comes back") {
    Fixture f;
    Engine engine(f.options());
    const Graph g = Graph::Builder()
                        .node("cut", "copy", {}, {{"tag", "cut"}})
                        .node("bad", "fail", {"cut"}, {{"message", "no model file"}})
                        .node("after", "copy", {"bad"}, {{"tag", "after"}})
                        .node("last", "copy", {"after"}, {{"tag", "last"}})
                        .node("good", "copy", {"cut"}, {{"tag", "good"}})
                        .output("last")
                        .output("good")
                        .build(f.registry);
    const Result r = engine.run(g, f.image);
    CHECK(r.status == RunStatus::partial);
    CHECK(r.outputs.count("good") == 1);
    CHECK(r.outputs.count("last") == 0);
    CHECK(r.error == "node 'bad': no model file");
    CHECK(r.node("bad").status == NodeStatus::failed);
    CHECK(r.node("bad").error == "no model file");
    CHECK(r.node("bad").error_status == Status::internal);
    CHECK(r.node("bad").cause.empty());
    CHECK(r.node("after").status == NodeStatus::failed);
    CHECK(r.node("after").cause == "bad");
    CHECK(r.node("after").error == "input 'bad' failed: no model file");
    CHECK(r.node("last").cause == "bad");
    CHECK(r.node("last").error == "input 'after' failed: input 'bad' failed: no model file");
    CHECK(f.probe->calls("after") == 0);
    CHECK(f.probe->calls("good") == 1);
    const Error e = test::error_of([&] { r.output("last"); });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()) ==
          "node 'last' has no output: failed: input 'after' failed: input 'bad' failed: no model "
          "file");
}

TEST_CASE("a run whose every output failed is failed; any exception becomes the node's error") {
    Fixture f;
    Engine engine(f.options());
    const Result r = engine.run(
        Graph::Builder().node("a", "throw_std").node("b", "fail").build(f.registry), f.image);
    CHECK(r.status == RunStatus::failed);
    CHECK(r.node("a").error == "std failure");
    CHECK(r.node("a").error_status == Status::internal);
    CHECK(r.node("b").error == "boom");
    CHECK((r.error == "node 'a': std failure" || r.error == "node 'b': boom"));
}

TEST_CASE("nodes no requested output needs are skipped") {
    Fixture f;
    Engine engine(f.options());
    const Graph g = Graph::Builder()
                        .node("a", "copy", {}, {{"tag", "a"}})
                        .node("b", "copy", {"a"}, {{"tag", "b"}})
                        .output("a")
                        .build(f.registry);
    const Result r = engine.run(g, f.image);
    CHECK(r.status == RunStatus::ok);
    CHECK(r.node("b").status == NodeStatus::skipped);
    CHECK(f.probe->calls("b") == 0);
    CHECK(std::string(test::error_of([&] { r.output("b"); }).what()) ==
          "node 'b' is not an output of the graph");
}

TEST_CASE("progress: fraction never goes back, units are reported, the last event is 1.0") {
    Fixture f;
    Engine engine(f.options());
    auto b = Graph::Builder().node("cut", "copy", {}, {{"tag", "cut"}});
    for (const char* id : {"p1", "p2", "p3", "p4", "p5"})
        b.node(id, "rows", {"cut"}, {{"tag", id}, {"band", std::int64_t{3}}}).output(id);
    Recorder rec;
    RunOptions o;
    o.progress = rec.callback();
    const Result r = engine.run(b.build(f.registry), Image::allocate(40, 30, 3), o);
    REQUIRE(r.status == RunStatus::ok);

    std::lock_guard lock(rec.mutex);
    const auto& ev = rec.events;
    REQUIRE(ev.size() > 12);
    for (std::size_t i = 0; i < ev.size(); ++i) {
        CHECK(ev[i].run_id == r.run_id);
        CHECK(ev[i].eta_seconds >= 0);
        if (i > 0) CHECK(ev[i].fraction >= ev[i - 1].fraction);
        if (i + 1 < ev.size()) CHECK(ev[i].fraction < 1.0);
    }
    CHECK(ev.back().fraction == 1.0);
    CHECK(ev.back().node.empty());
    CHECK(ev.back().phase == Phase::done);
    CHECK(ev.back().eta_seconds == 0);
    for (const char* id : {"cut", "p1", "p2", "p3", "p4", "p5"}) {
        std::vector<Phase> phases;
        for (const auto& e : ev)
            if (e.node == id) phases.push_back(e.phase);
        REQUIRE(phases.size() >= 3);
        CHECK(phases.front() == Phase::queued);
        CHECK(phases[1] == Phase::running);
        CHECK(phases.back() == Phase::done);
    }
    bool saw_units = false;
    for (const auto& e : ev)
        if (e.node == "p3" && e.phase == Phase::running && e.units_total == 30 && e.units_done > 0)
            saw_units = true;
    CHECK(saw_units);
}

TEST_CASE("ETA comes from the op's learned throughput times the megapixels left") {
    Fixture f;
    EngineOptions eo = f.options(1);
    eo.default_throughput_mps = 0.5;
    Engine engine(eo);
    const Image mp1 = Image::allocate(1000, 1000, 3);  // 1 megapixel
    const Graph chain = Graph::Builder()
                            .node("a", "copy", {}, {{"tag", "a"}})
                            .node("b", "copy", {"a"}, {{"tag", "b"}})
                            .build(f.registry);
    const auto first_event = [&] {
        Recorder rec;
        RunOptions o;
        o.progress = rec.callback();
        engine.run(chain, mp1, o);
        std::lock_guard lock(rec.mutex);
        return rec.events.front();
    };
    CHECK(engine.throughput_mps("copy") == 0.5);
    const ProgressEvent before = first_event();  // untimed: the default, 2 MP at 0.5 MP/s
    CHECK(before.phase == Phase::queued);
    CHECK(before.eta_seconds == doctest::Approx(4.0));
    CHECK(before.rate_mps == doctest::Approx(0.5));
    const double learned = engine.throughput_mps("copy");
    CHECK(learned > 0.5);  // copying a megapixel takes well under two seconds
    const ProgressEvent after = first_event();
    CHECK(after.eta_seconds == doctest::Approx(2.0 / learned).epsilon(0.05));
}

TEST_CASE("runs can be polled, waited for, and outlive their engine") {
    Fixture f;
    RunHandle h;
    CHECK_FALSE(h.valid());
    CHECK(test::error_of([&] { h.done(); }).status() == Status::invalid_argument);
    {
        Engine engine(f.options());
        const Graph held = Graph::Builder()
                               .node("slow", "rows", {}, {{"tag", "slow"}, {"hold", true}})
                               .build(f.registry);
        h = engine.submit(held, f.image);
        REQUIRE(f.probe->wait_for("holding:slow", 5s));
        CHECK_FALSE(h.done());
    }  // the engine cancels what is still going and waits for it
    CHECK(h.done());
    const RunHandle copy = h;
    CHECK(copy.result().status == RunStatus::cancelled);
    CHECK(&copy.result() == &h.result());
}

TEST_CASE("bad arguments throw: empty input, a graph invalid for the engine's registry") {
    Fixture f;
    Engine engine(f.options());
    const Graph g = Graph::Builder().node("a", "copy").build(f.registry);
    const Error empty = test::error_of([&] { engine.run(g, Image()); });
    CHECK(empty.status() == Status::invalid_argument);
    CHECK(std::string(empty.what()) == "input image is empty");

    EffectRegistry other;
    other.add(test::fake::effect(
        "copy2", {}, [](const Image& in, const Params&, const EffectContext&) { return in; }));
    EngineOptions o = f.options();
    o.registry = &other;
    Engine elsewhere(o);
    const Error rebound = test::error_of([&] { elsewhere.run(g, f.image); });
    CHECK(rebound.status() == Status::invalid_argument);
    CHECK(std::string(rebound.what()) == "node 'a': unknown effect 'copy' (known: copy2)");

    RunOptions negative;
    negative.max_parallel = -1;
    CHECK(test::error_of([&] { engine.run(g, f.image, negative); }).status() ==
          Status::invalid_argument);
}

TEST_CASE("gray and float inputs are converted for the effects") {
    Fixture f;
    Engine engine(f.options());
    const Graph g = Graph::Builder().node("a", "copy").build(f.registry);
    CHECK(engine.run(g, Image::allocate(8, 8, 1)).output("a").channels() == 3);
    CHECK(engine.run(g, Image::allocate(8, 8, 4, PixelType::f32)).output("a").type() ==
          PixelType::u8);
}

TEST_CASE("max_parallel comes from options, then ARTISTRY_MAX_PARALLEL, then the old names") {
    Fixture f;
    EngineOptions o;
    o.registry = &f.registry;
    o.threads = 3;
    CHECK(Engine(o).max_parallel() == 3);  // default: one per thread
    CHECK(Engine(o).threads() == 3);
    {
        EnvVar batch("PARALLEL_BATCH_SIZE", "2");
        CHECK(Engine(o).max_parallel() == 2);
        EnvVar off("ENABLE_PARALLEL_PROCESSING", "false");
        CHECK(Engine(o).max_parallel() == 1);
        EnvVar ours("ARTISTRY_MAX_PARALLEL", "5");
        CHECK(Engine(o).max_parallel() == 5);
        o.max_parallel = 4;
        CHECK(Engine(o).max_parallel() == 4);
        o.max_parallel = 0;
        o.use_environment = false;
        CHECK(Engine(o).max_parallel() == 3);
    }
    o.use_environment = true;
    {
        EnvVar bad("PARALLEL_BATCH_SIZE", "two");
        const Error e = test::error_of([&] { Engine engine(o); });
        CHECK(e.status() == Status::invalid_argument);
        CHECK(std::string(e.what()) ==
              "environment variable PARALLEL_BATCH_SIZE must be a positive integer, got 'two'");
    }
    {
        EnvVar bad("ENABLE_PARALLEL_PROCESSING", "maybe");
        CHECK(std::string(test::error_of([&] { Engine engine(o); }).what()) ==
              "environment variable ENABLE_PARALLEL_PROCESSING must be true or false, got 'maybe'");
    }
    {
        EnvVar threads("ARTISTRY_THREADS", "2");
        o.threads = 0;
        CHECK(Engine(o).threads() == 2);
    }
}

TEST_CASE("metrics: Prometheus text with histograms by op, runs by status and time saved") {
    Fixture f;
    f.registry.add(test::fake::effect(
        "we\"ird\\op", {},
        [](const Image& in, const Params&, const EffectContext&) { return in; }));
    Engine engine(f.options(2));
    const Graph pair = Graph::Builder()
                           .node("a", "meet", {},
                                 {{"tag", "a"},
                                  {"partner", "b"},
                                  {"sleep_ms", std::int64_t{200}},
                                  {"timeout_ms", std::int64_t{20000}}})
                           .node("b", "meet", {},
                                 {{"tag", "b"},
                                  {"partner", "a"},
                                  {"sleep_ms", std::int64_t{200}},
                                  {"timeout_ms", std::int64_t{20000}}})
                           .node("w", "we\"ird\\op")
                           .build(f.registry);
    REQUIRE(engine.run(pair, f.image).status == RunStatus::ok);
    const Graph half = Graph::Builder().node("x", "copy").node("y", "fail").build(f.registry);
    REQUIRE(engine.run(half, f.image).status == RunStatus::partial);

    const std::string text = engine.metrics_text();
    const auto has = [&](const std::string& line) {
        const bool found = text.find(line + "\n") != std::string::npos;
        if (!found) MESSAGE("missing: " << line << "\nin:\n" << text);
        return found;
    };
    CHECK(
        has("# HELP artistry_processing_duration_seconds Time one node spent in its effect, by op "
            "(completed nodes)."));
    CHECK(has("# TYPE artistry_processing_duration_seconds histogram"));
    CHECK(has("artistry_processing_duration_seconds_bucket{op=\"meet\",le=\"+Inf\"} 2"));
    CHECK(has("artistry_processing_duration_seconds_count{op=\"meet\"} 2"));
    CHECK(has("artistry_processing_duration_seconds_bucket{op=\"copy\",le=\"+Inf\"} 1"));
    CHECK(has("artistry_processing_duration_seconds_count{op=\"we\\\"ird\\\\op\"} 1"));
    CHECK(text.find("op=\"fail\",le") == std::string::npos);  // failed nodes are not timed
    CHECK(has("# TYPE artistry_run_duration_seconds histogram"));
    CHECK(has("artistry_run_duration_seconds_count 2"));
    CHECK(has("artistry_run_duration_seconds_bucket{le=\"+Inf\"} 2"));
    CHECK(has("# TYPE artistry_runs_total counter"));
    CHECK(has("artistry_runs_total{status=\"ok\"} 1"));
    CHECK(has("artistry_runs_total{status=\"partial\"} 1"));
    CHECK(has("artistry_runs_total{status=\"failed\"} 0"));
    CHECK(has("artistry_runs_total{status=\"cancelled\"} 0"));
    CHECK(has("artistry_nodes_total{op=\"fail\",status=\"failed\"} 1"));
    CHECK(has("# TYPE artistry_parallel_time_saved_seconds counter"));

    // Two nodes side by side for 200 ms: about 200 ms saved, less the run's own overhead.
    const auto at = text.find("\nartistry_parallel_time_saved_seconds ");
    REQUIRE(at != std::string::npos);
    const double saved = std::strtod(text.c_str() + at + 38, nullptr);
    CHECK(saved > 0.1);

    // Buckets are cumulative.
    long previous = -1;
    std::size_t pos = 0;
    const std::string prefix = "artistry_run_duration_seconds_bucket{le=\"";
    while ((pos = text.find(prefix, pos)) != std::string::npos) {
        const auto space = text.find("} ", pos);
        const long count = std::strtol(text.c_str() + space + 2, nullptr, 10);
        CHECK(count >= previous);
        previous = count;
        pos = space;
    }
    CHECK(previous == 2);
}

TEST_CASE("before any run has timed it, a model-backed node is expected to cost a model's time") {
    // The CLI runs once per process, so its first progress events come from these priors: a
    // cut-out must not look as cheap as a copy (a 10 MP cut-out and two effects used to show
    // "69 %, ETA 0.5 s" with 3 s to go).
    Fixture f;
    EffectInfo infer = test::fake::effect(
        "infer", {}, [](const Image& in, const Params&, const EffectContext&) { return in; });
    infer.describe = [](const Params&, int, int, const EffectContext&) {
        EffectPlan plan;
        plan.models = {"net"};
        return plan;
    };
    f.registry.add(std::move(infer));
    Engine engine(f.options(1));
    const Graph chain = Graph::Builder()
                            .node("a", "copy", {}, {{"tag", "a"}})
                            .node("m", "infer", {"a"})
                            .build(f.registry);
    Recorder rec;
    RunOptions o;
    o.progress = rec.callback();
    REQUIRE(engine.run(chain, Image::allocate(1000, 1000, 3), o).status == RunStatus::ok);
    std::lock_guard lock(rec.mutex);
    const ProgressEvent first = rec.events.front();
    const double copy_s = 1.0 / f.options(1).default_throughput_mps;
    const double model_s = 1.0 / graph::model_node_prior_mps(1.0);
    CHECK(model_s > 3.0);
    CHECK(first.eta_seconds == doctest::Approx(copy_s + model_s).epsilon(0.01));
    for (const auto& e : rec.events)  // the copy done, the model not yet: a small fraction
        if (e.node == "a" && e.phase == Phase::done) CHECK(e.fraction < 0.1);
}

namespace {

// paint(value): the image filled with `value`, and {"value": value} as data. gather: its inputs'
// first pixels side by side, and the data of the input named by `source` as its own.
void add_multi_input_effects(EffectRegistry& registry) {
    EffectInfo paint;
    paint.name = "paint";
    paint.params = {param::integer("value", 0, 0, 255, "fill")};
    paint.has_data = true;
    paint.render = [](const Image& in, const Params& p, const EffectContext& ctx) {
        Image out = Image::allocate(in.width(), in.height(), 3);
        for (int y = 0; y < out.height(); ++y)
            std::fill(out.row(y), out.row(y) + out.row_bytes(), std::uint8_t(p.integer("value")));
        if (ctx.data != nullptr)
            *ctx.data = "{\"value\": " + std::to_string(p.integer("value")) + "}";
        return out;
    };
    registry.add(paint);
    EffectInfo gather;
    gather.name = "gather";
    gather.params = {param::text("source", "", "an input node")};
    gather.min_inputs = 1;
    gather.max_inputs = 3;
    gather.node_params = {"source"};
    gather.has_data = true;
    gather.render = [](const Image& in, const Params& p, const EffectContext& ctx) {
        Image out = in.clone();
        REQUIRE(ctx.more_inputs != nullptr);
        for (std::size_t i = 0; i < ctx.more_inputs->size(); ++i)
            out.row(0)[3 * (i + 1)] = (*ctx.more_inputs)[i].row(0)[0];
        REQUIRE(ctx.input_data != nullptr);
        if (ctx.data != nullptr) *ctx.data = ctx.input_data->at(p.text("source"));
        return out;
    };
    registry.add(gather);
}

}  // namespace

TEST_CASE("a node of several inputs gets their images in order and their data by node id") {
    Fixture f;
    add_multi_input_effects(f.registry);
    Engine engine(f.options());
    const Graph g = Graph::Builder()
                        .node("a", "paint", {}, {{"value", std::int64_t{10}}})
                        .node("b", "paint", {}, {{"value", std::int64_t{20}}})
                        .node("c", "paint", {}, {{"value", std::int64_t{30}}})
                        .node("g", "gather", {"a", "b", "c"}, {{"source", std::string("b")}})
                        .output("g")
                        .build(f.registry);
    for (int run = 0; run < 4; ++run) {  // the three inputs finish in any order
        const Result r = engine.run(g, f.image);
        REQUIRE(r.ok());
        const Image& out = r.output("g");
        CHECK(out.row(0)[0] == 10);
        CHECK(out.row(0)[3] == 20);
        CHECK(out.row(0)[6] == 30);
        CHECK(r.data.at("g") == "{\"value\": 20}");
    }
    const Error not_input = test::error_of([&] {
        Graph::Builder()
            .node("a", "paint")
            .node("g", "gather", {"a"}, {{"source", std::string("z")}})
            .build(f.registry);
    });
    CHECK(std::string(not_input.what()) ==
          "node 'g': source 'z' must be one of the node's inputs (a)");
    const Error too_many = test::error_of([&] {
        Graph::Builder()
            .node("a", "paint")
            .node("g", "gather", {"a", "a", "a", "a"})
            .build(f.registry);
    });
    CHECK(std::string(too_many.what()).find("takes 1 to 3 inputs, got 4") != std::string::npos);
}
