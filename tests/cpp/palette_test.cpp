#include <doctest/doctest.h>

#include <tbb/global_control.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <string>
#include <tuple>

#include "artistry/error.hpp"
#include "effects/pixel_art/dither.hpp"
#include "effects/pixel_art/hull_distance.hpp"
#include "effects/pixel_art/palette.hpp"
#include "effects/pixel_art/palette_proxy.hpp"
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

// How many of n random colours the lookup table maps elsewhere than the exhaustive search.
int table_mismatches(const Palette& p, util::SplitMix64& rng, int n) {
    int differ = 0;
    for (int i = 0; i < n; ++i) {
        const auto v = rng.next();
        const auto r = static_cast<std::uint8_t>(v), g = static_cast<std::uint8_t>(v >> 8),
                   b = static_cast<std::uint8_t>(v >> 16);
        differ += p.nearest(r, g, b) != p.nearest_fast(r, g, b);
    }
    return differ;
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
        CHECK(table_mismatches(p, rng, 20000) == 0);
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

// ---- hull_kmeans ----------------------------------------------------------------------------

namespace {

// The mean Oklab distance between two images once both are blurred (Gaussian σ = 1.5 px, in
// linear light): how close a dither looks to the photo from a viewing distance.
double blurred_error(const Image& a, const Image& b) {
    const int w = a.width(), h = a.height();
    const auto& lin = util::srgb8_to_linear_table();
    std::array<float, 9> k{};
    float ksum = 0.f;
    for (int i = -4; i <= 4; ++i)
        ksum += k[static_cast<std::size_t>(i + 4)] = std::exp(-i * i / 4.5f);
    const auto blurred = [&](const Image& img) {
        std::vector<std::array<float, 3>> v(static_cast<std::size_t>(w) * h), t(v.size());
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) {
                const std::uint8_t* p = img.row(y) + static_cast<std::size_t>(x) * img.channels();
                v[static_cast<std::size_t>(y) * w + x] = {lin[p[0]], lin[p[1]], lin[p[2]]};
            }
        for (int pass = 0; pass < 2; ++pass) {
            for (int y = 0; y < h; ++y)
                for (int x = 0; x < w; ++x) {
                    std::array<float, 3> s{};
                    for (int i = -4; i <= 4; ++i) {
                        const int xx = pass ? x : std::clamp(x + i, 0, w - 1);
                        const int yy = pass ? std::clamp(y + i, 0, h - 1) : y;
                        for (std::size_t c = 0; c < 3; ++c)
                            s[c] += k[static_cast<std::size_t>(i + 4)] / ksum *
                                    v[static_cast<std::size_t>(yy) * w + xx][c];
                    }
                    t[static_cast<std::size_t>(y) * w + x] = s;
                }
            std::swap(v, t);
        }
        return v;
    };
    const auto va = blurred(a), vb = blurred(b);
    double sum = 0;
    for (std::size_t i = 0; i < va.size(); ++i)
        sum +=
            std::sqrt(util::oklab_distance2(util::linear_to_oklab(va[i][0], va[i][1], va[i][2]),
                                            util::linear_to_oklab(vb[i][0], vb[i][1], vb[i][2])));
    return sum / static_cast<double>(va.size());
}

double dithered_error(const Image& photo, const Palette& p) {
    const DitherSpec spec;  // Floyd–Steinberg, serpentine, linear light
    return blurred_error(photo, dither_to_palette(photo, p, adaptive_spec(spec, p), {}));
}

Image solid_blocks(const std::vector<Rgb8>& colours, int w, int h) {
    Image img = Image::allocate(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const Rgb8 c = colours[static_cast<std::size_t>((x * 7 + y * 3) / 5) % colours.size()];
            std::uint8_t* q = img.row(y) + static_cast<std::size_t>(x) * 3;
            q[0] = c.r;
            q[1] = c.g;
            q[2] = c.b;
        }
    return img;
}

}  // namespace

TEST_CASE("hull_kmeans: a dithered photo looks closer to it than with median cut or k-means") {
    // Measured: fruits 0.0083 against 0.0203 (median cut) and 0.0175 (k-means); baboon 0.0065
    // against 0.0167 and 0.0150.
    for (const char* name : {"fruits.jpg", "baboon.jpg"}) {
        CAPTURE(name);
        const Image photo = test::load_data(name);
        const double hull =
            dithered_error(photo, adaptive_palette(photo, 16, AdaptiveMethod::hull_kmeans, 0));
        const double mc =
            dithered_error(photo, adaptive_palette(photo, 16, AdaptiveMethod::median_cut, 0));
        const double km =
            dithered_error(photo, adaptive_palette(photo, 16, AdaptiveMethod::kmeans, 0));
        CAPTURE(hull);
        CAPTURE(mc);
        CAPTURE(km);
        CHECK(hull < 0.6 * mc);
        CHECK(hull < 0.7 * km);
    }
}

TEST_CASE("adaptive palettes of 2 and 256 colours, deterministic for any thread count") {
    const Image photo = test::load_data("butterfly.jpg");
    for (const auto method :
         {AdaptiveMethod::hull_kmeans, AdaptiveMethod::median_cut, AdaptiveMethod::kmeans}) {
        for (const int n : {2, 256}) {
            CAPTURE(static_cast<int>(method));
            CAPTURE(n);
            const Palette p = adaptive_palette(photo, n, method, 1);
            CHECK(p.size() <= static_cast<std::size_t>(n));
            CHECK(p.size() >= static_cast<std::size_t>(n == 2 ? 2 : 200));
            Palette one;
            {
                tbb::global_control single(tbb::global_control::max_allowed_parallelism, 1);
                one = adaptive_palette(photo, n, method, 1);
            }
            CHECK(one.colors() == p.colors());
        }
    }
    // Two colours span the photo: one dark, one light.
    const Palette two = adaptive_palette(photo, 2, AdaptiveMethod::hull_kmeans, 0);
    REQUIRE(two.size() == 2);
    CHECK(std::abs(two.oklab()[0].L - two.oklab()[1].L) > 0.3f);
}

TEST_CASE("hull_kmeans: an image of fewer colours than asked gets exactly its colours") {
    const std::vector<Rgb8> five = {
        {12, 200, 40}, {13, 200, 40}, {250, 250, 250}, {90, 10, 160}, {91, 11, 161}};
    const Image img = solid_blocks(five, 61, 47);
    for (const int n : {5, 8, 256}) {
        const Palette p = adaptive_palette(img, n, AdaptiveMethod::hull_kmeans, 0);
        std::set<std::tuple<int, int, int>> got, want;
        for (const auto& c : p.colors()) got.insert(key(c));
        for (const auto& c : five) want.insert(key(c));
        CHECK(got == want);
    }
    // One colour short of the image's: a fit, not its colours.
    CHECK(adaptive_palette(img, 4, AdaptiveMethod::hull_kmeans, 0).size() <= 4);
    // Only transparent pixels' colours are skipped.
    Image rgba = Image::allocate(8, 8, 4);
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x) {
            std::uint8_t* q = rgba.row(y) + x * 4;
            q[0] = x < 4 ? 255 : 10;
            q[1] = 20;
            q[2] = 30;
            q[3] = x < 4 ? 0 : 255;
        }
    const std::vector<Rgb8> one = {{10, 20, 30}};
    CHECK(adaptive_palette(rgba, 4, AdaptiveMethod::hull_kmeans, 0).colors() == one);
}

TEST_CASE("streamed palettes equal whole-image ones, in bands of any height") {
    const Image photo = test::load_data("fruits.jpg");
    Image rgba = Image::allocate(photo.width(), photo.height(), 4);
    for (int y = 0; y < photo.height(); ++y)
        for (int x = 0; x < photo.width(); ++x) {
            const std::uint8_t* p = photo.row(y) + x * 3;
            std::uint8_t* q = rgba.row(y) + x * 4;
            std::copy_n(p, 3, q);
            q[3] = (x + y) % 5 == 0 ? 0 : 255;
        }
    for (const Image& img : {photo, rgba}) {
        for (const auto method :
             {AdaptiveMethod::hull_kmeans, AdaptiveMethod::median_cut, AdaptiveMethod::kmeans}) {
            const Palette whole = adaptive_palette(img, 12, method, 7);
            for (const int band : {1, 7, 64, 200}) {
                CAPTURE(img.channels());
                CAPTURE(static_cast<int>(method));
                CAPTURE(band);
                AdaptivePaletteBuilder b(12, method, 7, img.width(), img.height());
                for (int y = 0; y < img.height(); y += band) {
                    const int rows = std::min(band, img.height() - y);
                    b.add_rows(img.view({0, y, img.width(), rows}), y);
                }
                CHECK(b.finish().colors() == whole.colors());
            }
        }
    }
}

TEST_CASE("palette builders say what is wrong with their input") {
    CHECK_THROWS_WITH_AS(
        parse_adaptive_method("octree"),
        "unknown adaptive method 'octree' (known: hull_kmeans, median_cut, kmeans)", Error);
    AdaptivePaletteBuilder b(16, AdaptiveMethod::hull_kmeans, 0, 10, 4);
    CHECK_THROWS_WITH_AS(b.finish(), "adaptive_palette: saw 0 of the image's 4 rows", Error);
    CHECK_THROWS_AS(b.add_rows(Image::allocate(10, 2, 3), 1), Error);  // not at row 0
    CHECK_THROWS_AS(b.add_rows(Image::allocate(9, 2, 3), 0), Error);   // another width
    CHECK_THROWS_AS(AdaptivePaletteBuilder(0, AdaptiveMethod::hull_kmeans, 0, 10, 4), Error);
    CHECK_THROWS_AS(AdaptivePaletteBuilder(16, AdaptiveMethod::hull_kmeans, 0, 0, 4), Error);
}

TEST_CASE("the lookup table matches nearest() exactly on fitted palettes too") {
    // Fitted palettes put colours close together, so most cells the table meets are contested.
    const Image photo = test::load_data("baboon.jpg");
    util::SplitMix64 rng(11);
    for (const int n : {16, 256}) {
        const Palette p = adaptive_palette(photo, n, AdaptiveMethod::hull_kmeans, 0);
        CHECK(table_mismatches(p, rng, 40000) == 0);
    }
}

TEST_CASE("typical gap and approximate Oklab") {
    // Five evenly spaced greys: in Oklab the steps differ, the median is the middle one's.
    const Palette g = grey_palette(5);
    std::vector<float> gaps;
    for (std::size_t i = 0; i < 5; ++i) {
        float nearest = 1e9f;
        for (std::size_t j = 0; j < 5; ++j)
            if (i != j)
                nearest =
                    std::min(nearest, std::sqrt(util::oklab_distance2(g.oklab()[i], g.oklab()[j])));
        gaps.push_back(nearest);
    }
    std::sort(gaps.begin(), gaps.end());
    CHECK(g.typical_gap() == doctest::Approx(gaps[2]));
    CHECK(Palette({{1, 2, 3}}).typical_gap() == 0.f);
    util::SplitMix64 rng(3);
    float worst = 0.f;
    for (int i = 0; i < 10000; ++i) {
        const float r = static_cast<float>(rng.uniform()), gg = static_cast<float>(rng.uniform()),
                    b = static_cast<float>(rng.uniform());
        worst = std::max(worst, std::sqrt(util::oklab_distance2(approx_oklab(r, gg, b),
                                                                util::linear_to_oklab(r, gg, b))));
    }
    CHECK(worst < 1e-4f);
}

TEST_CASE("outside_hull: the offset from the nearest point of a few points' hull") {
    const auto near = [](const Vec3& a, const Vec3& b) {
        return std::abs(a[0] - b[0]) < 1e-6f && std::abs(a[1] - b[1]) < 1e-6f &&
               std::abs(a[2] - b[2]) < 1e-6f;
    };
    const Vec3 zero{0.f, 0.f, 0.f};
    const std::vector<Vec3> tetra = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    CHECK(near(outside_hull({0.1f, 0.2f, 0.3f}, tetra.data(), 4), zero));
    CHECK(near(outside_hull({1, 1, 1}, tetra.data(), 4), {2.f / 3, 2.f / 3, 2.f / 3}));  // a face
    CHECK(near(outside_hull({2, 0, 0}, tetra.data(), 4), {1, 0, 0}));                    // a vertex
    CHECK(near(outside_hull({0.5f, -1, -1}, tetra.data(), 4), {0, -1, -1}));             // an edge
    const std::vector<Vec3> cube = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1, 1, 0},
                                    {0, 0, 1}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}};
    CHECK(near(outside_hull({0.5f, 0.5f, 0.5f}, cube.data(), 8), zero));
    CHECK(near(outside_hull({1.5f, 0.5f, 0.25f}, cube.data(), 8), {0.5f, 0, 0}));
    // Degenerate sets: a flat square, a segment, one point, repeated points.
    CHECK(near(outside_hull({0.5f, 0.5f, 2}, cube.data(), 4), {0, 0, 2}));
    CHECK(near(outside_hull({0.5f, 1, 0}, tetra.data(), 2), {0, 1, 0}));
    CHECK(near(outside_hull({3, 4, 5}, tetra.data() + 1, 1), {2, 4, 5}));
    const std::vector<Vec3> same = {
        {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
    CHECK(near(outside_hull({1, 0.5f, 0.5f}, same.data(), 4), {0.5f, 0, 0}));
    CHECK_THROWS_AS(outside_hull({0, 0, 0}, cube.data(), 9), Error);
}

TEST_CASE("the dither score's proxy: a box-filtered stand-in of about 2^16 pixels") {
    Image img = Image::allocate(1000, 700, 4);
    for (int y = 0; y < 700; ++y)
        for (int x = 0; x < 1000; ++x) {
            std::uint8_t* q = img.row(y) + x * 4;
            q[0] = 200;
            q[1] = x % 2 ? 0 : 255;  // alternating columns: their mean in linear light
            q[2] = 40;
            q[3] = x < 100 ? 0 : 255;
        }
    ProxyBuilder pb(1000, 700);
    for (int y = 0; y < 700; ++y) pb.add_row(img.row(y), 4, y);
    const Image proxy = pb.finish();
    CHECK(proxy.width() * proxy.height() <= 65536);
    CHECK(proxy.width() * proxy.height() > 65536 / 2);
    const std::uint8_t* mid = proxy.row(proxy.height() / 2) + (proxy.width() / 2) * 4;
    CHECK(mid[0] == 200);
    CHECK(mid[1] == util::linear_to_srgb8(0.5f));
    CHECK(mid[3] == 255);
    CHECK(proxy.row(0)[3] == 0);  // a block of transparent pixels only
    // The image's own two colours dither it almost exactly; another pair does not.
    const DitherScore score(proxy);
    const double own = score(Palette({{200, 0, 40}, {200, 255, 40}}));
    const double other = score(Palette({{0, 0, 0}, {255, 255, 255}}));
    CHECK(own < 0.01);
    CHECK(other > 5 * own);
}
