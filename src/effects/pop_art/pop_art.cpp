// pop_art: a Warhol-style grid of posterised copies of the image, each cell in its own bold
// palette, with optional Ben-Day halftone dots and comic ink outlines.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/opencv.hpp"
#include "effects/builtin.hpp"
#include "effects/pop_art/pop_art.hpp"
#include "effects/pop_art/pop_art_palettes.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {
namespace {

using pop_art::hex;
using pop_art::max_levels;
using pop_art::palettes_for;
using pop_art::PopPalette;
using pop_art::Rgb;
using pop_art::tone_index;

constexpr Rgb paper = hex(0xFFF6E3);  // the light newsprint tone behind halftone dots
constexpr Rgb ink = hex(0x111111);    // comic outline ink

// Rec. 709 luma on sRGB codes in 8-bit fixed point (weights sum to 256).
inline std::uint8_t luma8(const std::uint8_t* p) {
    return static_cast<std::uint8_t>((54 * p[0] + 183 * p[1] + 19 * p[2] + 128) >> 8);
}

// The luminance value at cumulative fraction q of the histogram.
int quantile(const std::array<std::uint64_t, 256>& hist, std::uint64_t total, double q) {
    const auto target = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t c = 0;
    for (int v = 0; v < 256; ++v) {
        c += hist[static_cast<std::size_t>(v)];
        if (c >= target && c > 0) return v;
    }
    return 255;
}

// Per luminance value: its posterisation band and, for halftone, the dot coverage that follows
// its tone. Bands are equal-area: a value's band is its mid-rank in the histogram times the
// number of levels, so each band takes about the same share of the picture (and a flat image
// sits in the middle band, not the darkest).
struct ToneMap {
    std::array<std::uint8_t, 256> band{};
    std::array<float, 256> coverage{};
};

ToneMap make_tone_map(const std::array<std::uint64_t, 256>& hist, int levels) {
    ToneMap t;
    const std::uint64_t total =
        std::max<std::uint64_t>(1, std::accumulate(hist.begin(), hist.end(), std::uint64_t{0}));
    const int lo = quantile(hist, total, 0.01), hi = std::max(lo + 1, quantile(hist, total, 0.99));
    std::uint64_t below = 0;
    for (int v = 0; v < 256; ++v) {
        const std::uint64_t n = hist[static_cast<std::size_t>(v)];
        const double mid_rank = (static_cast<double>(below) + 0.5 * static_cast<double>(n)) /
                                static_cast<double>(total);
        below += n;
        const int b = std::min(levels - 1, static_cast<int>(mid_rank * levels));
        t.band[static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(b);
        const float tone = std::clamp(float(v - lo) / float(hi - lo), 0.f, 1.f);
        // The darkest band prints solid (comic blacks); lighter tones get smaller dots, never none.
        t.coverage[static_cast<std::size_t>(v)] = b == 0 ? 1.f : 0.15f + 0.7f * (1.f - tone);
    }
    return t;
}

// What every cell of one size needs, computed once per distinct size (at most four).
struct CellMaps {
    int width = 0, height = 0;
    cv::Mat luma;   // posterisation input, smoothed so bands form clean shapes
    cv::Mat alpha;  // empty for RGB input
    cv::Mat ink;    // outline coverage 0..255; empty without outlines
};

// Dark comic lines: Canny edges of the smoothed luminance (thresholds from the gradient
// distribution, so only the strongest ~12 % of gradients qualify), grown to the thickness.
cv::Mat outline_map(const cv::Mat& luma, int thickness) {
    cv::Mat smooth;
    const double sigma = 1.0 + 0.002 * std::min(luma.cols, luma.rows);
    cv::GaussianBlur(luma, smooth, {0, 0}, sigma);
    cv::Mat gx, gy;
    cv::Sobel(smooth, gx, CV_16S, 1, 0);
    cv::Sobel(smooth, gy, CV_16S, 0, 1);
    std::vector<std::uint32_t> hist(2048, 0);
    for (int y = 0; y < gx.rows; ++y) {
        const auto* a = gx.ptr<std::int16_t>(y);
        const auto* b = gy.ptr<std::int16_t>(y);
        for (int x = 0; x < gx.cols; ++x)
            ++hist[static_cast<std::size_t>(std::min(2047, std::abs(a[x]) + std::abs(b[x])))];
    }
    const std::uint64_t total = std::uint64_t(gx.rows) * std::uint64_t(gx.cols);
    std::uint64_t c = 0;
    int high = 2047;
    for (int v = 0; v < 2048; ++v) {
        c += hist[static_cast<std::size_t>(v)];
        if (c >= total * 88 / 100) {
            high = v;
            break;
        }
    }
    high = std::max(high, 40);
    cv::Mat edges;
    cv::Canny(gx, gy, edges, high * 0.5, high);
    if (thickness > 1) {
        const cv::Mat k = cv::getStructuringElement(cv::MORPH_ELLIPSE, {thickness, thickness});
        cv::dilate(edges, edges, k);
    }
    cv::GaussianBlur(edges, edges, {3, 3}, 0.6);  // soften the stair-steps
    return edges;
}

struct Settings {
    int rows = 2, cols = 2, levels = 4;
    bool halftone = false, outline = false;
    double dot_pitch = 0;  // 0: from the whole image's size (with_pitch)
    float outline_strength = 0.85f;
    int outline_thickness = 0;  // 0: from the cell size
    std::string palette_set;
    std::uint64_t seed = 0;
};

// Ben-Day screen: round dots on a 45° grid of the given pitch, placed by absolute pixel
// coordinates so any tile of the image sees the same dots.
class DotScreen {
  public:
    DotScreen(double pitch, const std::array<float, 256>& coverage)
        : k_(0.70710678118654752 / pitch), pitch2_(pitch * pitch) {
        for (std::size_t v = 0; v < 256; ++v) {
            // Round dots up to touching (area π/4 of the cell), then growing into solid ink at 1.
            constexpr double touching = 0.78539816339744831;
            const double c = coverage[v];
            const double r = (c <= touching ? std::sqrt(c / 3.14159265358979)
                                            : 0.5 + 0.25 * (c - touching) / (1 - touching)) *
                             pitch;
            radius_[v] = r;
            inner2_[v] = r > 0.5 ? (r - 0.5) * (r - 0.5) : -1.0;
            outer2_[v] = (r + 0.5) * (r + 0.5);
        }
    }

    // The fraction of pixel (X, Y) covered by the dot for luminance v (anti-aliased edge).
    float operator()(std::int64_t X, std::int64_t Y, std::uint8_t v) const {
        constexpr std::int64_t shift = std::int64_t{1} << 31;  // keeps both screen axes positive
        const double u = double(X + Y + 1 + shift) * k_, w = double(X - Y + shift) * k_;
        const double fu = u - double(std::int64_t(u)) - 0.5, fw = w - double(std::int64_t(w)) - 0.5;
        const double d2 = (fu * fu + fw * fw) * pitch2_;
        if (d2 <= inner2_[v]) return 1.f;
        if (d2 >= outer2_[v]) return 0.f;
        return static_cast<float>(std::clamp(radius_[v] - std::sqrt(d2) + 0.5, 0.0, 1.0));
    }

  private:
    double k_, pitch2_;
    std::array<double, 256> radius_{}, inner2_{}, outer2_{};
};

inline std::uint8_t mix(std::uint8_t a, std::uint8_t b, float t) {  // a + t (b − a)
    return static_cast<std::uint8_t>(float(a) + t * (float(b) - float(a)) + 0.5f);
}

// Area-average downscaling of a crop, exact in integers and streamed by source rows, so a band
// pass and a whole-image pass give the same bytes. Output pixel i covers source columns
// [i·sw/dw, (i+1)·sw/dw): in units of 1/dw of a source pixel every overlap is an integer, and
// the weights of one output pixel sum to sw × sh. Only shrinks (sw ≥ dw, sh ≥ dh).
class AreaShrink {
  public:
    AreaShrink(const cv::Rect& crop, int dw, int dh) : crop_(crop), dw_(dw), dh_(dh) {
        if (crop.width < dw || crop.height < dh || dw < 1 || dh < 1)
            throw Error(Status::internal, "pop_art: a cell map can only shrink the image");
        for (std::int64_t x = 0; x < crop.width; ++x) {
            const std::int64_t start = x * dw, i = start / crop.width;
            col_out_.push_back(static_cast<int>(i));
            col_w0_.push_back(
                static_cast<std::uint32_t>(std::min((i + 1) * crop.width, start + dw) - start));
        }
        row_.assign(static_cast<std::size_t>(dw), 0);
        for (auto& a : acc_) a.assign(static_cast<std::size_t>(dw), 0);
        out_.create(dh, dw, CV_8U);
    }

    // Absolute row y of the image (rows in raster order; those outside the crop are ignored).
    void add_row(int y, const std::uint8_t* values) {
        const std::int64_t ly = y - crop_.y, sh = crop_.height, dh = dh_;
        if (ly < 0 || ly >= sh) return;
        std::fill(row_.begin(), row_.end(), 0);
        const std::uint8_t* v = values + crop_.x;
        for (int x = 0; x < crop_.width; ++x) {
            const auto i = static_cast<std::size_t>(col_out_[static_cast<std::size_t>(x)]);
            const std::uint32_t w0 = col_w0_[static_cast<std::size_t>(x)];
            row_[i] += std::uint64_t{v[x]} * w0;
            if (w0 < static_cast<std::uint32_t>(dw_))
                row_[i + 1] += std::uint64_t{v[x]} * (static_cast<std::uint32_t>(dw_) - w0);
        }
        const std::int64_t start = ly * dh, j0 = start / sh;
        const auto u0 = static_cast<std::uint64_t>(std::min((j0 + 1) * sh, start + dh) - start);
        const std::uint64_t u1 = static_cast<std::uint64_t>(dh) - u0;
        auto& a0 = acc_[static_cast<std::size_t>(j0 & 1)];
        auto& a1 = acc_[static_cast<std::size_t>((j0 + 1) & 1)];
        for (std::size_t i = 0; i < row_.size(); ++i) {
            a0[i] += row_[i] * u0;
            if (u1 != 0) a1[i] += row_[i] * u1;
        }
        const std::uint64_t den = static_cast<std::uint64_t>(crop_.width) * crop_.height;
        while (done_ < dh_ && (done_ + 1) * sh <= start + dh) {
            auto& a = acc_[static_cast<std::size_t>(done_ & 1)];
            auto* o = out_.ptr<std::uint8_t>(static_cast<int>(done_));
            for (std::size_t i = 0; i < a.size(); ++i) {
                o[i] = static_cast<std::uint8_t>((a[i] + den / 2) / den);
                a[i] = 0;
            }
            ++done_;
        }
    }

    cv::Mat take() {
        if (done_ != dh_) throw Error(Status::internal, "pop_art: a cell map is incomplete");
        return std::move(out_);
    }

  private:
    cv::Rect crop_;
    int dw_, dh_;
    std::vector<int> col_out_;           // per crop column: the first output column it feeds
    std::vector<std::uint32_t> col_w0_;  // … and its weight there (the rest goes to the next)
    std::vector<std::uint64_t> row_;
    std::array<std::vector<std::uint64_t>, 2> acc_;  // the output rows being summed
    std::int64_t done_ = 0;                          // output rows finished
    cv::Mat out_;
};

// The part of the image that covers a w × h cell, centred: cells of another aspect ratio
// (e.g. a 1 × 3 strip) show the picture undistorted.
cv::Rect cover_crop(int width, int height, int w, int h) {
    const double scale = std::max(double(w) / width, double(h) / height);
    const int sw = std::clamp(int(std::lround(w / scale)), 1, width);
    const int sh = std::clamp(int(std::lround(h / scale)), 1, height);
    return {(width - sw) / 2, (height - sh) / 2, sw, sh};
}

// Everything the final pixels need: the layout, the tone map and every cell's maps. The
// analysis fills it in one streamed pass; rendering any rectangle then reads only this.
struct PopState {
    Settings s;
    int width = 0, height = 0;   // the layout's size
    std::vector<int> xs, ys;     // cell boundaries: floor(i·size/n), remainders spread out
    std::vector<CellMaps> maps;  // one per distinct cell size
    struct Cell {
        int map = -1;                  // index in maps; -1: an empty cell
        std::array<Rgb, 256> color{};  // luminance → its band's palette colour
        Rgb background;
    };
    std::vector<Cell> cells;  // row-major
    ToneMap tones;
};

Settings read_settings(const Params& p) {
    Settings s;
    s.rows = static_cast<int>(p.integer("rows"));
    s.cols = static_cast<int>(p.integer("cols"));
    s.levels = static_cast<int>(p.integer("levels"));
    s.halftone = p.flag("halftone");
    s.outline = p.flag("outline");
    s.outline_strength = static_cast<float>(p.number("outline_strength"));
    s.outline_thickness = static_cast<int>(p.integer("outline_thickness"));
    s.dot_pitch = static_cast<double>(p.integer("dot_size"));
    s.palette_set = p.text("palette_set");
    s.seed = static_cast<std::uint64_t>(p.integer("seed"));
    return s;
}

// The settings for an image of this size: the auto dot pitch follows the whole image (not a
// tile) so tiles agree.
Settings with_pitch(Settings s, int width, int height) {
    if (s.dot_pitch <= 0) s.dot_pitch = std::max(4.0, std::round(std::min(width, height) / 110.0));
    return s;
}

// The streamed pass: luminance histogram, and each distinct cell size's shrunken luminance and
// alpha, row by row; finish() smooths the maps, traces the outlines and colours the cells.
class PopAnalyzer final : public Analyzer {
  public:
    PopAnalyzer(const Settings& s, int width, int height)
        : state_(std::make_shared<PopState>()), palettes_(palettes_for(s.palette_set, s.seed)) {
        PopState& st = *state_;
        st.s = with_pitch(s, width, height);
        st.width = width;
        st.height = height;
        for (int c = 0; c <= st.s.cols; ++c)
            st.xs.push_back(int(std::int64_t(c) * width / st.s.cols));
        for (int r = 0; r <= st.s.rows; ++r)
            st.ys.push_back(int(std::int64_t(r) * height / st.s.rows));
        st.cells.resize(static_cast<std::size_t>(st.s.rows * st.s.cols));
        for (int r = 0; r < st.s.rows; ++r)
            for (int c = 0; c < st.s.cols; ++c) {
                const int cw = st.xs[std::size_t(c) + 1] - st.xs[std::size_t(c)];
                const int chh = st.ys[std::size_t(r) + 1] - st.ys[std::size_t(r)];
                if (cw <= 0 || chh <= 0) continue;
                int k = 0;
                while (k < int(st.maps.size()) && (st.maps[std::size_t(k)].width != cw ||
                                                   st.maps[std::size_t(k)].height != chh))
                    ++k;
                if (k == int(st.maps.size())) {
                    CellMaps m;
                    m.width = cw;
                    m.height = chh;
                    st.maps.push_back(m);
                    luma_.emplace_back(cover_crop(width, height, cw, chh), cw, chh);
                }
                st.cells[std::size_t(r * st.s.cols + c)].map = k;
            }
        luma_row_.resize(static_cast<std::size_t>(width));
    }

    void add_rows(const Image& band, int y0) override {
        const int ch = band.channels();
        if (band.width() != state_->width || y0 != next_row_ || ch < 3)
            throw Error(Status::internal, "pop_art: analysis rows out of order");
        if (ch == 4 && alpha_.empty()) {
            alpha_row_.resize(luma_row_.size());
            for (const CellMaps& m : state_->maps)
                alpha_.emplace_back(cover_crop(state_->width, state_->height, m.width, m.height),
                                    m.width, m.height);
        }
        for (int r = 0; r < band.height(); ++r) {
            const std::uint8_t* src = band.row(r);
            for (std::size_t x = 0; x < luma_row_.size(); ++x, src += ch) {
                const std::uint8_t v = luma8(src);
                luma_row_[x] = v;
                ++all_[v];
                if (ch == 4) {
                    alpha_row_[x] = src[3];
                    if (src[3] >= 128) ++opaque_[v];
                }
            }
            for (auto& m : luma_) m.add_row(y0 + r, luma_row_.data());
            for (auto& m : alpha_) m.add_row(y0 + r, alpha_row_.data());
        }
        next_row_ = y0 + band.height();
    }

    std::shared_ptr<const void> finish() override {
        PopState& st = *state_;
        if (next_row_ != st.height) throw Error(Status::internal, "pop_art: analysis incomplete");
        // A cut-out's transparent background must not steer the bands; a fully transparent one
        // falls back to every pixel.
        const bool use_opaque = !alpha_.empty() && std::accumulate(opaque_.begin(), opaque_.end(),
                                                                   std::uint64_t{0}) > 0;
        st.tones = make_tone_map(use_opaque ? opaque_ : all_, st.s.levels);
        for (std::size_t k = 0; k < st.maps.size(); ++k) {
            CellMaps& m = st.maps[k];
            // A light median keeps single noisy pixels from flickering between bands.
            cv::medianBlur(luma_[k].take(), m.luma, std::min(m.width, m.height) >= 600 ? 5 : 3);
            if (!alpha_.empty()) m.alpha = alpha_[k].take();
            if (st.s.outline) {
                const int thickness =
                    st.s.outline_thickness > 0
                        ? st.s.outline_thickness
                        : std::max(2, int(std::lround(std::min(m.width, m.height) / 400.0)));
                m.ink = outline_map(m.luma, thickness);
            }
        }
        for (std::size_t i = 0; i < st.cells.size(); ++i) {
            PopState::Cell& cell = st.cells[i];
            const PopPalette& pal = palettes_[i % palettes_.size()];
            cell.background = pal.background;
            for (int v = 0; v < 256; ++v) {
                const int b = st.tones.band[static_cast<std::size_t>(v)];
                cell.color[static_cast<std::size_t>(v)] =
                    pal.tones[static_cast<std::size_t>(tone_index(b, st.s.levels))];
            }
        }
        return std::move(state_);
    }

  private:
    std::shared_ptr<PopState> state_;
    std::vector<PopPalette> palettes_;
    std::vector<AreaShrink> luma_, alpha_;  // per distinct cell size
    std::vector<std::uint8_t> luma_row_, alpha_row_;
    std::array<std::uint64_t, 256> opaque_{}, all_{};
    int next_row_ = 0;
};

// The w × h rectangle at (x0, y0) of the layout; halftone dots at screen position (dot_x,
// dot_y) for its first pixel. Progress in rows after `units_before`, checked for cancellation.
Image render(const PopState& st, int x0, int y0, int w, int h, std::int64_t dot_x,
             std::int64_t dot_y, const EffectContext& ctx, std::int64_t units_before,
             std::int64_t total) {
    const Settings& s = st.s;
    const DotScreen screen(s.dot_pitch, st.tones.coverage);
    Image out = Image::allocate(w, h, 3);
    const auto render_rows = [&](int a, int b) {
        for (int y = a; y < b; ++y) {
            const int Y = y0 + y;
            const int r = int(std::upper_bound(st.ys.begin(), st.ys.end(), Y) - st.ys.begin()) - 1;
            const int ly = Y - st.ys[std::size_t(r)];
            std::uint8_t* dst = out.row(y);
            for (int c = 0; c < s.cols; ++c) {
                const PopState::Cell& cell = st.cells[static_cast<std::size_t>(r * s.cols + c)];
                const int cx0 = std::max(x0, st.xs[std::size_t(c)]);
                const int cx1 = std::min(x0 + w, st.xs[std::size_t(c) + 1]);
                if (cell.map < 0 || cx0 >= cx1) continue;
                const CellMaps& m = st.maps[std::size_t(cell.map)];
                const std::uint8_t* lum = m.luma.ptr<std::uint8_t>(ly);
                const std::uint8_t* al = m.alpha.empty() ? nullptr : m.alpha.ptr<std::uint8_t>(ly);
                const std::uint8_t* ik = m.ink.empty() ? nullptr : m.ink.ptr<std::uint8_t>(ly);
                std::uint8_t* o = dst + 3 * (cx0 - x0);
                for (int X = cx0; X < cx1; ++X, o += 3) {
                    const int lx = X - st.xs[std::size_t(c)];
                    const std::uint8_t v = lum[lx];
                    Rgb col = cell.color[v];
                    if (s.halftone) {
                        const float t = screen(dot_x + (X - x0), dot_y + y, v);
                        col = {mix(paper.r, col.r, t), mix(paper.g, col.g, t),
                               mix(paper.b, col.b, t)};
                    }
                    if (ik && ik[lx]) {
                        const float t = s.outline_strength * float(ik[lx]) * (1.f / 255.f);
                        col = {mix(col.r, ink.r, t), mix(col.g, ink.g, t), mix(col.b, ink.b, t)};
                    }
                    if (al && al[lx] != 255) {  // a cut-out's background: the cell's flat colour
                        const float t = float(al[lx]) * (1.f / 255.f);
                        const Rgb& bg = cell.background;
                        col = {mix(bg.r, col.r, t), mix(bg.g, col.g, t), mix(bg.b, col.b, t)};
                    }
                    o[0] = col.r;
                    o[1] = col.g;
                    o[2] = col.b;
                }
            }
        }
    };
    constexpr int band_rows = 512;  // progress and cancellation granularity
    for (int y = 0; y < h; y += band_rows) {
        const int y_end = std::min(h, y + band_rows);
        util::parallel_rows(
            y_end - y, [&](int a0, int a1) { render_rows(y + a0, y + a1); }, 8);
        ctx.report(units_before + y_end, total);
        ctx.throw_if_cancelled();
    }
    return out;
}

const PopState& state_of(const std::shared_ptr<const void>& state) {
    if (!state) throw Error(Status::internal, "pop_art: the analysis state is missing");
    return *static_cast<const PopState*>(state.get());
}

// Any region of the image from the analysis of the whole (ctx.analysis): the cells lay out
// over the whole image; dots follow the region's place in it.
Image render_region(const Image& in, const Params&, const EffectContext& ctx) {
    return render(state_of(ctx.analysis), ctx.origin_x, ctx.origin_y, in.width(), in.height(),
                  ctx.origin_x, ctx.origin_y, ctx, 0, in.height());
}

}  // namespace

void register_pop_art(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "pop_art";
    e.version = 2;  // 2: exact integer area shrink of the cells (tiled == whole)
    e.summary =
        "Warhol-style grid of posterised copies, each in its own bold palette; optional "
        "Ben-Day dots and comic outlines (RGB out; a cut-out's transparency becomes a flat colour)";
    const std::vector<std::string> sets = pop_art_palette_sets();
    e.params = {
        param::integer("rows", 2, 1, 8, "grid rows"),
        param::integer("cols", 2, 1, 8, "grid columns"),
        param::integer("levels", 4, 2, max_levels,
                       "posterisation levels: equal-area luminance bands, each a palette colour"),
        param::choice("palette_set", "warhol", sets,
                      "family of palettes the cells cycle through (mixed: all of them)"),
        param::integer(
            "seed", 0, 0, 2147483647,
            "0 keeps the palette order; another value shuffles which cell gets which palette"),
        param::flag(
            "halftone", false,
            "Ben-Day dots: coloured dots on paper on a 45° screen, dot size following tone"),
        param::integer(
            "dot_size", 0, 0, 256,
            "halftone screen pitch in pixels (0: about 1/110 of the image's shorter side)"),
        param::flag("outline", false, "dark comic ink lines along strong edges"),
        param::number("outline_strength", 0.85, 0, 1, "opacity of the ink lines"),
        param::integer("outline_thickness", 0, 0, 32,
                       "ink line width in pixels (0: from the cell size, 2 px at 800 px)"),
    };
    e.decode = decoder(read_settings);
    e.describe = [](const Params&, int width, int height, const EffectContext&) {
        const auto px = std::size_t(width) * std::size_t(height);
        EffectPlan plan;
        // The bands come from the whole image's histogram and every cell shows the whole image:
        // a streamed analysis, then any region renders from its state alone.
        plan.footprint = {Footprint::Kind::global, 0};
        plan.memory_bytes = px * 3 /* output */ + px * 2 /* luminance, alpha */ +
                            px * 3 /* cell maps */ + (1u << 16);
        return plan;
    };
    e.render = render_region;
    e.begin_analysis = [](const Params& p, int width, int height,
                          const EffectContext&) -> std::unique_ptr<Analyzer> {
        return std::make_unique<PopAnalyzer>(p.settings<Settings>(), width, height);
    };
    registry.add(std::move(e));
}

}  // namespace artistry::effects
