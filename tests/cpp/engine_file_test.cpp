// Engine::run_file: a graph from an image file to files, streamed band by band or in memory;
// both write the same bytes, a truncated input leaves nothing, the plan says which was chosen.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "artistry/engine.hpp"
#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "engine_test_support.hpp"
#include "test_support.hpp"

using namespace artistry;
using artistry::test::quiet_engine;
using artistry::test::TempDir;

namespace {

Graph color_then_dither() {
    return Graph::Builder()
        .node("c", "color", {}, {{"gamma", 1.4}})
        .node("d", "dither", {"c"}, {{"method", std::string("floyd_steinberg")}})
        .output("d")
        .build();
}

}  // namespace

TEST_CASE("run_file: streamed and in-memory write identical bytes for color -> dither") {
    Engine engine(quiet_engine());
    const Graph graph = color_then_dither();
    const std::string photo = test::data_path("butterfly.jpg");
    TempDir dir;

    FileRunOptions whole;
    whole.memory_budget_bytes = std::uint64_t{1} << 30;
    const auto a = engine.run_file(graph, photo, {{"d", dir.file("whole.png")}}, whole);
    CHECK_FALSE(a.plan.stream);
    REQUIRE(a.result.ok());
    REQUIRE(a.written.count("d") == 1);

    for (const int tile : {17, 64}) {
        CAPTURE(tile);
        FileRunOptions streamed = whole;
        streamed.tile_size = tile;  // forces streaming
        std::vector<double> fractions;
        streamed.run.progress = [&](const ProgressEvent& e) { fractions.push_back(e.fraction); };
        const std::string out = dir.file("tiled_" + std::to_string(tile) + ".png");
        const auto b = engine.run_file(graph, photo, {{"d", out}}, streamed);
        CHECK(b.plan.stream);
        CHECK(b.plan.chain);
        REQUIRE(b.tiled.count("d") == 1);
        CHECK(b.tiled.at("d").tile_size == tile);
        CHECK(b.tiled.at("d").bands == (356 + tile - 1) / tile);
        CHECK(test::file_bytes(out) == test::file_bytes(dir.file("whole.png")));
        REQUIRE(fractions.size() >= 2);
        CHECK(fractions.front() == 0.0);
        CHECK(fractions.back() == 1.0);
        CHECK(std::is_sorted(fractions.begin(), fractions.end()));
    }

    // JPEG output too: both paths go through the same encoder.
    FileRunOptions jpeg = whole;
    engine.run_file(graph, photo, {{"d", dir.file("whole.jpg")}}, jpeg);
    jpeg.force_streaming = true;
    engine.run_file(graph, photo, {{"d", dir.file("tiled.jpg")}}, jpeg);
    CHECK(test::file_bytes(dir.file("tiled.jpg")) == test::file_bytes(dir.file("whole.jpg")));
}

TEST_CASE("run_file: streaming is chosen above the threshold") {
    Engine engine(quiet_engine());
    const Graph graph = color_then_dither();
    const std::string photo = test::data_path("butterfly.jpg");  // 493x356: 0.67 MiB at 4 B/px
    FileRunOptions o;
    o.memory_budget_bytes = std::uint64_t{1} << 30;
    CHECK_FALSE(engine.plan_file(graph, photo, o).stream);
    o.streaming_threshold_bytes = 100'000;
    CHECK(engine.plan_file(graph, photo, o).stream);
    o.streaming_threshold_bytes = 0;
    o.memory_budget_bytes = 2'000'000;  // threshold = budget / 4 = 500 kB
    const FilePlan plan = engine.plan_file(graph, photo, o);
    CHECK(plan.stream);
    CHECK(plan.threshold_bytes == 500'000);
    REQUIRE(plan.chains.count("d") == 1);
    CHECK(plan.chains.at("d").size() == 2);
    CHECK(plan.chains.at("d").front().effect == "color");
}

TEST_CASE("run_file: several outputs, each a chain from the input") {
    Engine engine(quiet_engine());
    const Graph graph = Graph::Builder()
                            .node("c", "color")
                            .node("d", "dither", {"c"})
                            .node("r", "retro_8bit", {"c"})
                            .output("d")
                            .output("r")
                            .build();
    const std::string photo = test::data_path("fruits.jpg");
    TempDir dir;
    FileRunOptions o;
    o.memory_budget_bytes = std::uint64_t{1} << 30;
    engine.run_file(graph, photo, {{"d", dir.file("d.png")}, {"r", dir.file("r.png")}}, o);
    o.tile_size = 64;
    const auto s =
        engine.run_file(graph, photo, {{"d", dir.file("sd.png")}, {"r", dir.file("sr.png")}}, o);
    CHECK(s.plan.stream);
    CHECK(s.written.size() == 2);
    CHECK(test::file_bytes(dir.file("sd.png")) == test::file_bytes(dir.file("d.png")));
    CHECK(test::file_bytes(dir.file("sr.png")) == test::file_bytes(dir.file("r.png")));
}

TEST_CASE("run_file: a truncated input leaves no output file") {
    Engine engine(quiet_engine());
    const Graph graph = color_then_dither();
    TempDir dir;
    auto bytes = test::file_bytes(test::data_path("butterfly.jpg"));
    bytes.resize(bytes.size() / 2);
    const std::string cut = dir.file("cut.jpg");
    test::write_bytes(cut, bytes);
    FileRunOptions o;
    o.tile_size = 32;
    const std::string out = dir.file("out.png");
    const Error e = test::error_of([&] { engine.run_file(graph, cut, {{"d", out}}, o); });
    CHECK(e.status() == Status::decode_error);
    CHECK_FALSE(std::filesystem::exists(out));
    // Nothing else (no temporary file) in the folder either.
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
        (void)entry;
        ++files;
    }
    CHECK(files == 1);  // cut.jpg
}

TEST_CASE("run_file: bad requests") {
    Engine engine(quiet_engine());
    const Graph graph = color_then_dither();
    const std::string photo = test::data_path("butterfly.jpg");
    TempDir dir;
    CHECK(test::error_of([&] { engine.run_file(graph, photo, {}); }).status() ==
          Status::invalid_argument);
    CHECK(test::error_of([&] {
              engine.run_file(graph, photo, {{"c", dir.file("c.png")}});
          }).status() == Status::invalid_argument);
    FileRunOptions o;
    o.force_streaming = true;
    const Error webp = test::error_of([&] {
        engine.run_file(graph, photo, {{"d", dir.file("d.webp")}}, o);
    });
    CHECK(webp.status() == Status::unsupported);
    CHECK(std::string(webp.what()).find("JPEG, PNG or TIFF") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("d.webp")));
    // Not forced: a WebP output of a small image runs in memory.
    const auto r = engine.run_file(graph, photo, {{"d", dir.file("d.webp")}});
    CHECK_FALSE(r.plan.stream);
    CHECK(std::filesystem::exists(dir.file("d.webp")));
}

TEST_CASE("run_file: a cancelled streamed run writes nothing") {
    Engine engine(quiet_engine());
    const Graph graph = color_then_dither();
    TempDir dir;
    FileRunOptions o;
    o.tile_size = 16;
    o.run.cancel = std::make_shared<std::atomic<bool>>(true);
    const Error e = test::error_of([&] {
        engine.run_file(graph, test::data_path("butterfly.jpg"), {{"d", dir.file("d.png")}}, o);
    });
    CHECK(e.status() == Status::cancelled);
    CHECK_FALSE(std::filesystem::exists(dir.file("d.png")));
}
