#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <tuple>

#include "artistry/error.hpp"
#include "effects/pixel_art/palette.hpp"
#include "test_support.hpp"
#include "util/color.hpp"
#include "util/rng.hpp"

using namespace artistry;
using namespace artistry::effects;

namespace {

std::tuple<int, int, int> key(const Rgb8& c) {
    return {c.r, c.g, c.b};
}

// Mean Oklab distance from each pixel to its nearest palette colour: how well a palette fits.
double fit_error(const Image& img, const Palette& p) {
    double sum = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            const std::uint8_t* q = img.row(y) + static_cast<std::size_t>(x) * img.channels();
            const auto c = util::srgb8_to_oklab(q[0], q[1], q[2]);
            sum += std::sqrt(util::oklab_distance2(
                c, p.oklab()[static_cast<std::size_t>(p.nearest(q[0], q[1], q[2]))]));
        }
    return sum / static_cast<double>(img.pixel_count());
}

}  // namespace

TEST_CASE("named palettes hold the published, distinct colours") {
    const std::pair<const char*, std::size_t> sizes[] = {{"nes", 54}, {"gameboy", 4}, {"pico8", 16},
                                                         {"c64", 16}, {"cga", 16},    {"ega", 64},
                                                         {"mono", 2}};
    for (const auto& [name, n] : sizes) {
        CAPTURE(name);
        const Palette p = named_palette(name);
        CHECK(p.size() == n);
        std::set<std::tuple<int, int, int>> distinct;
        for (const auto& c : p.colors()) distinct.insert(key(c));
        CHECK(distinct.size() == n);
    }
    const auto colors = [](const char* name) { return named_palette(name).colors(); };
    const std::vector<Rgb8> dmg = {
        {0x0f, 0x38, 0x0f}, {0x30, 0x62, 0x30}, {0x8b, 0xac, 0x0f}, {0x9b, 0xbc, 0x0f}};
    CHECK(colors("gameboy") == dmg);
    CHECK(colors("pico8")[8] == Rgb8{0xff, 0x00, 0x4d});
    CHECK(colors("c64")[2] == Rgb8{0x68, 0x37, 0x2b});  // Pepto's red
    CHECK(colors("nes")[1] == Rgb8{0x24, 0x18, 0x8c});
    CHECK_THROWS_WITH_AS(named_palette("snes"),
                         "unknown palette 'snes' (known: nes, gameboy, pico8, c64, cga, ega, mono)",
                         Error);
}

TEST_CASE("every palette colour matches itself, exactly and through the lookup table") {
    for (const auto& name : named_palette_names()) {
        CAPTURE(name);
        const Palette p = named_palette(name);
        for (std::size_t i = 0; i < p.size(); ++i) {
            const Rgb8 c = p.colors()[i];
            CHECK(p.nearest(c.r, c.g, c.b) == static_cast<int>(i));
            CHECK(p.nearest_fast(c.r, c.g, c.b) == static_cast<int>(i));
        }
    }
}

TEST_CASE("the lookup table gives the exact Oklab match on random colours") {
    // The table may only store a colour proven nearest for its whole cell; it must therefore
    // agree with the exhaustive search everywhere, for small and large palettes alike.
    util::SplitMix64 rng(7);
    for (const char* name : {"nes", "pico8", "gameboy", "ega"}) {
        CAPTURE(name);
        const Palette p = named_palette(name);
        int differ = 0;
        for (int i = 0; i < 20000; ++i) {
            const auto v = rng.next();
            const auto r = static_cast<std::uint8_t>(v), g = static_cast<std::uint8_t>(v >> 8),
                       b = static_cast<std::uint8_t>(v >> 16);
            differ += p.nearest(r, g, b) != p.nearest_fast(r, g, b);
        }
        CHECK(differ == 0);
    }
}

TEST_CASE("matching is perceptual (Oklab), not RGB distance") {
    // A case where the two disagree: mid grey #808080 against a dark grey and a pink.
    const Palette p({{0x40, 0x40, 0x40}, {0xff, 0x80, 0x80}});
    // RGB: (128,128,128) is 110.9 from #404040 and 127 from #ff8080 → RGB says dark grey.
    // Oklab: #808080 (L 0.60) is 0.228 from #404040 (L 0.37) but 0.212 from the pink
    // (L 0.74, chroma 0.15): the lightness gap weighs more than the hue, as the eye sees it.
    CHECK(p.nearest(0x80, 0x80, 0x80) == 1);
}

TEST_CASE("grey palettes are evenly spaced from black to white") {
    const Palette g2 = grey_palette(2), g4 = grey_palette(4);
    const std::vector<Rgb8> bw = {{0, 0, 0}, {255, 255, 255}};
    const std::vector<Rgb8> four = {{0, 0, 0}, {85, 85, 85}, {170, 170, 170}, {255, 255, 255}};
    CHECK(g2.colors() == bw);
    CHECK(g4.colors() == four);
    CHECK(grey_palette(256).size() == 256);
    CHECK(g4.is_grey());
    CHECK_FALSE(named_palette("gameboy").is_grey());
    CHECK_THROWS_AS(grey_palette(1), Error);
}

TEST_CASE("palette spread: the ordered-dither step between neighbouring colours") {
    CHECK(grey_palette(2).spread(false) == doctest::Approx(1.0));
    CHECK(grey_palette(4).spread(false) == doctest::Approx(1.0 / 3).epsilon(0.01));
    // Game Boy: the widest gap is between #306230 and #8bac0f.
    const float gb = named_palette("gameboy").spread(false);
    CHECK(gb > 0.2f);
    CHECK(gb < 0.35f);
}

TEST_CASE("hex lists: accepted spellings and the messages for bad ones") {
    CHECK(check_hex_palette("#000000,#FFFFFF") == "");
    CHECK(check_hex_palette("1a1c2c 5d275d, #b13e53") == "");
    const Palette parsed = parse_hex_palette("1a1c2c 5d275d, #b13e53");
    const std::vector<Rgb8> want = {{0x1a, 0x1c, 0x2c}, {0x5d, 0x27, 0x5d}, {0xb1, 0x3e, 0x53}};
    CHECK(parsed.colors() == want);
    CHECK(check_hex_palette("#000000,#zz0000") ==
          "colour 2 '#zz0000' is not a hex colour; expected a list like '#1a2b3c,#ffffff' "
          "(6 hex digits each, '#' optional, separated by commas or spaces)");
    CHECK(check_hex_palette("#fff,#000000") ==
          "colour 1 '#fff' is not a hex colour; expected a list like '#1a2b3c,#ffffff' "
          "(6 hex digits each, '#' optional, separated by commas or spaces)");
    CHECK(check_hex_palette("#123456") == "a palette needs at least 2 colours, got 1");
    CHECK(check_hex_palette("") == "a palette needs at least 2 colours, got 0");
    CHECK_THROWS_AS(parse_hex_palette("nope"), Error);
}

TEST_CASE("adaptive palettes recover the colours of a 4-colour image") {
    Image img = Image::allocate(64, 64, 3);
    const Rgb8 quad[4] = {{200, 30, 40}, {20, 180, 60}, {30, 40, 220}, {240, 240, 200}};
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x) {
            const Rgb8 c = quad[(y / 32) * 2 + x / 32];
            std::uint8_t* q = img.row(y) + x * 3;
            q[0] = c.r;
            q[1] = c.g;
            q[2] = c.b;
        }
    const std::set<std::tuple<int, int, int>> want = {key(quad[0]), key(quad[1]), key(quad[2]),
                                                      key(quad[3])};
    for (const auto method : {AdaptiveMethod::median_cut, AdaptiveMethod::kmeans}) {
        std::set<std::tuple<int, int, int>> got;
        const Palette fitted = adaptive_palette(img, 4, method, 1);
        for (const auto& c : fitted.colors()) got.insert(key(c));
        CHECK(got == want);
        // Asking for more colours than the image has gives no invented ones.
        CHECK(adaptive_palette(img, 16, method, 1).size() <= 4);
    }
}

TEST_CASE("adaptive palettes fit a photo better than a fixed palette of the same size") {
    const Image photo = test::load_data("fruits.jpg");
    const double fixed = fit_error(photo, named_palette("pico8"));
    for (const auto method : {AdaptiveMethod::median_cut, AdaptiveMethod::kmeans}) {
        const Palette a = adaptive_palette(photo, 16, method, 3);
        CHECK(a.size() <= 16);
        CHECK(a.size() >= 12);
        const double fit = fit_error(photo, a);
        CAPTURE(fixed);
        CAPTURE(fit);
        CHECK(fit < 0.75 * fixed);
        // Deterministic: the same seed gives the same colours.
        const Palette again = adaptive_palette(photo, 16, method, 3);
        CHECK(again.colors() == a.colors());
    }
}

TEST_CASE("adaptive palettes ignore fully transparent pixels") {
    Image img = Image::allocate(32, 32, 4);
    for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) {
            std::uint8_t* q = img.row(y) + x * 4;
            const bool hidden = x < 16;  // bright red under alpha 0
            q[0] = hidden ? 255 : static_cast<std::uint8_t>(x * 8);
            q[1] = hidden ? 0 : 100;
            q[2] = hidden ? 0 : 160;
            q[3] = hidden ? 0 : 255;
        }
    for (const auto method : {AdaptiveMethod::median_cut, AdaptiveMethod::kmeans}) {
        const Palette fitted = adaptive_palette(img, 4, method, 0);
        for (const auto& c : fitted.colors()) CHECK(c.g >= 90);
    }
}
