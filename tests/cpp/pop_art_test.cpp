#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <tbb/task_arena.h>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/pop_art/pop_art.hpp"
#include "test_support.hpp"

using namespace artistry;
using effects::PopColor;

namespace {

const test::EffectUnderTest pop("pop_art", effects::register_pop_art);

const EffectRegistry& registry() {
    return pop.registry();
}

PopColor at(const Image& img, int x, int y) {
    const std::uint8_t* p = img.row(y) + std::size_t(x) * std::size_t(img.channels());
    return {p[0], p[1], p[2]};
}

std::set<PopColor> colors_in(const Image& img, int x0, int y0, int x1, int y1) {
    std::set<PopColor> out;
    for (int y = y0; y < y1; ++y)
        for (int x = x0; x < x1; ++x) out.insert(at(img, x, y));
    return out;
}

Image flat(int w, int h, std::uint8_t v) {
    Image img = Image::allocate(w, h, 3);
    std::fill(img.data(), img.data() + img.byte_size(), v);
    return img;
}

// Left-to-right dark-to-light ramp.
Image ramp(int w, int h) {
    Image img = Image::allocate(w, h, 3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const auto v = static_cast<std::uint8_t>(x * 255 / (w - 1));
            std::uint8_t* p = img.row(y) + 3 * x;
            p[0] = p[1] = p[2] = v;
        }
    return img;
}

int luma(const PopColor& c) {
    return (54 * c[0] + 183 * c[1] + 19 * c[2]) >> 8;
}

}  // namespace

TEST_CASE(
    "output keeps the input's size and the grid tiles it, remainders spread one pixel at a time") {
    // A flat image lands in one band, so every cell is one colour: the cell layout is visible.
    const int w = 301, h = 203, rows = 3, cols = 2;
    const Image out =
        pop(flat(w, h, 128), {{"rows", std::int64_t{rows}}, {"cols", std::int64_t{cols}}});
    REQUIRE(out.width() == w);
    REQUIRE(out.height() == h);
    CHECK(out.channels() == 3);
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            const int x0 = c * w / cols, x1 = (c + 1) * w / cols, y0 = r * h / rows,
                      y1 = (r + 1) * h / rows;
            const auto cell = colors_in(out, x0, y0, x1, y1);
            CHECK(cell.size() == 1);
            const auto expected = effects::pop_art_cell_colors("warhol", 0, 4, r * cols + c);
            CHECK(std::count(expected.tones.begin(), expected.tones.end(), *cell.begin()) == 1);
            if (c + 1 < cols)
                CHECK(at(out, x1 - 1, y0) != at(out, x1, y0));  // boundary exactly here
        }
}

TEST_CASE("each cell uses only its own palette, and neighbouring cells differ") {
    const Image photo = test::load_data("squirrel_cls.jpg");
    for (const std::string set : {"warhol", "vivid", "neon", "pastel", "mixed"}) {
        CAPTURE(set);
        for (const std::int64_t levels : {2, 4, 6}) {
            CAPTURE(levels);
            const Image out = pop(photo, {{"palette_set", set}, {"levels", levels}});
            const int w = out.width(), h = out.height();
            std::vector<std::set<PopColor>> cells;
            for (int r = 0; r < 2; ++r)
                for (int c = 0; c < 2; ++c) {
                    const auto used =
                        colors_in(out, c * w / 2, r * h / 2, (c + 1) * w / 2, (r + 1) * h / 2);
                    const auto pal = effects::pop_art_cell_colors(set, 0, int(levels), r * 2 + c);
                    const std::set<PopColor> allowed(pal.tones.begin(), pal.tones.end());
                    CHECK(std::includes(allowed.begin(), allowed.end(), used.begin(), used.end()));
                    CHECK(used.size() == std::size_t(levels));  // a real photo fills every band
                    cells.push_back(used);
                }
            CHECK(cells[0] != cells[1]);
            CHECK(cells[0] != cells[2]);
        }
    }
}

TEST_CASE("bands follow luminance and share the picture about equally") {
    const Image out = pop(ramp(400, 40), {{"rows", std::int64_t{1}}, {"cols", std::int64_t{1}}});
    const auto pal = effects::pop_art_cell_colors("warhol", 0, 4, 0);
    std::vector<int> count(4, 0);
    int last_band = 0;
    for (int x = 0; x < 400; ++x) {
        const auto it = std::find(pal.tones.begin(), pal.tones.end(), at(out, x, 20));
        REQUIRE(it != pal.tones.end());
        const int band = int(it - pal.tones.begin());
        CHECK(band >= last_band);  // darker input never gets a lighter band
        last_band = band;
        ++count[std::size_t(band)];
    }
    for (int b = 0; b < 4; ++b) CHECK(count[std::size_t(b)] == doctest::Approx(100).epsilon(0.1));
}

TEST_CASE("seed changes which cell gets which palette, deterministically") {
    const Image photo = test::load_data("butterfly.jpg");
    const ParamMap shuffled = {{"seed", std::int64_t{7}}, {"palette_set", std::string("mixed")}};
    const ParamMap ordered = {{"palette_set", std::string("mixed")}};
    CHECK_FALSE(pop(photo, shuffled).same_pixels(pop(photo, ordered)));
    CHECK(pop(photo, shuffled).same_pixels(pop(photo, shuffled)));
}

TEST_CASE("a cut-out's transparent background becomes each cell's flat background colour") {
    // An opaque disc in the middle of a transparent 200×160 image.
    const int w = 200, h = 160;
    Image rgba = Image::allocate(w, h, 4);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            std::uint8_t* p = rgba.row(y) + 4 * x;
            const int dx = x - 100, dy = y - 80;
            p[0] = static_cast<std::uint8_t>(x);
            p[1] = static_cast<std::uint8_t>(y);
            p[2] = 90;
            p[3] = dx * dx + dy * dy < 60 * 60 ? 255 : 0;
        }
    const Image out = pop(rgba);
    CHECK(out.channels() == 3);
    for (int cell = 0; cell < 4; ++cell) {
        const int x0 = (cell % 2) * 100, y0 = (cell / 2) * 80;
        const auto pal = effects::pop_art_cell_colors("warhol", 0, 4, cell);
        CHECK(at(out, x0 + 2, y0 + 2) == pal.background);    // corner: transparent in the input
        CHECK(at(out, x0 + 50, y0 + 40) != pal.background);  // centre of the opaque disc
    }
    CHECK(at(out, 2, 2) != at(out, 102, 2));
}

TEST_CASE("same input and parameters give the same bytes, for any thread count") {
    const Image photo = test::load_data("fruits.jpg");
    const ParamMap params = {{"halftone", true},
                             {"outline", true},
                             {"rows", std::int64_t{3}},
                             {"cols", std::int64_t{3}}};
    const Image many = pop(photo, params);
    Image one;
    tbb::task_arena single(1);
    single.execute([&] { one = pop(photo, params); });
    CHECK(many.same_pixels(one));
    CHECK(many.same_pixels(pop(photo, params)));
}

TEST_CASE("halftone dots sit on absolute coordinates: a tile equals the same crop of the whole") {
    const int w = 240, h = 180;
    const Image whole_in = flat(w, h, 140);
    const ParamMap params = {{"rows", std::int64_t{1}},
                             {"cols", std::int64_t{1}},
                             {"halftone", true},
                             {"dot_size", std::int64_t{9}}};
    const Image whole = pop(whole_in, params);
    CHECK(colors_in(whole, 0, 0, w, h).size() > 2);  // dots, paper and the edges between them
    const Rect r{37, 23, 101, 77};
    // A region renders from the analysis of the whole image, at its place in it.
    const EffectInfo& info = registry().get("pop_art");
    const Params resolved = registry().resolve("pop_art", params);
    const auto analyzer = info.begin_analysis(resolved, w, h, {});
    REQUIRE(analyzer);
    analyzer->add_rows(whole_in, 0);
    EffectContext ctx;
    ctx.origin_x = r.x;
    ctx.origin_y = r.y;
    ctx.full_width = w;
    ctx.full_height = h;
    ctx.analysis = analyzer->finish();
    const Image tile = pop(whole_in.view(r), params, ctx);
    CHECK(tile.same_pixels(whole.view(r).clone()));
    // Without it, a region cannot stand for the whole: a clear error, not a wrong picture.
    ctx.analysis = nullptr;
    CHECK(test::error_of([&] { pop(whole_in.view(r), params, ctx); }).status() ==
          Status::invalid_argument);
}

TEST_CASE("halftone dot size follows tone: lighter areas show more paper") {
    const Image out = pop(ramp(600, 120), {{"rows", std::int64_t{1}},
                                           {"cols", std::int64_t{1}},
                                           {"halftone", true},
                                           {"dot_size", std::int64_t{8}}});
    const auto paper_share = [&](int x0, int x1) {
        int n = 0;
        for (int y = 0; y < 120; ++y)
            for (int x = x0; x < x1; ++x) n += luma(at(out, x, y)) >= 240;
        return double(n) / ((x1 - x0) * 120);
    };
    const double dark = paper_share(160, 280), light = paper_share(460, 580);
    CHECK(light > dark + 0.15);
}

TEST_CASE("outline draws dark ink along edges and leaves flat areas alone") {
    // A mid-grey square on a light background: its border is the only edge.
    Image img = flat(240, 240, 210);
    for (int y = 70; y < 170; ++y)
        for (int x = 70; x < 170; ++x)
            std::fill(img.row(y) + 3 * x, img.row(y) + 3 * x + 3, std::uint8_t{90});
    const ParamMap base = {
        {"rows", std::int64_t{1}}, {"cols", std::int64_t{1}}, {"levels", std::int64_t{2}}};
    ParamMap inked = base;
    inked["outline"] = true;
    const Image plain = pop(img, base), lined = pop(img, inked);
    // On every row across the square's left edge (x = 70), dark ink appears on the light side.
    int inked_rows = 0;
    for (int y = 90; y < 150; ++y) {
        int darkest_plain = 255, darkest_lined = 255;
        for (int x = 62; x < 70; ++x) {
            darkest_plain = std::min(darkest_plain, luma(at(plain, x, y)));
            darkest_lined = std::min(darkest_lined, luma(at(lined, x, y)));
        }
        CHECK(darkest_plain > 200);
        inked_rows += darkest_lined < 100;
    }
    CHECK(inked_rows == 60);
    // Far from edges nothing changes.
    CHECK(colors_in(lined, 100, 100, 140, 140) == colors_in(plain, 100, 100, 140, 140));
    CHECK(colors_in(lined, 5, 5, 40, 40) == colors_in(plain, 5, 5, 40, 40));
}

TEST_CASE("progress reaches the total and cancellation stops the run") {
    const Image photo = test::load_data("messi5.jpg");
    std::vector<std::int64_t> seen;
    std::int64_t total = 0;
    EffectContext ctx;
    ctx.progress = [&](std::int64_t done, std::int64_t t) {
        seen.push_back(done);
        total = t;
    };
    pop(photo, {}, ctx);
    REQUIRE_FALSE(seen.empty());
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen.back() == total);

    std::atomic<bool> cancel{false};
    EffectContext stop;
    stop.cancel = &cancel;
    stop.progress = [&](std::int64_t, std::int64_t) { cancel = true; };
    CHECK(test::error_of([&] { pop(photo, {}, stop); }).status() == Status::cancelled);
}

TEST_CASE("invalid parameters name the parameter and what is allowed") {
    const Image img = flat(16, 16, 100);
    CHECK(std::string(test::error_of([&] {
                          pop(img, {{"rows", std::int64_t{0}}});
                      }).what()) ==
          "effect 'pop_art': parameter 'rows' must be an integer in [1, 8], got 0");
    CHECK(std::string(test::error_of([&] {
                          pop(img, {{"levels", std::int64_t{9}}});
                      }).what()) ==
          "effect 'pop_art': parameter 'levels' must be an integer in [2, 6], got 9");
    CHECK(std::string(test::error_of([&] {
                          pop(img, {{"palette_set", std::string("sepia")}});
                      }).what()) ==
          "effect 'pop_art': parameter 'palette_set' must be one of warhol, vivid, neon, pastel, "
          "mixed, got 'sepia'");
    CHECK(std::string(test::error_of([&] {
                          pop(img, {{"outline_strength", 1.5}});
                      }).what()) ==
          "effect 'pop_art': parameter 'outline_strength' must be a number in [0, 1], got 1.5");
}

TEST_CASE("schema: every parameter has help and the footprint is global") {
    const EffectInfo& e = registry().get("pop_art");
    CHECK(e.version == 2);
    CHECK_FALSE(e.summary.empty());
    for (const auto& p : e.params) CHECK_FALSE(p.help.empty());
    const Params defaults = registry().resolve("pop_art", {});
    CHECK(e.plan(defaults, 1000, 1000, {}).footprint.kind == Footprint::Kind::global);
    CHECK(e.plan(defaults, 4000, 3000, {}).memory_bytes >= std::size_t{4000} * 3000 * 3);
}
