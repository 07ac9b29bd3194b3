// Streamed runs (Engine::run_file band by band) keep what whole runs have: the engine's models,
// structured output, cancellation; outputs that share the input read it once; bands are sized
// for speed, the memory budget only bounding them.

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "artistry/engine.hpp"
#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "artistry/models.hpp"
#include "artistry/tiling.hpp"
#include "engine_test_support.hpp"
#include "test_support.hpp"

using namespace artistry;
using artistry::test::have_model;
using artistry::test::quiet_engine;
using artistry::test::TempDir;

namespace {

// A portrait BlazeFace finds (Debian's python3-skimage ships it); empty when missing.
std::string portrait() {
    const std::string path = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";
    if (std::filesystem::exists(path)) return path;
    MESSAGE("skipped: " << path << " is missing (Debian package python3-skimage)");
    return {};
}

int files_in(const std::filesystem::path& dir) {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        (void)entry;
        ++n;
    }
    return n;
}

// Every output of `graph` on `photo` in memory and streamed in bands of `rows`: the same bytes.
FileRunResult check_streamed_equals_whole(Engine& engine, const Graph& graph,
                                          const std::string& photo, int rows) {
    TempDir dir;
    std::map<std::string, std::string> whole, streamed;
    for (const auto& id : graph.outputs()) {
        whole[id] = dir.file(id + "_whole.png");
        streamed[id] = dir.file(id + "_streamed.png");
    }
    FileRunOptions o;
    o.memory_budget_bytes = std::uint64_t{1} << 30;
    const FileRunResult in_memory = engine.run_file(graph, photo, whole, o);
    REQUIRE_FALSE(in_memory.plan.stream);
    o.tile_size = rows;
    FileRunResult run = engine.run_file(graph, photo, streamed, o);
    REQUIRE(run.plan.stream);
    for (const auto& id : graph.outputs()) {
        INFO("output " << id);
        CHECK(test::file_bytes(streamed[id]) == test::file_bytes(whole[id]));
    }
    return run;
}

}  // namespace

TEST_CASE("a streamed detect_faces returns the detections of the whole run") {
    const std::string photo = portrait();
    if (photo.empty() || !have_model("blazeface-front")) return;
    Engine engine(quiet_engine());
    const Image image = load_image(photo);
    // The faces node feeds a B&W output: its data is kept though it is no output.
    const Graph graph = Graph::Builder()
                            .node("faces", "detect_faces")
                            .node("bw", "enhanced_bw", {"faces"}, {{"clahe", false}})
                            .output("bw")
                            .build();
    const Result whole = engine.run(graph, image);
    REQUIRE(whole.ok());
    REQUIRE(whole.data.count("faces") == 1);
    REQUIRE_FALSE(nlohmann::json::parse(whole.data.at("faces")).empty());

    TempDir dir;
    FileRunOptions o;
    o.tile_size = 48;
    const FileRunResult streamed = engine.run_file(graph, photo, {{"bw", dir.file("bw.png")}}, o);
    REQUIRE(streamed.plan.stream);
    REQUIRE(streamed.result.data.count("faces") == 1);
    CHECK(streamed.result.data.at("faces") == whole.data.at("faces"));
    CHECK(streamed.result.data.count("bw") == 0);  // an effect without structured output
    CHECK(load_image(dir.file("bw.png")).same_pixels(whole.output("bw")));

    // As the output itself: the node's data is in its NodeResult too.
    const Graph alone = Graph::Builder().node("faces", "detect_faces").output("faces").build();
    const FileRunResult direct =
        engine.run_file(alone, photo, {{"faces", dir.file("faces.png")}}, o);
    CHECK(direct.result.data.at("faces") == whole.data.at("faces"));
    CHECK(direct.result.node("faces").data == whole.data.at("faces"));
}

TEST_CASE("a streamed run gets its models from the engine's store") {
    // The engine's own store is empty: the streamed detect_faces must look there, not in the
    // process's shared store (where the model may well be installed).
    TempDir models;
    ModelStoreOptions mo;
    mo.dir = models.path;
    mo.use_environment = false;
    EngineOptions eo = quiet_engine();
    eo.models = std::make_shared<ModelStore>(mo);
    Engine engine(eo);
    const Graph graph = Graph::Builder().node("faces", "detect_faces").output("faces").build();
    TempDir dir;
    FileRunOptions o;
    o.tile_size = 64;
    const Error e = test::error_of([&] {
        engine.run_file(graph, test::data_path("messi5.jpg"), {{"faces", dir.file("f.png")}}, o);
    });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()).find("blazeface-front") != std::string::npos);
    CHECK(files_in(dir.path) == 0);
}

TEST_CASE("cancelling a streamed run midway stops it and leaves no output") {
    Engine engine(quiet_engine());
    const Graph graph = Graph::Builder()
                            .node("c", "color", {}, {{"gamma", 1.4}})
                            .node("d", "dither", {"c"})
                            .node("bw", "enhanced_bw")
                            .output("d")
                            .output("bw")
                            .build();
    TempDir dir;
    FileRunOptions o;
    o.tile_size = 16;
    o.run.cancel = std::make_shared<std::atomic<bool>>(false);
    std::atomic<int> bands_written{0};
    std::atomic<bool> cancelled_event{false};
    o.run.progress = [&](const ProgressEvent& e) {
        if (e.phase == Phase::running && e.units_done > 0 && ++bands_written == 2)
            o.run.cancel->store(true);
        if (e.phase == Phase::cancelled) cancelled_event = true;
    };
    const Error e = test::error_of([&] {
        engine.run_file(graph, test::data_path("butterfly.jpg"),
                        {{"d", dir.file("d.png")}, {"bw", dir.file("bw.jpg")}}, o);
    });
    CHECK(e.status() == Status::cancelled);
    CHECK(bands_written >= 2);  // it had started writing
    CHECK(cancelled_event);
    CHECK(files_in(dir.path) == 0);  // no output, no temporary file
}

TEST_CASE("Engine::cancel reaches a streamed run by the id its events carry") {
    Engine engine(quiet_engine());
    const Graph graph = Graph::Builder().node("d", "dither").output("d").build();
    TempDir dir;
    FileRunOptions o;
    o.tile_size = 16;
    std::atomic<std::uint64_t> id{0};
    std::atomic<bool> found{false};
    o.run.progress = [&](const ProgressEvent& e) {
        id = e.run_id;
        if (e.phase == Phase::running && e.units_done > 0 && !found.exchange(true))
            CHECK(engine.cancel(e.run_id));
    };
    const Error e = test::error_of([&] {
        engine.run_file(graph, test::data_path("butterfly.jpg"), {{"d", dir.file("d.png")}}, o);
    });
    CHECK(e.status() == Status::cancelled);
    CHECK(id != 0);
    CHECK_FALSE(engine.cancel(id));  // over: the id no longer names a run
    CHECK(files_in(dir.path) == 0);
    // A run that finishes reports the same id in its result.
    o.run.progress = [&](const ProgressEvent& ev) { id = ev.run_id; };
    const FileRunResult done =
        engine.run_file(graph, test::data_path("butterfly.jpg"), {{"d", dir.file("d.png")}}, o);
    CHECK(done.result.run_id == id);
}

TEST_CASE("outputs of one streamed graph read the input once per pass") {
    Engine engine(quiet_engine());
    const std::string photo = test::data_path("fruits.jpg");
    const int height = probe_image_file(photo).height;
    // Point and sequential chains: one pass, the file decoded once for both outputs.
    const Graph plain = Graph::Builder()
                            .node("c", "color", {}, {{"saturation", 1.3}})
                            .node("d", "dither", {"c"}, {{"method", std::string("atkinson")}})
                            .node("bw", "enhanced_bw", {}, {{"clahe", false}})
                            .output("d")
                            .output("bw")
                            .build();
    const FileRunResult one = check_streamed_equals_whole(engine, plain, photo, 37);
    for (const auto& id : {"d", "bw"}) {
        INFO("output " << id);
        CHECK(one.tiled.at(id).input_passes == 1);
        CHECK(one.tiled.at(id).rows_read == static_cast<std::uint64_t>(height));
    }
    // Each chain with a streamed analysis (CLAHE, pop_art's palette): one analysis pass for
    // both, then the final one — two reads, not four.
    const Graph analysed = Graph::Builder()
                               .node("bw", "enhanced_bw")
                               .node("pop", "pop_art")
                               .output("bw")
                               .output("pop")
                               .build();
    const FileRunResult two = check_streamed_equals_whole(engine, analysed, photo, 29);
    CHECK(two.tiled.at("bw").input_passes == 2);
    CHECK(two.tiled.at("pop").rows_read == 2 * static_cast<std::uint64_t>(height));
}

TEST_CASE("band height: sized for speed, bounded by the budget, aligned, large against halos") {
    const int w = 16384, h = 9216;
    const EffectChain bw = {{"enhanced_bw", {}}};
    const std::uint64_t ample = std::uint64_t{8} << 30;
    const int fast = band_rows_for_speed(bw, w, h, 3, ample);
    // A large budget no longer means large bands: far below what it would allow.
    CHECK(fast >= 16);
    CHECK(fast * 8 <= tile_size_for_budget(bw, w, h, 3, ample));
    CHECK(tiled_working_set(bw, w, h, 3, fast) < (std::uint64_t{256} << 20));
    // A tight budget bounds it.
    const std::uint64_t tight = tiled_working_set(bw, w, h, 3, 8);
    CHECK(band_rows_for_speed(bw, w, h, 3, tight) <= tile_size_for_budget(bw, w, h, 3, tight));
    // Block-aligned error diffusion: whole block rows; a wide halo: bands several halos high.
    const EffectChain blocks = {
        {"retro_8bit", {{"block", std::int64_t{24}}, {"dither", std::string("atkinson")}}}};
    CHECK(band_rows_for_speed(blocks, w, h, 3, ample) % 24 == 0);
    const EffectChain halo = {{"retro_8bit", {{"block", std::int64_t{64}}}}};
    CHECK(band_rows_for_speed(halo, w, h, 3, ample) >= 4 * 63);
}

TEST_CASE("a default streamed run uses bands sized for speed and equals the whole run") {
    Engine engine(quiet_engine());
    const Graph graph =
        Graph::Builder().node("bw", "enhanced_bw").node("d", "dither", {"bw"}).output("d").build();
    const std::string photo = test::data_path("baboon.jpg");
    const ImageInfo info = probe_image_file(photo);
    TempDir dir;
    FileRunOptions o;
    o.memory_budget_bytes = std::uint64_t{1} << 30;
    engine.run_file(graph, photo, {{"d", dir.file("whole.png")}}, o);
    o.force_streaming = true;
    const FileRunResult run = engine.run_file(graph, photo, {{"d", dir.file("streamed.png")}}, o);
    REQUIRE(run.plan.stream);
    const EffectChain chain = run.plan.chains.at("d");
    CHECK(run.tiled.at("d").tile_size ==
          band_rows_for_speed(chain, info.width, info.height, 3, o.memory_budget_bytes));
    CHECK(test::file_bytes(dir.file("streamed.png")) == test::file_bytes(dir.file("whole.png")));
}
