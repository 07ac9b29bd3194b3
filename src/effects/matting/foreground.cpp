// Blur-fusion foreground colour estimation in exact integer box sums (foreground.hpp).

#include "effects/matting/foreground.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "effects/matting/box_sums.hpp"

namespace artistry::effects {
namespace {

// First-pass colours are kept in 1/16 code steps: fine enough that the second pass does not
// see the rounding, and still exact integers in its sums.
constexpr int fine_one = 16;

// Seven sums per pixel: α, α·I (3) and (255 − α)·B (3), α in codes 0..255.
constexpr std::size_t sums_per_pixel = 7;

// F = F̄ + α·(I − α·F̄ − (1 − α)·B̄) from the window's sums (colours in units of `one` per code);
// F̄ and B̄ fall back to I where their weights are 0. Returns F and B̄ in codes.
std::pair<std::array<double, 3>, std::array<double, 3>> fuse(int alpha,
                                                             const std::array<int, 3>& pixel,
                                                             const std::array<std::int64_t, 7>& s,
                                                             int pixels, double one) {
    const std::int64_t sa = s[0], sb = std::int64_t{255} * pixels - s[0];
    const double a = alpha / 255.0;
    std::array<double, 3> f{}, b{};
    for (std::size_t c = 0; c < 3; ++c) {
        const double fm = sa > 0 ? double(s[1 + c]) / (double(sa) * one) : pixel[c];
        const double bm = sb > 0 ? double(s[4 + c]) / (double(sb) * one) : pixel[c];
        f[c] = std::clamp(fm + a * (pixel[c] - a * fm - (1 - a) * bm), 0.0, 255.0);
        b[c] = bm;
    }
    return {f, b};
}

struct Geometry {
    int full_w, full_h;
    int r1, r2;
    PixelRect out;  // the pixels estimated
};

// First-pass F and B̄ over a band's rows and columns (absolute), in 1/16 codes.
struct Coarse {
    PixelRect rect;
    std::vector<std::int32_t> f, b;  // 3 per pixel

    std::size_t at(int y, int x) const {
        return (std::size_t(y - rect.y0) * std::size_t(rect.x1 - rect.x0) +
                std::size_t(x - rect.x0)) *
               3;
    }
};

Coarse first_pass(const WindowPixels& px, const Geometry& g, const PixelRect& rect) {
    Coarse coarse{rect, {}, {}};
    const std::size_t n = std::size_t(rect.x1 - rect.x0) * std::size_t(rect.y1 - rect.y0) * 3;
    coarse.f.resize(n);
    coarse.b.resize(n);
    const int c0 = std::max(0, rect.x0 - g.r1), c1 = std::min(g.full_w, rect.x1 + g.r1);
    auto sums = column_sums<sums_per_pixel>(c1 - c0, g.r1, g.full_h, [&](int y, std::int64_t* v) {
        for (int x = c0; x < c1; ++x, v += sums_per_pixel) {
            const int a = px.a(y, x);
            const auto i = px.rgb(y, x);
            v[0] = a;
            for (std::size_t c = 0; c < 3; ++c) v[1 + c] = a * i[c], v[4 + c] = (255 - a) * i[c];
        }
    });
    RowWindows<sums_per_pixel> windows(c0, c1);
    std::array<std::int64_t, sums_per_pixel> s{};
    sums.start(rect.y0);
    for (int y = rect.y0; y < rect.y1; ++y) {
        if (y > rect.y0) sums.next();
        windows.load(sums.sums());
        const int rows = sums.rows_in_window();
        for (int x = rect.x0; x < rect.x1; ++x) {
            const int cols = windows.window(x, g.r1, s);
            const auto [f, b] = fuse(px.a(y, x), px.rgb(y, x), s, rows * cols, 1.0);
            const std::size_t o = coarse.at(y, x);
            for (std::size_t c = 0; c < 3; ++c) {
                coarse.f[o + c] = std::int32_t(std::lround(f[c] * fine_one));
                coarse.b[o + c] = std::int32_t(std::lround(b[c] * fine_one));
            }
        }
    }
    return coarse;
}

// Output rows [y0, y1) (absolute) of the band.
void estimate_band(const WindowPixels& px, const Geometry& g, int y0, int y1,
                   const std::function<void(int, int, int, const std::uint8_t*)>& row) {
    const PixelRect rect{std::max(0, g.out.x0 - g.r2), std::max(0, y0 - g.r2),
                         std::min(g.full_w, g.out.x1 + g.r2), std::min(g.full_h, y1 + g.r2)};
    const Coarse coarse = first_pass(px, g, rect);
    auto sums =
        column_sums<sums_per_pixel>(rect.x1 - rect.x0, g.r2, g.full_h, [&](int y, std::int64_t* v) {
            for (int x = rect.x0; x < rect.x1; ++x, v += sums_per_pixel) {
                const int a = px.a(y, x);
                const std::size_t o = coarse.at(y, x);
                v[0] = a;
                for (std::size_t c = 0; c < 3; ++c)
                    v[1 + c] = std::int64_t{a} * coarse.f[o + c],
                          v[4 + c] = std::int64_t{255 - a} * coarse.b[o + c];
            }
        });
    RowWindows<sums_per_pixel> windows(rect.x0, rect.x1);
    std::array<std::int64_t, sums_per_pixel> s{};
    std::vector<std::uint8_t> rgb(std::size_t(g.out.x1 - g.out.x0) * 3);
    sums.start(y0);
    for (int y = y0; y < y1; ++y) {
        if (y > y0) sums.next();
        windows.load(sums.sums());
        const int rows = sums.rows_in_window();
        std::uint8_t* dst = rgb.data();
        for (int x = g.out.x0; x < g.out.x1; ++x, dst += 3) {
            const int a = px.a(y, x);
            const auto i = px.rgb(y, x);
            if (a == 255) {  // opaque: the photo's own colour, exactly
                for (std::size_t c = 0; c < 3; ++c) dst[c] = std::uint8_t(i[c]);
                continue;
            }
            const int cols = windows.window(x, g.r2, s);
            const auto f = fuse(a, i, s, rows * cols, fine_one).first;
            for (std::size_t c = 0; c < 3; ++c) dst[c] = std::uint8_t(std::lround(f[c]));
        }
        row(y - px.gy, g.out.x0 - px.gx, g.out.x1 - px.gx, rgb.data());
    }
}

}  // namespace

PixelRect estimate_foreground(
    const Image& image, const std::uint8_t* alpha, const PixelRect& known,
    const MatteWindow& window, const ForegroundOptions& options,
    const std::function<void(int y, int x0, int x1, const std::uint8_t* rgb)>& row,
    const EffectContext& ctx) {
    if (image.empty() || image.type() != PixelType::u8 || alpha == nullptr)
        throw Error(Status::invalid_argument,
                    "estimate_foreground: the image must be non-empty u8, with its alpha");
    if (options.radius < 1 || options.fine_radius < 1 || options.band_rows < 1)
        throw Error(Status::invalid_argument,
                    fmt::format("estimate_foreground: radius {} and fine_radius {} must be >= 1, "
                                "band_rows {} >= 1",
                                options.radius, options.fine_radius, options.band_rows));
    const int w = image.width(), h = image.height();
    const int full_w = window.full_width > 0 ? window.full_width : w;
    const int full_h = window.full_height > 0 ? window.full_height : h;
    if (known.x0 < window.x || known.y0 < window.y || known.x1 > window.x + w ||
        known.y1 > window.y + h || window.x + w > full_w || window.y + h > full_h)
        throw Error(Status::invalid_argument,
                    "estimate_foreground: the known rectangle must lie in the window, and the "
                    "window in the image");
    const int halo = foreground_halo(options);
    Geometry g{full_w, full_h, options.radius, options.fine_radius, {}};
    g.out = inner_rect(known, halo, full_w, full_h);
    if (g.out.empty()) return {};
    const WindowPixels px{image, alpha, window.x, window.y};
    for_each_band(g.out, options.band_rows, ctx,
                  [&](int y0, int y1) { estimate_band(px, g, y0, y1, row); });
    return g.out;
}

}  // namespace artistry::effects
