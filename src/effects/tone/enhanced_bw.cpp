// enhanced_bw: a photographer's black-and-white conversion. A channel mix in linear light
// (coloured-filter presets, as on film), optional CLAHE local contrast, an S-curve and
// brightness, then seeded film grain. Output R = G = B; alpha is kept.

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <fmt/format.h>
#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/row_progress.hpp"
#include "effects/tone/lut.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"
#include "util/rng.hpp"

namespace artistry::effects {

namespace {

constexpr const char* effect_name = "enhanced_bw";

// Weights on linear R, G, B (sum 1): luminance seen through a coloured filter.
struct Filter {
    const char* name;
    float r, g, b;
};
constexpr Filter filters[] = {
    {"neutral", util::luma_r, util::luma_g, util::luma_b},
    {"red", 0.80f, 0.20f, 0.00f},     // dark skies, light skin and reds
    {"orange", 0.50f, 0.48f, 0.02f},  // between red and yellow
    {"yellow", 0.32f, 0.64f, 0.04f},  // mildly darker skies
    {"green", 0.12f, 0.84f, 0.04f},   // light foliage, darker reds
    {"blue", 0.10f, 0.40f, 0.50f},    // light skies, dark reds
};

// Fixed point of the linear-light mix: 1.0 = 2^16.
constexpr int mix_one = 1 << 16;

struct Settings {
    std::array<float, 3> weights{};
    bool clahe = false;
    double clahe_clip = 0;
    int clahe_grid = 8;
    double contrast = 0;
    double brightness = 0;
    double grain = 0;
    double grain_size = 1;
    std::uint64_t seed = 0;
};

Settings read_settings(const Params& p) {
    Settings s;
    const auto& filter = p.text("filter");
    if (filter == "custom") {
        const double r = p.number("weight_r"), g = p.number("weight_g"), b = p.number("weight_b");
        const double sum = r + g + b;
        if (std::fabs(sum) < 1e-6)
            throw Error(Status::invalid_argument,
                        fmt::format("effect '{}': filter 'custom' needs weight_r, weight_g and "
                                    "weight_b with a non-zero sum, got {}, {}, {}",
                                    effect_name, r, g, b));
        s.weights = {static_cast<float>(r / sum), static_cast<float>(g / sum),
                     static_cast<float>(b / sum)};
    } else {
        for (const auto& f : filters)
            if (filter == f.name) s.weights = {f.r, f.g, f.b};
    }
    s.clahe = p.flag("clahe");
    s.clahe_clip = p.number("clahe_clip");
    s.clahe_grid = static_cast<int>(p.integer("clahe_grid"));
    s.contrast = p.number("contrast");
    s.brightness = p.number("brightness");
    s.grain = p.number("grain");
    s.grain_size = p.number("grain_size");
    s.seed = static_cast<std::uint64_t>(p.integer("seed"));
    return s;
}

// Contrast then brightness, on sRGB-encoded [0, 1]; both keep pure black and white.
double tone(double v, const Settings& s) {
    v = s_curve(v, s.contrast);
    if (s.brightness != 0) v = std::pow(std::clamp(v, 0.0, 1.0), std::exp2(-1.5 * s.brightness));
    return v;
}

std::uint8_t to_u8(double v) {
    return util::clamp_u8(static_cast<float>(v * 255.0));
}

// Per-channel fixed-point tables: weight × linear light of each 8-bit code.
std::array<std::array<std::int32_t, 256>, 3> mix_tables(const Settings& s) {
    std::array<std::array<std::int32_t, 256>, 3> t{};
    const auto& lin = util::srgb8_to_linear_table();
    for (int c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v)
            t[c][v] = static_cast<std::int32_t>(std::lround(s.weights[c] * lin[v] * mix_one));
    return t;
}

// Fixed-point linear light → 8-bit sRGB, through the tone curve when `with_tone`.
std::vector<std::uint8_t> encode_table(const Settings& s, bool with_tone) {
    std::vector<std::uint8_t> t(mix_one + 1);
    for (int i = 0; i <= mix_one; ++i) {
        const double v = util::linear_to_srgb(static_cast<float>(i) / mix_one);
        t[i] = to_u8(with_tone ? tone(v, s) : v);
    }
    return t;
}

// Contrast-limited adaptive histogram equalisation (CLAHE), after OpenCV's, split into an
// analysis (per-cell histograms of the whole image, gathered band by band in any order) and an
// apply (each pixel from its absolute coordinates and the cells' tables), so a tile gives the
// bytes of the same crop of a whole-image run. As in OpenCV: clahe_grid × clahe_grid cells over
// the image, which is first extended by reflection (BORDER_REFLECT_101) to a multiple of the
// grid when it is not one; histograms clipped at clip × cell area / 256 with the excess spread
// evenly; bilinear interpolation between the four nearest cells. Unlike OpenCV, the
// interpolation weights are 11-bit fixed point (integer arithmetic: the same bytes whatever
// the compiler's floating-point contraction), which moves a few pixels by one level.
class ClaheGrid {
  public:
    ClaheGrid(int width, int height, int grid, double clip)
        : w_(width), h_(height), gx_(std::clamp(grid, 1, width)), gy_(std::clamp(grid, 1, height)) {
        pw_ = w_, ph_ = h_;
        if (w_ % gx_ != 0 || h_ % gy_ != 0) pw_ += gx_ - w_ % gx_, ph_ += gy_ - h_ % gy_;
        cw_ = pw_ / gx_, ch_ = ph_ / gy_;
        const std::int64_t area = std::int64_t{cw_} * ch_;
        lut_scale_ = 255.f / static_cast<float>(area);
        if (clip > 0)
            clip_ = std::max<std::int64_t>(
                static_cast<std::int64_t>(clip * static_cast<double>(area) / 256), 1);
        for (int p = h_; p < ph_; ++p) pad_rows_.push_back({reflect(p, h_), p});
        col_cell_.resize(static_cast<std::size_t>(pw_));
        col_src_.resize(static_cast<std::size_t>(pw_));
        for (int p = 0; p < pw_; ++p) {
            col_cell_[p] = static_cast<std::uint32_t>(p / cw_) * 256;
            col_src_[p] = p < w_ ? p : reflect(p, w_);
        }
    }

    int width() const { return w_; }
    int height() const { return h_; }
    int cells() const { return gx_ * gy_; }

    // The cell rows that rows y0 … y1 − 1 (and their reflections) fall in: [first, last].
    std::pair<int, int> cell_rows(int y0, int y1) const {
        int lo = y0 / ch_, hi = (y1 - 1) / ch_;
        for (const auto& [src, p] : pad_rows_)
            if (src >= y0 && src < y1) lo = std::min(lo, p / ch_), hi = std::max(hi, p / ch_);
        return {lo, hi};
    }

    // Counts grey row y into hist, whose first cell row is `first` (gx cells × 256 bins each).
    void count_row(const std::uint8_t* gray, int y, int first, std::uint32_t* hist) const {
        const auto count = [&](int p) {
            std::uint32_t* h = hist + static_cast<std::size_t>(p / ch_ - first) * gx_ * 256;
            int x = 0;
            for (; x < w_; ++x) ++h[col_cell_[x] + gray[x]];
            for (; x < pw_; ++x) ++h[col_cell_[x] + gray[col_src_[x]]];
        };
        count(y);
        for (const auto& [src, p] : pad_rows_)
            if (src == y) count(p);
    }

    // Clipped, redistributed and accumulated histograms → one 256-entry table per cell.
    std::vector<std::uint8_t> tables(const std::vector<std::uint64_t>& hist) const {
        std::vector<std::uint8_t> lut(hist.size());
        std::vector<std::int64_t> bins(256);
        for (std::size_t c = 0; c < static_cast<std::size_t>(cells()); ++c) {
            for (int i = 0; i < 256; ++i) bins[i] = static_cast<std::int64_t>(hist[c * 256 + i]);
            if (clip_ > 0) {
                std::int64_t clipped = 0;
                for (auto& b : bins)
                    if (b > clip_) clipped += b - clip_, b = clip_;
                const std::int64_t batch = clipped / 256;
                std::int64_t residual = clipped - batch * 256;
                for (auto& b : bins) b += batch;
                if (residual != 0) {
                    const std::int64_t step = std::max<std::int64_t>(256 / residual, 1);
                    for (std::int64_t i = 0; i < 256 && residual > 0; i += step, --residual)
                        ++bins[static_cast<std::size_t>(i)];
                }
            }
            std::int64_t sum = 0;
            for (int i = 0; i < 256; ++i) {
                sum += bins[i];
                const float v = static_cast<float>(sum) * lut_scale_;
                lut[c * 256 + i] = static_cast<std::uint8_t>(std::clamp(std::lrint(v), 0L, 255L));
            }
        }
        return lut;
    }

    // Interpolation weights, 11-bit: the cell before and after coordinate v (on a grid of
    // `cells` cells of `size` pixels) and the weight of the one after, as OpenCV's
    // v / size − 0.5, exactly rounded.
    static constexpr int wbits = 11, wone = 1 << wbits;
    struct Weight {
        int lo, hi, w;
    };
    static Weight weight(std::int64_t v, int size, int cells) {
        const std::int64_t d = 2 * std::int64_t{size}, q = 2 * v - size;
        const std::int64_t t = q >= 0 ? q / d : -((-q + d - 1) / d);  // floor(q / d)
        const std::int64_t frac = q - t * d;                          // [0, d)
        Weight r;
        r.lo = static_cast<int>(std::max<std::int64_t>(t, 0));
        r.hi = static_cast<int>(std::min<std::int64_t>(t + 1, cells - 1));
        r.w = static_cast<int>((frac * wone + d / 2) / d);
        return r;
    }
    Weight column(std::int64_t x) const { return weight(x, cw_, gx_); }
    Weight row(std::int64_t y) const { return weight(y, ch_, gy_); }
    int grid_x() const { return gx_; }

  private:
    static int reflect(int p, int n) {
        if (n == 1) return 0;
        while (p < 0 || p >= n) p = p < 0 ? -p : 2 * (n - 1) - p;
        return p;
    }

    int w_, h_, gx_, gy_, pw_ = 0, ph_ = 0, cw_ = 0, ch_ = 0;
    std::int64_t clip_ = 0;
    float lut_scale_ = 0;
    std::vector<std::pair<int, int>> pad_rows_;  // (source row, padded row) below the image
    std::vector<std::uint32_t> col_cell_;        // padded column → its cell's first bin
    std::vector<int> col_src_;                   // padded column → source column
};

// The analysis's result: the grid and a table per cell.
struct ClaheState {
    ClaheGrid grid;
    std::vector<std::uint8_t> luts;
};

// Accumulates the cell histograms of grey rows, bands in parallel, merged under a lock.
class ClaheCounter {
  public:
    explicit ClaheCounter(const ClaheGrid& grid)
        : grid_(grid), hist_(static_cast<std::size_t>(grid.cells()) * 256) {}
    const ClaheGrid& grid() const { return grid_; }

    // Rows y0 … y0 + n − 1; gray(y, buffer) gives row y's grey values (buffer: scratch of
    // the full width it may fill and return).
    template <class Gray>
    void add(int y0, int n, const Gray& gray, const EffectContext& ctx) {
        const std::size_t cell_row = static_cast<std::size_t>(grid_.grid_x()) * 256;
        util::parallel_rows(
            n,
            [&](int r0, int r1) {
                ctx.throw_if_cancelled();
                const auto [first, last] = grid_.cell_rows(y0 + r0, y0 + r1);
                std::vector<std::uint32_t> local(static_cast<std::size_t>(last - first + 1) *
                                                 cell_row);
                std::vector<std::uint8_t> buffer(static_cast<std::size_t>(grid_.width()));
                for (int y = y0 + r0; y < y0 + r1; ++y)
                    grid_.count_row(gray(y, buffer), y, first, local.data());
                const std::lock_guard lock(mutex_);
                std::uint64_t* h = hist_.data() + static_cast<std::size_t>(first) * cell_row;
                for (std::size_t i = 0; i < local.size(); ++i) h[i] += local[i];
            },
            64);
    }

    std::shared_ptr<const ClaheState> finish() const {
        return std::make_shared<const ClaheState>(ClaheState{grid_, grid_.tables(hist_)});
    }

  private:
    ClaheGrid grid_;
    std::vector<std::uint64_t> hist_;
    std::mutex mutex_;
};

// Equalises grey values of absolute row y, columns x0 … x0 + n − 1, in place.
class ClaheRows {
  public:
    ClaheRows(const ClaheState& state, std::int64_t x0, int n) : state_(state) {
        cols_.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) cols_.push_back(state.grid.column(x0 + i));
    }
    void apply(std::uint8_t* gray, std::int64_t y) const {
        const auto r = state_.grid.row(y);
        const int gx = state_.grid.grid_x();
        const std::uint8_t* top = state_.luts.data() + static_cast<std::size_t>(r.lo) * gx * 256;
        const std::uint8_t* bottom = state_.luts.data() + static_cast<std::size_t>(r.hi) * gx * 256;
        const int wy = r.w, wy1 = ClaheGrid::wone - r.w;
        constexpr int shift = 2 * ClaheGrid::wbits;
        for (std::size_t i = 0; i < cols_.size(); ++i) {
            const auto& c = cols_[i];
            const int v = gray[i], a = c.lo * 256 + v, b = c.hi * 256 + v;
            const int wx = c.w, wx1 = ClaheGrid::wone - c.w;
            const int res =
                (top[a] * wx1 + top[b] * wx) * wy1 + (bottom[a] * wx1 + bottom[b] * wx) * wy;
            gray[i] = static_cast<std::uint8_t>((res + (1 << (shift - 1))) >> shift);
        }
    }

  private:
    const ClaheState& state_;
    std::vector<ClaheGrid::Weight> cols_;
};

// Film grain: roughly Gaussian noise, a pure function of (seed, absolute x, y), strongest in
// the midtones. grain_size > 1 interpolates a coarser lattice (value noise), rescaled so the
// strength does not vary across a lattice cell.
class Grain {
  public:
    explicit Grain(const Settings& s) : seed_(s.seed), size_(s.grain_size) {
        for (int v = 0; v < 256; ++v) {
            const double t = v / 255.0;
            sigma_[v] = static_cast<float>(s.grain * 40.0 * (0.3 + 0.7 * 4.0 * t * (1.0 - t)));
        }
    }

    // Adds grain to one row of grey values at absolute row y, columns x0 … x0 + n − 1.
    void apply(std::uint8_t* gray, int n, std::int64_t x0, std::int64_t y,
               std::vector<float>& scratch) const {
        if (size_ == 1.0) {
            for (int i = 0; i < n; ++i)
                gray[i] = add(gray[i], gauss(util::hash_xy(seed_, x0 + i, y)));
            return;
        }
        // Value noise: two lattice rows, interpolated with smoothstep weights.
        const double ty = static_cast<double>(y) / size_;
        const std::int64_t cy = static_cast<std::int64_t>(std::floor(ty));
        const float wy = smooth(static_cast<float>(ty - static_cast<double>(cy)));
        const std::int64_t cx0 =
            static_cast<std::int64_t>(std::floor(static_cast<double>(x0) / size_));
        const std::int64_t cx1 =
            static_cast<std::int64_t>(std::floor(static_cast<double>(x0 + n - 1) / size_)) + 1;
        const auto cells = static_cast<std::size_t>(cx1 - cx0 + 1);
        scratch.resize(cells);
        for (std::size_t k = 0; k < cells; ++k) {
            const std::int64_t cx = cx0 + static_cast<std::int64_t>(k);
            scratch[k] = (1 - wy) * gauss(util::hash_xy(seed_, cx, cy)) +
                         wy * gauss(util::hash_xy(seed_, cx, cy + 1));
        }
        const float vy = (1 - wy) * (1 - wy) + wy * wy;
        for (int i = 0; i < n; ++i) {
            const double tx = static_cast<double>(x0 + i) / size_;
            const std::int64_t cx = static_cast<std::int64_t>(std::floor(tx));
            const float wx = smooth(static_cast<float>(tx - static_cast<double>(cx)));
            const auto k = static_cast<std::size_t>(cx - cx0);
            const float noise = (1 - wx) * scratch[k] + wx * scratch[k + 1];
            gray[i] = add(gray[i], noise / std::sqrt(((1 - wx) * (1 - wx) + wx * wx) * vy));
        }
    }

  private:
    static float smooth(float t) { return t * t * (3 - 2 * t); }
    // Sum of four 16-bit uniforms, centred and scaled to unit variance.
    static float gauss(std::uint64_t h) {
        const std::uint32_t s = static_cast<std::uint32_t>(h & 0xffff) + ((h >> 16) & 0xffff) +
                                ((h >> 32) & 0xffff) + (h >> 48);
        return (static_cast<float>(s) * (1.f / 65536.f) - 2.f) * 1.7320508f;
    }
    std::uint8_t add(std::uint8_t v, float noise) const {
        return util::clamp_u8(static_cast<float>(v) + noise * sigma_[v]);
    }

    std::uint64_t seed_;
    double size_;
    std::array<float, 256> sigma_{};
};

// Writes one grey row as R = G = B, copying alpha from the input row.
void write_row(const std::uint8_t* gray, const std::uint8_t* in, std::uint8_t* out, int width,
               int channels) {
    if (channels == 4) {
        for (int x = 0; x < width; ++x, in += 4, out += 4)
            out[0] = out[1] = out[2] = gray[x], out[3] = in[3];
    } else {
        for (int x = 0; x < width; ++x, out += 3) out[0] = out[1] = out[2] = gray[x];
    }
}

// The linear-light channel mix of RGB(A) rows into 8-bit values through an encode table.
class Mixer {
  public:
    Mixer(const Settings& s, bool with_tone)
        : mix_(mix_tables(s)), encode_(encode_table(s, with_tone)) {}
    void row(const std::uint8_t* p, int width, int channels, std::uint8_t* gray) const {
        for (int x = 0; x < width; ++x, p += channels) {
            const std::int32_t sum = mix_[0][p[0]] + mix_[1][p[1]] + mix_[2][p[2]];
            gray[x] = encode_[static_cast<std::size_t>(std::clamp(sum, 0, mix_one))];
        }
    }

  private:
    std::array<std::array<std::int32_t, 256>, 3> mix_;
    std::vector<std::uint8_t> encode_;
};

// What the analysis hands to every tile: CLAHE's tables, and the mixer it used (built once:
// its encode table is 65537 entries).
struct BwState {
    std::shared_ptr<const ClaheState> clahe;
    Mixer mixer;
};

// CLAHE's analysis: the cell histograms of the mixed grey values (before the tone curve).
class BwAnalyzer final : public Analyzer {
  public:
    BwAnalyzer(const Settings& s, int full_width, int full_height)
        : mixer_(s, false),
          counter_(ClaheGrid(full_width, full_height, s.clahe_grid, s.clahe_clip)) {}

    // Rows of band (absolute y0 …).
    void add_rows(const Image& band, int y0) override {
        if (band.width() != counter_.grid().width() || y0 < 0 ||
            y0 + band.height() > counter_.grid().height())
            throw Error(Status::internal,
                        fmt::format("effect '{}': analysis band outside the image", effect_name));
        counter_.add(
            y0, band.height(),
            [&](int y, std::vector<std::uint8_t>& buffer) {
                mixer_.row(band.row(y - y0), band.width(), band.channels(), buffer.data());
                return static_cast<const std::uint8_t*>(buffer.data());
            },
            EffectContext{});
    }
    std::shared_ptr<const void> finish() override { return state(); }
    std::shared_ptr<const BwState> state() const {
        return std::make_shared<const BwState>(BwState{counter_.finish(), mixer_});
    }

  private:
    Mixer mixer_;
    ClaheCounter counter_;
};

// The effect on `in` given CLAHE's state (nullptr: no CLAHE). CLAHE and grain use absolute
// coordinates: the input's place is (x0, y0) in the CLAHE grid and ctx.origin for grain.
Image render(const Image& in, const Settings& s, const BwState* state, std::int64_t x0,
             std::int64_t y0, const EffectContext& ctx, util::RowProgress& progress) {
    const int w = in.width(), h = in.height(), ch = in.channels();
    const ClaheState* clahe = state ? state->clahe.get() : nullptr;
    std::optional<Mixer> own_mixer;
    if (!state) own_mixer.emplace(s, true);
    const Mixer& mixer = state ? state->mixer : *own_mixer;
    const Grain grain(s);
    const bool with_grain = s.grain > 0;
    std::array<std::uint8_t, 256> tone_table{};
    for (int v = 0; v < 256; ++v) tone_table[v] = to_u8(tone(v / 255.0, s));
    std::optional<ClaheRows> equalise;
    if (clahe) equalise.emplace(*clahe, x0, w);

    Image out = Image::allocate(w, h, ch);
    util::parallel_rows(h, [&](int r0, int r1) {
        ctx.throw_if_cancelled();
        std::vector<std::uint8_t> gray(static_cast<std::size_t>(w));
        std::vector<float> scratch;
        for (int y = r0; y < r1; ++y) {
            mixer.row(in.row(y), w, ch, gray.data());
            if (equalise) {
                equalise->apply(gray.data(), y0 + y);
                for (auto& g : gray) g = tone_table[g];
            }
            if (with_grain)
                grain.apply(gray.data(), w, ctx.origin_x, std::int64_t{ctx.origin_y} + y, scratch);
            write_row(gray.data(), in.row(y), out.row(y), w, ch);
        }
        progress.add(r1 - r0);
    });
    return out;
}

// Any region of the image; with CLAHE, given the analysis of the whole image (ctx.analysis).
Image render_region(const Image& in, const Params& params, const EffectContext& ctx) {
    const Settings& s = params.settings<Settings>();
    const auto* clahe = s.clahe ? static_cast<const BwState*>(ctx.analysis.get()) : nullptr;
    if (s.clahe && !clahe)
        throw Error(Status::internal,
                    fmt::format("effect '{}': render without its analysis", effect_name));
    util::RowProgress progress(ctx, in.height());
    return render(in, s, clahe, ctx.origin_x, ctx.origin_y, ctx, progress);
}

}  // namespace

void register_enhanced_bw(EffectRegistry& registry) {
    EffectInfo e;
    e.name = effect_name;
    e.version = 1;
    e.summary =
        "Black & white like film: a coloured-filter channel mix in linear light, then CLAHE "
        "local contrast, S-curve contrast and brightness, then seeded film grain";
    std::vector<std::string> filter_names;
    for (const auto& f : filters) filter_names.push_back(f.name);
    filter_names.push_back("custom");
    e.params = {
        param::choice(
            "filter", "neutral", filter_names,
            "coloured filter as on B&W film: red/orange darken blue skies and lighten reds, green "
            "lightens foliage, blue lightens skies; custom uses weight_r/g/b"),
        param::number(
            "weight_r", 0.0, -2, 2,
            "filter=custom: weight of linear red (the weights are scaled to sum to 1; their sum "
            "must not be 0)"),
        param::number("weight_g", 0.0, -2, 2, "filter=custom: weight of linear green"),
        param::number("weight_b", 0.0, -2, 2, "filter=custom: weight of linear blue"),
        param::flag("clahe", true,
                    "local contrast by contrast-limited adaptive histogram equalisation (CLAHE)"),
        param::number("clahe_clip", 2.0, 0, 40,
                      "CLAHE clip limit: higher gives stronger local contrast (0 = unlimited)"),
        param::integer("clahe_grid", 8, 1, 64, "CLAHE tiles along each side of the image"),
        param::number(
            "contrast", 0.0, -1, 1,
            "S-curve contrast pinned at black and white: >0 punchier, <0 flatter, 0 none"),
        param::number("brightness", 0.0, -1, 1,
                      "midtone brightness (a power curve that keeps black and white): >0 lighter"),
        param::number("grain", 0.0, 0, 1,
                      "film grain strength, strongest in the midtones (0 = none)"),
        param::number("grain_size", 1.0, 1, 8, "film grain clump size in pixels"),
        param::integer("seed", 0, 0, 4294967295, "grain seed: the same seed gives the same grain"),
    };
    e.decode = decoder(read_settings);
    e.describe = [](const Params& p, int w, int h, const EffectContext&) {
        const bool clahe = p.settings<Settings>().clahe;
        const std::size_t px = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
        EffectPlan plan;
        // CLAHE's cell histograms are statistics of the whole image (a streamed analysis,
        // then a per-region render); the rest is per pixel (grain: absolute coordinates).
        plan.footprint = {clahe ? Footprint::Kind::global : Footprint::Kind::point, 0};
        plan.memory_bytes = px * 4 + (clahe ? 2 * px : 0) + (mix_one + 1);
        return plan;
    };
    e.render = render_region;
    e.begin_analysis = [](const Params& p, int full_width, int full_height,
                          const EffectContext&) -> std::unique_ptr<Analyzer> {
        const Settings& s = p.settings<Settings>();
        if (!s.clahe) return nullptr;
        return std::make_unique<BwAnalyzer>(s, full_width, full_height);
    };
    registry.add(std::move(e));
}

}  // namespace artistry::effects
