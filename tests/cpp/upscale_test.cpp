// upscale: the output is scale× larger and right, tiled inference equals whole-image inference,
// alpha follows, the engine (planner, executor, cache) takes an effect that changes the size,
// and the installed ESRGAN models reproduce the package's own sample outputs.

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <opencv2/imgproc.hpp>

#include "artistry/engine.hpp"
#include "artistry/models.hpp"
#include "artistry/opencv.hpp"
#include "artistry/tiling.hpp"
#include "effects/builtin.hpp"
#include "test_support.hpp"

using namespace artistry;
using artistry::test::error_of;
namespace fs = std::filesystem;

namespace {

const test::EffectUnderTest upscale("upscale", effects::register_upscale);

// A store with the tiny 2× test model registered as "tiny-x2" (and "affine", not an upscaler).
std::shared_ptr<ModelStore> tiny_store() {
    ModelStoreOptions o;
    o.dir = fs::path(ARTISTRY_TINY_MODELS_DIR) / "no-manifest-here";
    o.use_environment = false;
    auto store = std::make_shared<ModelStore>(o);
    store->add(read_model_sidecar(fs::path(ARTISTRY_TINY_MODELS_DIR) / "tiny_x2.onnx"));
    store->add(read_model_sidecar(fs::path(ARTISTRY_TINY_MODELS_DIR) / "affine.onnx"));
    return store;
}

EffectContext with_store(ModelStore& store) {
    EffectContext ctx;
    ctx.models = &store;
    return ctx;
}

Image photo_crop(const std::string& name, int w, int h) {
    const Image full = test::load_data(name);
    return full.view({(full.width() - w) / 2, (full.height() - h) / 2, w, h}).clone();
}

struct Diff {
    int max = 0;
    std::uint64_t differing = 0;
    std::uint64_t total = 0;
};

Diff compare(const Image& a, const Image& b, int channels) {
    Diff d;
    REQUIRE(a.width() == b.width());
    REQUIRE(a.height() == b.height());
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x)
            for (int c = 0; c < channels; ++c) {
                const int v = std::abs(int(a.row(y)[x * a.channels() + c]) -
                                       int(b.row(y)[x * b.channels() + c]));
                d.max = std::max(d.max, v);
                d.differing += v != 0;
                ++d.total;
            }
    return d;
}

double psnr_rgb(const Image& a, const Image& b) {
    double se = 0;
    std::uint64_t n = 0;
    for (int y = 0; y < a.height(); ++y)
        for (int x = 0; x < a.width(); ++x)
            for (int c = 0; c < 3; ++c) {
                const double v =
                    double(a.row(y)[x * a.channels() + c]) - double(b.row(y)[x * b.channels() + c]);
                se += v * v;
                ++n;
            }
    const double mse = se / static_cast<double>(n);
    return mse == 0 ? 200.0 : 10 * std::log10(255.0 * 255.0 / mse);
}

// What tiny_x2 computes: a 3×3 [1 2 1]ᵀ[1 2 1]/16 blur with zero padding, then each pixel
// becomes a 2×2 block with gains [[1, .9], [.95, .85]].
Image tiny_reference(const Image& in) {
    const int w = in.width(), h = in.height();
    const float k[3] = {1, 2, 1};
    const float gain[2][2] = {{1.f, .9f}, {.95f, .85f}};
    Image out = Image::allocate(2 * w, 2 * h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < 3; ++c) {
                float sum = 0;
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx) {
                        const int yy = y + dy, xx = x + dx;
                        if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
                        sum += k[dy + 1] * k[dx + 1] * in.row(yy)[xx * in.channels() + c];
                    }
                for (int i = 0; i < 2; ++i)
                    for (int j = 0; j < 2; ++j)
                        out.row(2 * y + i)[(2 * x + j) * 3 + c] = static_cast<std::uint8_t>(
                            std::clamp(std::nearbyint(sum / 16.f * gain[i][j]), 0.f, 255.f));
            }
    return out;
}

fs::path esrgan_samples() {
    const char* env = std::getenv("ARTISTRY_FETCH_CACHE");
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    const fs::path cache = env   ? fs::path(env)
                           : xdg ? fs::path(xdg) / "artistry" / "fetch"
                                 : fs::path(home ? home : "/") / ".cache" / "artistry" / "fetch";
    return cache / "unpacked" / "@upscalerjs_esrgan-slim@1.0.0" / "assets";
}

}  // namespace

TEST_CASE("upscale makes the image scale times larger with the model's pixels") {
    auto store = tiny_store();
    const Image in = photo_crop("fruits.jpg", 61, 47);  // odd sizes: partial tiles
    const Image out = upscale(in, {{"model", std::string("tiny-x2")}}, with_store(*store));
    CHECK(out.width() == 122);
    CHECK(out.height() == 94);
    CHECK(out.channels() == 3);
    // Against the model's arithmetic done here: the same up to float rounding at .5.
    const Diff d = compare(out, tiny_reference(in), 3);
    CHECK(d.max <= 1);
    CHECK(d.differing * 1000 <= d.total);
}

TEST_CASE("tiled inference with halos equals whole-image inference") {
    auto store = tiny_store();
    const Image in = photo_crop("baboon.jpg", 150, 110);
    const auto ctx = with_store(*store);
    const Image whole =
        upscale(in, {{"model", std::string("tiny-x2")}, {"tile", std::int64_t{0}}}, ctx);
    for (const std::int64_t tile : {7, 32, 100}) {
        CAPTURE(tile);
        const Image tiled = upscale(in, {{"model", std::string("tiny-x2")}, {"tile", tile}}, ctx);
        CHECK(tiled.same_pixels(whole));  // the model sees 1 px around, the halo gives 16
    }
}

TEST_CASE("alpha is resized alongside; the colours are those of the RGB image") {
    auto store = tiny_store();
    const auto ctx = with_store(*store);
    const Image rgb = photo_crop("butterfly.jpg", 40, 30);
    Image rgba = Image::allocate(40, 30, 4);
    for (int y = 0; y < 30; ++y)
        for (int x = 0; x < 40; ++x) {
            std::memcpy(rgba.row(y) + x * 4, rgb.row(y) + x * 3, 3);
            rgba.row(y)[x * 4 + 3] = static_cast<std::uint8_t>(x < 20 ? 255 : x * 6);
        }
    const ParamMap p{{"model", std::string("tiny-x2")}, {"tile", std::int64_t{16}}};
    const Image out = upscale(rgba, p, ctx);
    REQUIRE(out.channels() == 4);
    CHECK(compare(out, upscale(rgb, p, ctx), 3).max == 0);
    cv::Mat alpha, expected;
    cv::extractChannel(as_mat(rgba), alpha, 3);
    cv::resize(alpha, expected, cv::Size(80, 60), 0, 0, cv::INTER_LINEAR);
    cv::Mat got;
    cv::extractChannel(as_mat(out), got, 3);
    CHECK(cv::norm(got, expected, cv::NORM_INF) == 0);
    CHECK(got.at<std::uint8_t>(30, 10) == 255);
}

TEST_CASE("wrong models, scales and cancellation are clear errors") {
    auto store = tiny_store();
    const auto ctx = with_store(*store);
    const Image in = photo_crop("fruits.jpg", 20, 20);
    auto e = error_of([&] {
        upscale(in, {{"model", std::string("tiny-x2")}, {"scale", std::int64_t{3}}}, ctx);
    });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("upscales 2x") != std::string::npos);
    e = error_of([&] { upscale(in, {{"model", std::string("affine")}}, ctx); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("not an upscaler") != std::string::npos);
    e = error_of([&] { upscale(in, {{"model", std::string("esrgan-giant")}}, ctx); });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()).find("esrgan-giant") != std::string::npos);
    // Default model name follows the scale.
    e = error_of([&] { upscale(in, {{"scale", std::int64_t{3}}}, ctx); });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()).find("esrgan-slim-x3") != std::string::npos);
    CHECK(error_of([&] {
              upscale(in, {{"scale", std::int64_t{5}}}, ctx);
          }).status() == Status::invalid_argument);
    std::atomic<bool> cancel{true};
    EffectContext cancelled = ctx;
    cancelled.cancel = &cancel;
    CHECK(error_of([&] {
              upscale(in, {{"model", std::string("tiny-x2")}}, cancelled);
          }).status() == Status::cancelled);
}

TEST_CASE("the engine runs, caches and chains an effect that changes the image size") {
    EngineOptions o;
    o.threads = 2;
    o.use_environment = false;
    o.cache_options.disk = false;
    o.cache_options.redis = false;
    o.cache_options.async_writes = false;
    o.models = tiny_store();
    Engine engine(o);
    const Graph g = Graph::from_json(R"({"nodes": [
        {"id": "big", "op": "upscale", "params": {"model": "tiny-x2", "tile": 24}},
        {"id": "bits", "op": "retro_8bit", "in": ["big"]}],
      "outputs": ["big", "bits"]})");
    const Image in = photo_crop("fruits.jpg", 64, 48);
    const Result first = engine.run(g, in);
    REQUIRE(first.ok());
    CHECK(first.outputs.at("big").width() == 128);
    CHECK(first.outputs.at("bits").height() == 96);  // the reader sees the larger image
    const Result second = engine.run(g, in);
    REQUIRE(second.ok());
    CHECK(second.node("big").status == NodeStatus::cached);
    CHECK(second.outputs.at("big").same_pixels(first.outputs.at("big")));
}

TEST_CASE("upscale streams in bands: the bytes of the whole-image run, then the next effect") {
    const auto store = tiny_store();
    const Image in = photo_crop("fruits.jpg", 101, 77);  // odd sizes: partial inference tiles
    for (const bool alpha : {false, true}) {
        Image img = in;
        if (alpha) {  // a ramp of transparency: alpha is resized alongside
            img = Image::allocate(in.width(), in.height(), 4);
            for (int y = 0; y < in.height(); ++y)
                for (int x = 0; x < in.width(); ++x) {
                    std::memcpy(img.row(y) + x * 4, in.row(y) + x * 3, 3);
                    img.row(y)[x * 4 + 3] = static_cast<std::uint8_t>(x * 2 + y);
                }
        }
        const ParamMap up = {{"model", std::string("tiny-x2")}, {"tile", std::int64_t{24}}};
        const Image whole = upscale(img, up, with_store(*store));
        const EffectChain chain = {{"upscale", up}, {"retro_8bit", {{"block", std::int64_t{3}}}}};
        for (const int band : {1, 7, 24, 50, 500}) {
            CAPTURE(band);
            CAPTURE(alpha);
            TileOptions o;
            o.models = store.get();
            o.tile_size = band;
            const Image streamed = run_tiled({chain.front()}, img, o);
            REQUIRE(streamed.width() == 2 * img.width());
            CHECK(streamed.same_pixels(whole));
            // The effect after it runs on the larger image, as in memory.
            o.tile_width = 37;
            const Image both = run_tiled(chain, img, o);
            CHECK(both.same_pixels(
                apply_effect(EffectRegistry::builtin(), "retro_8bit", whole, chain.back().params)));
        }
    }
}

TEST_CASE("a file run streams an upscale, file to file, with the bytes of the in-memory run") {
    EngineOptions o;
    o.threads = 2;
    o.use_environment = false;
    o.cache_options.disk = false;
    o.cache_options.redis = false;
    o.models = tiny_store();
    Engine engine(o);
    const Graph g = Graph::from_json(R"({"nodes": [
        {"id": "big", "op": "upscale", "params": {"model": "tiny-x2", "tile": 32}}],
      "outputs": ["big"]})");
    test::TempDir dir;
    const std::string photo = dir.file("in.png");
    save_image(photo_crop("fruits.jpg", 90, 70), photo);
    FileRunOptions stream;
    stream.tile_size = 16;
    const FileRunResult streamed = engine.run_file(g, photo, {{"big", dir.file("s.png")}}, stream);
    CHECK(streamed.plan.stream);
    const FileRunResult memory = engine.run_file(g, photo, {{"big", dir.file("m.png")}});
    CHECK_FALSE(memory.plan.stream);
    const Image a = load_image(dir.file("s.png")), b = load_image(dir.file("m.png"));
    CHECK(a.width() == 180);
    CHECK(a.same_pixels(b));
}

TEST_CASE("installed ESRGAN models match the package's samples; tiled equals whole within 1") {
    ModelStore& store = ModelStore::shared();
    if (!store.has("esrgan-slim-x2") || !store.has("esrgan-slim-x4")) {
        MESSAGE("skipped: esrgan-slim models are not installed in "
                << store.dir() << " (run scripts/fetch-models)");
        return;
    }
    const fs::path samples = esrgan_samples();
    if (fs::exists(samples / "fixture.png")) {
        const Image fixture = load_image((samples / "fixture.png").string());
        for (const int s : {2, 3, 4}) {
            CAPTURE(s);
            const fs::path expected_file =
                samples / "samples" / (std::to_string(s) + "x") / "result.png";
            if (!store.has("esrgan-slim-x" + std::to_string(s)) || !fs::exists(expected_file))
                continue;
            const Image out = apply_effect("upscale", fixture, {{"scale", std::int64_t{s}}});
            const Image expected = load_image(expected_file.string());
            REQUIRE(out.width() == expected.width());
            const double db = psnr_rgb(out, expected);
            MESSAGE("esrgan-slim-x" << s << " vs the package's sample: " << db << " dB PSNR");
            CHECK(db >= 40.0);
        }
    } else {
        MESSAGE("sample comparison skipped: no esrgan-slim tarball unpacked under " << samples);
    }
    // A real photo: 4 tiles of 48 (+16 px halo) against one whole-image inference.
    const Image in = photo_crop("butterfly.jpg", 96, 80);
    const Image whole =
        apply_effect("upscale", in, {{"scale", std::int64_t{4}}, {"tile", std::int64_t{0}}});
    const Image tiled =
        apply_effect("upscale", in, {{"scale", std::int64_t{4}}, {"tile", std::int64_t{48}}});
    const Diff d = compare(tiled, whole, 3);
    MESSAGE("x4 tiled (48 + 16 halo) vs whole on butterfly.jpg 96x80: max "
            << d.max << ", " << d.differing << " of " << d.total << " values differ");
    CHECK(d.max <= 1);
}
