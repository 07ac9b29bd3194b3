#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <tbb/task_arena.h>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "test_support.hpp"
#include "util/rng.hpp"

using namespace artistry;

namespace {

const test::EffectUnderTest effect("remove_background", effects::register_remove_background);

// These tests are about the classical method: pinned, whatever models are installed
// (neural_effects_test covers ISNet).
Image cut(const Image& image, ParamMap params = {}, const EffectContext& ctx = {}) {
    params.try_emplace("model", std::string("classical"));
    return effect(image, params, ctx);
}

const EffectRegistry& registry() {
    return effect.registry();
}

std::uint8_t clamp8(int v) {
    return static_cast<std::uint8_t>(std::clamp(v, 0, 255));
}

// A textured orange-red blob (an ellipse and a circle, off-centre) on textured foliage-like
// green and teal stripes: colours differ, both sides are noisy. `truth` is the blob's mask.
struct Scene {
    Image image;
    std::vector<std::uint8_t> truth;
};

Scene synthetic_scene(int w, int h) {
    Scene s{Image::allocate(w, h, 3), std::vector<std::uint8_t>(std::size_t(w) * std::size_t(h))};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double ex = (x - 0.56 * w) / (0.2 * w), ey = (y - 0.5 * h) / (0.3 * h);
            const double cx = x - 0.42 * w, cy = y - 0.38 * h;
            const bool fg = ex * ex + ey * ey <= 1 || cx * cx + cy * cy <= (0.13 * h) * (0.13 * h);
            const int n = int(util::hash_xy(1, x, y) % 61) - 30;             // per-pixel grain
            const int blot = int(util::hash_xy(2, x / 6, y / 6) % 41) - 20;  // coarser texture
            std::uint8_t* p = s.image.row(y) + 3 * x;
            if (fg) {
                p[0] = clamp8(220 + n / 2 + blot);
                p[1] = clamp8(110 + n + blot);
                p[2] = clamp8(40 + n / 2);
            } else if ((x + y / 2) / 25 % 2 == 0) {
                p[0] = clamp8(50 + n / 2);
                p[1] = clamp8(130 + n + blot);
                p[2] = clamp8(60 + n / 2 + blot);
            } else {
                p[0] = clamp8(40 + n / 2 + blot);
                p[1] = clamp8(120 + n);
                p[2] = clamp8(130 + n + blot);
            }
            s.truth[std::size_t(y) * std::size_t(w) + std::size_t(x)] = fg;
        }
    return s;
}

double iou(const Image& matte, int channel, const std::vector<std::uint8_t>& truth) {
    std::int64_t inter = 0, uni = 0;
    for (int y = 0; y < matte.height(); ++y)
        for (int x = 0; x < matte.width(); ++x) {
            const bool a = matte.row(y)[x * matte.channels() + channel] > 127;
            const bool t = truth[std::size_t(y) * std::size_t(matte.width()) + std::size_t(x)] != 0;
            inter += a && t;
            uni += a || t;
        }
    return uni ? double(inter) / double(uni) : 0;
}

std::string message(const ParamMap& params) {
    return test::error_of([&] { cut(Image::allocate(32, 32, 3), params); }).what();
}

}  // namespace

TEST_CASE("a synthetic subject on a textured background is cut out with IoU >= 0.9") {
    for (const auto& [w, h] : {std::pair{480, 360}, std::pair{1600, 1200}}) {
        CAPTURE(w);
        const Scene s = synthetic_scene(w, h);
        const Image out = cut(s.image);
        REQUIRE(out.width() == w);
        REQUIRE(out.height() == h);
        REQUIRE(out.channels() == 4);
        CHECK(iou(out, 3, s.truth) >= 0.9);
        // Opaque pixels keep the input's colour; with decontaminate=false every pixel does.
        const Image raw = cut(s.image, {{"decontaminate", false}});
        bool opaque_kept = true, raw_kept = true;
        for (int y = 0; y < h; y += 7)
            for (int x = 0; x < w; x += 5) {
                const std::uint8_t* in = s.image.row(y) + 3 * x;
                if (out.row(y)[4 * x + 3] == 255)
                    opaque_kept &= std::equal(out.row(y) + 4 * x, out.row(y) + 4 * x + 3, in);
                raw_kept &= std::equal(raw.row(y) + 4 * x, raw.row(y) + 4 * x + 3, in) &&
                            raw.row(y)[4 * x + 3] == out.row(y)[4 * x + 3];
            }
        CHECK(opaque_kept);
        CHECK(raw_kept);
    }
}

TEST_CASE("the squirrel photo gives a recognisable cut-out") {
    const Image photo = test::load_data("squirrel_cls.jpg");  // 535×426
    const Image out = cut(photo);
    REQUIRE(out.channels() == 4);
    const auto alpha = [&](int x, int y) { return out.row(y)[4 * x + 3]; };
    CHECK(alpha(230, 280) > 200);  // the squirrel's flank
    CHECK(alpha(300, 165) > 200);  // its head
    CHECK(alpha(10, 10) < 30);     // out-of-focus leaves in the corners
    CHECK(alpha(60, 300) < 30);
    CHECK(alpha(480, 40) < 30);
}

TEST_CASE("background colour composites onto that colour and returns RGB") {
    const Scene s = synthetic_scene(480, 360);
    const Image out = cut(s.image, {{"background", std::string("#2040ff")}});
    REQUIRE(out.channels() == 3);
    const std::uint8_t* corner = out.row(5) + 3 * 5;
    CHECK(corner[0] == 0x20);
    CHECK(corner[1] == 0x40);
    CHECK(corner[2] == 0xff);
    const int cx = int(0.56 * 480), cy = 180;  // inside the subject: the input's own pixel
    CHECK(std::equal(out.row(cy) + 3 * cx, out.row(cy) + 3 * cx + 3, s.image.row(cy) + 3 * cx));
    // Every pixel is the cut-out (its colours and matte) composited onto the colour.
    const Image rgba = cut(s.image);
    const std::uint8_t bg[3] = {0x20, 0x40, 0xff};
    int worst = 0;
    for (int y = 0; y < 360; ++y)
        for (int x = 0; x < 480; ++x) {
            const double a = rgba.row(y)[4 * x + 3] / 255.0;
            for (int c = 0; c < 3; ++c) {
                const double want = bg[c] + a * (rgba.row(y)[4 * x + c] - bg[c]);
                worst = std::max(worst, int(std::abs(out.row(y)[3 * x + c] - want) + 0.5));
            }
        }
    CHECK(worst <= 1);
}

TEST_CASE("alpha mode returns the matte alone, identical to the cut-out's alpha") {
    const Scene s = synthetic_scene(480, 360);
    const Image matte = cut(s.image, {{"mode", std::string("alpha")}});
    const Image rgba = cut(s.image);
    REQUIRE(matte.channels() == 1);
    bool same = true;
    for (int y = 0; y < matte.height(); ++y)
        for (int x = 0; x < matte.width(); ++x) same &= matte.row(y)[x] == rgba.row(y)[4 * x + 3];
    CHECK(same);
    CHECK(iou(matte, 0, s.truth) >= 0.9);
}

TEST_CASE("threshold > 0 gives a hard mask; 0 gives a soft edge") {
    const Image photo = test::load_data("butterfly.jpg");
    const auto levels = [](const Image& img) {
        std::vector<bool> seen(256, false);
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x) seen[img.row(y)[x]] = true;
        return std::count(seen.begin(), seen.end(), true);
    };
    CHECK(levels(cut(photo, {{"mode", std::string("alpha")}, {"threshold", 0.5}})) == 2);
    CHECK(levels(cut(photo, {{"mode", std::string("alpha")}})) > 50);
}

TEST_CASE("an input's existing transparency is kept") {
    const Scene s = synthetic_scene(480, 360);
    Image rgba = Image::allocate(480, 360, 4);
    for (int y = 0; y < 360; ++y)
        for (int x = 0; x < 480; ++x) {
            std::copy(s.image.row(y) + 3 * x, s.image.row(y) + 3 * x + 3, rgba.row(y) + 4 * x);
            rgba.row(y)[4 * x + 3] = x < 240 ? 0 : 255;  // the left half already cut away
        }
    const Image out = cut(rgba);
    REQUIRE(out.channels() == 4);
    bool left_clear = true;
    for (int y = 0; y < 360; ++y)
        for (int x = 0; x < 240; ++x) left_clear &= out.row(y)[4 * x + 3] == 0;
    CHECK(left_clear);
    CHECK(out.row(180)[4 * int(0.56 * 480) + 3] > 200);  // the subject's right part stays
}

TEST_CASE("same input and parameters give the same bytes, for any thread count") {
    const Image photo = test::load_data("messi5.jpg");
    const Image a = cut(photo);
    CHECK(a.same_pixels(cut(photo)));
    Image one;
    tbb::task_arena single(1);
    single.execute([&] { one = cut(photo); });
    CHECK(a.same_pixels(one));
    // The seed is the only source of variation.
    CHECK(cut(photo, {{"seed", std::int64_t{5}}})
              .same_pixels(cut(photo, {{"seed", std::int64_t{5}}})));
}

TEST_CASE("tiny and flat images do not fail") {
    CHECK(cut(Image::allocate(3, 2, 3)).channels() == 4);
    Image grey = Image::allocate(200, 150, 3);
    std::fill(grey.data(), grey.data() + grey.byte_size(), std::uint8_t{128});
    CHECK(cut(grey).width() == 200);
    CHECK(cut(Image::allocate(900, 40, 3)).height() == 40);
    // A speck of a subject: too few pixels for GrabCut's colour models.
    for (int y = 74; y < 77; ++y)
        std::fill(grey.row(y) + 3 * 99, grey.row(y) + 3 * 102, std::uint8_t{250});
    CHECK(cut(grey, {{"work_size", std::int64_t{64}}}).channels() == 4);
}

TEST_CASE("progress reaches the total and cancellation stops the run") {
    const Image photo = test::load_data("butterfly.jpg");
    std::vector<std::int64_t> seen;
    std::int64_t total = 0;
    EffectContext ctx;
    ctx.progress = [&](std::int64_t done, std::int64_t t) {
        seen.push_back(done);
        total = t;
    };
    cut(photo, {}, ctx);
    REQUIRE(seen.size() > 5);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen.back() == total);

    std::atomic<bool> cancel{false};
    EffectContext stop;
    stop.cancel = &cancel;
    stop.progress = [&](std::int64_t done, std::int64_t) { cancel = done >= 2; };  // mid-GrabCut
    CHECK(test::error_of([&] { cut(photo, {}, stop); }).status() == Status::cancelled);
}

TEST_CASE("invalid parameters name the parameter and what is allowed") {
    CHECK(message({{"mode", std::string("mask")}}) ==
          "effect 'remove_background': parameter 'mode' must be one of cutout, alpha, got 'mask'");
    CHECK(message({{"background", std::string("red")}}) ==
          "effect 'remove_background': parameter 'background': expected empty (transparent) or a "
          "colour #rrggbb, got 'red'");
    CHECK(message({{"background", std::string("#12345g")}}) ==
          "effect 'remove_background': parameter 'background': expected empty (transparent) or a "
          "colour #rrggbb, got '#12345g'");
    CHECK(message({{"threshold", 1.5}}) ==
          "effect 'remove_background': parameter 'threshold' must be a number in [0, 1], got 1.5");
    CHECK(
        message({{"iterations", std::int64_t{0}}}) ==
        "effect 'remove_background': parameter 'iterations' must be an integer in [1, 10], got 0");
    CHECK(message({{"work_size", std::int64_t{16}}}) ==
          "effect 'remove_background': parameter 'work_size' must be an integer in [64, 2048], got "
          "16");
}

TEST_CASE("schema: every parameter has help and the footprint is global") {
    const EffectInfo& e = registry().get("remove_background");
    CHECK(e.version == 5);
    CHECK_FALSE(e.summary.empty());
    for (const auto& p : e.params) CHECK_FALSE(p.help.empty());
    const Params defaults = registry().resolve("remove_background", {});
    CHECK(e.plan(defaults, 1000, 1000, {}).footprint.kind == Footprint::Kind::global);
    CHECK(e.plan(defaults, 4000, 3000, {}).memory_bytes >= std::size_t{4000} * 3000 * 4);
}
