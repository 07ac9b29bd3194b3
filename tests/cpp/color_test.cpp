#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <tbb/global_control.h>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/tone/lut.hpp"
#include "test_support.hpp"
#include "util/color.hpp"

using namespace artistry;
using artistry::test::error_of;
using artistry::test::load_data;
using artistry::test::TempDir;

namespace {

const test::EffectUnderTest grade("color", effects::register_color);

const EffectRegistry& registry() {
    return grade.registry();
}

using Rgb = std::array<float, 3>;

// Writes a size³ .cube whose entry at grid point (r, g, b) in [0, 1] is f(r, g, b).
std::string write_cube(const TempDir& dir, const std::string& name, int size,
                       const std::function<Rgb(float, float, float)>& f,
                       const std::string& header = "") {
    const std::string path = dir.file(name);
    std::ofstream out(path);
    out << "# written by color_test\nTITLE \"" << name << "\"\n"
        << header << "LUT_3D_SIZE " << size << "\n\n";
    for (int b = 0; b < size; ++b)
        for (int g = 0; g < size; ++g)
            for (int r = 0; r < size; ++r) {
                const float s = static_cast<float>(size - 1);
                const Rgb v = f(r / s, g / s, b / s);
                out << fmt::format("{:.6f} {:.6f} {:.6f}\n", v[0], v[1], v[2]);
            }
    return path;
}

std::string write_text(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir.file(name);
    std::ofstream(path) << text;
    return path;
}

Rgb identity(float r, float g, float b) {
    return {r, g, b};
}

// Mean over all pixels of a per-pixel quantity.
double mean_of(const Image& img, const std::function<double(const std::uint8_t*)>& f) {
    double sum = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) sum += f(img.row(y) + x * img.channels());
    return sum / static_cast<double>(img.pixel_count());
}

double red_minus_blue(const Image& img) {
    return mean_of(img, [](const std::uint8_t* p) { return double(p[0]) - p[2]; });
}
double chroma(const Image& img) {
    return mean_of(img, [](const std::uint8_t* p) {
        const auto c = util::srgb8_to_oklab(p[0], p[1], p[2]);
        return std::hypot(c.a, c.b);
    });
}

Image patches(const std::vector<std::array<std::uint8_t, 3>>& colors) {
    Image img = Image::allocate(8 * static_cast<int>(colors.size()), 8, 3);
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < img.width(); ++x)
            for (int c = 0; c < 3; ++c) img.row(y)[3 * x + c] = colors[x / 8][c];
    return img;
}
std::array<int, 3> pixel(const Image& img, int x, int y) {
    const std::uint8_t* p = img.row(y) + x * img.channels();
    return {p[0], p[1], p[2]};
}

std::string message_of(const ParamMap& params) {
    return error_of([&] { grade(patches({{1, 2, 3}}), params); }).what();
}

int max_abs_diff(const Image& a, const Image& b) {
    int worst = 0;
    for (int y = 0; y < a.height(); ++y)
        for (std::size_t i = 0; i < a.row_bytes(); ++i)
            worst = std::max(worst, std::abs(int(a.row(y)[i]) - int(b.row(y)[i])));
    return worst;
}

}  // namespace

TEST_CASE("neutral parameters return the input exactly") {
    const Image photo = load_data("fruits.jpg");
    CHECK(grade(photo, {}).same_pixels(photo));
    CHECK(grade(photo, {{"exposure", 0.0},
                        {"saturation", 1.0},
                        {"gamma", 1.0},
                        {"hue", 0.0},
                        {"preset", std::string("none")}})
              .same_pixels(photo));
    const Image rgba = load_data("chicky_512.png");
    CHECK(grade(rgba, {}).same_pixels(rgba));
}

TEST_CASE("an identity .cube returns the input exactly with both interpolations") {
    TempDir dir;
    const Image photo = load_data("baboon.jpg");
    const Image rgba = load_data("chicky_512.png");
    for (const int size : {2, 17, 33}) {
        const auto lut = write_cube(dir, fmt::format("identity{}.cube", size), size, identity,
                                    "DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n");
        for (const std::string mode : {"trilinear", "tetrahedral"}) {
            CAPTURE(size);
            CAPTURE(mode);
            const ParamMap p = {{"lut", lut}, {"lut_interpolation", mode}};
            CHECK(grade(photo, p).same_pixels(photo));
            CHECK(grade(rgba, p).same_pixels(rgba));
        }
    }
}

TEST_CASE("a LUT that swaps red and blue moves a known colour where it should") {
    TempDir dir;
    const auto swap = write_cube(dir, "swap.cube", 17, [](float r, float g, float b) {
        return Rgb{b, g, r};
    });
    const Image img = patches({{200, 50, 10}, {13, 240, 77}, {255, 0, 128}});
    for (const std::string mode : {"trilinear", "tetrahedral"}) {
        CAPTURE(mode);
        const Image out = grade(img, {{"lut", swap}, {"lut_interpolation", mode}});
        CHECK(pixel(out, 4, 4) == std::array<int, 3>{10, 50, 200});
        CHECK(pixel(out, 12, 4) == std::array<int, 3>{77, 240, 13});
        CHECK(pixel(out, 20, 4) == std::array<int, 3>{128, 0, 255});
        const Image half =
            grade(img, {{"lut", swap}, {"lut_interpolation", mode}, {"lut_strength", 0.5}});
        CHECK(pixel(half, 4, 4) == std::array<int, 3>{105, 50, 105});
        CHECK(grade(img, {{"lut", swap}, {"lut_strength", 0.0}}).same_pixels(img));
    }
    // On a photo, every pixel: red out = blue in.
    const Image photo = load_data("butterfly.jpg");
    const Image out = grade(photo, {{"lut", swap}});
    int worst = 0;
    for (int y = 0; y < photo.height(); ++y)
        for (int x = 0; x < photo.width(); ++x)
            worst = std::max(worst, std::abs(pixel(out, x, y)[0] - pixel(photo, x, y)[2]));
    CHECK(worst == 0);
}

TEST_CASE("trilinear and tetrahedral differ on a non-linear LUT, both close to the function") {
    TempDir dir;
    const auto curve = [](float r, float g, float b) {
        return Rgb{r * r, std::sqrt(g * b), std::max(r, b)};
    };
    const auto lut = write_cube(dir, "curve.cube", 9, curve);
    const Image photo = load_data("messi5.jpg");
    const Image tri = grade(photo, {{"lut", lut}, {"lut_interpolation", std::string("trilinear")}});
    const Image tet =
        grade(photo, {{"lut", lut}, {"lut_interpolation", std::string("tetrahedral")}});
    CHECK_FALSE(tri.same_pixels(tet));
    for (const Image* out : {&tri, &tet}) {
        double err = 0;
        for (int y = 0; y < photo.height(); ++y)
            for (int x = 0; x < photo.width(); ++x) {
                const auto in = pixel(photo, x, y);
                const Rgb want = curve(in[0] / 255.f, in[1] / 255.f, in[2] / 255.f);
                const auto got = pixel(*out, x, y);
                for (int c = 0; c < 3; ++c) err += std::fabs(got[c] - want[c] * 255.0);
            }
        CHECK(err / (3.0 * static_cast<double>(photo.pixel_count())) < 2.0);
    }
}

TEST_CASE("a 1D .cube LUT is applied per channel, and before the 3D part when both exist") {
    TempDir dir;
    const auto invert = write_text(dir, "invert1d.cube", "LUT_1D_SIZE 2\n1 1 1\n0 0 0\n");
    const Image img = patches({{0, 100, 255}});
    CHECK(pixel(grade(img, {{"lut", invert}}), 4, 4) == std::array<int, 3>{255, 155, 0});
    // A shaper over [0, 2] that halves, then an identity 3D table.
    const auto both = write_text(dir, "both.cube",
                                 "LUT_1D_SIZE 3\nLUT_1D_INPUT_RANGE 0 2\nLUT_3D_SIZE 2\n"
                                 "0 0 0\n0.5 0.5 0.5\n1 1 1\n"
                                 "0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n");
    const Image rgb = patches({{200, 100, 50}});
    CHECK(pixel(grade(rgb, {{"lut", both}}), 4, 4) == std::array<int, 3>{100, 50, 25});
    CHECK(pixel(grade(rgb, {{"lut", both}, {"saturation", 0.0}}), 4, 4)[0] ==
          pixel(grade(rgb, {{"saturation", 0.0}}), 4, 4)[0] / 2);
}

TEST_CASE("an edited LUT file is read again (cache keyed by modification time)") {
    TempDir dir;
    const auto path = write_cube(dir, "look.cube", 5, identity);
    const Image img = patches({{200, 50, 10}});
    CHECK(pixel(grade(img, {{"lut", path}}), 4, 4) == std::array<int, 3>{200, 50, 10});
    write_cube(dir, "look.cube", 5, [](float r, float g, float b) { return Rgb{b, g, r}; });
    std::filesystem::last_write_time(
        path, std::filesystem::last_write_time(path) + std::chrono::seconds(2));
    CHECK(pixel(grade(img, {{"lut", path}}), 4, 4) == std::array<int, 3>{10, 50, 200});
}

TEST_CASE("malformed .cube files give errors naming file and line") {
    TempDir dir;
    const auto error_for = [&](const std::string& name, const std::string& text) {
        const auto path = write_text(dir, name, text);
        return std::pair{path, error_of([&] { effects::load_cube(path); })};
    };
    const std::string rows8 = "0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n";
    struct Case {
        std::string name, text;
        int line;
        std::string what;
    };
    const std::vector<Case> cases = {
        {"size1.cube", "TITLE \"x\"\nLUT_3D_SIZE 1\n", 2,
         "LUT_3D_SIZE must be one integer in [2, 256], got '1'"},
        {"sizeword.cube", "LUT_3D_SIZE big\n", 1,
         "LUT_3D_SIZE must be one integer in [2, 256], got 'big'"},
        {"short.cube", "# c\nLUT_3D_SIZE 2\n0 0 0\n1 0 0\n", 4,
         "the file ends after 2 data rows; the header declares 8"},
        {"long.cube", "LUT_3D_SIZE 2\n" + rows8 + "0.5 0.5 0.5\n", 10,
         "more data rows than the 8 the header declares"},
        {"word.cube", "LUT_3D_SIZE 2\n0 0 0\n1 zero 0\n", 3, "'zero' is not a finite number"},
        {"nan.cube", "LUT_3D_SIZE 2\n0 0 0\nnan 0 0\n", 3,
         "expected a keyword or three numbers, got 'nan 0 0'"},
        {"two.cube", "LUT_3D_SIZE 2\n0 0\n", 2, "a data row needs 3 numbers, got 2 ('0 0')"},
        {"nosize.cube", "TITLE \"x\"\n0 0 0\n", 2,
         "data row before any LUT_3D_SIZE or LUT_1D_SIZE line"},
        {"empty.cube", "", 1, "no LUT_3D_SIZE or LUT_1D_SIZE line (is this a .cube file?)"},
        {"late.cube", "LUT_3D_SIZE 2\n0 0 0\nDOMAIN_MIN 0 0 0\n", 3,
         "keyword DOMAIN_MIN after the data rows began"},
        {"domain.cube", "DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 0 1\nLUT_3D_SIZE 2\n" + rows8, 4,
         "3D input domain is empty: minimum 0 is not below maximum 0"},
        {"twice.cube", "LUT_3D_SIZE 2\nLUT_3D_SIZE 2\n", 2, "LUT_3D_SIZE given twice"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const auto [path, e] = error_for(c.name, c.text);
        CHECK(e.status() == Status::decode_error);
        CHECK(std::string(e.what()) == fmt::format("{}:{}: {}", path, c.line, c.what));
    }
    // The effect refuses a bad LUT while resolving parameters, before any pixel work.
    const auto bad = dir.file("short.cube");
    const Error e = error_of([&] { registry().resolve("color", {{"lut", bad}}); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()) ==
          fmt::format("effect 'color': parameter 'lut': {}:4: the file ends after 2 data rows; "
                      "the header declares 8",
                      bad));
    const auto missing = dir.file("missing.cube");
    CHECK(message_of({{"lut", missing}}) ==
          fmt::format("effect 'color': parameter 'lut': cannot open LUT file '{}': No such file "
                      "or directory",
                      missing));
}

TEST_CASE("a .cube with comments, CRLF, an unknown keyword, a domain and a shaper parses") {
    const std::string text =
        "\xEF\xBB\xBF# Resolve-style\r\nTITLE \"Look # 1\"\r\nLUT_1D_SIZE 3\r\n"
        "LUT_1D_INPUT_RANGE 0 2\r\nLUT_3D_SIZE 2\r\nLUT_IN_VIDEO_RANGE\r\n\r\n"
        "0 0 0\r\n0.5 0.5 0.5\r\n1 1 1 # end of shaper\r\n"
        "0 0 0\r\n1 0 0\r\n0 1 0\r\n1 1 0\r\n0 0 1\r\n1 0 1\r\n0 1 1\r\n1 1 1\r\n";
    const auto lut = effects::parse_cube(text, "mem.cube");
    CHECK(lut.title == "Look # 1");
    CHECK(lut.size_1d == 3);
    CHECK(lut.size_3d == 2);
    CHECK(lut.max_1d[0] == 2.f);
    CHECK(lut.table_1d.size() == 9);
    CHECK(lut.table_3d.size() == 32);  // padded rows
    CHECK(effects::sample_1d(lut, 0, 1.0f) == doctest::Approx(0.5));
}

TEST_CASE("exposure +1 stop doubles linear light") {
    const Image photo = load_data("fruits.jpg");
    const Image out = grade(photo, {{"exposure", 1.0}});
    const auto& lin = util::srgb8_to_linear_table();
    int worst = 0, checked = 0;
    for (int y = 0; y < photo.height(); ++y)
        for (int x = 0; x < 3 * photo.width(); ++x) {
            const int in = photo.row(y)[x];
            if (lin[in] > 0.49f) continue;  // would clip
            const int want = util::linear_to_srgb8(2 * lin[in]);
            worst = std::max(worst, std::abs(out.row(y)[x] - want));
            ++checked;
        }
    CHECK(checked > 100000);
    CHECK(worst <= 1);
    const Image down = grade(photo, {{"exposure", -1.0}});
    CHECK(util::srgb8_to_linear_table()[pixel(
              grade(patches({{200, 200, 200}}), {{"exposure", -1.0}}), 4, 4)[0]] ==
          doctest::Approx(lin[200] / 2).epsilon(0.01));
    CHECK(mean_of(down, [](const std::uint8_t* p) { return p[1]; }) <
          mean_of(photo, [](const std::uint8_t* p) { return p[1]; }));
}

TEST_CASE("saturation 0 gives grey of the same Oklab lightness") {
    const Image photo = load_data("butterfly.jpg");
    const Image out = grade(photo, {{"saturation", 0.0}});
    int worst = 0;
    for (int y = 0; y < out.height(); ++y)
        for (int x = 0; x < out.width(); ++x) {
            const auto p = pixel(out, x, y);
            REQUIRE(p[0] == p[1]);
            REQUIRE(p[1] == p[2]);
            const auto q = pixel(photo, x, y);
            const float l = util::srgb8_to_oklab(q[0], q[1], q[2]).L;
            worst = std::max(worst, std::abs(p[0] - util::linear_to_srgb8(l * l * l)));
        }
    CHECK(worst <= 1);
    CHECK(chroma(grade(photo, {{"saturation", 1.5}})) > 1.3 * chroma(photo));
}

TEST_CASE("vibrance lifts muted colours more than saturated ones") {
    const Image img = patches({{150, 130, 120}, {40, 80, 230}});  // muted, saturated
    const Image out = grade(img, {{"vibrance", 0.8}});
    const auto gain = [&](int x) {
        const auto a = pixel(img, x, 4), b = pixel(out, x, 4);
        const auto ca = util::srgb8_to_oklab(a[0], a[1], a[2]),
                   cb = util::srgb8_to_oklab(b[0], b[1], b[2]);
        return std::hypot(cb.a, cb.b) / std::hypot(ca.a, ca.b);
    };
    CHECK(gain(4) > 1.2);
    CHECK(gain(4) > gain(12) + 0.15);
}

TEST_CASE("vibrance spares skin tones") {
    const Image img = patches({{205, 160, 135}, {130, 160, 175}});  // skin, muted teal
    const Image out = grade(img, {{"vibrance", 0.8}});
    const auto gain = [&](int x) {
        const auto a = pixel(img, x, 4), b = pixel(out, x, 4);
        const auto ca = util::srgb8_to_oklab(a[0], a[1], a[2]),
                   cb = util::srgb8_to_oklab(b[0], b[1], b[2]);
        return std::hypot(cb.a, cb.b) / std::hypot(ca.a, ca.b);
    };
    CHECK(gain(4) < gain(12) - 0.3);
    CHECK(gain(4) > 1.0);
}

TEST_CASE("alpha is kept by every stage") {
    TempDir dir;
    const auto lut = write_cube(dir, "swap.cube", 5, [](float r, float g, float b) {
        return Rgb{b, g, r};
    });
    const Image rgba = load_data("chicky_512.png");
    for (const ParamMap& p : std::vector<ParamMap>{{{"exposure", 1.0}},
                                                   {{"saturation", 0.0}},
                                                   {{"lut", lut}},
                                                   {{"hue", 90.0}, {"lut", lut}}}) {
        const Image out = grade(rgba, p);
        REQUIRE(out.channels() == 4);
        bool kept = true;
        for (int y = 0; y < out.height(); ++y)
            for (int x = 0; x < out.width(); ++x)
                kept = kept && out.row(y)[4 * x + 3] == rgba.row(y)[4 * x + 3];
        CHECK(kept);
        CHECK_FALSE(out.same_pixels(rgba));
    }
}

TEST_CASE("hue rotation turns red toward yellow and keeps lightness") {
    const Image img = patches({{200, 30, 30}});
    const auto in = util::srgb8_to_oklab(200, 30, 30);
    const auto p = pixel(grade(img, {{"hue", 60.0}}), 4, 4);
    const auto out = util::srgb8_to_oklab(p[0], p[1], p[2]);
    CHECK(p[1] > 60);  // more green: orange/yellow
    CHECK(out.L == doctest::Approx(in.L).epsilon(0.03));
    const double turned =
        std::remainder(std::atan2(out.b, out.a) - std::atan2(in.b, in.a), 2 * std::numbers::pi);
    CHECK(turned * 180 / std::numbers::pi == doctest::Approx(60).epsilon(0.1));
}

TEST_CASE("temperature, tint, contrast, gamma and fade move the image the documented way") {
    const Image photo = load_data("squirrel_cls.jpg");
    const auto green = [](const Image& i) {
        return mean_of(i, [](const std::uint8_t* p) { return p[1]; });
    };
    CHECK(red_minus_blue(grade(photo, {{"temperature", 0.5}})) > red_minus_blue(photo) + 10);
    CHECK(red_minus_blue(grade(photo, {{"temperature", -0.5}})) < red_minus_blue(photo) - 10);
    const auto magenta = [](const Image& i) {
        return mean_of(i, [](const std::uint8_t* p) { return (p[0] + p[2]) / 2.0 - p[1]; });
    };
    CHECK(magenta(grade(photo, {{"tint", 0.5}})) > magenta(photo) + 5);
    CHECK(magenta(grade(photo, {{"tint", -0.5}})) < magenta(photo) - 5);
    CHECK(green(grade(photo, {{"tint", 0.5}})) < green(photo));
    CHECK(green(grade(photo, {{"gamma", 1.5}})) > green(photo) + 10);
    const Image ends = patches({{0, 0, 0}, {255, 255, 255}, {128, 128, 128}});
    const Image c = grade(ends, {{"contrast", 0.8}});
    CHECK(pixel(c, 4, 4) == std::array<int, 3>{0, 0, 0});
    CHECK(pixel(c, 12, 4) == std::array<int, 3>{255, 255, 255});
    CHECK(std::abs(pixel(c, 20, 4)[0] - 128) <= 1);
    const Image f = grade(ends, {{"fade", 0.1}});
    CHECK(pixel(f, 4, 4)[0] == 26);
    CHECK(pixel(f, 12, 4)[0] == 255);
}

TEST_CASE("presets move the image in their direction") {
    const Image photo = load_data("fruits.jpg");
    const auto with = [&](const std::string& preset) { return grade(photo, {{"preset", preset}}); };
    CHECK(red_minus_blue(with("warm")) > red_minus_blue(photo) + 5);
    CHECK(red_minus_blue(with("cool")) < red_minus_blue(photo) - 5);
    CHECK(chroma(with("vivid")) > 1.1 * chroma(photo));
    CHECK(chroma(with("vintage")) < 0.9 * chroma(photo));
    const Image black = patches({{0, 0, 0}});
    CHECK(pixel(grade(black, {{"preset", std::string("matte")}}), 4, 4)[0] >= 20);
    // The user's controls act after the preset: warm then cooled back is less warm than warm.
    CHECK(red_minus_blue(grade(photo, {{"preset", std::string("warm")}, {"temperature", -0.3}})) <
          red_minus_blue(with("warm")) - 5);
}

TEST_CASE("output is deterministic and does not depend on the thread count") {
    TempDir dir;
    const auto lut = write_cube(dir, "curve.cube", 17, [](float r, float g, float b) {
        return Rgb{0.9f * r + 0.1f * b, g * g, std::sqrt(b)};
    });
    const Image photo = load_data("baboon.jpg");
    const ParamMap p = {{"preset", std::string("vintage")},
                        {"hue", 20.0},
                        {"vibrance", 0.4},
                        {"exposure", 0.3},
                        {"lut", lut},
                        {"lut_strength", 0.7}};
    const Image a = grade(photo, p);
    CHECK(a.same_pixels(grade(photo, p)));
    Image one;
    {
        tbb::global_control single(tbb::global_control::max_allowed_parallelism, 1);
        one = grade(photo, p);
    }
    CHECK(a.same_pixels(one));
    // And a crop equals the crop of the whole run (point footprint).
    const Rect r{100, 50, 200, 100};
    CHECK(grade(photo.view(r), p).same_pixels(a.view(r).clone()));
    CHECK(max_abs_diff(a, photo) > 10);
}

TEST_CASE("progress reaches the total and cancelling stops the run") {
    const Image photo = load_data("fruits.jpg");
    std::int64_t last = 0, total = 0;
    EffectContext ctx;
    ctx.progress = [&](std::int64_t done, std::int64_t t) {
        CHECK(done > last);
        last = done;
        total = t;
    };
    grade(photo, {{"saturation", 0.5}}, ctx);
    CHECK(total == photo.height());
    CHECK(last == total);
    std::atomic<bool> cancel{true};
    EffectContext stop;
    stop.cancel = &cancel;
    CHECK(error_of([&] {
              grade(photo, {{"saturation", 0.5}}, stop);
          }).status() == Status::cancelled);
}

TEST_CASE("every invalid parameter gives the documented error") {
    CHECK(message_of({{"preset", std::string("sepia")}}) ==
          "effect 'color': parameter 'preset' must be one of none, warm, cool, vintage, vivid, "
          "matte, got 'sepia'");
    CHECK(message_of({{"exposure", 6.0}}) ==
          "effect 'color': parameter 'exposure' must be a number in [-5, 5], got 6");
    CHECK(message_of({{"saturation", -0.5}}) ==
          "effect 'color': parameter 'saturation' must be a number in [0, 4], got -0.5");
    CHECK(message_of({{"gamma", 0.0}}) ==
          "effect 'color': parameter 'gamma' must be a number in [0.2, 5], got 0");
    CHECK(message_of({{"hue", 270.0}}) ==
          "effect 'color': parameter 'hue' must be a number in [-180, 180], got 270");
    CHECK(message_of({{"temperature", 2.0}}) ==
          "effect 'color': parameter 'temperature' must be a number in [-1, 1], got 2");
    CHECK(message_of({{"tint", -2.0}}) ==
          "effect 'color': parameter 'tint' must be a number in [-1, 1], got -2");
    CHECK(message_of({{"contrast", 1.5}}) ==
          "effect 'color': parameter 'contrast' must be a number in [-1, 1], got 1.5");
    CHECK(message_of({{"vibrance", 1.5}}) ==
          "effect 'color': parameter 'vibrance' must be a number in [-1, 1], got 1.5");
    CHECK(message_of({{"fade", 0.6}}) ==
          "effect 'color': parameter 'fade' must be a number in [0, 0.5], got 0.6");
    CHECK(message_of({{"lut_strength", 2.0}}) ==
          "effect 'color': parameter 'lut_strength' must be a number in [0, 1], got 2");
    CHECK(message_of({{"lut_interpolation", std::string("cubic")}}) ==
          "effect 'color': parameter 'lut_interpolation' must be one of trilinear, tetrahedral, "
          "got 'cubic'");
    CHECK(message_of({{"lut", 3.0}}) ==
          "effect 'color': parameter 'lut' must be a string, got a number 3");
}
