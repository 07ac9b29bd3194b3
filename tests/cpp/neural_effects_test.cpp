// Model-backed effects: remove_background with ISNet, detect_faces with BlazeFace, the banded
// matte refinement, and structured output through the engine and its cache. Tests that need
// an installed model say so and skip when it is missing (scripts/fetch-models installs them).

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "artistry/engine.hpp"
#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "artistry/opencv.hpp"
#include "artistry/tiling.hpp"
#include "effects/matting/matte_refine.hpp"
#include "engine_test_support.hpp"
#include "test_support.hpp"

using namespace artistry;

using artistry::test::have_model;

namespace {

const char* const astronaut_path = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png";

bool have_astronaut() {
    if (std::filesystem::exists(astronaut_path)) return true;
    MESSAGE("skipped: " << astronaut_path << " is missing (Debian package python3-skimage)");
    return false;
}

// The subject of astronaut.png drawn by hand from the picture (person, neck ring, and the
// helmet she holds), as a coarse polygon in its 512 × 512 pixels.
cv::Mat astronaut_subject() {
    const std::vector<cv::Point> outline = {
        {228, 15},  {262, 20},  {288, 40},  {301, 75},  {298, 105}, {286, 125}, {280, 148},
        {283, 160}, {292, 175}, {302, 200}, {305, 235}, {330, 250}, {352, 275}, {362, 310},
        {362, 345}, {395, 342}, {440, 348}, {478, 368}, {500, 395}, {511, 430}, {511, 511},
        {22, 511},  {16, 460},  {18, 400},  {25, 330},  {38, 290},  {50, 262},  {75, 238},
        {100, 218}, {112, 205}, {115, 190}, {135, 162}, {165, 150}, {180, 135}, {172, 115},
        {158, 100}, {154, 65},  {170, 35},  {198, 18}};
    cv::Mat mask(512, 512, CV_8U, cv::Scalar(0));
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{outline}, cv::Scalar(255));
    return mask;
}

double iou(const cv::Mat& a, const cv::Mat& b) {
    const double inter = cv::countNonZero(a & b), uni = cv::countNonZero(a | b);
    return uni > 0 ? inter / uni : 0;
}

// A store that has no models, whatever is installed.
std::shared_ptr<ModelStore> empty_store(const test::TempDir& dir) {
    ModelStoreOptions o;
    o.dir = dir.path;
    o.use_environment = false;
    return std::make_shared<ModelStore>(o);
}

std::vector<float> refined(const Image& image, const cv::Mat& matte, int radius, int band_rows) {
    std::vector<float> out(std::size_t(image.width()) * std::size_t(image.height()), -1.f);
    effects::MatteRefineOptions o;
    o.radius = radius;
    o.band_rows = band_rows;
    effects::refine_matte(
        image, matte, o,
        [&](int y, float* alpha) {
            std::copy(alpha, alpha + image.width(),
                      out.begin() + std::ptrdiff_t(y) * image.width());
        },
        {}, EffectContext{});
    return out;
}

}  // namespace

TEST_CASE("matte refinement: row bands give the whole-image result, and edges follow the image") {
    // A dark left half and a bright right half split at x = 64; the matte knows only that
    // roughly (1/16 resolution), so its bilinear upscale is a ramp 16 pixels wide.
    const int w = 128, h = 96;
    Image image = Image::allocate(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c) image.row(y)[x * 3 + c] = x < 64 ? 40 : 200;
    cv::Mat matte(h / 16, w / 16, CV_32F);
    for (int y = 0; y < matte.rows; ++y)
        for (int x = 0; x < matte.cols; ++x) matte.at<float>(y, x) = x < 4 ? 0.f : 1.f;

    const auto whole = refined(image, matte, 8, h);
    const auto banded = refined(image, matte, 8, 7);  // bands shorter than the halo
    float worst = 0;
    for (std::size_t i = 0; i < whole.size(); ++i)
        worst = std::max(worst, std::abs(whole[i] - banded[i]));
    CHECK(worst < 1e-5f);
    REQUIRE(*std::min_element(banded.begin(), banded.end()) >= 0.f);  // every row written

    // Across the image's edge (x 63 → 64) the plain upscale climbs one ramp step; the refined
    // matte makes about half of its whole climb there.
    cv::Mat up;
    cv::resize(matte, up, {w, h}, 0, 0, cv::INTER_LINEAR);
    const int y = h / 2;
    const auto at = [&](int x) { return banded[std::size_t(y) * w + std::size_t(x)]; };
    const float plain_step = up.at<float>(y, 64) - up.at<float>(y, 63);
    CHECK(plain_step < 0.1f);
    CHECK(at(64) - at(63) > 0.4f);
    CHECK(at(64) - at(63) > 5 * plain_step);
    CHECK(at(40) < 0.01f);  // away from the edge the matte stays what it was
    CHECK(at(88) > 0.99f);

    const Error bad = test::error_of([&] { refined(image, cv::Mat(), 4, 8); });
    CHECK(bad.status() == Status::invalid_argument);
    CHECK(std::string(bad.what()).find("matte") != std::string::npos);
}

TEST_CASE("matte refinement follows a hue edge where both sides have the same brightness") {
    // Red and green of equal Rec. 709 luma (about 90): a luminance guide sees no edge at all.
    const int w = 128, h = 64;
    Image image = Image::allocate(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            std::uint8_t* p = image.row(y) + 3 * x;
            p[0] = x < 64 ? 200 : 60, p[1] = x < 64 ? 60 : 101, p[2] = 60;
        }
    cv::Mat matte(h / 16, w / 16, CV_32F);
    for (int y = 0; y < matte.rows; ++y)
        for (int x = 0; x < matte.cols; ++x) matte.at<float>(y, x) = x < 4 ? 1.f : 0.f;
    const auto alpha = refined(image, matte, 8, 16);
    const auto at = [&](int x) { return alpha[std::size_t(h / 2) * w + std::size_t(x)]; };
    CHECK(at(63) - at(64) > 0.4f);
    CHECK(at(40) > 0.95f);  // away from the edge the matte stays what it was
    CHECK(at(88) < 0.05f);
}

TEST_CASE("remove_background: model=isnet without the model is a clear error; auto falls back") {
    test::TempDir dir;
    const auto store = empty_store(dir);
    const Image photo = test::load_data("butterfly.jpg");
    EffectContext ctx;
    ctx.models = store.get();
    std::string data;
    ctx.data = &data;
    const Error e = test::error_of([&] {
        apply_effect("remove_background", photo, {{"model", std::string("isnet")}}, ctx);
    });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()).find("isnet") != std::string::npos);

    const Image out = apply_effect("remove_background", photo, {}, ctx);
    CHECK(out.channels() == 4);
    CHECK(nlohmann::json::parse(data) == nlohmann::json{{"method", "classical"}});
}

TEST_CASE("remove_background with ISNet keeps the astronaut and drops the background") {
    if (!have_astronaut() || !have_model("isnet")) return;
    const Image photo = load_image(astronaut_path);
    std::string data;
    EffectContext ctx;
    ctx.data = &data;
    const auto t0 = std::chrono::steady_clock::now();
    const Image alpha =
        apply_effect("remove_background", photo, {{"mode", std::string("alpha")}}, ctx);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(nlohmann::json::parse(data) == nlohmann::json{{"method", "isnet"}});
    REQUIRE(alpha.channels() == 1);
    REQUIRE(alpha.width() == 512);
    const cv::Mat subject = as_mat(alpha) >= 128;
    const double score = iou(subject, astronaut_subject());
    MESSAGE("ISNet astronaut: IoU " << score << " against the hand-drawn outline, " << seconds
                                    << " s");
    CHECK(score >= 0.9);
    // The flag (left) and the shuttle (right) are background.
    CHECK(cv::countNonZero(subject(cv::Rect(0, 0, 40, 200))) < 40 * 200 / 50);
    CHECK(cv::countNonZero(subject(cv::Rect(380, 20, 80, 200))) < 80 * 200 / 50);
}

TEST_CASE("remove_background with ISNet: tiled and streamed equal the whole image, byte for byte") {
    if (!have_model("isnet")) return;
    const Image photo = test::load_data("squirrel_cls.jpg");
    const EffectChain chain = {{"remove_background", {{"model", std::string("isnet")}}}};
    const auto t0 = std::chrono::steady_clock::now();
    const Image whole = apply_effect("remove_background", photo, chain[0].params);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("ISNet cut of squirrel_cls (" << photo.width() << " x " << photo.height()
                                          << "): " << seconds << " s");
    REQUIRE(whole.channels() == 4);
    // Each tiled run analyses anew (a model run, seconds): square tiles smaller than the
    // refinement's halo, and full-width bands that split the image unevenly.
    for (const auto& [t, square] : {std::pair{17, true}, std::pair{256, false}}) {
        TileOptions o;
        o.tile_size = t;
        o.tile_width = square ? t : 0;
        INFO("tile " << t << (square ? " square" : " band"));
        CHECK(run_tiled(chain, photo, o).same_pixels(whole));
    }
    // Streamed from a file: the analysis pass then per-band refinement, never the whole image.
    test::TempDir dir;
    const std::string in = (dir.path / "in.png").string(), out = (dir.path / "out.png").string();
    save_image(photo, in);
    TileOptions o;
    o.tile_size = 64;
    const TiledRunStats stats = run_tiled_file(chain, in, out, o);
    CHECK_FALSE(stats.whole_image_stage);
    CHECK(load_image(out).same_pixels(whole));
}

TEST_CASE("detect_faces finds the astronaut's face, on the square photo and on a wide crop") {
    if (!have_astronaut() || !have_model("blazeface-front")) return;
    const Image photo = load_image(astronaut_path);
    // Expected from the picture: the face (brow to chin, cheek to cheek) spans about
    // x 180–280, y 85–180; BlazeFace's box is that square, give or take.
    const auto check_face = [](const std::string& json, double dy) {
        const auto faces = nlohmann::json::parse(json);
        REQUIRE(faces.size() == 1);
        const auto& f = faces[0];
        const double x = f["box"][0], y = f["box"][1], w = f["box"][2], h = f["box"][3];
        MESSAGE("face box [" << x << ", " << y + dy << ", " << w << ", " << h << "] score "
                             << f["score"]);
        CHECK(std::abs(x + w / 2 - 230) < 20);
        CHECK(std::abs(y + dy + h / 2 - 132) < 20);
        CHECK(w > 70);
        CHECK(w < 140);
        CHECK(double(f["score"]) > 0.7);
        REQUIRE(f["keypoints"].size() == 6);
        // Right and left eye (keypoints 0 and 1) sit in the upper half of the box.
        for (int k = 0; k < 2; ++k) CHECK(double(f["keypoints"][k][1]) < y + h / 2);
    };
    std::string data;
    EffectContext ctx;
    ctx.data = &data;
    const Image same = apply_effect("detect_faces", photo, {}, ctx);
    check_face(data, 0);
    CHECK(same.same_pixels(photo));  // not annotated: the input unchanged

    // A wide crop (512 × 300, from row 20) is padded to a square and mapped back.
    const Image wide = photo.view({0, 20, 512, 300});
    apply_effect("detect_faces", wide, {}, ctx);
    check_face(data, 20);

    const Image drawn = apply_effect("detect_faces", photo, {{"annotate", true}}, ctx);
    CHECK(!drawn.same_pixels(photo));
}

TEST_CASE("detect_faces finds nothing where there is no face") {
    if (!have_model("blazeface-front")) return;
    std::vector<std::string> photos = {test::data_path("fruits.jpg")};
    if (const auto lake = test::shared_fixture("bythewater_1920.jpg"); !lake.empty())
        photos.push_back(lake);
    for (const auto& path : photos) {
        std::string data;
        EffectContext ctx;
        ctx.data = &data;
        apply_effect("detect_faces", load_image(path), {}, ctx);
        CHECK_MESSAGE(nlohmann::json::parse(data).empty(), path << ": " << data);
    }
}

TEST_CASE("detect_faces without its model names the model") {
    test::TempDir dir;
    const auto store = empty_store(dir);
    EffectContext ctx;
    ctx.models = store.get();
    const Error e =
        test::error_of([&] { apply_effect("detect_faces", Image::allocate(64, 64, 3), {}, ctx); });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()).find("blazeface-front") != std::string::npos);
}

TEST_CASE("the engine returns structured output, and a cached node keeps it") {
    test::TempDir dir;
    EngineOptions o;
    o.use_environment = false;
    o.models = empty_store(dir);
    o.cache_options.disk = false;
    Engine engine(o);
    const Graph graph = Graph::Builder()
                            .node("cut", "remove_background", {}, {{"model", std::string("auto")}})
                            .node("bw", "enhanced_bw", {"cut"})
                            .output("bw")
                            .build();
    const Image photo = test::load_data("chicky_512.png");
    const Result first = engine.run(graph, photo);
    REQUIRE(first.ok());
    REQUIRE(first.data.count("cut") == 1);
    CHECK(nlohmann::json::parse(first.data.at("cut"))["method"] == "classical");
    CHECK(first.node("cut").data == first.data.at("cut"));
    CHECK(first.data.count("bw") == 0);  // an effect without structured output

    // Both nodes again, this time asked for: served from the cache, the data with them.
    const Graph both = Graph::Builder()
                           .node("cut", "remove_background", {}, {{"model", std::string("auto")}})
                           .node("bw", "enhanced_bw", {"cut"})
                           .output("bw")
                           .output("cut")
                           .build();
    const Result second = engine.run(both, photo);
    REQUIRE(second.ok());
    CHECK(second.node("cut").status == NodeStatus::cached);
    CHECK(second.data.at("cut") == first.data.at("cut"));
    CHECK(&engine.models() == o.models.get());
}

TEST_CASE("EngineOptions::preload loads at construction and names a model that is missing") {
    test::TempDir dir;
    EngineOptions o;
    o.use_environment = false;
    o.models = empty_store(dir);
    o.preload = {"no-such-model"};
    const Error e = test::error_of([&] { Engine engine(o); });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()).find("no-such-model") != std::string::npos);
}
