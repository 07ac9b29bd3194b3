// The engine with its result cache and memory manager: a node computed once is found again by
// content, a cached reader spares its inputs, and no node runs past the memory budget.

#include <doctest/doctest.h>

#include "artistry/cache.hpp"
#include "artistry/engine.hpp"
#include "artistry/memory.hpp"
#include "fake_effects.hpp"
#include "test_support.hpp"

using namespace artistry;

namespace {

struct Fixture {
    std::shared_ptr<test::Probe> probe = std::make_shared<test::Probe>();
    EffectRegistry registry = test::fake_registry(probe);

    EngineOptions options() const {
        EngineOptions o;
        o.registry = &registry;
        o.threads = 2;
        o.use_environment = false;
        o.cache_options.disk = false;  // memory tier only: nothing outside the process
        o.cache_options.redis = false;
        o.cache_options.async_writes = false;
        return o;
    }
};

Image pattern(int w, int h, int seed) {
    Image img = Image::allocate(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w * 3; ++x)
            img.row(y)[x] = static_cast<std::uint8_t>(x * 7 + y * 3 + seed);
    return img;
}

Graph cut_and_two(const EffectRegistry& r) {
    return Graph::Builder()
        .node("cut", "copy", {}, {{"tag", std::string("cut")}})
        .node("a", "copy", {"cut"}, {{"tag", std::string("a")}})
        .node("b", "copy", {"cut"}, {{"tag", std::string("b")}})
        .output("a")
        .output("b")
        .build(r);
}

}  // namespace

TEST_CASE("a second run of the same input and graph is served from the cache") {
    Fixture f;
    Engine engine(f.options());
    const Image img = pattern(40, 30, 1);
    const Graph g = cut_and_two(f.registry);
    const Result first = engine.run(g, img);
    REQUIRE(first.ok());
    CHECK(f.probe->calls("cut") == 1);
    const Result second = engine.run(g, img);
    REQUIRE(second.ok());
    CHECK(second.node("a").status == NodeStatus::cached);
    CHECK(second.node("b").status == NodeStatus::cached);
    // The cut is needed by no uncached node, so it is not computed again either.
    CHECK(second.node("cut").status == NodeStatus::skipped);
    CHECK(f.probe->calls("cut") == 1);
    CHECK(f.probe->calls("a") == 1);
    CHECK(second.output("a").same_pixels(first.output("a")));
    CHECK(engine.metrics_text().find("artistry_cache_hits_total") != std::string::npos);
}

TEST_CASE("the cache key follows pixels and parameters, not the image object") {
    Fixture f;
    Engine engine(f.options());
    const Graph g = cut_and_two(f.registry);
    REQUIRE(engine.run(g, pattern(40, 30, 1)).ok());
    // Same pixels in a new buffer with another stride: a hit.
    const Image same = pattern(40, 30, 1);
    std::vector<std::uint8_t> padded(static_cast<std::size_t>(40 * 3 + 16) * 30);
    const Image strided = Image::wrap(padded.data(), 40, 30, 3, PixelType::u8, 40 * 3 + 16);
    for (int y = 0; y < 30; ++y) std::copy(same.row(y), same.row(y) + 120, strided.row(y));
    CHECK(engine.run(g, strided).node("a").status == NodeStatus::cached);
    // One pixel differs: every node runs again.
    Image changed = pattern(40, 30, 1);
    changed.row(29)[119] ^= 1;
    CHECK(engine.run(g, changed).node("cut").status == NodeStatus::ok);
    CHECK(f.probe->calls("cut") == 2);
    // Other parameters on one branch: only that branch runs; its input comes from the cache.
    const Graph other = Graph::Builder()
                            .node("cut", "copy", {}, {{"tag", std::string("cut")}})
                            .node("a", "copy", {"cut"}, {{"tag", std::string("a2")}})
                            .output("a")
                            .build(f.registry);
    const Result r = engine.run(other, changed);
    CHECK(r.node("cut").status == NodeStatus::cached);
    CHECK(r.node("a").status == NodeStatus::ok);
    CHECK(f.probe->calls("cut") == 2);
}

TEST_CASE("a cached reader and a computed reader of the same cached node") {
    Fixture f;
    Engine engine(f.options());
    const Image img = pattern(24, 20, 5);
    REQUIRE(engine.run(cut_and_two(f.registry), img).ok());
    // "a" is in the cache, "b" has new parameters: b must still receive the cut's pixels.
    const Graph g = Graph::Builder()
                        .node("cut", "copy", {}, {{"tag", std::string("cut")}})
                        .node("a", "copy", {"cut"}, {{"tag", std::string("a")}})
                        .node("b", "copy", {"cut"}, {{"tag", std::string("b2")}})
                        .output("a")
                        .output("b")
                        .build(f.registry);
    const Result r = engine.run(g, img);
    REQUIRE(r.ok());
    CHECK(r.node("cut").status == NodeStatus::cached);
    CHECK(r.node("a").status == NodeStatus::cached);
    CHECK(r.node("b").status == NodeStatus::ok);
    CHECK(r.output("b").same_pixels(img));
    CHECK(f.probe->calls("a") == 1);
}

TEST_CASE("ARTISTRY_CACHE-style switch: a disabled cache computes every run") {
    Fixture f;
    EngineOptions o = f.options();
    o.cache_options.enabled = false;
    Engine engine(o);
    const Graph g = cut_and_two(f.registry);
    const Image img = pattern(16, 16, 3);
    engine.run(g, img);
    engine.run(g, img);
    CHECK(f.probe->calls("cut") == 2);
}

TEST_CASE("a node larger than the whole memory budget fails at once, naming the budget") {
    Fixture f;
    EngineOptions o = f.options();
    o.cache_options.enabled = false;
    MemoryOptions mo;
    mo.use_environment = false;
    mo.cpu_budget = Budget::parse("64KiB");
    o.memory = std::make_shared<MemoryManager>(mo);
    Engine engine(o);
    const Graph g = cut_and_two(f.registry);
    const Result small = engine.run(g, pattern(32, 32, 0));  // 32*32*(4+4) = 8 KiB a node
    CHECK(small.ok());
    const Result big = engine.run(g, pattern(200, 200, 0));  // 320 KB a node
    CHECK(big.status == RunStatus::failed);
    CHECK(big.node("cut").error_status == Status::limit_exceeded);
    CHECK(f.probe->calls("cut") == 1);  // the big one never started its effect
    CHECK(o.memory->stats(Device::cpu()).peak <= 64 * 1024);
}

TEST_CASE("concurrent runs under a small budget all finish and never exceed it") {
    Fixture f;
    EngineOptions o = f.options();
    o.cache_options.enabled = false;
    MemoryOptions mo;
    mo.use_environment = false;
    mo.cpu_budget = Budget::parse("40KiB");  // two 16 KiB nodes at a time, not three
    o.memory = std::make_shared<MemoryManager>(mo);
    Engine engine(o);
    const Graph g = cut_and_two(f.registry);
    std::vector<RunHandle> runs;
    for (int i = 0; i < 12; ++i) runs.push_back(engine.submit(g, pattern(32, 64, i)));
    for (auto& r : runs) CHECK(r.result().ok());
    const auto stats = o.memory->stats(Device::cpu());
    CHECK(stats.peak <= 40 * 1024);
    CHECK(stats.in_use == 0);
}
