// color: colour grading. Order: the preset's grade, then the user's grade, then the .cube LUT.
// One grade = exposure and white balance (linear light) → contrast → gamma → fade, per channel
// on sRGB values; then saturation → vibrance → hue in Oklab LCh.
//
// How it runs fast on 8-bit input: the leading per-channel steps become one 256-entry table
// per channel; whatever mixes channels after that (Oklab steps, a second grade) is baked into
// a 33³ table sampled tetrahedrally, as grading tools do; the user's LUT is sampled last, from
// unquantised values, so every pixel is rounded to 8 bits once.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <numbers>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/row_progress.hpp"
#include "effects/tone/lut.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {

namespace {

constexpr const char* effect_name = "color";
constexpr int baked_size = 33;

struct Grade {
    double exposure = 0;     // stops
    double temperature = 0;  // -1 … 1, >0 warmer
    double tint = 0;         // -1 … 1, >0 magenta
    double contrast = 0;     // s_curve amount
    double gamma = 1;
    double fade = 0;  // black lifted to this level
    double saturation = 1;
    double vibrance = 0;
    double hue = 0;  // degrees

    bool tone_neutral() const {
        return exposure == 0 && temperature == 0 && tint == 0 && contrast == 0 && gamma == 1 &&
               fade == 0;
    }
    bool chroma_neutral() const { return saturation == 1 && vibrance == 0 && hue == 0; }
    bool operator==(const Grade&) const = default;
};

struct Preset {
    const char* name;
    Grade grade;
};
// Each look is a set of the same controls the user has (designated initialisers in order).
const Preset presets[] = {
    {"warm", {.temperature = 0.3, .tint = 0.05, .vibrance = 0.1}},
    {"cool", {.temperature = -0.3, .tint = -0.02, .vibrance = 0.05}},
    {"vintage", {.temperature = 0.15, .contrast = -0.2, .fade = 0.06, .saturation = 0.75}},
    {"vivid", {.contrast = 0.25, .saturation = 1.15, .vibrance = 0.3}},
    {"matte", {.contrast = -0.25, .fade = 0.1, .saturation = 0.9}},
};

// Per-channel steps of one grade, prepared.
class ToneStep {
  public:
    explicit ToneStep(const Grade& g) : g_(g) {
        // White balance as gains in linear light, scaled so grey keeps its luminance.
        const double r = std::exp2(0.6 * g.temperature), gg = std::exp2(-0.5 * g.tint),
                     b = std::exp2(-0.6 * g.temperature);
        const double y = util::luma_r * r + util::luma_g * gg + util::luma_b * b;
        const double e = std::exp2(g.exposure);
        gain_ = {e * r / y, e * gg / y, e * b / y};
        linear_ = g.exposure != 0 || g.temperature != 0 || g.tint != 0;
    }

    // sRGB-encoded [0, 1] in and out.
    double apply(int channel, double v) const {
        if (linear_) {
            const double lin = util::srgb_to_linear(static_cast<float>(v)) * gain_[channel];
            v = util::linear_to_srgb(static_cast<float>(lin));  // clips highlights at 1
        }
        v = s_curve(v, g_.contrast);
        if (g_.gamma != 1) v = std::pow(std::clamp(v, 0.0, 1.0), 1.0 / g_.gamma);
        return g_.fade + (1 - g_.fade) * v;
    }

  private:
    Grade g_;
    std::array<double, 3> gain_{};
    bool linear_ = false;
};

// Oklab steps of one grade, prepared; kept inside the sRGB gamut by reducing chroma.
class ChromaStep {
  public:
    explicit ChromaStep(const Grade& g) : g_(g) {
        const double h = g.hue * std::numbers::pi / 180.0;
        cos_ = static_cast<float>(std::cos(h));
        sin_ = static_cast<float>(std::sin(h));
    }

    void apply(float rgb[3]) const {
        const auto& t = g_;
        const util::Oklab in =
            util::linear_to_oklab(util::srgb_to_linear(rgb[0]), util::srgb_to_linear(rgb[1]),
                                  util::srgb_to_linear(rgb[2]));
        const float chroma = std::hypot(in.a, in.b);
        float scale = static_cast<float>(t.saturation);
        if (t.vibrance != 0 && chroma > 0) {
            // Boost muted colours most, saturated ones and skin-like hues (Oklab hue near 55°)
            // least.
            const float c = chroma * scale;
            const float muted = 1.f - std::min(c / 0.25f, 1.f);
            const float dh = std::remainder(std::atan2(in.b, in.a) * 57.29578f - 55.f, 360.f);
            const float skin = std::exp(-(dh / 25.f) * (dh / 25.f));
            scale *=
                std::max(0.f, 1.f + static_cast<float>(t.vibrance) * muted * (1.f - 0.75f * skin));
        }
        const float a = scale * (cos_ * in.a - sin_ * in.b);
        const float b = scale * (sin_ * in.a + cos_ * in.b);
        std::array<float, 3> lin;
        if (a == 0 && b == 0) {
            const float y = in.L * in.L * in.L;  // exact grey, so saturation 0 gives R = G = B
            lin = {y, y, y};
        } else {
            lin = util::oklab_to_linear({in.L, a, b});
            if (!inside(lin)) {
                // Largest chroma fraction at the same lightness and hue that fits the gamut.
                float lo = 0, hi = 1;
                for (int i = 0; i < 16; ++i) {
                    const float mid = 0.5f * (lo + hi);
                    (inside(util::oklab_to_linear({in.L, a * mid, b * mid})) ? lo : hi) = mid;
                }
                lin = util::oklab_to_linear({in.L, a * lo, b * lo});
            }
        }
        for (int c = 0; c < 3; ++c) rgb[c] = util::linear_to_srgb(lin[c]);
    }

  private:
    static bool inside(const std::array<float, 3>& v) {
        constexpr float eps = 1e-5f;
        return v[0] >= -eps && v[0] <= 1 + eps && v[1] >= -eps && v[1] <= 1 + eps && v[2] >= -eps &&
               v[2] <= 1 + eps;
    }
    Grade g_;
    float cos_ = 1, sin_ = 0;
};

// The grades' steps in order; the leading per-channel run becomes a table.
struct Pipeline {
    std::vector<ToneStep> lead;  // per channel, before anything mixes channels
    struct Step {
        std::optional<ToneStep> tone;
        std::optional<ChromaStep> chroma;
    };
    std::vector<Step> rest;

    explicit Pipeline(const std::vector<Grade>& grades) {
        for (const auto& g : grades) {
            if (!g.tone_neutral()) {
                if (rest.empty())
                    lead.emplace_back(g);
                else
                    rest.push_back({ToneStep(g), std::nullopt});
            }
            if (!g.chroma_neutral()) rest.push_back({std::nullopt, ChromaStep(g)});
        }
    }

    // sRGB-encoded in [0, 1]: the lead steps' output for each 8-bit code and channel.
    std::array<std::array<float, 256>, 3> lead_table() const {
        std::array<std::array<float, 256>, 3> t{};
        for (int c = 0; c < 3; ++c)
            for (int v = 0; v < 256; ++v) {
                double x = v / 255.0;
                for (const auto& step : lead) x = step.apply(c, x);
                t[c][v] = std::clamp(static_cast<float>(x), 0.f, 1.f);
            }
        return t;
    }

    void apply_rest(float rgb[3]) const {
        for (const auto& step : rest) {
            if (step.tone)
                for (int c = 0; c < 3; ++c)
                    rgb[c] = std::clamp(static_cast<float>(step.tone->apply(c, rgb[c])), 0.f, 1.f);
            if (step.chroma) step.chroma->apply(rgb);
        }
    }

    // The steps after the lead, sampled on an n³ grid over [0, 1]³ (red fastest).
    std::vector<float> bake(int n) const {
        std::vector<float> table(4 * static_cast<std::size_t>(n) * n * n);  // Lut3DSampler rows
        util::parallel_rows(
            n,
            [&](int b0, int b1) {
                for (int b = b0; b < b1; ++b)
                    for (int g = 0; g < n; ++g)
                        for (int r = 0; r < n; ++r) {
                            float rgb[3] = {static_cast<float>(r) / (n - 1),
                                            static_cast<float>(g) / (n - 1),
                                            static_cast<float>(b) / (n - 1)};
                            apply_rest(rgb);
                            float* out =
                                &table[4 * ((static_cast<std::size_t>(b) * n + g) * n + r)];
                            for (int c = 0; c < 3; ++c) out[c] = rgb[c];
                        }
            },
            1);
        return table;
    }
};

Grade user_grade(const Params& p) {
    Grade g;
    g.exposure = p.number("exposure");
    g.temperature = p.number("temperature");
    g.tint = p.number("tint");
    g.contrast = p.number("contrast");
    g.gamma = p.number("gamma");
    g.fade = p.number("fade");
    g.saturation = p.number("saturation");
    g.vibrance = p.number("vibrance");
    g.hue = p.number("hue");
    return g;
}

std::vector<Grade> grades_of(const Params& p) {
    std::vector<Grade> grades;
    for (const auto& preset : presets)
        if (p.text("preset") == preset.name) grades.push_back(preset.grade);
    grades.push_back(user_grade(p));
    return grades;
}

// The baked table of a pipeline, kept for the last few grades: a tiled run, or a batch with
// one look, bakes once instead of once per tile or image.
std::shared_ptr<const std::vector<float>> baked_grade(const std::vector<Grade>& grades,
                                                      const Pipeline& pipeline) {
    static std::mutex mutex;
    static std::vector<std::pair<std::vector<Grade>, std::shared_ptr<const std::vector<float>>>>
        recent;  // most recent last
    constexpr std::size_t keep = 4;
    {
        const std::lock_guard lock(mutex);
        for (const auto& [key, table] : recent)
            if (key == grades) return table;
    }
    auto table = std::make_shared<const std::vector<float>>(pipeline.bake(baked_size));
    const std::lock_guard lock(mutex);
    if (recent.size() == keep) recent.erase(recent.begin());
    recent.emplace_back(grades, table);
    return table;
}

// Runs body(in_row, out_row) over every row in parallel bands, with progress and cancel.
template <class Body>
void for_each_row(const Image& in, Image& out, const EffectContext& ctx, Body&& body) {
    util::RowProgress progress(ctx, in.height());
    util::parallel_rows(in.height(), [&](int y0, int y1) {
        ctx.throw_if_cancelled();
        for (int y = y0; y < y1; ++y) body(in.row(y), out.row(y));
        progress.add(y1 - y0);
    });
}

// What the pixel loop needs besides the lead table, prepared once per run.
struct Stages {
    const std::array<std::array<float, 256>, 3>* lead = nullptr;
    std::shared_ptr<const std::vector<float>> baked;  // the grade after the lead, baked_size³
    std::optional<Lut3DSampler> grade;
    std::array<std::array<Lut3DSampler::Cell, 256>, 3> grade_cells{};  // each code's lead value
    const CubeLut* lut = nullptr;                                      // the user's LUT
    std::optional<Lut3DSampler> cube;
    std::array<std::array<float, 256>, 3> shaped{};  // without a baked grade: each code's LUT input
    std::array<std::array<Lut3DSampler::Cell, 256>, 3> cube_cells{};
    LutInterpolation mode = LutInterpolation::tetrahedral;
    float strength = 1;
};

inline std::uint8_t to_u8(float v) {
    return static_cast<std::uint8_t>(std::clamp(v * 255.f + 0.5f, 0.f, 255.f));
}

// One row through the stages; the template flags keep absent stages out of the loop.
template <bool Graded, bool Looked>
void grade_row(const Stages& s, const std::uint8_t* p, std::uint8_t* q, int width, int ch) {
    const auto& lead = *s.lead;
    for (int x = 0; x < width; ++x, p += ch, q += ch) {
        float v[3];
        if constexpr (Graded) {
            s.grade->tetrahedral(s.grade_cells[0][p[0]], s.grade_cells[1][p[1]],
                                 s.grade_cells[2][p[2]], v);
        } else {
            v[0] = lead[0][p[0]], v[1] = lead[1][p[1]], v[2] = lead[2][p[2]];
        }
        if constexpr (Looked) {
            float l[3];
            if constexpr (Graded) {
                float in[3] = {v[0], v[1], v[2]};
                if (s.lut->size_1d > 0)
                    for (int c = 0; c < 3; ++c) in[c] = sample_1d(*s.lut, c, in[c]);
                if (s.cube)
                    s.cube->sample(s.mode, in, l);
                else
                    l[0] = in[0], l[1] = in[1], l[2] = in[2];
            } else if (s.cube) {
                const auto &r = s.cube_cells[0][p[0]], &g = s.cube_cells[1][p[1]],
                           &b = s.cube_cells[2][p[2]];
                if (s.mode == LutInterpolation::tetrahedral)
                    s.cube->tetrahedral(r, g, b, l);
                else
                    s.cube->trilinear(r, g, b, l);
            } else {
                l[0] = s.shaped[0][p[0]], l[1] = s.shaped[1][p[1]], l[2] = s.shaped[2][p[2]];
            }
            for (int c = 0; c < 3; ++c) v[c] += s.strength * (l[c] - v[c]);
        }
        q[0] = to_u8(v[0]), q[1] = to_u8(v[1]), q[2] = to_u8(v[2]);
        if (ch == 4) q[3] = p[3];
    }
}

struct Settings {
    std::vector<Grade> grades;  // the preset's, then the explicit controls'
    std::string lut;            // .cube path; empty: none
    float lut_strength = 1;
    LutInterpolation lut_interpolation = LutInterpolation::tetrahedral;
};

Settings read_settings(const Params& p) {
    Settings s;
    s.grades = grades_of(p);
    s.lut = p.text("lut");
    s.lut_strength = static_cast<float>(p.number("lut_strength"));
    s.lut_interpolation = p.text("lut_interpolation") == "trilinear"
                              ? LutInterpolation::trilinear
                              : LutInterpolation::tetrahedral;
    return s;
}

Image run(const Image& in, const Params& params, const EffectContext& ctx) {
    const Settings& settings = params.settings<Settings>();
    const int w = in.width(), ch = in.channels();
    const auto& grades = settings.grades;
    const Pipeline pipeline(grades);

    std::shared_ptr<const CubeLut> lut;
    const float strength = settings.lut_strength;
    if (!settings.lut.empty() && strength > 0) lut = load_cube(settings.lut);
    const auto mode = settings.lut_interpolation;

    if (pipeline.lead.empty() && pipeline.rest.empty() && !lut) {
        ctx.report(in.height(), in.height());
        return in.clone();
    }
    const auto lead = pipeline.lead_table();
    Image out = Image::allocate(in.width(), in.height(), ch);

    if (pipeline.rest.empty() && !lut) {
        // Per channel only: one 8-bit table per channel.
        std::array<std::array<std::uint8_t, 256>, 3> t{};
        for (int c = 0; c < 3; ++c)
            for (int v = 0; v < 256; ++v) t[c][v] = to_u8(lead[c][v]);
        for_each_row(in, out, ctx, [&](const std::uint8_t* p, std::uint8_t* q) {
            for (int x = 0; x < w; ++x, p += ch, q += ch) {
                q[0] = t[0][p[0]], q[1] = t[1][p[1]], q[2] = t[2][p[2]];
                if (ch == 4) q[3] = p[3];
            }
        });
        return out;
    }

    Stages stages;
    stages.lead = &lead;
    stages.strength = strength;
    stages.mode = mode;
    if (!pipeline.rest.empty()) {
        stages.baked = baked_grade(grades, pipeline);
        stages.grade.emplace(stages.baked->data(), baked_size, std::array<float, 3>{0, 0, 0},
                             std::array<float, 3>{1, 1, 1});
        for (int c = 0; c < 3; ++c)
            for (int v = 0; v < 256; ++v)
                stages.grade_cells[c][v] = stages.grade->locate(c, lead[c][v]);
    }
    if (lut) {
        stages.lut = lut.get();
        if (lut->size_3d > 0)
            stages.cube.emplace(lut->table_3d.data(), lut->size_3d, lut->min_3d, lut->max_3d);
        for (int c = 0; c < 3; ++c)
            for (int v = 0; v < 256; ++v) {
                const float x = lut->size_1d > 0 ? sample_1d(*lut, c, lead[c][v]) : lead[c][v];
                stages.shaped[c][v] = x;
                if (stages.cube) stages.cube_cells[c][v] = stages.cube->locate(c, x);
            }
    }
    const auto kernel = stages.grade ? (lut ? grade_row<true, true> : grade_row<true, false>)
                                     : grade_row<false, true>;
    for_each_row(in, out, ctx,
                 [&](const std::uint8_t* p, std::uint8_t* q) { kernel(stages, p, q, w, ch); });
    return out;
}

}  // namespace

void register_color(EffectRegistry& registry) {
    EffectInfo e;
    e.name = effect_name;
    e.version = 1;
    e.summary =
        "Colour grading, in this order: preset, then exposure → temperature/tint → contrast → "
        "gamma → fade → saturation → vibrance → hue, then the .cube LUT mixed by lut_strength";
    std::vector<std::string> preset_names{"none"};
    for (const auto& p : presets) preset_names.push_back(p.name);
    e.params = {
        param::choice(
            "preset", "none", preset_names,
            "a look made of these same controls, applied as a first grade; the explicit controls "
            "are applied after it as a second grade"),
        param::number("exposure", 0.0, -5, 5,
                      "exposure in stops, in linear light (+1 doubles the light)"),
        param::number(
            "temperature", 0.0, -1, 1,
            "white balance: >0 warmer (more red, less blue), <0 cooler; grey keeps its luminance"),
        param::number("tint", 0.0, -1, 1, "white balance: >0 magenta, <0 green"),
        param::number(
            "contrast", 0.0, -1, 1,
            "S-curve contrast per channel, pinned at black and white: >0 punchier, <0 flatter"),
        param::number("gamma", 1.0, 0.2, 5,
                      "midtone gamma on sRGB values, out = in^(1/gamma): >1 lighter"),
        param::number("fade", 0.0, 0, 0.5, "lifts black to this level for a matte look (0 = none)"),
        param::number("saturation", 1.0, 0, 4,
                      "chroma multiplier in Oklab: 0 grey, 1 unchanged, 2 double"),
        param::number(
            "vibrance", 0.0, -1, 1,
            "saturation that favours muted colours and spares saturated and skin-like hues"),
        param::number(
            "hue", 0.0, -180, 180,
            "hue rotation in degrees in Oklab LCh, keeping lightness: >0 turns red toward yellow"),
        param::file("lut", "path of a .cube 3D (or 1D) LUT applied after the grade; empty = none",
                    [](const std::string& path) {
                        return path.empty() ? std::string() : check_cube_file(path);
                    }),
        param::choice("lut_interpolation", "tetrahedral", {"trilinear", "tetrahedral"},
                      "how the 3D LUT is sampled between its grid points"),
        param::number("lut_strength", 1.0, 0, 1,
                      "mix of the LUT's output: 0 = graded image only, 1 = full LUT"),
    };
    e.decode = decoder(read_settings);
    e.describe = [](const Params& p, int w, int h, const EffectContext&) {
        const Settings& s = p.settings<Settings>();
        std::size_t lut_bytes = 0;
        if (!s.lut.empty()) {
            try {
                const auto lut = load_cube(s.lut);
                lut_bytes = (lut->table_3d.size() + lut->table_1d.size()) * sizeof(float);
            } catch (const Error&) {  // the run itself reports an unreadable LUT
            }
        }
        EffectPlan plan;
        plan.memory_bytes = static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4 +
                            4 * sizeof(float) * baked_size * baked_size * baked_size + lut_bytes;
        return plan;
    };
    e.render = run;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
