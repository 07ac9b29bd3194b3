#include <doctest/doctest.h>

#include <tbb/global_control.h>

#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/pixel_art/blue_noise.hpp"
#include "effects/pixel_art/dither.hpp"
#include "effects/pixel_art/palette.hpp"
#include "test_support.hpp"
#include "util/color.hpp"
#include "util/rng.hpp"

using namespace artistry;
using namespace artistry::effects;

namespace {

const test::EffectUnderTest dither("dither", effects::register_dither);

const EffectRegistry& registry() {
    return dither.registry();
}

using Key = std::tuple<int, int, int>;

std::set<Key> colours_of(const Image& img) {
    std::set<Key> out;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            const std::uint8_t* q = img.row(y) + static_cast<std::size_t>(x) * img.channels();
            out.insert({q[0], q[1], q[2]});
        }
    return out;
}

std::set<Key> keys(const Palette& p) {
    std::set<Key> out;
    for (const auto& c : p.colors()) out.insert({c.r, c.g, c.b});
    return out;
}

bool subset(const std::set<Key>& a, const std::set<Key>& b) {
    return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

// Mean luminance in [0, 1]: of sRGB codes (Rec. 709 luma), or of linear light.
double mean_luminance(const Image& img, bool linear) {
    const auto& lin = util::srgb8_to_linear_table();
    double sum = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            const std::uint8_t* q = img.row(y) + static_cast<std::size_t>(x) * img.channels();
            const auto v = [&](int c) { return linear ? lin[q[c]] : q[c] / 255.0; };
            sum += util::luma_r * v(0) + util::luma_g * v(1) + util::luma_b * v(2);
        }
    return sum / static_cast<double>(img.pixel_count());
}

Image grey_image(const std::vector<std::vector<int>>& rows) {
    Image img = Image::allocate(static_cast<int>(rows[0].size()), static_cast<int>(rows.size()), 3);
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x)
            for (int c = 0; c < 3; ++c)
                img.row(y)[x * 3 + c] = static_cast<std::uint8_t>(
                    rows[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)]);
    return img;
}

std::vector<std::vector<int>> red_channel(const Image& img) {
    std::vector<std::vector<int>> out;
    for (int y = 0; y < img.height(); ++y) {
        out.emplace_back();
        for (int x = 0; x < img.width(); ++x) out.back().push_back(img.row(y)[x * img.channels()]);
    }
    return out;
}

// Radially averaged power of a square mask's 2-D DFT, per integer frequency radius, with the
// mean removed; and the mean power over every non-zero frequency.
std::vector<double> radial_power(const std::vector<double>& v, int n, double& mean_power) {
    const double pi = std::acos(-1.0);
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    // Separable DFT: rows, then columns (O(n³)).
    std::vector<std::complex<double>> a(v.size()), b(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) a[i] = v[i] - mean;
    for (int y = 0; y < n; ++y)
        for (int u = 0; u < n; ++u) {
            std::complex<double> s = 0;
            for (int x = 0; x < n; ++x)
                s += a[static_cast<std::size_t>(y * n + x)] * std::polar(1.0, -2 * pi * u * x / n);
            b[static_cast<std::size_t>(y * n + u)] = s;
        }
    for (int u = 0; u < n; ++u)
        for (int w = 0; w < n; ++w) {
            std::complex<double> s = 0;
            for (int y = 0; y < n; ++y)
                s += b[static_cast<std::size_t>(y * n + u)] * std::polar(1.0, -2 * pi * w * y / n);
            a[static_cast<std::size_t>(w * n + u)] = s;
        }
    std::vector<double> sum(static_cast<std::size_t>(n), 0.0),
        count(static_cast<std::size_t>(n), 0.0);
    double total = 0;
    for (int w = 0; w < n; ++w)
        for (int u = 0; u < n; ++u) {
            if (u == 0 && w == 0) continue;
            const int fu = u <= n / 2 ? u : u - n, fw = w <= n / 2 ? w : w - n;
            const double p = std::norm(a[static_cast<std::size_t>(w * n + u)]);
            total += p;
            const auto r = static_cast<std::size_t>(std::lround(std::sqrt(fu * fu + fw * fw)));
            if (r < sum.size()) {
                sum[r] += p;
                count[r] += 1;
            }
        }
    mean_power = total / (n * n - 1);
    for (std::size_t r = 0; r < sum.size(); ++r) sum[r] = count[r] > 0 ? sum[r] / count[r] : 0;
    return sum;
}

// Power in the rings of radius 1 and 2 (periods of 64 and 32 pixels on a 64-pixel mask),
// as a fraction of the mean power.
double low_frequency_fraction(const std::vector<double>& values, int n) {
    double mean_power = 0;
    const auto ring = radial_power(values, n, mean_power);
    return (ring[1] + ring[2]) / 2 / mean_power;
}

}  // namespace

TEST_CASE("output holds only palette colours") {
    const Image photo = test::load_data("fruits.jpg");
    struct Case {
        ParamMap params;
        Palette palette;
    };
    const std::vector<Case> cases = {
        {{{"method", std::string("floyd_steinberg")}, {"palette", std::string("bw")}},
         grey_palette(2)},
        {{{"method", std::string("jarvis_judice_ninke")},
          {"palette", std::string("grey")},
          {"levels", std::int64_t{5}}},
         grey_palette(5)},
        {{{"method", std::string("floyd_steinberg")}, {"palette", std::string("pico8")}},
         named_palette("pico8")},
        {{{"method", std::string("stucki")}, {"palette", std::string("nes")}, {"linear", false}},
         named_palette("nes")},
        {{{"method", std::string("atkinson")},
          {"palette", std::string("custom")},
          {"colors", std::string("#1a1c2c,#5d275d,#b13e53,#ef7d57,#ffcd75,#a7f070")}},
         parse_hex_palette("#1a1c2c,#5d275d,#b13e53,#ef7d57,#ffcd75,#a7f070")},
        {{{"method", std::string("sierra2")},
          {"palette", std::string("adaptive")},
          {"colors_count", std::int64_t{12}}},
         adaptive_palette(photo, 12, AdaptiveMethod::hull_kmeans, 0)},
        {{{"method", std::string("burkes")},
          {"palette", std::string("adaptive")},
          {"colors_count", std::int64_t{8}},
          {"adaptive_method", std::string("kmeans")},
          {"seed", std::int64_t{5}}},
         adaptive_palette(photo, 8, AdaptiveMethod::kmeans, 5)},
        {{{"method", std::string("bayer8")}, {"palette", std::string("c64")}},
         named_palette("c64")},
        {{{"method", std::string("blue_noise")}, {"palette", std::string("gameboy")}},
         named_palette("gameboy")},
        {{{"method", std::string("clustered_dot")},
          {"palette", std::string("grey")},
          {"levels", std::int64_t{3}}},
         grey_palette(3)},
        {{{"method", std::string("none")}, {"palette", std::string("ega")}}, named_palette("ega")},
    };
    for (const auto& c : cases) {
        CAPTURE(Params(c.params).canonical());
        const Image out = dither(photo, c.params);
        CHECK(out.width() == photo.width());
        CHECK(out.height() == photo.height());
        CHECK(out.channels() == 3);
        const auto used = colours_of(out);
        CHECK(subset(used, keys(c.palette)));
        CHECK(used.size() >= 2);
    }
}

TEST_CASE("dithering keeps the photo's mean brightness") {
    // Stated tolerance: the mean luminance of the output is within 2 % of full scale of the
    // input's, measured in the space the dither works in (linear light by default, sRGB codes
    // with linear=false); error diffusion to black/white keeps it within 1 %.
    const Image photo = test::load_data("baboon.jpg");
    for (const bool linear : {true, false}) {
        const double in = mean_luminance(photo, linear);
        CAPTURE(linear);
        for (const char* method : {"floyd_steinberg", "jarvis_judice_ninke", "sierra_lite"}) {
            CAPTURE(method);
            const Image out = dither(photo, {{"method", std::string(method)},
                                             {"palette", std::string("bw")},
                                             {"linear", linear}});
            CHECK(std::abs(mean_luminance(out, linear) - in) <= 0.01);
        }
        for (const char* method : {"bayer8", "blue_noise", "clustered_dot"}) {
            CAPTURE(method);
            const Image out = dither(photo, {{"method", std::string(method)},
                                             {"palette", std::string("bw")},
                                             {"linear", linear}});
            CHECK(std::abs(mean_luminance(out, linear) - in) <= 0.02);
        }
        const Image grey4 = dither(
            photo,
            {{"palette", std::string("grey")}, {"levels", std::int64_t{4}}, {"linear", linear}});
        CHECK(std::abs(mean_luminance(grey4, linear) - in) <= 0.01);
    }
}

TEST_CASE(
    "dither is version 2: results cached before hull_kmeans became the default are not reused") {
    CHECK(registry().get("dither").version == 2);
}

TEST_CASE("adaptive palettes: a colour out of the palette's reach does not bleed") {
    // Saturated red beside a mid grey, against a palette whose reddest colour is dull: without
    // a limit, the red the palette cannot give piles up as error and spills red dots into the
    // grey for several pixels; with the adaptive limit the grey next to it stays grey.
    const int w = 96, h = 64;
    Image img = Image::allocate(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            std::uint8_t* q = img.row(y) + x * 3;
            const bool red = x < w / 2;
            q[0] = red ? 255 : 128;
            q[1] = red ? 0 : 128;
            q[2] = red ? 0 : 128;
        }
    // Greys close together and two dull reds, as a palette fitted to a grey scene with a little
    // red in it would be.
    const Palette palette = parse_hex_palette("#404040,#808080,#787878,#888888,#a04848,#904040");
    const auto spilled = [&](const DitherSpec& spec) {
        const Image out = dither_to_palette(img, palette, spec, {});
        int reddish = 0;
        for (int y = 0; y < h; ++y)
            for (int x = w / 2; x < w / 2 + 6; ++x)
                reddish += out.row(y)[x * 3] > out.row(y)[x * 3 + 1] + 0x30;
        return reddish;
    };
    const DitherSpec plain;
    const DitherSpec limited = adaptive_spec(plain, palette);
    CHECK(limited.error_limit == doctest::Approx(2 * palette.typical_gap()));
    const int without = spilled(plain), with = spilled(limited);
    CAPTURE(without);
    CAPTURE(with);
    CHECK(without >= 15);  // 24 measured: the 6 grey columns beside the red
    CHECK(with * 4 <= without);
}

TEST_CASE("linear light: a flat mid grey becomes as much white as it emits light") {
    // sRGB 128 is 21.6 % of white's light. Dithered in linear light about 21.6 % of the
    // pixels turn white; in sRGB codes about 50 % do (which looks much lighter).
    const Image flat = grey_image(std::vector<std::vector<int>>(64, std::vector<int>(64, 128)));
    const auto white_fraction = [](const Image& img) {
        double n = 0;
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x) n += img.row(y)[x * 3] == 255;
        return n / static_cast<double>(img.pixel_count());
    };
    CHECK(white_fraction(dither(flat, {{"linear", true}})) == doctest::Approx(0.216).epsilon(0.05));
    CHECK(white_fraction(dither(flat, {{"linear", false}})) ==
          doctest::Approx(0.502).epsilon(0.03));
    CHECK(white_fraction(dither(flat, {{"method", std::string("bayer16")}, {"linear", true}})) ==
          doctest::Approx(0.216).epsilon(0.05));
}

TEST_CASE("Bayer 4x4 on a small gradient equals the hand-computed pixels") {
    // Bayer 4x4 ranks, threshold (rank + 0.5) / 16; sRGB codes (linear=false); a pixel turns
    // white when value / 255 > threshold. Columns hold 16, 48, …, 240, i.e. 16·v − 0.5 is just
    // above 0, 2, 4, …, 14: column x turns white exactly where rank <= 2x.
    CHECK(bayer_matrix(4) ==
          std::vector<int>{0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5});
    std::vector<std::vector<int>> ramp(4);
    for (auto& row : ramp)
        for (int x = 0; x < 8; ++x) row.push_back(16 + 32 * x);
    const Image out = dither(
        grey_image(ramp),
        {{"method", std::string("bayer4")}, {"palette", std::string("bw")}, {"linear", false}});
    const std::vector<std::vector<int>> expected = {
        {255, 0, 255, 0, 255, 255, 255, 255},
        {0, 0, 0, 255, 0, 255, 0, 255},
        {0, 0, 255, 0, 255, 0, 255, 255},
        {0, 0, 0, 255, 0, 255, 0, 255},
    };
    CHECK(red_channel(out) == expected);

    // Three grey levels (0, 128, 255): a flat 64 sits halfway up the first gap, so the level
    // above is taken where threshold < 0.5, i.e. rank <= 7: a checkerboard.
    const Image flat = dither(grey_image(std::vector<std::vector<int>>(4, std::vector<int>(4, 64))),
                              {{"method", std::string("bayer4")},
                               {"palette", std::string("grey")},
                               {"levels", std::int64_t{3}},
                               {"linear", false}});
    const std::vector<std::vector<int>> checker = {
        {128, 0, 128, 0}, {0, 128, 0, 128}, {128, 0, 128, 0}, {0, 128, 0, 128}};
    CHECK(red_channel(flat) == checker);
}

TEST_CASE("ordered matrices are permutations of their ranks") {
    for (const int n : {2, 4, 8, 16}) {
        auto m = bayer_matrix(n);
        std::sort(m.begin(), m.end());
        std::vector<int> want(static_cast<std::size_t>(n * n));
        std::iota(want.begin(), want.end(), 0);
        CHECK(m == want);
    }
    auto c = std::vector<int>(clustered_dot_matrix().begin(), clustered_dot_matrix().end());
    std::sort(c.begin(), c.end());
    std::vector<int> want(64);
    std::iota(want.begin(), want.end(), 0);
    CHECK(c == want);
}

TEST_CASE("blue-noise mask: a permutation with no low-frequency energy") {
    const BlueNoiseMask& mask = blue_noise_mask(64, 0);
    REQUIRE(mask.size == 64);
    std::vector<int> sorted(mask.rank.begin(), mask.rank.end());
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> want(64 * 64);
    std::iota(want.begin(), want.end(), 0);
    CHECK(sorted == want);  // each threshold rank exactly once

    // Stated bound: in the two lowest frequency rings the radially averaged power is below
    // 5 % of the mean power, for the full mask and for its 10 % and 50 % threshold patterns.
    // White noise (a shuffled permutation, checked below) sits near 100 %.
    std::vector<double> values(mask.rank.begin(), mask.rank.end());
    const double full = low_frequency_fraction(values, 64);
    CAPTURE(full);
    CHECK(full < 0.05);
    for (const double level : {0.1, 0.5}) {
        std::vector<double> dots(values.size());
        for (std::size_t i = 0; i < values.size(); ++i)
            dots[i] = values[i] < level * 4096 ? 1.0 : 0.0;
        const double frac = low_frequency_fraction(dots, 64);
        CAPTURE(level);
        CAPTURE(frac);
        CHECK(frac < 0.05);
    }
    // The check can fail: a random permutation has about as much low- as high-frequency power.
    std::vector<double> shuffled(values);
    util::SplitMix64 rng(1);
    for (std::size_t i = shuffled.size() - 1; i > 0; --i)
        std::swap(shuffled[i], shuffled[rng.below(i + 1)]);
    CHECK(low_frequency_fraction(shuffled, 64) > 0.3);

    // Seeded and cached: same seed, same mask (the same object); another seed, another mask.
    CHECK(&blue_noise_mask(64, 0) == &mask);
    CHECK(make_blue_noise_mask(64, 0).rank == mask.rank);
    CHECK(blue_noise_mask(64, 1).rank != mask.rank);
}

TEST_CASE("every method is deterministic, for any thread count") {
    const Image photo = test::load_data("butterfly.jpg");
    for (const auto& method : dither_method_names()) {
        for (const char* palette : {"bw", "pico8", "adaptive"}) {
            CAPTURE(method);
            CAPTURE(palette);
            const ParamMap p = {{"method", method},
                                {"palette", std::string(palette)},
                                {"adaptive_method", std::string("kmeans")},
                                {"seed", std::int64_t{9}}};
            const Image a = dither(photo, p);
            Image b;
            {
                tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
                b = dither(photo, p);
            }
            CHECK(a.same_pixels(b));
        }
    }
}

TEST_CASE("alpha is kept and only colour is dithered on RGBA input") {
    const Image rgba = test::load_data("chicky_512.png");
    REQUIRE(rgba.channels() == 4);
    for (const char* method : {"floyd_steinberg", "bayer4", "blue_noise"}) {
        for (const char* palette : {"bw", "nes"}) {
            CAPTURE(method);
            CAPTURE(palette);
            const Image out =
                dither(rgba, {{"method", std::string(method)}, {"palette", std::string(palette)}});
            REQUIRE(out.channels() == 4);
            bool alpha_same = true;
            for (int y = 0; y < rgba.height(); ++y)
                for (int x = 0; x < rgba.width(); ++x)
                    alpha_same = alpha_same && out.row(y)[x * 4 + 3] == rgba.row(y)[x * 4 + 3];
            CHECK(alpha_same);
        }
    }
}

TEST_CASE("a tile dithered with its origin equals the same crop of the whole image") {
    const Image photo = test::load_data("messi5.jpg");
    const Rect crop{37, 53, 201, 97};  // deliberately not aligned to any mask size
    for (const char* method :
         {"bayer2", "bayer4", "bayer16", "clustered_dot", "blue_noise", "none"}) {
        for (const char* palette : {"bw", "grey", "pico8"}) {
            CAPTURE(method);
            CAPTURE(palette);
            const ParamMap p = {{"method", std::string(method)},
                                {"palette", std::string(palette)},
                                {"seed", std::int64_t{3}}};
            const Image whole = dither(photo, p);
            EffectContext ctx;
            ctx.origin_x = crop.x;
            ctx.origin_y = crop.y;
            ctx.full_width = photo.width();
            ctx.full_height = photo.height();
            const Image tile = dither(photo.view(crop), p, ctx);
            CHECK(tile.same_pixels(whole.view(crop).clone()));
            // Without the origin the thresholds shift and the bytes differ: the test can fail.
            if (std::string(method) != "none")
                CHECK_FALSE(dither(photo.view(crop), p).same_pixels(whole.view(crop).clone()));
        }
    }
}

TEST_CASE("footprints: ordered is point, error diffusion sequential, adaptive global") {
    const auto& info = registry().get("dither");
    const auto fp = [&](const ParamMap& m) {
        return info.plan(registry().resolve("dither", m), 1000, 1000, {}).footprint.kind;
    };
    CHECK(fp({{"method", std::string("bayer8")}}) == Footprint::Kind::point);
    CHECK(fp({{"method", std::string("blue_noise")}}) == Footprint::Kind::point);
    CHECK(fp({{"method", std::string("atkinson")}}) == Footprint::Kind::sequential);
    CHECK(fp({{"method", std::string("bayer8")}, {"palette", std::string("adaptive")}}) ==
          Footprint::Kind::global);
    CHECK(info.plan(registry().resolve("dither", {}), 4096, 2304, {}).memory_bytes >=
          4096u * 2304u * 3u);
}

TEST_CASE("progress reaches the total and cancellation stops the run") {
    const Image photo = test::load_data("fruits.jpg");
    for (const char* method : {"floyd_steinberg", "bayer8"}) {
        CAPTURE(method);
        std::vector<std::int64_t> done;
        EffectContext ctx;
        ctx.progress = [&](std::int64_t d, std::int64_t total) {
            CHECK(total == photo.height());
            done.push_back(d);
        };
        dither(photo, {{"method", std::string(method)}}, ctx);
        REQUIRE(done.size() >= 2);
        CHECK(std::is_sorted(done.begin(), done.end()));
        CHECK(done.back() == photo.height());

        std::atomic<bool> cancel{true};
        EffectContext stop;
        stop.cancel = &cancel;
        const Error e = test::error_of([&] {
            dither(photo, {{"method", std::string(method)}}, stop);
        });
        CHECK(e.status() == Status::cancelled);
    }
}

TEST_CASE("invalid parameters give the documented messages") {
    const Image img = grey_image({{0, 128}, {255, 64}});
    const auto message = [&](const ParamMap& p) {
        const Error e = test::error_of([&] { dither(img, p); });
        CHECK(e.status() == Status::invalid_argument);
        return std::string(e.what());
    };
    CHECK(
        message({{"palette", std::string("custom")}, {"colors", std::string("#000000,#zz0000")}}) ==
        "effect 'dither': parameter 'colors': colour 2 '#zz0000' is not a hex colour; expected a "
        "list like '#1a2b3c,#ffffff' (6 hex digits each, '#' optional, separated by commas or "
        "spaces)");
    CHECK(message({{"colors", std::string("#000000")}}) ==
          "effect 'dither': parameter 'colors': a palette needs at least 2 colours, got 1");
    CHECK(message({{"method", std::string("floyd")}}) ==
          "effect 'dither': parameter 'method' must be one of floyd_steinberg, "
          "false_floyd_steinberg, "
          "jarvis_judice_ninke, stucki, burkes, sierra3, sierra2, sierra_lite, atkinson, bayer2, "
          "bayer4, "
          "bayer8, bayer16, clustered_dot, blue_noise, none, got 'floyd'");
    CHECK(message({{"palette", std::string("snes")}}) ==
          "effect 'dither': parameter 'palette' must be one of bw, grey, nes, gameboy, pico8, c64, "
          "cga, "
          "ega, mono, custom, adaptive, got 'snes'");
    CHECK(message({{"levels", std::int64_t{1}}}) ==
          "effect 'dither': parameter 'levels' must be an integer in [2, 256], got 1");
    CHECK(message({{"strength", 1.5}}) ==
          "effect 'dither': parameter 'strength' must be a number in [0, 1], got 1.5");
}

TEST_CASE("strength 0 and method none give the nearest colour") {
    const Image photo = test::load_data("fruits.jpg");
    const Image none =
        dither(photo, {{"method", std::string("none")}, {"palette", std::string("pico8")}});
    const Image weak = dither(
        photo,
        {{"method", std::string("bayer8")}, {"palette", std::string("pico8")}, {"strength", 0.0}});
    CHECK(none.same_pixels(weak));
    const Palette p = named_palette("pico8");
    bool nearest = true;
    for (int y = 0; y < photo.height(); y += 7)
        for (int x = 0; x < photo.width(); x += 5) {
            const std::uint8_t* q = photo.row(y) + x * 3;
            const Rgb8 c = p.colors()[static_cast<std::size_t>(p.nearest(q[0], q[1], q[2]))];
            const std::uint8_t* o = none.row(y) + x * 3;
            nearest = nearest && o[0] == c.r && o[1] == c.g && o[2] == c.b;
        }
    CHECK(nearest);
}

// Not a test: run by hand with `dither_test -ts=timing --no-skip`.
TEST_CASE("timing" * doctest::skip()) {
    Image grey = Image::allocate(4096, 2304, 3);
    util::SplitMix64 rng(1);
    for (int y = 0; y < grey.height(); ++y)
        for (int x = 0; x < grey.width(); ++x) {
            // A smooth ramp with noise, like a photo's grey values.
            const auto v =
                static_cast<std::uint8_t>((x * 255 / 4096 + y * 255 / 2304) / 2 + rng.below(24));
            std::uint8_t* q = grey.row(y) + x * 3;
            q[0] = q[1] = q[2] = v;
        }
    const auto time = [&](const ParamMap& p) {
        dither(grey, p);
        double best = 1e9;
        for (int i = 0; i < 5; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            dither(grey, p);
            best = std::min(
                best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::printf("%-60s %7.1f ms  %6.1f MP/s\n", Params(p).canonical().c_str(), best * 1e3,
                    grey.pixel_count() / 1e6 / best);
    };
    {
        tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
        time({{"method", std::string("floyd_steinberg")}, {"serpentine", false}});
        time({{"method", std::string("floyd_steinberg")}});
        time({{"method", std::string("floyd_steinberg")}, {"linear", false}});
        time({{"method", std::string("jarvis_judice_ninke")}});
        time({{"method", std::string("floyd_steinberg")}, {"palette", std::string("pico8")}});
        time({{"method", std::string("bayer8")}});
        time({{"method", std::string("blue_noise")}, {"palette", std::string("pico8")}});
    }
    time({{"method", std::string("bayer8")}});
    time({{"method", std::string("blue_noise")}, {"palette", std::string("pico8")}});
}
