// Many runs at once on one engine; built and run under ThreadSanitizer by the tsan preset.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "artistry/engine.hpp"
#include "artistry/graph.hpp"
#include "fake_effects.hpp"

using namespace artistry;
using namespace std::chrono_literals;

namespace {

constexpr int run_count = 200;

enum class Kind { plain, failing, cancelled };

Kind kind_of(int i) {
    return i % 10 == 3 ? Kind::failing : i % 10 == 7 ? Kind::cancelled : Kind::plain;
}

// One cut read by three effects; every run tags its nodes so its calls can be counted.
Graph graph_for(int i, const EffectRegistry& registry) {
    const std::string t = std::to_string(i);
    auto b = Graph::Builder().node("cut", "copy", {}, {{"tag", "cut" + t}});
    b.node("bw", "rows", {"cut"},
           {{"tag", "bw" + t}, {"band", std::int64_t{2}}, {"hold", kind_of(i) == Kind::cancelled}});
    b.node("pop", "copy", {"cut"}, {{"tag", "pop" + t}});
    if (kind_of(i) == Kind::failing)
        b.node("bits", "fail", {"cut"});
    else
        b.node("bits", "copy", {"cut"}, {{"tag", "bits" + t}});
    return b.output("bw").output("pop").output("bits").build(registry);
}

EngineOptions options(const EffectRegistry& registry, int threads, int max_parallel) {
    EngineOptions eo;
    eo.registry = &registry;
    eo.threads = threads;
    eo.max_parallel = max_parallel;
    eo.use_environment = false;
    eo.cache_options.enabled = false;  // every run must really run its nodes
    return eo;
}

}  // namespace

TEST_CASE("200 runs at once on one engine: each cut once, failures and cancels stay in their run") {
    const auto probe = std::make_shared<test::Probe>();
    const EffectRegistry registry = test::fake_registry(probe);
    Engine engine(options(registry, 4, 2));
    const Image image = Image::allocate(16, 12, 3);

    std::vector<RunHandle> handles(run_count);
    std::vector<std::atomic<int>> events(run_count);
    std::vector<std::atomic<bool>> ended(run_count);
    std::vector<std::thread> clients;
    constexpr int client_count = 8;
    for (int c = 0; c < client_count; ++c) {
        clients.emplace_back([&, c] {
            for (int i = c; i < run_count; i += client_count) {
                RunOptions o;
                o.max_parallel = i % 3;  // 0: the engine's default
                o.progress = [&events, &ended, i](const ProgressEvent& e) {
                    events[i].fetch_add(1);
                    if (e.node.empty() && e.fraction == 1.0) ended[i] = true;
                };
                handles[i] = engine.submit(graph_for(i, registry), image, o);
            }
        });
    }
    for (auto& t : clients) t.join();

    // Cancel each held run as soon as it holds (in whatever order the workers reach them),
    // from two threads, through the handle or through the engine.
    std::vector<std::thread> cancellers;
    for (int c = 0; c < 2; ++c) {
        cancellers.emplace_back([&, c] {
            std::vector<int> left;
            for (int i = c; i < run_count; i += 2)
                if (kind_of(i) == Kind::cancelled) left.push_back(i);
            const auto deadline = std::chrono::steady_clock::now() + 60s;
            while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
                for (auto it = left.begin(); it != left.end();) {
                    if (!probe->wait_for("holding:bw" + std::to_string(*it), 0ms)) {
                        ++it;
                        continue;
                    }
                    if (*it % 20 == 7)
                        handles[*it].cancel();
                    else
                        CHECK(engine.cancel(handles[*it].id()));
                    it = left.erase(it);
                }
                std::this_thread::sleep_for(1ms);
            }
            CHECK(left.empty());
        });
    }
    for (auto& t : cancellers) t.join();

    int ok = 0;
    int partial = 0;
    int cancelled = 0;
    for (int i = 0; i < run_count; ++i) {
        const std::string t = std::to_string(i);
        const Result& r = handles[i].result();
        CHECK(ended[i].load());
        CHECK(events[i].load() > 4);
        CHECK(probe->calls("cut" + t) == 1);
        switch (kind_of(i)) {
            case Kind::plain:
                ++ok;
                CHECK(r.status == RunStatus::ok);
                CHECK(r.outputs.size() == 3);
                CHECK(probe->calls("bw" + t) == 1);
                break;
            case Kind::failing:
                ++partial;
                CHECK(r.status == RunStatus::partial);
                CHECK(r.outputs.size() == 2);
                CHECK(r.node("bits").error == "boom");
                break;
            case Kind::cancelled:
                ++cancelled;
                CHECK(r.status == RunStatus::cancelled);
                CHECK(r.node("bw").status == NodeStatus::cancelled);
                break;
        }
    }
    const std::string metrics = engine.metrics_text();
    CHECK(metrics.find("artistry_runs_total{status=\"ok\"} " + std::to_string(ok) + "\n") !=
          std::string::npos);
    CHECK(metrics.find("artistry_runs_total{status=\"partial\"} " + std::to_string(partial) +
                       "\n") != std::string::npos);
    CHECK(metrics.find("artistry_runs_total{status=\"cancelled\"} " + std::to_string(cancelled) +
                       "\n") != std::string::npos);
    CHECK(metrics.find("artistry_run_duration_seconds_count " + std::to_string(run_count) + "\n") !=
          std::string::npos);
}

TEST_CASE("synchronous runs from many threads share one engine") {
    const auto probe = std::make_shared<test::Probe>();
    const EffectRegistry registry = test::fake_registry(probe);
    Engine engine(options(registry, 3, 0));
    const Graph g = Graph::Builder()
                        .node("cut", "copy", {}, {{"tag", "cut"}})
                        .node("a", "rows", {"cut"}, {{"tag", "a"}})
                        .node("b", "copy", {"cut"}, {{"tag", "b"}})
                        .build(registry);
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t)
        threads.emplace_back([&] {
            for (int k = 0; k < 10; ++k)
                if (engine.run(g, Image::allocate(8, 8, 3)).status == RunStatus::ok) ++good;
        });
    for (auto& t : threads) t.join();
    CHECK(good.load() == 60);
    CHECK(probe->calls("cut") == 60);
}
