// The `dither` effect: its schema, settings and the adaptive palette's streamed analysis.

#include <algorithm>
#include <memory>

#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/pixel_art/dither.hpp"

namespace artistry::effects {

namespace {

std::vector<std::string> dither_palette_choices() {
    std::vector<std::string> c = {"bw", "grey"};
    for (auto& n : named_palette_names()) c.push_back(n);
    c.push_back("custom");
    c.push_back("adaptive");
    return c;
}

struct Settings {
    DitherSpec spec;  // luminance: bw and grey palettes, matched by luminance
    bool adaptive = false;
    Palette palette;  // a fixed palette (adaptive: the analysis fits one to the image)
    int colors = 16;  // adaptive
    AdaptiveMethod adaptive_method = AdaptiveMethod::hull_kmeans;
};

Settings read_settings(const Params& p) {
    Settings s;
    s.spec.method = parse_dither_method(p.text("method"));
    s.spec.serpentine = p.flag("serpentine");
    s.spec.strength = static_cast<float>(p.number("strength"));
    s.spec.linear = p.flag("linear");
    s.spec.seed = static_cast<std::uint64_t>(p.integer("seed"));
    const std::string& name = p.text("palette");
    s.spec.luminance = name == "bw" || name == "grey";
    s.adaptive = name == "adaptive";
    s.colors = static_cast<int>(p.integer("colors_count"));
    s.adaptive_method = parse_adaptive_method(p.text("adaptive_method"));
    if (name == "bw")
        s.palette = grey_palette(2);
    else if (name == "grey")
        s.palette = grey_palette(static_cast<int>(p.integer("levels")));
    else if (name == "custom")
        s.palette = parse_hex_palette(p.text("colors"));
    else if (!s.adaptive)
        s.palette = named_palette(name);
    return s;
}

// The adaptive palette's streamed analysis: every row into the palette builder.
class PaletteAnalyzer final : public Analyzer {
  public:
    PaletteAnalyzer(const Settings& s, int width, int height)
        : builder_(s.colors, s.adaptive_method, s.spec.seed, width, height) {}
    void add_rows(const Image& band, int y0) override { builder_.add_rows(band, y0); }
    std::shared_ptr<const void> finish() override {
        return std::make_shared<const Palette>(builder_.finish());
    }

  private:
    AdaptivePaletteBuilder builder_;
};

// The palette to dither to: the fixed one, or the adaptive one from the analysis.
const Palette& palette_of(const Settings& s, const std::shared_ptr<const void>& analysis) {
    if (!s.adaptive) return s.palette;
    if (!analysis) throw Error(Status::internal, "dither: an adaptive palette's state is missing");
    return *static_cast<const Palette*>(analysis.get());
}

DitherSpec spec_for(const Settings& s, const Palette& palette) {
    return s.adaptive ? adaptive_spec(s.spec, palette) : s.spec;
}

EffectPlan describe(const Params& p, int w, int h, const EffectContext&) {
    const Settings& s = p.settings<Settings>();
    EffectPlan plan;
    if (s.adaptive)
        plan.footprint = {Footprint::Kind::global, 0};
    else if (is_error_diffusion(s.spec.method))
        plan.footprint = {Footprint::Kind::sequential, 0};
    const auto wz = static_cast<std::size_t>(std::max(w, 0));
    std::size_t bytes = wz * static_cast<std::size_t>(std::max(h, 0)) * 4;  // output (≤ RGBA)
    bytes += dither_row_bytes(wz);
    // Colour lookup table (1 MiB) and its exact blocks for contested cells (a few MiB at most).
    if (!s.spec.luminance) bytes += std::size_t{4} << 20;
    if (s.adaptive) bytes += adaptive_palette_bytes;
    plan.memory_bytes = bytes;
    return plan;
}

}  // namespace

void register_dither(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "dither";
    e.version = 2;  // 2: adaptive palettes are hull_kmeans by default, their error limited
    e.summary =
        "Reduce to a palette with error diffusion, ordered (Bayer, clustered dot) or "
        "blue-noise dithering";
    e.params = {
        param::choice(
            "method", "floyd_steinberg", dither_method_names(),
            "error diffusion (floyd_steinberg … atkinson), ordered (bayer2..16, clustered_dot), "
            "blue_noise (void-and-cluster mask), or none (nearest colour)"),
        param::choice(
            "palette", "bw", dither_palette_choices(),
            "bw/grey match luminance and give R=G=B; the retro sets, custom and adaptive match "
            "colour in Oklab"),
        param::integer(
            "levels", 4, 2, 256,
            "palette=grey: number of evenly spaced grey levels, black and white included"),
        param::text("colors", "#000000,#ffffff",
                    "palette=custom: hex colours, e.g. '#1a1c2c,#5d275d,#b13e53' (2 to 256)",
                    check_hex_palette),
        param::integer("colors_count", 16, 2, 256,
                       "palette=adaptive: how many colours to fit to the image"),
        param::choice("adaptive_method", "hull_kmeans", adaptive_method_names(),
                      adaptive_method_help()),
        param::flag("serpentine", true,
                    "error diffusion: scan odd rows right to left (breaks up directional worms)"),
        param::number("strength", 1.0, 0, 1,
                      "error diffusion: fraction of the error passed on; ordered/blue_noise: "
                      "threshold spread "
                      "(0 = nearest colour)"),
        param::flag(
            "linear", true,
            "work in linear light so the dots' average light matches the photo (true); false: in "
            "sRGB codes like most paint programs (lighter midtones); ordered colour offsets stay "
            "sRGB"),
        param::integer("seed", 0, 0, 2147483647,
                       "blue_noise: which mask; adaptive kmeans: the starting colours"),
    };
    e.output_format = OutputFormat::lossless;
    e.decode = decoder(read_settings);
    e.describe = describe;
    e.render = [](const Image& in, const Params& p, const EffectContext& ctx) {
        const Settings& s = p.settings<Settings>();
        const Palette& palette = palette_of(s, ctx.analysis);
        return dither_to_palette(in, palette, spec_for(s, palette), ctx);
    };
    e.begin_bands =
        [](const Params& p, int width, int, const EffectContext&,
           const std::shared_ptr<const void>& analysis) -> std::unique_ptr<BandProcessor> {
        const Settings& s = p.settings<Settings>();
        // Adaptive: once analysed, error diffusion runs in bands; other methods per tile.
        if (s.adaptive && !analysis) return nullptr;
        const Palette& palette = palette_of(s, analysis);
        return dither_bands(palette, spec_for(s, palette), width);
    };
    // Adaptive palettes: the palette from a streamed pass, then the dither with it.
    e.begin_analysis = [](const Params& p, int width, int height,
                          const EffectContext&) -> std::unique_ptr<Analyzer> {
        const Settings& s = p.settings<Settings>();
        if (!s.adaptive) return nullptr;
        return std::make_unique<PaletteAnalyzer>(s, width, height);
    };
    registry.add(std::move(e));
}

}  // namespace artistry::effects
