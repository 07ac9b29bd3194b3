#include <doctest/doctest.h>

#include <tbb/global_control.h>

#include <set>
#include <string>
#include <tuple>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/pixel_art/palette.hpp"
#include "test_support.hpp"

using namespace artistry;
using namespace artistry::effects;

namespace {

const test::EffectUnderTest retro("retro_8bit", effects::register_retro_8bit);

const EffectRegistry& registry() {
    return retro.registry();
}

using Key = std::tuple<int, int, int>;

Key rgb_at(const Image& img, int x, int y) {
    const std::uint8_t* q = img.row(y) + static_cast<std::size_t>(x) * img.channels();
    return {q[0], q[1], q[2]};
}

std::set<Key> colours_of(const Image& img) {
    std::set<Key> out;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) out.insert(rgb_at(img, x, y));
    return out;
}

std::set<Key> keys(const Palette& p) {
    std::set<Key> out;
    for (const auto& c : p.colors()) out.insert({c.r, c.g, c.b});
    return out;
}

// Every pixel equals the top-left pixel of its block (grid anchored at absolute 0,0).
bool constant_in_blocks(const Image& img, int block, int ox = 0, int oy = 0) {
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            const int bx = std::max(0, ((ox + x) / block) * block - ox);
            const int by = std::max(0, ((oy + y) / block) * block - oy);
            if (rgb_at(img, x, y) != rgb_at(img, bx, by)) return false;
        }
    return true;
}

bool subset(const std::set<Key>& a, const std::set<Key>& b) {
    return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

}  // namespace

TEST_CASE("output is constant inside each block and uses only palette colours") {
    const Image photo = test::load_data("butterfly.jpg");  // 493x356: partial edge blocks
    for (const char* palette : {"nes", "pico8", "c64", "cga", "ega", "mono"}) {
        for (const char* dither : {"none", "bayer4", "floyd_steinberg", "blue_noise"}) {
            for (const int block : {1, 7, 16}) {
                CAPTURE(palette);
                CAPTURE(dither);
                CAPTURE(block);
                const Image out = retro(photo, {{"palette", std::string(palette)},
                                                {"dither", std::string(dither)},
                                                {"block", std::int64_t{block}}});
                CHECK(out.width() == photo.width());
                CHECK(out.height() == photo.height());
                CHECK(constant_in_blocks(out, block));
                CHECK(subset(colours_of(out), keys(named_palette(palette))));
            }
        }
    }
}

TEST_CASE("the gameboy palette gives at most its four greens") {
    const Image photo = test::load_data("fruits.jpg");
    for (const char* dither : {"none", "atkinson", "bayer8"}) {
        CAPTURE(dither);
        const auto used = colours_of(
            retro(photo, {{"palette", std::string("gameboy")}, {"dither", std::string(dither)}}));
        CHECK(used.size() <= 4);
        CHECK(used.size() >= 3);  // a real photo spans most of the ramp
        CHECK(subset(
            used,
            {{0x0f, 0x38, 0x0f}, {0x30, 0x62, 0x30}, {0x8b, 0xac, 0x0f}, {0x9b, 0xbc, 0x0f}}));
    }
}

TEST_CASE("retro_8bit is version 2: results cached before hull_kmeans are not reused") {
    CHECK(registry().get("retro_8bit").version == 2);
}

TEST_CASE("adaptive palettes: at most N colours, deterministic") {
    const Image photo = test::load_data("messi5.jpg");
    for (const char* method : {"hull_kmeans", "median_cut", "kmeans"}) {
        CAPTURE(method);
        const ParamMap p = {{"palette", std::string("adaptive")},
                            {"colors", std::int64_t{6}},
                            {"adaptive_method", std::string(method)},
                            {"block", std::int64_t{4}},
                            {"seed", std::int64_t{2}}};
        const Image a = retro(photo, p);
        CHECK(colours_of(a).size() <= 6);
        CHECK(colours_of(a).size() >= 4);
        CHECK(constant_in_blocks(a, 4));
        CHECK(a.same_pixels(retro(photo, p)));
    }
}

TEST_CASE("blocks hold the block's average colour mapped to the palette") {
    // Two flat halves, split on a block boundary: each block is one flat colour, so with
    // dither none every block is that colour's nearest palette colour.
    Image img = Image::allocate(32, 16, 3);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 32; ++x) {
            std::uint8_t* q = img.row(y) + x * 3;
            q[0] = x < 16 ? 250 : 10;
            q[1] = x < 16 ? 20 : 30;
            q[2] = x < 16 ? 30 : 200;
        }
    const Palette pico = named_palette("pico8");
    const Image out = retro(img, {{"palette", std::string("pico8")}, {"block", std::int64_t{8}}});
    const Rgb8 red = pico.colors()[static_cast<std::size_t>(pico.nearest(250, 20, 30))];
    const Rgb8 blue = pico.colors()[static_cast<std::size_t>(pico.nearest(10, 30, 200))];
    CHECK(rgb_at(out, 3, 3) == Key{red.r, red.g, red.b});
    CHECK(rgb_at(out, 30, 12) == Key{blue.r, blue.g, blue.b});
}

TEST_CASE("every configuration is deterministic, for any thread count") {
    const Image photo = test::load_data("squirrel_cls.jpg");
    for (const char* dither : {"none", "sierra3", "bayer16", "blue_noise"}) {
        for (const char* palette : {"nes", "adaptive"}) {
            CAPTURE(dither);
            CAPTURE(palette);
            const ParamMap p = {{"palette", std::string(palette)},
                                {"dither", std::string(dither)},
                                {"adaptive_method", std::string("kmeans")},
                                {"block", std::int64_t{5}}};
            const Image a = retro(photo, p);
            Image b;
            {
                tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
                b = retro(photo, p);
            }
            CHECK(a.same_pixels(b));
        }
    }
}

TEST_CASE("alpha is kept, pixel by pixel, on RGBA input") {
    const Image rgba = test::load_data("chicky_512.png");
    REQUIRE(rgba.channels() == 4);
    for (const char* palette : {"pico8", "adaptive"}) {
        CAPTURE(palette);
        const Image out = retro(rgba, {{"palette", std::string(palette)},
                                       {"block", std::int64_t{6}},
                                       {"dither", std::string("bayer2")}});
        REQUIRE(out.channels() == 4);
        bool same = true;
        for (int y = 0; y < rgba.height(); ++y)
            for (int x = 0; x < rgba.width(); ++x)
                same = same && out.row(y)[x * 4 + 3] == rgba.row(y)[x * 4 + 3];
        CHECK(same);
        CHECK(constant_in_blocks(out, 6));
    }
}

TEST_CASE("a tile with its halo and origin equals the same crop of the whole image") {
    // Footprint local(block - 1): a tile read with that halo and told its origin gives the
    // whole-image bytes, for plain mapping and for ordered dithering of the block image.
    const Image photo = test::load_data("baboon.jpg");
    const int block = 8;
    const Rect tile{45, 30, 150, 101};  // not on the block grid
    const int halo = block - 1;
    const Rect read{tile.x - halo, tile.y - halo, tile.width + 2 * halo, tile.height + 2 * halo};
    for (const char* dither : {"none", "bayer8", "blue_noise"}) {
        CAPTURE(dither);
        const ParamMap p = {{"palette", std::string("nes")},
                            {"dither", std::string(dither)},
                            {"block", std::int64_t{block}}};
        const auto& info = registry().get("retro_8bit");
        const Footprint fp =
            info.plan(registry().resolve("retro_8bit", p), 1000, 1000, {}).footprint;
        CHECK(fp.kind == Footprint::Kind::local);
        CHECK(fp.radius == halo);
        const Image whole = retro(photo, p);
        EffectContext ctx;
        ctx.origin_x = read.x;
        ctx.origin_y = read.y;
        const Image part = retro(photo.view(read), p, ctx);
        CHECK(part.view({halo, halo, tile.width, tile.height})
                  .clone()
                  .same_pixels(whole.view(tile).clone()));
    }
    const auto fp = [&](const ParamMap& m) {
        return registry()
            .get("retro_8bit")
            .plan(registry().resolve("retro_8bit", m), 1000, 1000, {})
            .footprint.kind;
    };
    CHECK(fp({{"dither", std::string("floyd_steinberg")}}) == Footprint::Kind::sequential);
    CHECK(fp({{"palette", std::string("adaptive")}}) == Footprint::Kind::global);
}

TEST_CASE("invalid parameters give the documented messages") {
    const Image img = Image::allocate(8, 8, 3);
    const auto message = [&](const ParamMap& p) {
        const Error e = test::error_of([&] { retro(img, p); });
        CHECK(e.status() == Status::invalid_argument);
        return std::string(e.what());
    };
    CHECK(message({{"block", std::int64_t{0}}}) ==
          "effect 'retro_8bit': parameter 'block' must be an integer in [1, 256], got 0");
    CHECK(message({{"palette", std::string("snes")}}) ==
          "effect 'retro_8bit': parameter 'palette' must be one of nes, gameboy, pico8, c64, cga, "
          "ega, "
          "mono, adaptive, got 'snes'");
    CHECK(message({{"colors", std::int64_t{300}}}) ==
          "effect 'retro_8bit': parameter 'colors' must be an integer in [2, 256], got 300");
    CHECK(message({{"dither", std::string("ordered")}})
              .find("parameter 'dither' must be one of none, floyd_steinberg") !=
          std::string::npos);
}
