// enhanced_bw: a photographer's black-and-white conversion. A channel mix in linear light
// (coloured-filter presets, as on film), optional CLAHE local contrast, an S-curve and
// brightness, then seeded film grain. Output R = G = B; alpha is kept.

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/opencv.hpp"
#include "effects/builtin.hpp"
#include "effects/lut.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"
#include "util/row_progress.hpp"
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

// Contrast-limited adaptive histogram equalisation of an 8-bit grey plane. Kept alone: the
// tiling issue replaces it with one whose tile histograms are gathered as global statistics.
cv::Mat local_contrast(const cv::Mat& gray, double clip, int grid) {
    const int gx = std::clamp(grid, 1, gray.cols), gy = std::clamp(grid, 1, gray.rows);
    cv::Mat out;
    cv::createCLAHE(clip, cv::Size(gx, gy))->apply(gray, out);
    return out;
}

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

Image run(const Image& in, const Params& params, const EffectContext& ctx) {
    const Settings s = read_settings(params);
    const int w = in.width(), h = in.height(), ch = in.channels();
    const auto mix = mix_tables(s);
    const Grain grain(s);
    const bool with_grain = s.grain > 0;

    // Linear-light mix of one input row into 8-bit values through `encode`.
    const auto mix_row = [&](int y, const std::vector<std::uint8_t>& encode, std::uint8_t* gray) {
        const std::uint8_t* p = in.row(y);
        for (int x = 0; x < w; ++x, p += ch) {
            const std::int32_t sum = mix[0][p[0]] + mix[1][p[1]] + mix[2][p[2]];
            gray[x] = encode[std::clamp(sum, 0, mix_one)];
        }
    };
    const auto finish_row = [&](int y, std::uint8_t* gray, Image& out,
                                std::vector<float>& scratch) {
        if (with_grain) grain.apply(gray, w, ctx.origin_x, std::int64_t{ctx.origin_y} + y, scratch);
        write_row(gray, in.row(y), out.row(y), w, ch);
    };

    Image out = Image::allocate(w, h, ch);
    if (!s.clahe) {
        const auto encode = encode_table(s, true);
        util::RowProgress progress(ctx, h);
        util::parallel_rows(h, [&](int y0, int y1) {
            ctx.throw_if_cancelled();
            std::vector<std::uint8_t> gray(static_cast<std::size_t>(w));
            std::vector<float> scratch;
            for (int y = y0; y < y1; ++y) {
                mix_row(y, encode, gray.data());
                finish_row(y, gray.data(), out, scratch);
            }
            progress.add(y1 - y0);
        });
        return out;
    }

    // With CLAHE: mix into a grey plane, equalise it, then tone, grain and expand.
    const auto encode = encode_table(s, false);
    std::array<std::uint8_t, 256> tone_table{};
    for (int v = 0; v < 256; ++v) tone_table[v] = to_u8(tone(v / 255.0, s));
    util::RowProgress progress(ctx, 2 * static_cast<std::int64_t>(h));
    cv::Mat gray(h, w, CV_8UC1);
    util::parallel_rows(h, [&](int y0, int y1) {
        ctx.throw_if_cancelled();
        for (int y = y0; y < y1; ++y) mix_row(y, encode, gray.ptr<std::uint8_t>(y));
        progress.add(y1 - y0);
    });
    ctx.throw_if_cancelled();
    cv::Mat equalised = local_contrast(gray, s.clahe_clip, s.clahe_grid);
    util::parallel_rows(h, [&](int y0, int y1) {
        ctx.throw_if_cancelled();
        std::vector<std::uint8_t> row(static_cast<std::size_t>(w));
        std::vector<float> scratch;
        for (int y = y0; y < y1; ++y) {
            const std::uint8_t* e = equalised.ptr<std::uint8_t>(y);
            for (int x = 0; x < w; ++x) row[x] = tone_table[e[x]];
            finish_row(y, row.data(), out, scratch);
        }
        progress.add(y1 - y0);
    });
    return out;
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
        {"filter",
         ParamType::choice,
         std::string("neutral"),
         0,
         0,
         filter_names,
         "coloured filter as on B&W film: red/orange darken blue skies and lighten reds, green "
         "lightens foliage, blue lightens skies; custom uses weight_r/g/b",
         {}},
        {"weight_r",
         ParamType::number,
         0.0,
         -2,
         2,
         {},
         "filter=custom: weight of linear red (the weights are scaled to sum to 1; their sum "
         "must not be 0)",
         {}},
        {"weight_g",
         ParamType::number,
         0.0,
         -2,
         2,
         {},
         "filter=custom: weight of linear green",
         {}},
        {"weight_b", ParamType::number, 0.0, -2, 2, {}, "filter=custom: weight of linear blue", {}},
        {"clahe",
         ParamType::boolean,
         true,
         0,
         0,
         {},
         "local contrast by contrast-limited adaptive histogram equalisation (CLAHE)",
         {}},
        {"clahe_clip",
         ParamType::number,
         2.0,
         0,
         40,
         {},
         "CLAHE clip limit: higher gives stronger local contrast (0 = unlimited)",
         {}},
        {"clahe_grid",
         ParamType::integer,
         std::int64_t{8},
         1,
         64,
         {},
         "CLAHE tiles along each side of the image",
         {}},
        {"contrast",
         ParamType::number,
         0.0,
         -1,
         1,
         {},
         "S-curve contrast pinned at black and white: >0 punchier, <0 flatter, 0 none",
         {}},
        {"brightness",
         ParamType::number,
         0.0,
         -1,
         1,
         {},
         "midtone brightness (a power curve that keeps black and white): >0 lighter",
         {}},
        {"grain",
         ParamType::number,
         0.0,
         0,
         1,
         {},
         "film grain strength, strongest in the midtones (0 = none)",
         {}},
        {"grain_size", ParamType::number, 1.0, 1, 8, {}, "film grain clump size in pixels", {}},
        {"seed",
         ParamType::integer,
         std::int64_t{0},
         0,
         4294967295.0,
         {},
         "grain seed: the same seed gives the same grain",
         {}},
    };
    e.footprint = [](const Params& p) {
        // CLAHE's tile histograms are statistics of the whole image; the rest is per pixel
        // (grain depends only on absolute coordinates).
        return p.flag("clahe") ? Footprint{Footprint::Kind::global, 0}
                               : Footprint{Footprint::Kind::point, 0};
    };
    e.memory_estimate = [](int w, int h, const Params& p) {
        const std::size_t px = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
        return px * 4 + (p.flag("clahe") ? 2 * px : 0) + (mix_one + 1);
    };
    e.run = run;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
