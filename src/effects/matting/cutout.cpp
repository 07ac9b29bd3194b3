// The shared cut-out path (cutout.hpp): matte → refined opacity codes → final matte
// (colour edges, threshold, the input's alpha) → output (matte, cut-out or composite).

#include "effects/matting/cutout.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "effects/matting/colour_matte.hpp"
#include "effects/matting/foreground.hpp"

namespace artistry::effects {
namespace {

// "" (transparent), "#rrggbb" or "rrggbb".
std::string check_background(const std::string& text) {
    if (text.empty()) return {};
    const std::string h = text[0] == '#' ? text.substr(1) : text;
    if (h.size() != 6 || !std::all_of(h.begin(), h.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c));
        }))
        return fmt::format("expected empty (transparent) or a colour #rrggbb, got '{}'", text);
    return {};
}

std::array<std::uint8_t, 3> parse_background(const std::string& text) {
    const std::string h = text[0] == '#' ? text.substr(1) : text;
    const auto v = std::stoul(h, nullptr, 16);
    return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
            static_cast<std::uint8_t>(v)};
}

// The foreground estimation's windows (foreground.hpp's defaults).
constexpr ForegroundOptions foreground_options{};

// A window's final opacity, one code per pixel (0 outside `known`), and the pixels it knows.
struct WindowMatte {
    std::vector<std::uint8_t> alpha;
    PixelRect known;
};

// The matte's final form: its edge re-estimated from colour (colour_matte.hpp), then
// thresholded and multiplied by the input's own alpha, so both methods give the same modes.
void finish_matte(const Image& in, const CutoutSettings& s, WindowMatte& m,
                  const MatteWindow& window, const EffectContext& ctx) {
    if (s.colour_edges) {
        std::vector<std::uint8_t> edged;
        m.known =
            colour_matte(in, m.alpha, m.known, window,
                         colour_matte_options(window.full_width, window.full_height), edged, ctx);
        m.alpha = std::move(edged);
    }
    if (m.known.empty()) return;
    const int w = in.width(), ch = in.channels();
    const auto cut = static_cast<float>(s.threshold);
    for (int y = m.known.y0 - window.y; y < m.known.y1 - window.y; ++y) {
        const std::uint8_t* src = in.row(y);
        std::uint8_t* a = m.alpha.data() + std::size_t(y) * std::size_t(w);
        for (int x = m.known.x0 - window.x; x < m.known.x1 - window.x; ++x) {
            int v = a[x];
            if (cut > 0) v = v * (1.f / 255.f) >= cut ? 255 : 0;
            if (ch == 4) v = (v * src[std::size_t(x) * 4 + 3] + 127) / 255;
            a[x] = static_cast<std::uint8_t>(v);
        }
    }
}

// Output pixels [x0, x1) of row y from their colours (3 per pixel) and the matte.
void write_row(const CutoutSettings& s, const WindowMatte& m, int y, int x0, int x1,
               const std::uint8_t* rgb, Image& out) {
    const std::uint8_t* a = m.alpha.data() + std::size_t(y) * std::size_t(out.width());
    std::uint8_t* dst = out.row(y) + std::size_t(x0) * std::size_t(out.channels());
    if (s.composite) {
        const auto& bg = s.background;
        for (int x = x0; x < x1; ++x, rgb += 3, dst += 3) {
            const float t = a[x] * (1.f / 255.f);
            for (std::size_t c = 0; c < 3; ++c)
                dst[c] = static_cast<std::uint8_t>(float(bg[c]) + t * float(rgb[c] - bg[c]) + 0.5f);
        }
    } else {
        for (int x = x0; x < x1; ++x, rgb += 3, dst += 4)
            dst[0] = rgb[0], dst[1] = rgb[1], dst[2] = rgb[2], dst[3] = a[x];
    }
}

// The output from the window and its matte: the matte alone, or the subject's colours (the
// photo's own, or re-estimated at the edges) with it. Pixels it cannot compute stay 0.
Image compose(const Image& in, const CutoutSettings& s, const WindowMatte& m,
              const MatteWindow& window, const EffectContext& ctx) {
    const int w = in.width(), h = in.height(), ch = in.channels();
    Image out = Image::allocate(w, h, s.out_channels());
    for (int y = 0; y < h; ++y) std::memset(out.row(y), 0, out.row_bytes());
    const int x0 = m.known.x0 - window.x, x1 = m.known.x1 - window.x;
    if (m.known.empty()) return out;
    if (s.alpha_only) {
        for (int y = m.known.y0 - window.y; y < m.known.y1 - window.y; ++y)
            std::memcpy(out.row(y) + x0, m.alpha.data() + std::size_t(y) * std::size_t(w) + x0,
                        std::size_t(x1 - x0));
    } else if (s.decontaminate) {
        std::mutex progress;  // rows come from worker threads; reports stay in order
        std::int64_t rows_done = 0;
        estimate_foreground(
            in, m.alpha.data(), m.known, window, foreground_options,
            [&](int y, int fx0, int fx1, const std::uint8_t* rgb) {
                write_row(s, m, y, fx0, fx1, rgb, out);
                const std::lock_guard lock(progress);
                if (++rows_done % 64 == 0) ctx.report(rows_done, h);
            },
            ctx);
    } else {
        std::vector<std::uint8_t> rgb(std::size_t(x1 - x0) * 3);
        for (int y = m.known.y0 - window.y; y < m.known.y1 - window.y; ++y) {
            const std::uint8_t* src = in.row(y) + std::size_t(x0) * std::size_t(ch);
            for (std::size_t i = 0; i < std::size_t(x1 - x0); ++i, src += ch)
                for (std::size_t c = 0; c < 3; ++c) rgb[i * 3 + c] = src[ch >= 3 ? c : 0];
            write_row(s, m, y, x0, x1, rgb.data(), out);
        }
    }
    ctx.report(h, h);
    return out;
}

// Full pixels per matte pixel decide the auto refinement radius (capped).
int refine_radius(const CutoutSettings& s, int full_w, int full_h, const cv::Mat& matte) {
    if (s.refine_radius > 0) return s.refine_radius;
    const double up = std::max(double(full_w) / matte.cols, double(full_h) / matte.rows);
    return std::clamp(int(std::lround(2 * up)), 2, max_auto_refine_radius);
}

// The refinement of any window of the image (a tile with its halo, or the whole image) from the
// analysis: a full-resolution guided filter in absolute coordinates (matte_refine.hpp), then
// the colours. Pixels it cannot compute (within the halo of a window edge inside the image)
// are left 0.
Image refine_window(const Image& in, const CutoutSettings& s, const EffectContext& ctx,
                    const cv::Mat& matte) {
    const int w = in.width(), h = in.height();
    MatteWindow window{ctx.origin_x, ctx.origin_y, ctx.full_width > 0 ? ctx.full_width : w,
                       ctx.full_height > 0 ? ctx.full_height : h};
    MatteRefineOptions refine;
    refine.radius = refine_radius(s, window.full_width, window.full_height, matte);
    WindowMatte m{std::vector<std::uint8_t>(std::size_t(w) * std::size_t(h)),
                  refinable_rect(window, w, h, refine.radius)};
    const int stages = s.estimates_colours() ? 2 : 1;
    const EffectContext refining = stage_context(ctx, 0, stages);
    std::atomic<std::int64_t> rows_done{0};
    refine_matte(
        in, matte, refine, window,
        [&](int y, float* alpha) {
            alpha_codes(alpha, w, m.alpha.data() + std::size_t(y) * std::size_t(w));
        },
        [&](int rows) { refining.report(rows_done += rows, h); }, ctx);
    finish_matte(in, s, m, window, ctx);
    return compose(in, s, m, window, stage_context(ctx, 1, stages));
}

// The window's matte bilinearly upscaled from `matte` (pixel centres aligned over the full
// image, absolute coordinates), without refinement: the old segment service's refine=false.
Image upscale_window(const Image& in, const CutoutSettings& s, const EffectContext& ctx,
                     const cv::Mat& matte) {
    const int w = in.width(), h = in.height();
    const MatteWindow window{ctx.origin_x, ctx.origin_y, ctx.full_width > 0 ? ctx.full_width : w,
                             ctx.full_height > 0 ? ctx.full_height : h};
    const double fx = double(matte.cols) / window.full_width;
    const double fy = double(matte.rows) / window.full_height;
    // Per column: the two matte columns and the weight of the second.
    const auto cols = static_cast<std::size_t>(w);
    std::vector<int> cx0(cols), cx1(cols);
    std::vector<float> wx(cols);
    for (int x = 0; x < w; ++x) {
        const double u = std::clamp((window.x + x + 0.5) * fx - 0.5, 0.0, matte.cols - 1.0);
        cx0[std::size_t(x)] = int(u);
        cx1[std::size_t(x)] = std::min(matte.cols - 1, int(u) + 1);
        wx[std::size_t(x)] = float(u - int(u));
    }
    WindowMatte m{std::vector<std::uint8_t>(std::size_t(w) * std::size_t(h)),
                  {window.x, window.y, window.x + w, window.y + h}};
    for (int y = 0; y < h; ++y) {
        const double v = std::clamp((window.y + y + 0.5) * fy - 0.5, 0.0, matte.rows - 1.0);
        const float* r0 = matte.ptr<float>(int(v));
        const float* r1 = matte.ptr<float>(std::min(matte.rows - 1, int(v) + 1));
        const auto wy = float(v - int(v));
        std::uint8_t* a = m.alpha.data() + std::size_t(y) * std::size_t(w);
        for (int x = 0; x < w; ++x) {
            const auto i0 = std::size_t(cx0[std::size_t(x)]), i1 = std::size_t(cx1[std::size_t(x)]);
            const float t = wx[std::size_t(x)];
            const float top = r0[i0] + t * (r0[i1] - r0[i0]);
            const float bottom = r1[i0] + t * (r1[i1] - r1[i0]);
            a[x] = static_cast<std::uint8_t>(
                std::clamp(top + wy * (bottom - top), 0.f, 1.f) * 255.f + 0.5f);
        }
    }
    CutoutSettings plain = s;
    plain.colour_edges = false;  // unrefined: the model's own edge
    finish_matte(in, plain, m, window, ctx);
    return compose(in, plain, m, window, ctx);
}

}  // namespace

void alpha_codes(const float* alpha, int w, std::uint8_t* dst) {
    for (int x = 0; x < w; ++x) dst[x] = static_cast<std::uint8_t>(alpha[x] * 255.f + 0.5f);
}

// A context whose progress covers stage `index` of `count` equal stages of the run.
EffectContext stage_context(const EffectContext& ctx, int index, int count) {
    EffectContext stage = ctx;
    if (ctx.progress)
        stage.progress = [progress = ctx.progress, index, count](std::int64_t done,
                                                                 std::int64_t total) {
            progress(index * total + done, count * total);
        };
    return stage;
}

CutoutSettings::CutoutSettings(const Params& p)
    : alpha_only(p.text("mode") == "alpha"),
      composite(!p.text("background").empty()),
      decontaminate(p.flag("decontaminate")),
      colour_edges(p.flag("colour_edges")),
      threshold(p.number("threshold")),
      refine_radius(static_cast<int>(p.integer("refine_radius"))) {
    if (composite) background = parse_background(p.text("background"));
    if (p.values().count("refine") != 0) refine = p.flag("refine");
}

std::vector<ParamSpec> cutout_params() {
    return {
        param::choice(
            "mode", "cutout", {"cutout", "alpha"},
            "cutout: the image with the matte as alpha; alpha: the matte alone, one grey channel "
            "(white = subject)"),
        param::text(
            "background", "",
            "empty: transparent; #rrggbb: composite onto this colour and return RGB (cutout mode)",
            check_background),
        param::flag(
            "colour_edges", true,
            "re-estimate the opacity near the edge from the colours of the sure subject and "
            "background around each pixel (fur against foliage, a wing against a wall)"),
        param::flag(
            "decontaminate", true,
            "re-estimate the colour of the subject's semi-transparent edge pixels without the "
            "old background (blur fusion), so the cut-out shows no fringe on any new "
            "background; false: keep the photo's own colours"),
        param::number(
            "threshold", 0.0, 0, 1,
            "0: soft matte; above 0: hard mask, subject where the matte reaches this level"),
        param::integer(
            "refine_radius", 0, 0, 256,
            "edge refinement (guided filter) radius in full-size pixels; 0: from the image size "
            "(at most 32)"),
    };
}

int cutout_halo(const CutoutSettings& s, int width, int height) {
    return matte_refine_halo(s.refine_radius > 0 ? s.refine_radius : max_auto_refine_radius) +
           (s.colour_edges ? colour_matte_halo(colour_matte_options(width, height)) : 0) +
           (s.estimates_colours() ? foreground_halo(foreground_options) : 0);
}

std::size_t cutout_memory(const CutoutSettings& s, int width, int height) {
    const auto px = std::size_t(width) * std::size_t(height);
    // the output, two refinement bands (256 rows and the halo) of four 64-bit planes, the
    // window's opacity codes; with colour estimation two bands (256 rows and the small
    // window's halo) of first-pass colours and backgrounds
    std::size_t bytes = px * 4 + std::size_t(width) * 400 * 8 * 4 * 2 + px;
    if (s.estimates_colours()) bytes += std::size_t(width) * 262 * 24 * 2;
    return bytes;
}

Image cutout_from_matte(const Image& in, const CutoutSettings& s, const cv::Mat& matte,
                        const EffectContext& ctx) {
    return s.refine ? refine_window(in, s, ctx, matte) : upscale_window(in, s, ctx, matte);
}

Image cutout_from_codes(const Image& in, const CutoutSettings& s, std::vector<std::uint8_t> alpha,
                        const EffectContext& ctx) {
    const int w = in.width(), h = in.height();
    WindowMatte m{std::move(alpha), {0, 0, w, h}};
    const MatteWindow window{0, 0, w, h};
    finish_matte(in, s, m, window, ctx);
    return compose(in, s, m, window, ctx);
}

}  // namespace artistry::effects
