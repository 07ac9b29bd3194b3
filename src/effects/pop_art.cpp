// pop_art: a Warhol-style grid of posterised copies of the image, each cell in its own bold
// palette, with optional Ben-Day halftone dots and comic ink outlines.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/opencv.hpp"
#include "effects/builtin.hpp"
#include "effects/pop_art.hpp"
#include "util/parallel.hpp"
#include "util/rng.hpp"

namespace artistry::effects {
namespace {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
};

constexpr Rgb hex(std::uint32_t v) {
    return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
            static_cast<std::uint8_t>(v)};
}

constexpr int max_levels = 6;

// One cell's colours: tones from shadow to highlight (posterisation bands pick from them, in
// order), and the flat colour that fills a cut-out's transparent background.
struct PopPalette {
    std::array<Rgb, max_levels> tones;
    Rgb background;
};

// Per palette: six tones from shadow to highlight, then the background colour.
using PaletteCodes = std::array<std::uint32_t, max_levels + 1>;

struct PaletteSet {
    const char* name;
    std::vector<PaletteCodes> palettes;
};

// Hue jumps between neighbouring bands are the point: that is what makes it read as Warhol
// rather than as a tinted photo.
const std::vector<PaletteSet>& palette_sets() {
    static const std::vector<PaletteSet> sets = {
        {"warhol",
         {{0x1B1B3A, 0x7A1F5C, 0xE8338B, 0xF28FB8, 0xF7D23E, 0xFFF3B0, 0x36C5D8},
          {0x141414, 0x2E3A8C, 0xE23B2E, 0xF5A623, 0xF7E76B, 0xFFFFFF, 0xF06EAA},
          {0x1D1D1D, 0x0E7C61, 0x5FC46B, 0xF2C94C, 0xF9E79F, 0xFFFDF0, 0xE8432C},
          {0x2A1A4A, 0x6B3FA0, 0xE86A92, 0xF9A65A, 0xFCE38A, 0xFFF9E6, 0x4FB0E8},
          {0x102A43, 0x1F6FB2, 0x38B6FF, 0x9BE15D, 0xF6F930, 0xFFFFFF, 0xFF5E5B},
          {0x231F20, 0xC1272D, 0xF15A24, 0xFBB03B, 0xFCEE21, 0xFFFBEA, 0x29ABE2}}},
        {"vivid",
         {{0x000000, 0x0033CC, 0xFF0033, 0xFF9900, 0xFFEE00, 0xFFFFFF, 0x00CC66},
          {0x0B0B0B, 0x6600CC, 0xFF0066, 0x00CCFF, 0xCCFF00, 0xFFFFFF, 0xFF6600},
          {0x111111, 0xCC0000, 0xFF6600, 0x00AA44, 0xFFDD00, 0xFFFFFF, 0x3366FF},
          {0x000033, 0x006699, 0x00CC99, 0xFF3399, 0xFFCC00, 0xFFFFFF, 0x9933FF}}},
        {"neon",
         {{0x0D0221, 0x5B00D6, 0xFF00A0, 0x00F0FF, 0xB6FF00, 0xFFFFFF, 0x120458},
          {0x000000, 0xFF003C, 0xFF8A00, 0xFAFF00, 0x00FF9C, 0xF2FFFD, 0x1B0536},
          {0x0A0A0A, 0x0047FF, 0x00E5FF, 0x39FF14, 0xFFF200, 0xFFFFFF, 0xFF00C8},
          {0x14001F, 0x9D00FF, 0xFF2DAA, 0xFF9E00, 0xFFE600, 0xFFFFFF, 0x00D2FF}}},
        {"pastel",
         {{0x3D3B5C, 0x8E7CC3, 0xF4A7B9, 0xFFD3A5, 0xFDF6B2, 0xFFFFFF, 0xA8E6CF},
          {0x2F4858, 0x86BBD8, 0xF6AE99, 0xF9DC5C, 0xFCF5C7, 0xFFFFFF, 0xF7CAC9},
          {0x4A3F55, 0x77A6B6, 0xB3D89C, 0xF7D488, 0xFAEBD7, 0xFFFFFF, 0xFFB6B9},
          {0x3B2E40, 0xC38D9E, 0xE8A87C, 0x85DCB0, 0xE8E6A5, 0xFFFFFF, 0x9AB7D3}}},
    };
    return sets;
}

PopPalette decode(const PaletteCodes& codes) {
    PopPalette p;
    for (std::size_t i = 0; i < p.tones.size(); ++i) p.tones[i] = hex(codes[i]);
    p.background = hex(codes[max_levels]);
    return p;
}

constexpr Rgb paper = hex(0xFFF6E3);  // the light newsprint tone behind halftone dots
constexpr Rgb ink = hex(0x111111);    // comic outline ink

std::vector<PopPalette> palettes_for(const std::string& set, std::uint64_t seed) {
    std::vector<PopPalette> out;
    for (const auto& s : palette_sets())
        if (set == "mixed" || set == s.name)
            for (const auto& codes : s.palettes) out.push_back(decode(codes));
    if (out.empty())
        throw Error(Status::invalid_argument,
                    fmt::format("pop_art: unknown palette set '{}'", set));
    if (seed != 0) {  // seed 0 keeps the set's own order; any other seed shuffles it
        util::SplitMix64 rng(seed);
        for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);
    }
    return out;
}

// With fewer levels than tones, the bands spread over the palette's whole dark-to-light range.
int tone_index(int band, int levels) {
    return (band * (max_levels - 1) * 2 + (levels - 1)) / (2 * (levels - 1));
}

// Rec. 709 luma on sRGB codes in 8-bit fixed point (weights sum to 256).
inline std::uint8_t luma8(const std::uint8_t* p) {
    return static_cast<std::uint8_t>((54 * p[0] + 183 * p[1] + 19 * p[2] + 128) >> 8);
}

// Luminance of the whole image, its alpha (RGBA only) and the luminance histogram of the opaque
// pixels: the global statistic the posterisation thresholds come from.
struct Analysis {
    cv::Mat luma;   // CV_8U, full size
    cv::Mat alpha;  // CV_8U, full size; empty for RGB input
    std::array<std::uint64_t, 256> histogram{};
};

Analysis analyse(const Image& in) {
    Analysis a;
    const int w = in.width(), h = in.height(), ch = in.channels();
    a.luma.create(h, w, CV_8U);
    if (ch == 4) a.alpha.create(h, w, CV_8U);
    constexpr int band = 64;  // rows per partial histogram; fixed so sums never depend on threads
    const int bands = (h + band - 1) / band;
    std::vector<std::array<std::uint32_t, 256>> partial(static_cast<std::size_t>(bands));
    std::vector<std::array<std::uint32_t, 256>> partial_all(static_cast<std::size_t>(bands));
    util::parallel_rows(
        bands,
        [&](int b0, int b1) {
            for (int b = b0; b < b1; ++b) {
                auto& hist = partial[static_cast<std::size_t>(b)];
                auto& hist_all = partial_all[static_cast<std::size_t>(b)];
                hist.fill(0);
                hist_all.fill(0);
                for (int y = b * band; y < std::min(h, (b + 1) * band); ++y) {
                    const std::uint8_t* src = in.row(y);
                    std::uint8_t* l = a.luma.ptr<std::uint8_t>(y);
                    std::uint8_t* al = ch == 4 ? a.alpha.ptr<std::uint8_t>(y) : nullptr;
                    for (int x = 0; x < w; ++x, src += ch) {
                        const std::uint8_t v = luma8(src);
                        l[x] = v;
                        ++hist_all[v];
                        if (al) {
                            al[x] = src[3];
                            if (src[3] >= 128) ++hist[v];
                        }
                    }
                }
            }
        },
        1);
    std::array<std::uint64_t, 256> opaque{}, all{};
    for (int b = 0; b < bands; ++b)
        for (int v = 0; v < 256; ++v) {
            opaque[static_cast<std::size_t>(v)] +=
                partial[static_cast<std::size_t>(b)][static_cast<std::size_t>(v)];
            all[static_cast<std::size_t>(v)] +=
                partial_all[static_cast<std::size_t>(b)][static_cast<std::size_t>(v)];
        }
    // A cut-out's transparent background must not steer the bands; a fully transparent one
    // falls back to every pixel.
    const bool use_opaque =
        ch == 4 && std::accumulate(opaque.begin(), opaque.end(), std::uint64_t{0}) > 0;
    a.histogram = use_opaque ? opaque : all;
    return a;
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

// The image scaled to cover a w × h cell and centre-cropped: cells of another aspect ratio
// (e.g. a 1 × 3 strip) show the picture undistorted.
cv::Mat cover(const cv::Mat& m, int w, int h) {
    if (m.cols == w && m.rows == h) return m;
    const double scale = std::max(double(w) / m.cols, double(h) / m.rows);
    const int sw = std::clamp(int(std::lround(w / scale)), 1, m.cols);
    const int sh = std::clamp(int(std::lround(h / scale)), 1, m.rows);
    const cv::Rect crop((m.cols - sw) / 2, (m.rows - sh) / 2, sw, sh);
    cv::Mat out;
    cv::resize(m(crop), out, {w, h}, 0, 0, w <= sw && h <= sh ? cv::INTER_AREA : cv::INTER_LINEAR);
    return out;
}

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
    double dot_pitch = 8;
    float outline_strength = 0.85f;
    int outline_thickness = 0;  // 0: from the cell size
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

Image run_pop_art(const Image& in, const Params& p, const EffectContext& ctx) {
    Settings s;
    s.rows = static_cast<int>(p.integer("rows"));
    s.cols = static_cast<int>(p.integer("cols"));
    s.levels = static_cast<int>(p.integer("levels"));
    s.halftone = p.flag("halftone");
    s.outline = p.flag("outline");
    s.outline_strength = static_cast<float>(p.number("outline_strength"));
    s.outline_thickness = static_cast<int>(p.integer("outline_thickness"));
    const int full_w = ctx.full_width > 0 ? ctx.full_width : in.width();
    const int full_h = ctx.full_height > 0 ? ctx.full_height : in.height();
    const auto dot = p.integer("dot_size");
    // Auto pitch follows the whole image (not a tile) so tiles agree.
    s.dot_pitch =
        dot > 0 ? double(dot) : std::max(4.0, std::round(std::min(full_w, full_h) / 110.0));
    const auto palettes =
        palettes_for(p.text("palette_set"), static_cast<std::uint64_t>(p.integer("seed")));

    const int w = in.width(), h = in.height();
    const std::int64_t total = 4 + h;  // units: four preparation stages, then output rows
    ctx.report(0, total);

    const Analysis a = analyse(in);
    const ToneMap tones = make_tone_map(a.histogram, s.levels);
    ctx.report(1, total);
    ctx.throw_if_cancelled();

    // Cell boundaries: floor(i·size/n), so remainders spread one pixel at a time.
    std::vector<int> xs(static_cast<std::size_t>(s.cols) + 1),
        ys(static_cast<std::size_t>(s.rows) + 1);
    for (int c = 0; c <= s.cols; ++c)
        xs[static_cast<std::size_t>(c)] = int(std::int64_t(c) * w / s.cols);
    for (int r = 0; r <= s.rows; ++r)
        ys[static_cast<std::size_t>(r)] = int(std::int64_t(r) * h / s.rows);

    std::vector<CellMaps> maps;
    maps.reserve(4);
    const auto maps_for = [&](int cw, int chh) -> const CellMaps& {
        for (const auto& m : maps)
            if (m.width == cw && m.height == chh) return m;
        CellMaps m;
        m.width = cw;
        m.height = chh;
        // A light median keeps single noisy pixels from flickering between bands (into a new
        // Mat: cover() may return the shared full-size luminance itself).
        cv::medianBlur(cover(a.luma, cw, chh), m.luma, std::min(cw, chh) >= 600 ? 5 : 3);
        if (!a.alpha.empty()) m.alpha = cover(a.alpha, cw, chh);
        if (s.outline) {
            const int thickness = s.outline_thickness > 0
                                      ? s.outline_thickness
                                      : std::max(2, int(std::lround(std::min(cw, chh) / 400.0)));
            m.ink = outline_map(m.luma, thickness);
        }
        maps.push_back(std::move(m));
        return maps.back();
    };
    // Build every distinct size before rendering (maps_for may grow the vector).
    for (int r = 0; r < s.rows; ++r)
        for (int c = 0; c < s.cols; ++c) {
            const int cw = xs[std::size_t(c) + 1] - xs[std::size_t(c)];
            const int chh = ys[std::size_t(r) + 1] - ys[std::size_t(r)];
            if (cw > 0 && chh > 0) maps_for(cw, chh);
        }
    ctx.report(4, total);
    ctx.throw_if_cancelled();

    struct Cell {
        int x0 = 0, width = 0;
        const CellMaps* maps = nullptr;
        std::array<Rgb, 256> color{};  // luminance → its band's palette colour
        Rgb background;
    };
    std::vector<Cell> cells(static_cast<std::size_t>(s.rows * s.cols));
    for (int r = 0; r < s.rows; ++r)
        for (int c = 0; c < s.cols; ++c) {
            Cell& cell = cells[static_cast<std::size_t>(r * s.cols + c)];
            cell.x0 = xs[std::size_t(c)];
            cell.width = xs[std::size_t(c) + 1] - cell.x0;
            const int chh = ys[std::size_t(r) + 1] - ys[std::size_t(r)];
            if (cell.width > 0 && chh > 0) cell.maps = &maps_for(cell.width, chh);
            const PopPalette& pal =
                palettes[static_cast<std::size_t>(r * s.cols + c) % palettes.size()];
            cell.background = pal.background;
            for (int v = 0; v < 256; ++v) {
                const int band = tones.band[static_cast<std::size_t>(v)];
                cell.color[static_cast<std::size_t>(v)] =
                    pal.tones[static_cast<std::size_t>(tone_index(band, s.levels))];
            }
        }

    const DotScreen screen(s.dot_pitch, tones.coverage);
    Image out = Image::allocate(w, h, 3);
    const auto render_rows = [&](int y0, int y1) {
        int r = 0;
        for (int y = y0; y < y1; ++y) {
            while (y >= ys[std::size_t(r) + 1]) ++r;
            const int ly = y - ys[std::size_t(r)];
            std::uint8_t* dst = out.row(y);
            for (int c = 0; c < s.cols; ++c) {
                const Cell& cell = cells[static_cast<std::size_t>(r * s.cols + c)];
                if (cell.maps == nullptr) continue;
                const std::uint8_t* lum = cell.maps->luma.ptr<std::uint8_t>(ly);
                const std::uint8_t* al =
                    cell.maps->alpha.empty() ? nullptr : cell.maps->alpha.ptr<std::uint8_t>(ly);
                const std::uint8_t* ik =
                    cell.maps->ink.empty() ? nullptr : cell.maps->ink.ptr<std::uint8_t>(ly);
                std::uint8_t* o = dst + 3 * cell.x0;
                for (int x = 0; x < cell.width; ++x, o += 3) {
                    const std::uint8_t v = lum[x];
                    Rgb col = cell.color[v];
                    if (s.halftone) {
                        const float t = screen(std::int64_t(ctx.origin_x) + cell.x0 + x,
                                               std::int64_t(ctx.origin_y) + y, v);
                        col = {mix(paper.r, col.r, t), mix(paper.g, col.g, t),
                               mix(paper.b, col.b, t)};
                    }
                    if (ik && ik[x]) {
                        const float t = s.outline_strength * float(ik[x]) * (1.f / 255.f);
                        col = {mix(col.r, ink.r, t), mix(col.g, ink.g, t), mix(col.b, ink.b, t)};
                    }
                    if (al && al[x] != 255) {  // a cut-out's background: the cell's flat colour
                        const float t = float(al[x]) * (1.f / 255.f);
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
        ctx.report(4 + y_end, total);
        ctx.throw_if_cancelled();
    }
    return out;
}

}  // namespace

std::vector<std::string> pop_art_palette_sets() {
    std::vector<std::string> names;
    for (const auto& s : palette_sets()) names.emplace_back(s.name);
    names.emplace_back("mixed");
    return names;
}

PopCellColors pop_art_cell_colors(const std::string& palette_set, std::uint64_t seed, int levels,
                                  int cell) {
    const auto palettes = palettes_for(palette_set, seed);
    const PopPalette& pal = palettes[static_cast<std::size_t>(cell) % palettes.size()];
    PopCellColors out;
    for (int b = 0; b < levels; ++b) {
        const Rgb& c = pal.tones[static_cast<std::size_t>(tone_index(b, levels))];
        out.tones.push_back({c.r, c.g, c.b});
    }
    out.background = {pal.background.r, pal.background.g, pal.background.b};
    return out;
}

void register_pop_art(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "pop_art";
    e.version = 1;
    e.summary =
        "Warhol-style grid of posterised copies, each in its own bold palette; optional "
        "Ben-Day dots and comic outlines (RGB out; a cut-out's transparency becomes a flat colour)";
    const std::vector<std::string> sets = pop_art_palette_sets();
    // clang-format off
    e.params = {
        {"rows", ParamType::integer, std::int64_t{2}, 1, 8, {}, "grid rows", {}},
        {"cols", ParamType::integer, std::int64_t{2}, 1, 8, {}, "grid columns", {}},
        {"levels", ParamType::integer, std::int64_t{4}, 2, max_levels, {},
         "posterisation levels: equal-area luminance bands, each a palette colour", {}},
        {"palette_set", ParamType::choice, std::string("warhol"), 0, 0, sets,
         "family of palettes the cells cycle through (mixed: all of them)", {}},
        {"seed", ParamType::integer, std::int64_t{0}, 0, 2147483647.0, {},
         "0 keeps the palette order; another value shuffles which cell gets which palette", {}},
        {"halftone", ParamType::boolean, false, 0, 0, {},
         "Ben-Day dots: coloured dots on paper on a 45° screen, dot size following tone", {}},
        {"dot_size", ParamType::integer, std::int64_t{0}, 0, 256, {},
         "halftone screen pitch in pixels (0: about 1/110 of the image's shorter side)", {}},
        {"outline", ParamType::boolean, false, 0, 0, {},
         "dark comic ink lines along strong edges", {}},
        {"outline_strength", ParamType::number, 0.85, 0, 1, {}, "opacity of the ink lines", {}},
        {"outline_thickness", ParamType::integer, std::int64_t{0}, 0, 32, {},
         "ink line width in pixels (0: from the cell size, 2 px at 800 px)", {}},
    };
    // clang-format on
    // The bands come from the whole image's histogram and every cell shows the whole image.
    e.footprint = [](const Params&) { return Footprint{Footprint::Kind::global, 0}; };
    e.memory_estimate = [](int width, int height, const Params&) {
        const auto px = std::size_t(width) * std::size_t(height);
        return px * 3 /* output */ + px * 2 /* luminance, alpha */ + px * 3 /* cell maps */ +
               (1u << 16);
    };
    e.run = run_pop_art;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
