// Dithering: error diffusion, ordered and blue-noise thresholds to a palette.

#include "effects/pixel_art/dither.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "artistry/error.hpp"
#include "effects/pixel_art/blue_noise.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {

namespace {

constexpr int blue_noise_size = 64;
constexpr int band_rows = 64;  // progress and cancellation granularity

// ---- working space: values in [0, 1], either sRGB code / 255 or linear light ------------

struct WorkSpace {
    std::array<float, 256> to_work{};
    std::array<std::uint8_t, 4097> to_code{};  // work value quantised to 1/4096 → sRGB code
    std::array<float, 4097> to_linear{};       // work value quantised to 1/4096 → linear light

    explicit WorkSpace(bool linear) {
        const auto& lin = util::srgb8_to_linear_table();
        for (int c = 0; c < 256; ++c) to_work[c] = linear ? lin[c] : static_cast<float>(c) / 255.f;
        for (int i = 0; i <= 4096; ++i) {
            const float v = static_cast<float>(i) / 4096.f;
            to_code[i] = linear ? util::linear_to_srgb8(v) : util::clamp_u8(v * 255.f);
            to_linear[i] = linear ? v : util::srgb_to_linear(v);
        }
    }
    static std::size_t step(float v) noexcept {
        v = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);
        return static_cast<std::size_t>(v * 4096.f + 0.5f);
    }
    std::uint8_t code(float v) const noexcept { return to_code[step(v)]; }
    float light(float v) const noexcept { return to_linear[step(v)]; }
    static const WorkSpace& get(bool linear) {
        static const WorkSpace srgb(false), lin(true);
        return linear ? lin : srgb;
    }
};

// Grey levels in working space, for luminance matching.
struct GreyLevels {
    std::vector<float> work;                  // ascending
    std::vector<std::uint8_t> code;           // sRGB code of each level
    std::vector<float> mid;                   // midpoints between neighbours
    std::vector<float> inv_gap;               // 1 / (work[k+1] - work[k])
    std::array<std::uint16_t, 1025> start{};  // a level near v = i/1024, refined by `nearest`
    std::array<float, 256> lum_r{}, lum_g{}, lum_b{};  // luminance contribution per code

    GreyLevels(const Palette& palette, const WorkSpace& ws, bool linear) {
        for (const Rgb8& c : palette.colors()) code.push_back(c.r);
        std::sort(code.begin(), code.end());
        for (const auto c : code) work.push_back(ws.to_work[c]);
        for (std::size_t k = 0; k + 1 < work.size(); ++k) {
            mid.push_back((work[k] + work[k + 1]) / 2);
            inv_gap.push_back(1.f / (work[k + 1] - work[k]));
        }
        for (int i = 0; i <= 1024; ++i)
            start[i] = static_cast<std::uint16_t>(slow_nearest(i / 1024.f));
        // Rec. 709 weights on sRGB codes, or on linear values (true relative luminance).
        for (int c = 0; c < 256; ++c) {
            const float v = linear ? ws.to_work[c] : static_cast<float>(c) / 255.f;
            lum_r[c] = util::luma_r * v;
            lum_g[c] = util::luma_g * v;
            lum_b[c] = util::luma_b * v;
        }
    }
    int size() const noexcept { return static_cast<int>(work.size()); }

    int slow_nearest(float v) const {
        int k = 0;
        while (k + 1 < size() && v > mid[static_cast<std::size_t>(k)]) ++k;
        return k;
    }
    // Nearest level; a value exactly between two levels takes the lower one.
    int nearest(float v) const noexcept {
        const float c = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);
        int k = start[static_cast<std::size_t>(c * 1024.f)];
        const int n = size();
        while (k + 1 < n && v > mid[static_cast<std::size_t>(k)]) ++k;
        while (k > 0 && v <= mid[static_cast<std::size_t>(k - 1)]) --k;
        return k;
    }
    // Ordered: the level below v, raised to the next one when v's position in the gap
    // exceeds the threshold t.
    int threshold(float v, float t) const noexcept {
        int k = nearest(v);
        if (k > 0 && work[static_cast<std::size_t>(k)] > v) --k;
        if (k + 1 >= size()) return k;
        const float frac =
            (v - work[static_cast<std::size_t>(k)]) * inv_gap[static_cast<std::size_t>(k)];
        return frac > t ? k + 1 : k;
    }
    void luminance_row(const std::uint8_t* p, int channels, int width, float* out) const noexcept {
        for (int x = 0; x < width; ++x, p += channels)
            out[x] = lum_r[p[0]] + lum_g[p[1]] + lum_b[p[2]];
    }
};

// Colour palette in working space, matched through the palette's Oklab lookup table.
struct ColourTarget {
    const Palette& palette;
    const WorkSpace& ws;
    std::vector<std::array<float, 3>> work;
    float limit2;  // DitherSpec::error_limit squared

    ColourTarget(const Palette& p, const WorkSpace& w, float error_limit = 0.f)
        : palette(p), ws(w), limit2(error_limit * error_limit) {
        for (const Rgb8& c : p.colors())
            work.push_back({w.to_work[c.r], w.to_work[c.g], w.to_work[c.b]});
    }
    int match(float r, float g, float b) const noexcept {
        return palette.nearest_fast(ws.code(r), ws.code(g), ws.code(b));
    }
    // The factor for the error that v leaves when colour k stands for it: 1, or below 1 where
    // k lies farther than the error limit from v.
    float error_scale(const float* v, int k) const noexcept {
        if (limit2 <= 0.f) return 1.f;
        const util::Oklab o = approx_oklab(ws.light(v[0]), ws.light(v[1]), ws.light(v[2]));
        const float d2 = util::oklab_distance2(o, palette.oklab()[static_cast<std::size_t>(k)]);
        return d2 <= limit2 ? 1.f : std::sqrt(limit2 / d2);
    }
};

void copy_alpha(const std::uint8_t* in, std::uint8_t* out, int width) {
    for (int x = 0; x < width; ++x) out[4 * x + 3] = in[4 * x + 3];
}

void write_grey(std::uint8_t* out, int channels, int x, std::uint8_t v) {
    std::uint8_t* q = out + static_cast<std::size_t>(x) * channels;
    q[0] = q[1] = q[2] = v;
}

void write_colour(std::uint8_t* out, int channels, int x, const Rgb8& c) {
    std::uint8_t* q = out + static_cast<std::size_t>(x) * channels;
    q[0] = c.r;
    q[1] = c.g;
    q[2] = c.b;
}

// ---- error diffusion ---------------------------------------------------------------------

struct Tap {
    int dx, dy;
    float w;
};
template <std::size_t N>
struct Kernel {
    std::array<Tap, N> taps;
};

// clang-format off
constexpr Kernel<4> k_floyd_steinberg{{{{1, 0, 7 / 16.f}, {-1, 1, 3 / 16.f}, {0, 1, 5 / 16.f}, {1, 1, 1 / 16.f}}}};
constexpr Kernel<3> k_false_fs{{{{1, 0, 3 / 8.f}, {0, 1, 3 / 8.f}, {1, 1, 2 / 8.f}}}};
constexpr Kernel<12> k_jjn{{{{1, 0, 7 / 48.f}, {2, 0, 5 / 48.f},
                             {-2, 1, 3 / 48.f}, {-1, 1, 5 / 48.f}, {0, 1, 7 / 48.f}, {1, 1, 5 / 48.f}, {2, 1, 3 / 48.f},
                             {-2, 2, 1 / 48.f}, {-1, 2, 3 / 48.f}, {0, 2, 5 / 48.f}, {1, 2, 3 / 48.f}, {2, 2, 1 / 48.f}}}};
constexpr Kernel<12> k_stucki{{{{1, 0, 8 / 42.f}, {2, 0, 4 / 42.f},
                                {-2, 1, 2 / 42.f}, {-1, 1, 4 / 42.f}, {0, 1, 8 / 42.f}, {1, 1, 4 / 42.f}, {2, 1, 2 / 42.f},
                                {-2, 2, 1 / 42.f}, {-1, 2, 2 / 42.f}, {0, 2, 4 / 42.f}, {1, 2, 2 / 42.f}, {2, 2, 1 / 42.f}}}};
constexpr Kernel<7> k_burkes{{{{1, 0, 8 / 32.f}, {2, 0, 4 / 32.f},
                               {-2, 1, 2 / 32.f}, {-1, 1, 4 / 32.f}, {0, 1, 8 / 32.f}, {1, 1, 4 / 32.f}, {2, 1, 2 / 32.f}}}};
constexpr Kernel<10> k_sierra3{{{{1, 0, 5 / 32.f}, {2, 0, 3 / 32.f},
                                 {-2, 1, 2 / 32.f}, {-1, 1, 4 / 32.f}, {0, 1, 5 / 32.f}, {1, 1, 4 / 32.f}, {2, 1, 2 / 32.f},
                                 {-1, 2, 2 / 32.f}, {0, 2, 3 / 32.f}, {1, 2, 2 / 32.f}}}};
constexpr Kernel<7> k_sierra2{{{{1, 0, 4 / 16.f}, {2, 0, 3 / 16.f},
                                {-2, 1, 1 / 16.f}, {-1, 1, 2 / 16.f}, {0, 1, 3 / 16.f}, {1, 1, 2 / 16.f}, {2, 1, 1 / 16.f}}}};
constexpr Kernel<3> k_sierra_lite{{{{1, 0, 2 / 4.f}, {-1, 1, 1 / 4.f}, {0, 1, 1 / 4.f}}}};
// Atkinson passes on only 6/8 of the error: highlights and shadows clip, by design.
constexpr Kernel<6> k_atkinson{{{{1, 0, 1 / 8.f}, {2, 0, 1 / 8.f}, {-1, 1, 1 / 8.f}, {0, 1, 1 / 8.f},
                                 {1, 1, 1 / 8.f}, {0, 2, 1 / 8.f}}}};
// clang-format on

constexpr int pad = 2;  // widest kernel reach

// Three error rows (current, next, the one after), padded so taps never need a bounds test.
// The state lives across rows; a band processor can carry it from band to band.
class ErrorRows {
  public:
    ErrorRows(int width, int lanes)
        : stride_(static_cast<std::size_t>(width + 2 * pad) * static_cast<std::size_t>(lanes)),
          lanes_(lanes),
          buf_(3 * stride_, 0.f) {}
    float* row(int k) noexcept {
        return buf_.data() + static_cast<std::size_t>((first_ + k) % 3) * stride_ +
               static_cast<std::size_t>(pad * lanes_);
    }
    void advance() noexcept {
        std::fill_n(buf_.data() + static_cast<std::size_t>(first_) * stride_, stride_, 0.f);
        first_ = (first_ + 1) % 3;
    }

  private:
    std::size_t stride_;
    int lanes_;
    int first_ = 0;
    std::vector<float> buf_;
};

// The weight a kernel gives to the pixel dx to the right on the same row (0 if none).
template <std::size_t N>
constexpr float right_weight(const Kernel<N>& k, int dx) {
    for (const Tap& t : k.taps)
        if (t.dy == 0 && t.dx == dx) return t.w;
    return 0.f;
}

// The error for the next two pixels of the row is carried in registers, not in memory: that
// is the loop's critical path (a store and reload per pixel would sit on it). Taps on the
// rows below go to the error rows. Binary: two levels, a compare instead of a search.
template <const auto& K, int Dir, bool Binary>
void diffuse_grey_row(const float* lum, ErrorRows& err, int width, float strength,
                      const GreyLevels& levels, std::uint8_t* level_of) {
    float* e[3] = {err.row(0), err.row(1), err.row(2)};
    const float* work = levels.work.data();
    const float mid0 = levels.mid[0], lo = work[0], hi = work[levels.size() - 1];
    const float r1 = right_weight(K, 1) * strength, r2 = right_weight(K, 2) * strength;
    float c1 = 0.f, c2 = 0.f;
    for (int i = 0; i < width; ++i) {
        const int x = Dir > 0 ? i : width - 1 - i;
        const float v = lum[x] + e[0][x] + c1;
        int k;
        float q;
        if constexpr (Binary) {
            k = v > mid0;
            q = v - (k ? hi : lo);
        } else {
            k = levels.nearest(v);
            q = v - work[k];
        }
        level_of[x] = static_cast<std::uint8_t>(k);
        c1 = c2 + q * r1;
        c2 = q * r2;
        q *= strength;
        for (const Tap& t : K.taps)
            if (t.dy > 0) e[t.dy][x + Dir * t.dx] += q * t.w;
    }
}

template <const auto& K, int Dir>
void diffuse_colour_row(const std::uint8_t* in, int channels, ErrorRows& err, int width,
                        float strength, const ColourTarget& target, std::uint8_t* index_of) {
    float* e[3] = {err.row(0), err.row(1), err.row(2)};
    const auto& tw = target.ws.to_work;
    const float r1 = right_weight(K, 1) * strength, r2 = right_weight(K, 2) * strength;
    float c1[3] = {0.f, 0.f, 0.f}, c2[3] = {0.f, 0.f, 0.f};
    for (int i = 0; i < width; ++i) {
        const int x = Dir > 0 ? i : width - 1 - i;
        const std::uint8_t* p = in + static_cast<std::size_t>(x) * channels;
        float v[3];
        for (int c = 0; c < 3; ++c) {
            // Clamped so that a palette that cannot reach a colour (a Game Boy green for
            // white) does not pile up error without bound and smear it across the image.
            const float s = tw[p[c]] + e[0][3 * x + c] + c1[c];
            v[c] = s < 0.f ? 0.f : (s > 1.f ? 1.f : s);
        }
        const int k = target.match(v[0], v[1], v[2]);
        index_of[x] = static_cast<std::uint8_t>(k);
        const auto& pw = target.work[static_cast<std::size_t>(k)];
        const float scale = target.error_scale(v, k);
        float q[3];
        for (int c = 0; c < 3; ++c) {
            q[c] = (v[c] - pw[static_cast<std::size_t>(c)]) * scale;
            c1[c] = c2[c] + q[c] * r1;
            c2[c] = q[c] * r2;
            q[c] *= strength;
        }
        for (const Tap& t : K.taps) {
            if (t.dy == 0) continue;
            float* d = e[t.dy] + 3 * (x + Dir * t.dx);
            d[0] += q[0] * t.w;
            d[1] += q[1] * t.w;
            d[2] += q[2] * t.w;
        }
    }
}

// Error diffusion as a band processor: the error rows live across calls, so bands fed in raster
// order equal one whole-image pass. The whole-image path is one band covering every row, so
// both paths run this same code.
template <const auto& K>
class Diffuser final : public BandProcessor {
  public:
    Diffuser(const Palette& palette, const DitherSpec& spec, int width)
        : palette_(palette),
          spec_(spec),
          ws_(WorkSpace::get(spec.linear)),
          width_(width),
          idx_(static_cast<std::size_t>(width)) {
        if (spec.luminance) {
            levels_ = std::make_unique<GreyLevels>(palette_, ws_, spec.linear);
            lum_.resize(static_cast<std::size_t>(width));
            err_ = std::make_unique<ErrorRows>(width, 1);
        } else {
            target_ = std::make_unique<ColourTarget>(palette_, ws_, spec.error_limit);
            err_ = std::make_unique<ErrorRows>(width, 3);
        }
    }

    void process(const Image& in, Image& out, int y0) override { rows(in, out, y0, nullptr); }

    // Rows of `in` are absolute rows y0 … y0 + height − 1 (serpentine parity is absolute).
    void rows(const Image& in, Image& out, int y0, const EffectContext* ctx) {
        if (in.width() != width_)
            throw Error(Status::invalid_argument,
                        "dither: a band's width differs from the image's");
        const int w = width_, h = in.height(), ch = in.channels();
        for (int y = 0; y < h; ++y) {
            if (ctx && y % band_rows == 0) {
                ctx->throw_if_cancelled();
                ctx->report(y, h);
            }
            const bool reverse = spec_.serpentine && ((y0 + y) & 1) != 0;
            std::uint8_t* o = out.row(y);
            if (levels_) {
                grey_row(in.row(y), ch, reverse);
                for (int x = 0; x < w; ++x)
                    write_grey(o, ch, x, levels_->code[idx_[static_cast<std::size_t>(x)]]);
            } else {
                if (reverse)
                    diffuse_colour_row<K, -1>(in.row(y), ch, *err_, w, spec_.strength, *target_,
                                              idx_.data());
                else
                    diffuse_colour_row<K, +1>(in.row(y), ch, *err_, w, spec_.strength, *target_,
                                              idx_.data());
                for (int x = 0; x < w; ++x)
                    write_colour(o, ch, x, palette_.colors()[idx_[static_cast<std::size_t>(x)]]);
            }
            if (ch == 4) copy_alpha(in.row(y), o, w);
            err_->advance();
        }
        if (ctx) ctx->report(h, h);
    }

  private:
    void grey_row(const std::uint8_t* p, int ch, bool reverse) {
        const GreyLevels& levels = *levels_;
        levels.luminance_row(p, ch, width_, lum_.data());
        const bool binary = levels.size() == 2;
        const float s = spec_.strength;
        if (reverse && binary)
            diffuse_grey_row<K, -1, true>(lum_.data(), *err_, width_, s, levels, idx_.data());
        else if (reverse)
            diffuse_grey_row<K, -1, false>(lum_.data(), *err_, width_, s, levels, idx_.data());
        else if (binary)
            diffuse_grey_row<K, +1, true>(lum_.data(), *err_, width_, s, levels, idx_.data());
        else
            diffuse_grey_row<K, +1, false>(lum_.data(), *err_, width_, s, levels, idx_.data());
    }

    Palette palette_;
    DitherSpec spec_;
    const WorkSpace& ws_;
    int width_;
    std::vector<std::uint8_t> idx_;
    std::vector<float> lum_;
    std::unique_ptr<GreyLevels> levels_;
    std::unique_ptr<ColourTarget> target_;
    std::unique_ptr<ErrorRows> err_;
};

std::unique_ptr<BandProcessor> make_diffuser(const Palette& palette, const DitherSpec& spec,
                                             int width) {
    switch (spec.method) {
        case DitherMethod::floyd_steinberg:
            return std::make_unique<Diffuser<k_floyd_steinberg>>(palette, spec, width);
        case DitherMethod::false_floyd_steinberg:
            return std::make_unique<Diffuser<k_false_fs>>(palette, spec, width);
        case DitherMethod::jarvis_judice_ninke:
            return std::make_unique<Diffuser<k_jjn>>(palette, spec, width);
        case DitherMethod::stucki:
            return std::make_unique<Diffuser<k_stucki>>(palette, spec, width);
        case DitherMethod::burkes:
            return std::make_unique<Diffuser<k_burkes>>(palette, spec, width);
        case DitherMethod::sierra3:
            return std::make_unique<Diffuser<k_sierra3>>(palette, spec, width);
        case DitherMethod::sierra2:
            return std::make_unique<Diffuser<k_sierra2>>(palette, spec, width);
        case DitherMethod::sierra_lite:
            return std::make_unique<Diffuser<k_sierra_lite>>(palette, spec, width);
        case DitherMethod::atkinson:
            return std::make_unique<Diffuser<k_atkinson>>(palette, spec, width);
        default:
            return nullptr;
    }
}

// One whole-image pass of a diffuser, with progress and cancellation.
template <const auto& K>
void diffuse(const Image& in, Image& out, const Palette& palette, const DitherSpec& spec,
             const EffectContext& ctx) {
    Diffuser<K>(palette, spec, in.width()).rows(in, out, ctx.origin_y, &ctx);
}

// ---- ordered thresholds -------------------------------------------------------------------

// A square threshold mask with power-of-two side, thresholds (rank + 0.5) / n² in (0, 1).
struct ThresholdMask {
    int size = 1;
    std::vector<float> t;

    static ThresholdMask from_ranks(int size, const int* rank) {
        ThresholdMask m;
        m.size = size;
        const auto n = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
        m.t.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            m.t[i] = (static_cast<float>(rank[i]) + 0.5f) / static_cast<float>(n);
        return m;
    }
    const float* row(std::int64_t y) const noexcept {
        return t.data() + static_cast<std::size_t>(y & (size - 1)) * static_cast<std::size_t>(size);
    }
};

ThresholdMask mask_for(const DitherSpec& spec) {
    switch (spec.method) {
        case DitherMethod::bayer2:
            return ThresholdMask::from_ranks(2, bayer_matrix(2).data());
        case DitherMethod::bayer4:
            return ThresholdMask::from_ranks(4, bayer_matrix(4).data());
        case DitherMethod::bayer8:
            return ThresholdMask::from_ranks(8, bayer_matrix(8).data());
        case DitherMethod::bayer16:
            return ThresholdMask::from_ranks(16, bayer_matrix(16).data());
        case DitherMethod::clustered_dot:
            return ThresholdMask::from_ranks(8, clustered_dot_matrix().data());
        case DitherMethod::blue_noise: {
            const BlueNoiseMask& bn = blue_noise_mask(blue_noise_size, spec.seed);
            const std::vector<int> rank(bn.rank.begin(), bn.rank.end());
            return ThresholdMask::from_ranks(bn.size, rank.data());
        }
        default: {
            ThresholdMask m;  // none: every threshold in the middle → nearest colour
            m.t = {0.5f};
            return m;
        }
    }
}

void ordered(const Image& in, Image& out, const Palette& palette, const DitherSpec& spec,
             const EffectContext& ctx) {
    const int w = in.width(), h = in.height(), ch = in.channels();
    const WorkSpace& ws = WorkSpace::get(spec.linear);
    ThresholdMask mask = mask_for(spec);
    const float s = spec.method == DitherMethod::none ? 0.f : spec.strength;
    for (float& t : mask.t) t = 0.5f + s * (t - 0.5f);
    const std::int64_t ox = ctx.origin_x, oy = ctx.origin_y;
    const int m = mask.size - 1;

    std::unique_ptr<GreyLevels> levels;
    std::unique_ptr<ColourTarget> target;
    float spread = 0.f;
    if (spec.luminance)
        levels = std::make_unique<GreyLevels>(palette, ws, spec.linear);
    else {
        // Colour thresholds offset all three channels alike, in sRGB whatever `linear` says:
        // there a palette's gaps are roughly even, while in linear light one spread would be
        // far too wide in the shadows and too narrow in the highlights.
        target = std::make_unique<ColourTarget>(palette, WorkSpace::get(false));
        if (s > 0.f) spread = palette.spread(false);
    }

    const auto rows = [&](int y0, int y1) {
        std::vector<float> lum(static_cast<std::size_t>(w));
        for (int y = y0; y < y1; ++y) {
            const std::uint8_t* p = in.row(y);
            std::uint8_t* o = out.row(y);
            const float* t = mask.row(oy + y);
            if (levels) {
                levels->luminance_row(p, ch, w, lum.data());
                for (int x = 0; x < w; ++x) {
                    const int k =
                        levels->threshold(lum[static_cast<std::size_t>(x)], t[(ox + x) & m]);
                    write_grey(o, ch, x, levels->code[static_cast<std::size_t>(k)]);
                }
            } else if (s == 0.f) {
                for (int x = 0; x < w; ++x) {
                    const std::uint8_t* q = p + static_cast<std::size_t>(x) * ch;
                    write_colour(o, ch, x,
                                 palette.colors()[static_cast<std::size_t>(
                                     palette.nearest_fast(q[0], q[1], q[2]))]);
                }
            } else {
                const auto& tw = target->ws.to_work;
                for (int x = 0; x < w; ++x) {
                    const std::uint8_t* q = p + static_cast<std::size_t>(x) * ch;
                    const float d = (t[(ox + x) & m] - 0.5f) * spread;
                    const int k = target->match(tw[q[0]] + d, tw[q[1]] + d, tw[q[2]] + d);
                    write_colour(o, ch, x, palette.colors()[static_cast<std::size_t>(k)]);
                }
            }
            if (ch == 4) copy_alpha(p, o, w);
        }
    };
    // Bands in order, rows inside a band in parallel: progress and cancellation stay on the
    // calling thread, and each row depends only on its own pixels.
    constexpr int band = 4 * band_rows;
    for (int y = 0; y < h; y += band) {
        ctx.throw_if_cancelled();
        ctx.report(y, h);
        const int y1 = std::min(h, y + band);
        util::parallel_rows(y1 - y, [&](int a, int b) { rows(y + a, y + b); });
    }
    ctx.report(h, h);
}

}  // namespace

// ---- public helpers -------------------------------------------------------------------------

std::unique_ptr<BandProcessor> dither_bands(const Palette& palette, const DitherSpec& spec,
                                            int width) {
    if (palette.size() == 0) throw Error(Status::invalid_argument, "dither: the palette is empty");
    if (spec.luminance && !palette.is_grey())
        throw Error(Status::invalid_argument, "dither: luminance matching needs a grey palette");
    return make_diffuser(palette, spec, width);
}

DitherSpec adaptive_spec(DitherSpec spec, const Palette& palette) {
    spec.error_limit = 2.f * palette.typical_gap();
    return spec;
}

std::size_t dither_row_bytes(std::size_t width) {
    return 3 * (width + 2 * pad) * 3 * sizeof(float) + 2 * width * sizeof(float);
}

Image dither_to_palette(const Image& input, const Palette& palette, const DitherSpec& spec,
                        const EffectContext& ctx) {
    if (input.empty() || input.type() != PixelType::u8 || input.channels() < 3)
        throw Error(Status::invalid_argument, "dither: expects u8 RGB or RGBA pixels");
    if (palette.size() == 0) throw Error(Status::invalid_argument, "dither: the palette is empty");
    if (spec.luminance && !palette.is_grey())
        throw Error(Status::invalid_argument, "dither: luminance matching needs a grey palette");
    Image out = Image::allocate(input.width(), input.height(), input.channels());
    switch (spec.method) {
        case DitherMethod::floyd_steinberg:
            diffuse<k_floyd_steinberg>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::false_floyd_steinberg:
            diffuse<k_false_fs>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::jarvis_judice_ninke:
            diffuse<k_jjn>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::stucki:
            diffuse<k_stucki>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::burkes:
            diffuse<k_burkes>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::sierra3:
            diffuse<k_sierra3>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::sierra2:
            diffuse<k_sierra2>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::sierra_lite:
            diffuse<k_sierra_lite>(input, out, palette, spec, ctx);
            break;
        case DitherMethod::atkinson:
            diffuse<k_atkinson>(input, out, palette, spec, ctx);
            break;
        default:
            ordered(input, out, palette, spec, ctx);
            break;
    }
    return out;
}
}  // namespace artistry::effects
