// The cut-out's edges: colours (effects/matting/foreground.hpp: the old background leaves the
// edge pixels, opaque pixels keep their colour) and opacity from colour (colour_matte.hpp: a
// blurry matte sharpens to the photo's edge); any band height or window gives the whole
// image's bytes.

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "artistry/error.hpp"
#include "effects/matting/colour_matte.hpp"
#include "effects/matting/foreground.hpp"
#include "test_support.hpp"
#include "util/rng.hpp"

using namespace artistry;
using effects::ForegroundOptions;
using effects::MatteWindow;
using effects::PixelRect;

namespace {

// A textured red subject (a disc and a bar) with a soft edge 14 px wide, mixed into textured
// green foliage: image = α·F + (1 − α)·B, with F, B and α known.
struct Mix {
    int w, h;
    Image image;
    std::vector<std::uint8_t> alpha;
    std::vector<std::array<double, 3>> subject;
};

Mix soft_edged_subject(int w, int h) {
    Mix m{w, h, Image::allocate(w, h, 3), std::vector<std::uint8_t>(std::size_t(w) * h), {}};
    m.subject.resize(std::size_t(w) * h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double d = std::hypot(x - 0.45 * w, y - 0.5 * h) - 0.3 * h;
            const double bar = std::abs(y - 0.5 * h) - 0.08 * h;
            const double inside = -std::min(d, std::max(bar, double(x) - 0.9 * w));
            const double a = std::clamp(0.5 + inside / 14.0, 0.0, 1.0);
            const int n = int(util::hash_xy(3, x / 3, y / 3) % 31) - 15;
            const std::array<double, 3> f{205.0 + n, 70.0 + n, 50.0 + n / 2};
            const std::array<double, 3> b{40.0 + n, 175.0 + 2 * n, 60.0 + n};
            const std::size_t i = std::size_t(y) * std::size_t(w) + std::size_t(x);
            m.alpha[i] = std::uint8_t(std::lround(a * 255));
            const double av = m.alpha[i] / 255.0;
            for (std::size_t c = 0; c < 3; ++c)
                m.image.row(y)[3 * x + c] = std::uint8_t(std::lround(av * f[c] + (1 - av) * b[c]));
            m.subject[i] = f;
        }
    return m;
}

// The estimate over a window of the image (absolute x, y, size), as estimate_foreground gives
// it, in a full-size RGB plane (untouched pixels stay 0); returns the rectangle covered.
PixelRect estimate(const Mix& m, int x, int y, int w, int h, ForegroundOptions o,
                   std::vector<std::uint8_t>& out) {
    Image window = Image::allocate(w, h, 3);
    std::vector<std::uint8_t> alpha(std::size_t(w) * h);
    for (int r = 0; r < h; ++r) {
        std::copy_n(m.image.row(y + r) + 3 * x, 3 * w, window.row(r));
        std::copy_n(m.alpha.data() + std::size_t(y + r) * m.w + x, w,
                    alpha.data() + std::size_t(r) * w);
    }
    out.assign(std::size_t(m.w) * m.h * 3, 0);
    return effects::estimate_foreground(
        window, alpha.data(), PixelRect{x, y, x + w, y + h}, MatteWindow{x, y, m.w, m.h}, o,
        [&](int row, int x0, int x1, const std::uint8_t* rgb) {
            std::copy_n(rgb, 3 * (x1 - x0),
                        out.data() + (std::size_t(y + row) * m.w + std::size_t(x + x0)) * 3);
        },
        EffectContext{});
}

}  // namespace

TEST_CASE("the old background leaves the edge: composited over white, the error halves") {
    const Mix m = soft_edged_subject(320, 240);
    std::vector<std::uint8_t> est;
    const PixelRect covered = estimate(m, 0, 0, m.w, m.h, {}, est);
    CHECK(covered.x0 == 0);
    CHECK(covered.x1 == m.w);
    CHECK(covered.y1 == m.h);
    double raw_error = 0, est_error = 0;
    int edge = 0;
    bool opaque_kept = true;
    for (int y = 0; y < m.h; ++y)
        for (int x = 0; x < m.w; ++x) {
            const std::size_t i = std::size_t(y) * m.w + x;
            const double a = m.alpha[i] / 255.0;
            const std::uint8_t* in = m.image.row(y) + 3 * x;
            if (m.alpha[i] == 255) opaque_kept &= std::equal(in, in + 3, est.data() + 3 * i);
            if (m.alpha[i] == 0 || m.alpha[i] == 255) continue;
            ++edge;
            for (std::size_t c = 0; c < 3; ++c) {
                const double truth = a * m.subject[i][c] + (1 - a) * 255;
                raw_error += std::abs(a * in[c] + (1 - a) * 255 - truth);
                est_error += std::abs(a * est[3 * i + c] + (1 - a) * 255 - truth);
            }
        }
    REQUIRE(edge > 1000);
    MESSAGE("edge band over white: raw " << raw_error / (3 * edge) << ", estimated "
                                         << est_error / (3 * edge) << " (mean code error)");
    CHECK(opaque_kept);
    CHECK(est_error < 0.3 * raw_error);
}

TEST_CASE("any band height and any window give the whole image's bytes") {
    const Mix m = soft_edged_subject(300, 200);
    ForegroundOptions o;
    o.radius = 20;
    std::vector<std::uint8_t> whole, part;
    estimate(m, 0, 0, m.w, m.h, o, whole);
    o.band_rows = 7;
    estimate(m, 0, 0, m.w, m.h, o, part);
    CHECK(part == whole);

    // A window inside the image covers its pixels whose halo it holds.
    const int halo = effects::foreground_halo(o);
    for (const auto& [x, y, w, h] :
         {std::array{40, 30, 120, 100}, std::array{0, 50, 160, 150}, std::array{150, 0, 150, 90}}) {
        CAPTURE(x);
        const PixelRect r = estimate(m, x, y, w, h, o, part);
        CHECK(r.x0 == (x == 0 ? 0 : x + halo));
        CHECK(r.y1 == (y + h == m.h ? m.h : y + h - halo));
        bool same = true;
        for (int yy = r.y0; yy < r.y1; ++yy)
            for (int xx = r.x0; xx < r.x1; ++xx)
                for (std::size_t c = 0; c < 3; ++c) {
                    const std::size_t i = (std::size_t(yy) * m.w + xx) * 3 + c;
                    same &= part[i] == whole[i];
                }
        CHECK(same);
    }
}

TEST_CASE("a window smaller than the halo covers nothing; bad input is a clear error") {
    const Mix m = soft_edged_subject(200, 160);
    std::vector<std::uint8_t> out;
    CHECK(estimate(m, 50, 40, 60, 60, {}, out).empty());
    ForegroundOptions bad;
    bad.radius = 0;
    const Error e = test::error_of([&] { estimate(m, 0, 0, m.w, m.h, bad, out); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("radius") != std::string::npos);
}

namespace {

// The matte a low-resolution model gives of the mix: the true one blurred 6 px each way.
std::vector<std::uint8_t> blurry_matte(const Mix& m) {
    std::vector<std::uint8_t> out(m.alpha.size());
    for (int y = 0; y < m.h; ++y)
        for (int x = 0; x < m.w; ++x) {
            int sum = 0, n = 0;
            for (int dx = -6; dx <= 6; ++dx) {
                const int xx = std::clamp(x + dx, 0, m.w - 1);
                sum += m.alpha[std::size_t(y) * m.w + std::size_t(xx)], ++n;
            }
            out[std::size_t(y) * m.w + std::size_t(x)] = std::uint8_t(sum / n);
        }
    return out;
}

// colour_matte over a window of the image, in a full-size plane; returns the rectangle covered.
PixelRect colour_window(const Mix& m, const std::vector<std::uint8_t>& matte, int x, int y, int w,
                        int h, std::vector<std::uint8_t>& out) {
    Image window = Image::allocate(w, h, 3);
    std::vector<std::uint8_t> alpha(std::size_t(w) * h), result;
    for (int r = 0; r < h; ++r) {
        std::copy_n(m.image.row(y + r) + 3 * x, 3 * w, window.row(r));
        std::copy_n(matte.data() + std::size_t(y + r) * m.w + x, w,
                    alpha.data() + std::size_t(r) * w);
    }
    effects::ColourMatteOptions o;
    o.band_rows = 9;
    const PixelRect covered =
        effects::colour_matte(window, alpha, PixelRect{x, y, x + w, y + h},
                              MatteWindow{x, y, m.w, m.h}, o, result, EffectContext{});
    out.assign(matte.size(), 0);
    for (int r = covered.y0; r < covered.y1; ++r)
        for (int c = covered.x0; c < covered.x1; ++c)
            out[std::size_t(r) * m.w + c] = result[std::size_t(r - y) * w + std::size_t(c - x)];
    return covered;
}

}  // namespace

TEST_CASE("opacity from colour: a blurry matte of a red subject on green foliage sharpens") {
    const Mix m = soft_edged_subject(320, 240);
    const std::vector<std::uint8_t> blurry = blurry_matte(m);
    std::vector<std::uint8_t> sharp;
    colour_window(m, blurry, 0, 0, m.w, m.h, sharp);
    double before = 0, after = 0;
    int edge = 0;
    for (std::size_t i = 0; i < m.alpha.size(); ++i) {
        if (blurry[i] == m.alpha[i]) continue;
        before += std::abs(int(blurry[i]) - int(m.alpha[i]));
        after += std::abs(int(sharp[i]) - int(m.alpha[i]));
        ++edge;
    }
    MESSAGE("mean opacity error where the blurry matte is off ("
            << edge << " pixels): blurry " << before / edge << ", from colour " << after / edge
            << " codes");
    CHECK(after < 0.9 * before);

    // Any window gives the whole image's values where it covers them.
    for (const auto& [x, y, w, h] : {std::array{30, 20, 200, 180}, std::array{0, 0, 150, 240}}) {
        CAPTURE(x);
        std::vector<std::uint8_t> part;
        const PixelRect r = colour_window(m, blurry, x, y, w, h, part);
        REQUIRE(!r.empty());
        bool same = true;
        for (int yy = r.y0; yy < r.y1; ++yy)
            for (int xx = r.x0; xx < r.x1; ++xx)
                same &= part[std::size_t(yy) * m.w + xx] == sharp[std::size_t(yy) * m.w + xx];
        CHECK(same);
    }
}
