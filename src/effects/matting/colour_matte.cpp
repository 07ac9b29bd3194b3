// Colour-line opacity near the matte's edge, in exact integer box sums (colour_matte.hpp).

#include "effects/matting/colour_matte.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "effects/matting/box_sums.hpp"

namespace artistry::effects {
namespace {

constexpr int sure_subject = 250;    // matte codes at or above: subject
constexpr int sure_background = 5;   // at or below: background
constexpr double line_sigma = 16.0;  // codes off the F̄–B̄ line at which α_c counts half

enum Sure : std::uint8_t { unsure = 0, subject = 1, background = 2 };

struct Geometry {
    WindowPixels px;
    int full_w, full_h;
    ColourMatteOptions o;
    PixelRect out;
};

// Which pixels of `rect` (absolute) are surely subject or background: every pixel within
// `erode` agrees.
std::vector<std::uint8_t> sure_pixels(const Geometry& g, const PixelRect& rect) {
    const int w = rect.x1 - rect.x0, e = g.o.erode;
    std::vector<std::uint8_t> sure(std::size_t(w) * std::size_t(rect.y1 - rect.y0));
    const int c0 = std::max(0, rect.x0 - e), c1 = std::min(g.full_w, rect.x1 + e);
    auto sums = column_sums<2>(c1 - c0, e, g.full_h, [&](int y, std::int64_t* v) {
        for (int x = c0; x < c1; ++x, v += 2) {
            const int a = g.px.a(y, x);
            v[0] = a<sure_subject, v[1] = a> sure_background;
        }
    });
    RowWindows<2> windows(c0, c1);
    std::array<std::int64_t, 2> s{};
    sums.start(rect.y0);
    for (int y = rect.y0; y < rect.y1; ++y) {
        if (y > rect.y0) sums.next();
        windows.load(sums.sums());
        std::uint8_t* row = sure.data() + std::size_t(y - rect.y0) * std::size_t(w);
        for (int x = rect.x0; x < rect.x1; ++x) {
            windows.window(x, e, s);
            row[x - rect.x0] = s[0] == 0 ? subject : (s[1] == 0 ? background : unsure);
        }
    }
    return sure;
}

// The new opacity of an unsure pixel from the sure means around it (sums: count, colour sum of
// the sure subject, then of the sure background).
int line_alpha(int alpha, const std::array<double, 3>& i, const std::array<std::int64_t, 8>& s,
               int min_contrast, int window_pixels) {
    if (s[0] == 0 || s[4] == 0) return alpha;
    double d[3], v[3], dd = 0, vd = 0;
    for (std::size_t c = 0; c < 3; ++c) {
        const double f = double(s[1 + c]) / double(s[0]), b = double(s[5 + c]) / double(s[4]);
        d[c] = f - b, v[c] = i[c] - b;
        dd += d[c] * d[c], vd += v[c] * d[c];
    }
    const double tau2 = double(min_contrast) * min_contrast;
    if (dd < tau2) return alpha;
    const double t = std::clamp(vd / dd, 0.0, 1.0);
    double off = 0;
    for (std::size_t c = 0; c < 3; ++c) off += (v[c] - t * d[c]) * (v[c] - t * d[c]);
    // Trust grows with the sure pixels on each side (up to a 32nd of the window each), so
    // that it does not jump where the first sure pixel enters the window.
    const double enough = double(window_pixels) / 32;
    const double support =
        std::min(1.0, double(s[0]) / enough) * std::min(1.0, double(s[4]) / enough);
    const double trust =
        support * dd / (dd + tau2) * (line_sigma * line_sigma) / (line_sigma * line_sigma + off);
    return int(std::lround(255.0 * (trust * t + (1 - trust) * alpha / 255.0)));
}

// Output rows [y0, y1) (absolute) of the band.
void band(const Geometry& g, int y0, int y1, std::vector<std::uint8_t>& out) {
    const int r = g.o.radius;
    const PixelRect rect{std::max(0, g.out.x0 - r), std::max(0, y0 - r),
                         std::min(g.full_w, g.out.x1 + r), std::min(g.full_h, y1 + r)};
    const std::vector<std::uint8_t> sure = sure_pixels(g, rect);
    const int w = rect.x1 - rect.x0;
    const auto sure_at = [&](int y, int x) {
        return sure[std::size_t(y - rect.y0) * std::size_t(w) + std::size_t(x - rect.x0)];
    };
    auto sums = column_sums<8>(w, r, g.full_h, [&](int y, std::int64_t* v) {
        for (int x = rect.x0; x < rect.x1; ++x, v += 8) {
            const std::uint8_t k = sure_at(y, x);
            const auto i = g.px.rgb(y, x);
            v[0] = k == subject, v[4] = k == background;
            for (std::size_t c = 0; c < 3; ++c) v[1 + c] = v[0] * i[c], v[5 + c] = v[4] * i[c];
        }
    });
    RowWindows<8> windows(rect.x0, rect.x1);
    std::array<std::int64_t, 8> s{};
    // The pixel's colour as the mean of its 3 × 3 neighbourhood: single-pixel noise (grain,
    // JPEG) would otherwise speckle the new opacity.
    auto colours = column_sums<3>(w, 1, g.full_h, [&](int y, std::int64_t* v) {
        for (int x = rect.x0; x < rect.x1; ++x, v += 3) {
            const auto i = g.px.rgb(y, x);
            v[0] = i[0], v[1] = i[1], v[2] = i[2];
        }
    });
    RowWindows<3> colour_windows(rect.x0, rect.x1);
    std::array<std::int64_t, 3> c{};
    sums.start(y0);
    colours.start(y0);
    for (int y = y0; y < y1; ++y) {
        if (y > y0) sums.next(), colours.next();
        windows.load(sums.sums());
        colour_windows.load(colours.sums());
        const int colour_rows = colours.rows_in_window();
        std::uint8_t* dst = out.data() + std::size_t(y - g.px.gy) * std::size_t(g.px.image.width());
        for (int x = g.out.x0; x < g.out.x1; ++x) {
            const int a = g.px.a(y, x);
            if (sure_at(y, x) != unsure) {
                dst[x - g.px.gx] = std::uint8_t(a);
                continue;
            }
            windows.window(x, r, s);
            const double n = colour_rows * colour_windows.window(x, 1, c);
            const std::array<double, 3> mean{double(c[0]) / n, double(c[1]) / n, double(c[2]) / n};
            dst[x - g.px.gx] =
                std::uint8_t(line_alpha(a, mean, s, g.o.min_contrast, (2 * r + 1) * (2 * r + 1)));
        }
    }
}

}  // namespace

ColourMatteOptions colour_matte_options(int full_width, int full_height) {
    ColourMatteOptions o;
    const double scale = std::max(full_width, full_height) / 1024.0;
    o.erode = std::max(8, int(std::lround(8 * scale)));
    o.radius = 3 * o.erode;
    return o;
}

PixelRect colour_matte(const Image& image, const std::vector<std::uint8_t>& alpha,
                       const PixelRect& known, const MatteWindow& window,
                       const ColourMatteOptions& options, std::vector<std::uint8_t>& out,
                       const EffectContext& ctx) {
    const int w = image.width(), h = image.height();
    if (image.empty() || image.type() != PixelType::u8 ||
        alpha.size() != std::size_t(w) * std::size_t(h))
        throw Error(Status::invalid_argument,
                    "colour_matte: the image must be non-empty u8, with one opacity per pixel");
    if (options.erode < 1 || options.radius < 1 || options.band_rows < 1)
        throw Error(Status::invalid_argument,
                    fmt::format("colour_matte: erode {}, radius {} and band_rows {} must be >= 1",
                                options.erode, options.radius, options.band_rows));
    const int full_w = window.full_width > 0 ? window.full_width : w;
    const int full_h = window.full_height > 0 ? window.full_height : h;
    const int halo = colour_matte_halo(options);
    Geometry g{{image, alpha.data(), window.x, window.y}, full_w, full_h, options, {}};
    g.out = inner_rect(known, halo, full_w, full_h);
    out.assign(alpha.size(), 0);
    if (g.out.empty()) return {};
    for_each_band(g.out, options.band_rows, ctx, [&](int y0, int y1) { band(g, y0, y1, out); });
    return g.out;
}

}  // namespace artistry::effects
