// Tiled execution equals the whole-image run, byte for byte, for every footprint the tiling
// handles, on real photos and odd tile sizes.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/tiling.hpp"
#include "test_support.hpp"

using namespace artistry;

namespace {

// The reference: each effect on the whole image, one after the other.
Image whole(const EffectChain& chain, const Image& input) {
    const auto& reg = EffectRegistry::builtin();
    Image img = input;
    for (const auto& s : chain)
        img = reg.get(s.effect).run(img, reg.resolve(s.effect, s.params), {});
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

TEST_CASE("global effects run whole inside a tiled chain, still equal") {
    const Image photo = rgb("squirrel_cls.jpg");
    const std::vector<EffectChain> chains = {
        {{"dither", {{"palette", std::string("adaptive")}, {"colors_count", std::int64_t{8}}}}},
        {{"retro_8bit", {{"palette", std::string("nes")}, {"dither", std::string("atkinson")}}}},
        {{"color", {{"exposure", 0.2}}}, {"pop_art", {}}},
    };
    for (const auto& c : chains) check_chain(c, photo, {64, 1000});
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
