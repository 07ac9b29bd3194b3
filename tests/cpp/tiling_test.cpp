// Tiled execution equals the whole-image run, byte for byte, for every footprint the tiling
// handles, on real photos and odd tile sizes.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/memory.hpp"
#include "artistry/tiling.hpp"
#include "test_support.hpp"

using namespace artistry;

namespace {

// The reference: each effect on the whole image, one after the other.
Image whole(const EffectChain& chain, const Image& input) {
    const auto& reg = EffectRegistry::builtin();
    Image img = input;
    for (const auto& s : chain)
        img = apply_effect(reg.get(s.effect), img, reg.resolve(s.effect, s.params));
    return img;
}

Image rgb(const std::string& name) {
    Image img = test::load_data(name);
    REQUIRE(img.channels() >= 3);
    return img;
}

// Tiled == whole for square tiles and for full-width bands of each size.
void check_chain(const EffectChain& chain, const Image& input, const std::vector<int>& sizes) {
    const Image expected = whole(chain, input);
    for (const int t : sizes) {
        for (const bool square : {true, false}) {
            TileOptions o;
            o.tile_size = t;
            o.tile_width = square ? t : 0;
            const Image got = run_tiled(chain, input, o);
            INFO("tile " << t << (square ? " square" : " band") << ", first effect "
                         << chain.front().effect);
            CHECK(got.same_pixels(expected));
        }
    }
}

const std::vector<int> sizes = {17, 64, 256, 1000};

}  // namespace

TEST_CASE("point and local effects: tiled equals whole") {
    const Image photo = rgb("fruits.jpg");
    const std::vector<EffectChain> chains = {
        {{"color", {{"preset", std::string("none")}, {"exposure", 0.5}, {"saturation", 1.4}}}},
        {{"color", {{"contrast", 0.3}, {"hue", 20.0}, {"vibrance", 0.4}}}},
        {{"dither", {{"method", std::string("bayer8")}, {"palette", std::string("bw")}}}},
        {{"dither",
          {{"method", std::string("blue_noise")},
           {"palette", std::string("pico8")},
           {"seed", std::int64_t{3}}}}},
        {{"dither",
          {{"method", std::string("clustered_dot")},
           {"palette", std::string("grey")},
           {"levels", std::int64_t{5}}}}},
        {{"retro_8bit", {{"block", std::int64_t{8}}, {"palette", std::string("nes")}}}},
        {{"retro_8bit",
          {{"block", std::int64_t{13}}, {"palette", std::string("c64")}, {"linear", false}}}},
        {{"retro_8bit",
          {{"block", std::int64_t{5}},
           {"palette", std::string("ega")},
           {"dither", std::string("bayer4")}}}},
        {{"enhanced_bw", {{"clahe", false}}}},
        {{"enhanced_bw",
          {{"clahe", false},
           {"filter", std::string("red")},
           {"contrast", 0.4},
           {"grain", 0.5},
           {"seed", std::int64_t{9}}}}},
        {{"enhanced_bw", {{"clahe", false}, {"grain", 0.7}, {"grain_size", 2.5}}}},
    };
    for (const auto& c : chains) check_chain(c, photo, sizes);
}

TEST_CASE("a chain of local effects: the halo is the sum of the radii") {
    const Image photo = rgb("baboon.jpg");
    const EffectChain chain = {
        {"color", {{"exposure", 0.3}}},
        {"retro_8bit", {{"block", std::int64_t{6}}, {"palette", std::string("pico8")}}},
        {"retro_8bit", {{"block", std::int64_t{9}}, {"palette", std::string("nes")}}},
        {"enhanced_bw", {{"clahe", false}, {"grain", 0.3}}},
    };
    check_chain(chain, photo, {17, 64, 200});
}

TEST_CASE("error diffusion in bands equals the whole-image pass") {
    const Image photo = rgb("butterfly.jpg");
    for (const auto& method : {"floyd_steinberg", "false_floyd_steinberg", "jarvis_judice_ninke",
                               "stucki", "burkes", "sierra3", "sierra2", "sierra_lite", "atkinson"})
        for (const bool serpentine : {true, false})
            for (const bool linear : {true, false})
                for (const auto& palette : {"bw", "grey", "gameboy"}) {
                    const EffectChain chain = {{"dither",
                                                {{"method", std::string(method)},
                                                 {"serpentine", serpentine},
                                                 {"linear", linear},
                                                 {"palette", std::string(palette)}}}};
                    INFO(method << " serpentine " << serpentine << " linear " << linear << " "
                                << palette);
                    check_chain(chain, photo, {17, 64});
                }
}

TEST_CASE("a chain into error diffusion, and local effects after it") {
    const Image photo = rgb("messi5.jpg");
    const EffectChain chain = {
        {"enhanced_bw", {{"clahe", false}, {"contrast", 0.2}}},
        {"dither", {{"method", std::string("stucki")}, {"palette", std::string("bw")}}},
        {"retro_8bit", {{"block", std::int64_t{4}}, {"palette", std::string("gameboy")}}},
    };
    check_chain(chain, photo, sizes);
}

TEST_CASE("CLAHE: a streamed analysis, then per-tile apply, equals whole") {
    // Cell histograms of the whole image gathered band by band, then each tile equalised from
    // absolute coordinates: the bytes of the whole-image run, whatever the tile size.
    const std::vector<ParamMap> params = {
        {},
        {{"clahe_clip", 1.0}, {"clahe_grid", std::int64_t{3}}, {"contrast", 0.4}},
        {{"clahe_clip", 4.0},
         {"clahe_grid", std::int64_t{13}},
         {"grain", 0.5},
         {"seed", std::int64_t{5}},
         {"filter", std::string("red")}},
        {{"clahe_clip", 0.0}, {"clahe_grid", std::int64_t{7}}, {"brightness", 0.3}},
        {{"clahe_clip", 12.0},
         {"clahe_grid", std::int64_t{64}},
         {"contrast", -0.3},
         {"grain", 0.3},
         {"grain_size", 2.5}},
    };
    for (const auto& name : {"fruits.jpg", "baboon.jpg", "butterfly.jpg"}) {
        const Image photo = rgb(name);
        for (const auto& p : params) {
            INFO(name << " " << EffectRegistry::builtin().resolve("enhanced_bw", p).canonical());
            check_chain({{"enhanced_bw", p}}, photo, sizes);
        }
    }
    // Inside chains: local effects before (the analysis sees their output), error diffusion
    // and local effects after.
    const Image photo = rgb("messi5.jpg");
    check_chain({{"retro_8bit", {{"block", std::int64_t{5}}, {"palette", std::string("pico8")}}},
                 {"enhanced_bw", {{"clahe_grid", std::int64_t{5}}, {"grain", 0.2}}},
                 {"dither", {{"method", std::string("floyd_steinberg")}}},
                 {"retro_8bit", {{"block", std::int64_t{3}}, {"palette", std::string("mono")}}}},
                photo, sizes);
    check_chain({{"enhanced_bw", {{"clahe_grid", std::int64_t{4}}}},
                 {"enhanced_bw", {{"clahe_clip", 3.0}, {"clahe_grid", std::int64_t{9}}}}},
                photo, {17, 256});
}

TEST_CASE("CLAHE streamed from file to file equals whole, with no whole-image stage") {
    test::TempDir dir;
    const std::string in = dir.file("in.png"), out = dir.file("out.png");
    const Image photo = rgb("baboon.jpg");
    save_image(photo, in);
    const EffectChain chain = {
        {"enhanced_bw", {{"clahe_grid", std::int64_t{6}}, {"contrast", 0.2}, {"grain", 0.3}}},
        {"dither", {{"method", std::string("atkinson")}}}};
    for (const int t : {17, 100}) {
        TileOptions o;
        o.tile_size = t;
        const TiledRunStats stats = run_tiled_file(chain, in, out, o);
        CHECK_FALSE(stats.whole_image_stage);
        CHECK(load_image(out).same_pixels(whole(chain, photo)));
    }
}

// An RGBA copy: a transparent corner (a cut-out's background) and a soft edge.
Image with_alpha(const Image& rgb_in) {
    Image out = Image::allocate(rgb_in.width(), rgb_in.height(), 4);
    for (int y = 0; y < out.height(); ++y)
        for (int x = 0; x < out.width(); ++x) {
            const std::uint8_t* p = rgb_in.row(y) + 3 * x;
            std::uint8_t* q = out.row(y) + 4 * x;
            q[0] = p[0];
            q[1] = p[1];
            q[2] = p[2];
            const int d = x + y - out.width() / 2;
            q[3] = static_cast<std::uint8_t>(d < 0 ? 0 : std::min(255, d * 8));
        }
    return out;
}

// A crop of a photo: adaptive palettes fill a fresh colour lookup table on every run, so the
// matrix below runs on fewer pixels (tile 1000 still covers the whole crop in one tile).
Image crop(const std::string& name, int w, int h) {
    const Image img = rgb(name);
    return img.view({(img.width() - w) / 2, (img.height() - h) / 2, w, h}).clone();
}

TEST_CASE("adaptive palettes: a streamed palette pass, then tiles or bands, equal whole") {
    const Image photo = crop("squirrel_cls.jpg", 300, 220);
    for (const auto& method : {"hull_kmeans", "median_cut", "kmeans"}) {
        for (const auto& dither : {"none", "blue_noise", "atkinson"}) {
            const EffectChain chain = {{"dither",
                                        {{"palette", std::string("adaptive")},
                                         {"adaptive_method", std::string(method)},
                                         {"colors_count", std::int64_t{7}},
                                         {"method", std::string(dither)},
                                         {"seed", std::int64_t{4}}}}};
            INFO("dither " << method << " " << dither);
            check_chain(chain, photo, sizes);
        }
    }
    const Image fruit = crop("fruits.jpg", 320, 240);
    struct Retro {
        const char* method;
        const char* dither;
        int block;
    };
    for (const Retro& r : {Retro{"median_cut", "none", 6}, Retro{"kmeans", "bayer8", 13},
                           Retro{"median_cut", "floyd_steinberg", 1}, Retro{"kmeans", "stucki", 6},
                           Retro{"median_cut", "atkinson", 13}, Retro{"hull_kmeans", "sierra2", 3},
                           Retro{"hull_kmeans", "none", 13}}) {
        const EffectChain chain = {{"retro_8bit",
                                    {{"palette", std::string("adaptive")},
                                     {"adaptive_method", std::string(r.method)},
                                     {"colors", std::int64_t{12}},
                                     {"block", std::int64_t{r.block}},
                                     {"dither", std::string(r.dither)}}}};
        INFO("retro_8bit " << r.method << " " << r.dither << " block " << r.block);
        check_chain(chain, fruit, sizes);
    }
    // RGBA: transparent pixels stay out of the palette; after other steps in a chain.
    check_chain(
        {{"color", {{"exposure", 0.3}}},
         {"dither",
          {{"palette", std::string("adaptive")},
           {"method", std::string("sierra_lite")},
           {"colors_count", std::int64_t{5}}}},
         {"retro_8bit", {{"palette", std::string("adaptive")}, {"block", std::int64_t{4}}}}},
        with_alpha(photo), {17, 256});
}

TEST_CASE("retro_8bit with error diffusion: block-aligned bands equal whole") {
    const Image photo = rgb("baboon.jpg");
    struct Case {
        const char* dither;
        int block;
        bool linear;
    };
    for (const Case& c : {Case{"floyd_steinberg", 1, true}, Case{"jarvis_judice_ninke", 3, false},
                          Case{"atkinson", 8, true}, Case{"floyd_steinberg", 13, false}}) {
        const EffectChain chain = {{"retro_8bit",
                                    {{"palette", std::string("pico8")},
                                     {"block", std::int64_t{c.block}},
                                     {"dither", std::string(c.dither)},
                                     {"dither_strength", 0.8},
                                     {"linear", c.linear}}}};
        INFO(c.dither << " block " << c.block << " linear " << c.linear);
        check_chain(chain, photo, sizes);
    }
    check_chain({{"retro_8bit",
                  {{"palette", std::string("gameboy")},
                   {"block", std::int64_t{7}},
                   {"dither", std::string("burkes")}}}},
                with_alpha(rgb("messi5.jpg")), {17, 64});
}

TEST_CASE("pop_art: a streamed analysis, then per-tile rendering, equals whole") {
    const std::vector<ParamMap> params = {
        {},
        {{"rows", std::int64_t{3}},
         {"cols", std::int64_t{3}},
         {"halftone", true},
         {"outline", true}},
        {{"rows", std::int64_t{1}},
         {"cols", std::int64_t{3}},
         {"levels", std::int64_t{6}},
         {"palette_set", std::string("mixed")},
         {"seed", std::int64_t{7}}},
        {{"rows", std::int64_t{1}},
         {"cols", std::int64_t{1}},
         {"halftone", true},
         {"dot_size", std::int64_t{5}},
         {"outline", true},
         {"outline_thickness", std::int64_t{3}}},
        {{"rows", std::int64_t{4}}, {"cols", std::int64_t{2}}, {"levels", std::int64_t{2}}},
    };
    for (const auto& name : {"fruits.jpg", "messi5.jpg"}) {
        const Image photo = rgb(name);
        for (const auto& p : params) {
            INFO(name << " " << EffectRegistry::builtin().resolve("pop_art", p).canonical());
            check_chain({{"pop_art", p}}, photo, sizes);
        }
    }
    // RGBA in (a cut-out), RGB out; with steps before and after it.
    check_chain({{"pop_art", {{"halftone", true}}}}, with_alpha(rgb("baboon.jpg")), sizes);
    check_chain({{"color", {{"exposure", 0.2}}},
                 {"pop_art", {{"rows", std::int64_t{3}}, {"cols", std::int64_t{2}}}},
                 {"dither", {{"method", std::string("floyd_steinberg")}}}},
                rgb("squirrel_cls.jpg"), {64, 1000});
}

TEST_CASE("global effects stream from file to file: no whole-image stage") {
    test::TempDir dir;
    const std::string in = dir.file("in.png"), out = dir.file("out.png");
    const Image photo = rgb("fruits.jpg");
    save_image(photo, in);
    const std::vector<EffectChain> chains = {
        {{"pop_art", {{"outline", true}}}},
        {{"dither", {{"palette", std::string("adaptive")}, {"method", std::string("atkinson")}}}},
        {{"retro_8bit", {{"palette", std::string("adaptive")}, {"dither", std::string("stucki")}}}},
        {{"retro_8bit", {{"palette", std::string("nes")}, {"dither", std::string("atkinson")}}}},
    };
    for (const auto& chain : chains) {
        TileOptions o;
        o.tile_size = 37;
        const TiledRunStats stats = run_tiled_file(chain, in, out, o);
        INFO(chain.front().effect);
        CHECK_FALSE(stats.whole_image_stage);
        CHECK(load_image(out).same_pixels(whole(chain, photo)));
    }
}

TEST_CASE("with a memory manager, tiled runs reserve and charge their bands, sharing the budget") {
    MemoryOptions mo;
    mo.use_environment = false;
    mo.cpu_budget = Budget::parse("24MiB");
    MemoryManager memory(mo);
    const Image photo = rgb("baboon.jpg");
    const EffectChain chain = {{"enhanced_bw", {{"clahe", false}}},
                               {"dither", {{"method", std::string("atkinson")}}}};
    TileOptions o;
    o.tile_size = 64;
    o.memory = &memory;
    o.memory_wait_seconds = 30;
    const Image expected = whole(chain, photo);
    std::vector<std::thread> runs;
    std::atomic<int> equal{0};
    for (int i = 0; i < 3; ++i)
        runs.emplace_back([&] { equal += run_tiled(chain, photo, o).same_pixels(expected); });
    for (auto& r : runs) r.join();
    CHECK(equal == 3);
    const MemoryStats s = memory.stats(Device::cpu());
    CHECK(s.reservations >= 3);
    // Band and tile images were charged: more than the three plans' reservations alone.
    CHECK(s.peak > 0);
    CHECK(s.peak <= s.budget);
    CHECK(s.in_use == 0);
    // A budget too small for a band: the run fails clearly instead of going over it.
    MemoryOptions tiny = mo;
    tiny.cpu_budget = Budget::parse("64KiB");
    MemoryManager small(tiny);
    o.memory = &small;
    o.memory_wait_seconds = 0.2;
    const Error e = test::error_of([&] { run_tiled(chain, photo, o); });
    CHECK((e.status() == Status::limit_exceeded || e.status() == Status::timeout));
    CHECK(small.stats(Device::cpu()).peak <= 64 * 1024);
}

TEST_CASE("tile size from the memory budget") {
    const EffectChain chain = {{"enhanced_bw", {{"clahe", false}}},
                               {"dither", {{"method", std::string("floyd_steinberg")}}}};
    const int w = 30000, h = 30000;
    const std::uint64_t budget = std::uint64_t{256} << 20;
    const int t = tile_size_for_budget(chain, w, h, 3, budget);
    CHECK(t >= 8);
    CHECK(tiled_working_set(chain, w, h, 3, t) <= budget);
    CHECK(tiled_working_set(chain, w, h, 3, t + 1) > budget);
    // A larger budget never gives a smaller tile.
    CHECK(tile_size_for_budget(chain, w, h, 3, 4 * budget) >= t);
}

TEST_CASE("run_tiled rejects what it cannot take") {
    const Image grey = Image::allocate(10, 10, 1);
    CHECK(test::error_of([&] {
              run_tiled({{"color", {}}}, grey);
          }).status() == Status::invalid_argument);
    const Image img = Image::allocate(10, 10, 3);
    CHECK(test::error_of([&] {
              run_tiled({{"no_such_effect", {}}}, img);
          }).status() == Status::not_found);
}

TEST_CASE("a global effect whose parameters need the whole image is refused clearly in bands") {
    // Classical matting (GrabCut) has no streamed analysis: tiling it must say so, naming the
    // effect and its parameters, not fail as an internal error.
    const Image photo = test::load_data("squirrel_cls.jpg");
    TileOptions o;
    o.tile_size = 64;
    const auto e = test::error_of([&] {
        run_tiled({{"remove_background", {{"model", std::string("classical")}}}}, photo, o);
    });
    CHECK(e.status() == Status::unsupported);
    CHECK(std::string(e.what()).find("remove_background") != std::string::npos);
    CHECK(std::string(e.what()).find("model=classical") != std::string::npos);
}
