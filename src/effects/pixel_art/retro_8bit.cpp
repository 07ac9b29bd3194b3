// retro_8bit: big pixels in a retro console palette. Each block of the grid anchored at
// absolute (0, 0) is averaged, the block image is mapped (optionally dithered) to the palette,
// and scaled back nearest-neighbour.

#include <algorithm>

#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/pixel_art/dither.hpp"
#include "effects/pixel_art/palette.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The block grid as it falls on this input: the first block's absolute index and how many.
struct BlockGrid {
    int block;
    std::int64_t first_x, first_y;  // absolute block index of the input's first column/row
    int cols, rows;

    BlockGrid(int b, const Image& in, const EffectContext& ctx) : block(b) {
        first_x = floor_div(ctx.origin_x, b);
        first_y = floor_div(ctx.origin_y, b);
        cols = static_cast<int>(floor_div(ctx.origin_x + in.width() - 1, b) - first_x + 1);
        rows = static_cast<int>(floor_div(ctx.origin_y + in.height() - 1, b) - first_y + 1);
    }
    // The input columns [x0, x1) covered by block column i (partial at the edges).
    void span_x(int i, const EffectContext& ctx, int width, int& x0, int& x1) const {
        const std::int64_t a = (first_x + i) * block - ctx.origin_x;
        x0 = static_cast<int>(std::max<std::int64_t>(0, a));
        x1 = static_cast<int>(std::min<std::int64_t>(width, a + block));
    }
    void span_y(int j, const EffectContext& ctx, int height, int& y0, int& y1) const {
        const std::int64_t a = (first_y + j) * block - ctx.origin_y;
        y0 = static_cast<int>(std::max<std::int64_t>(0, a));
        y1 = static_cast<int>(std::min<std::int64_t>(height, a + block));
    }
};

// Area average of every block: in linear light or in sRGB codes, weighted by alpha so a
// cut-out's transparent background does not tint its edge blocks. A block's alpha in the
// small image is its largest alpha (0 only when the whole block is transparent).
Image average_blocks(const Image& in, const BlockGrid& grid, bool linear,
                     const EffectContext& ctx) {
    const int ch = in.channels();
    Image small = Image::allocate(grid.cols, grid.rows, ch);
    const auto& to_lin = util::srgb8_to_linear_table();
    util::parallel_rows(
        grid.rows,
        [&](int j0, int j1) {
            std::vector<double> acc(static_cast<std::size_t>(grid.cols) * 5);
            for (int j = j0; j < j1; ++j) {
                std::fill(acc.begin(), acc.end(), 0.0);
                int y0 = 0, y1 = 0;
                grid.span_y(j, ctx, in.height(), y0, y1);
                std::vector<std::uint8_t> max_alpha(static_cast<std::size_t>(grid.cols), 0);
                for (int y = y0; y < y1; ++y) {
                    const std::uint8_t* p = in.row(y);
                    for (int i = 0; i < grid.cols; ++i) {
                        int x0 = 0, x1 = 0;
                        grid.span_x(i, ctx, in.width(), x0, x1);
                        double* a = &acc[static_cast<std::size_t>(i) * 5];
                        for (int x = x0; x < x1; ++x) {
                            const std::uint8_t* q = p + static_cast<std::size_t>(x) * ch;
                            const double wgt = ch == 4 ? q[3] : 1.0;
                            for (int c = 0; c < 3; ++c)
                                a[c] += wgt * (linear ? static_cast<double>(to_lin[q[c]]) : q[c]);
                            a[3] += wgt;
                            a[4] += 1.0;
                            if (ch == 4)
                                max_alpha[static_cast<std::size_t>(i)] =
                                    std::max(max_alpha[static_cast<std::size_t>(i)], q[3]);
                        }
                    }
                }
                std::uint8_t* o = small.row(j);
                for (int i = 0; i < grid.cols; ++i) {
                    const double* a = &acc[static_cast<std::size_t>(i) * 5];
                    std::uint8_t* q = o + static_cast<std::size_t>(i) * ch;
                    // All transparent: fall back to the plain average so the colour is defined.
                    double sum[3] = {a[0], a[1], a[2]}, wsum = a[3];
                    if (wsum <= 0) {
                        int x0 = 0, x1 = 0;
                        grid.span_x(i, ctx, in.width(), x0, x1);
                        sum[0] = sum[1] = sum[2] = 0;
                        for (int y = y0; y < y1; ++y)
                            for (int x = x0; x < x1; ++x)
                                for (int c = 0; c < 3; ++c) {
                                    const std::uint8_t v =
                                        in.row(y)[static_cast<std::size_t>(x) * ch + c];
                                    sum[c] += linear ? static_cast<double>(to_lin[v]) : v;
                                }
                        wsum = a[4];
                    }
                    for (int c = 0; c < 3; ++c) {
                        const double m = sum[c] / wsum;
                        q[c] = linear ? util::linear_to_srgb8(static_cast<float>(m))
                                      : util::clamp_u8(static_cast<float>(m));
                    }
                    if (ch == 4) q[3] = max_alpha[static_cast<std::size_t>(i)];
                }
            }
        },
        1);
    return small;
}

std::vector<std::string> retro_dither_choices() {
    std::vector<std::string> c = {"none"};
    for (auto& n : dither_method_names())
        if (n != "none") c.push_back(n);
    return c;
}

std::vector<std::string> retro_palette_choices() {
    auto c = named_palette_names();
    c.push_back("adaptive");
    return c;
}

struct Settings {
    int block = 8;
    bool linear = true;
    bool adaptive = false;
    Palette palette;  // a named palette (adaptive: the analysis fits one to the image)
    int colors = 16;  // adaptive
    AdaptiveMethod adaptive_method = AdaptiveMethod::hull_kmeans;
    std::uint64_t seed = 0;
    bool dither = false;    // the block image is dithered …
    bool diffused = false;  // … by error diffusion
    DitherSpec spec;
};

Settings read_settings(const Params& p) {
    Settings s;
    s.block = static_cast<int>(p.integer("block"));
    s.linear = p.flag("linear");
    const std::string& pal = p.text("palette");
    s.adaptive = pal == "adaptive";
    if (!s.adaptive) s.palette = named_palette(pal);
    s.colors = static_cast<int>(p.integer("colors"));
    s.adaptive_method = parse_adaptive_method(p.text("adaptive_method"));
    s.seed = static_cast<std::uint64_t>(p.integer("seed"));
    const std::string& d = p.text("dither");
    s.spec.method = parse_dither_method(d);
    s.spec.strength = static_cast<float>(p.number("dither_strength"));
    s.spec.linear = s.linear;
    s.spec.seed = s.seed;
    s.dither = d != "none";
    s.diffused = s.dither && is_error_diffusion(s.spec.method);
    return s;
}

const Palette& palette_of(const Settings& s, const std::shared_ptr<const void>& analysis) {
    if (!s.adaptive) return s.palette;
    if (!analysis)
        throw Error(Status::internal, "retro_8bit: an adaptive palette's state is missing");
    return *static_cast<const Palette*>(analysis.get());
}

DitherSpec spec_for(const Settings& s, const Palette& palette) {
    return s.adaptive ? adaptive_spec(s.spec, palette) : s.spec;
}

// Scales the mapped block image back over `in`'s pixels, nearest neighbour, into `out` (the
// size of `in`); alpha stays the input's, pixel by pixel.
void expand_blocks(const Image& in, const Image& mapped, const BlockGrid& grid,
                   const EffectContext& ctx, Image& out, std::int64_t units_before,
                   std::int64_t total) {
    const int b = grid.block, w = in.width(), h = in.height(), ch = in.channels();
    std::vector<std::size_t> src_offset(static_cast<std::size_t>(w));  // column → block pixel
    for (int x = 0; x < w; ++x)
        src_offset[static_cast<std::size_t>(x)] =
            static_cast<std::size_t>(floor_div(ctx.origin_x + x, b) - grid.first_x) *
            static_cast<std::size_t>(ch);
    constexpr int band = 256;
    for (int y0 = 0; y0 < h; y0 += band) {
        ctx.throw_if_cancelled();
        ctx.report(units_before + y0, total);
        const int y1 = std::min(h, y0 + band);
        util::parallel_rows(y1 - y0, [&](int a, int z) {
            for (int y = y0 + a; y < y0 + z; ++y) {
                const auto j = static_cast<int>(floor_div(ctx.origin_y + y, b) - grid.first_y);
                const std::uint8_t* src = mapped.row(j);
                const std::uint8_t* ip = in.row(y);
                std::uint8_t* o = out.row(y);
                for (int x = 0; x < w; ++x) {
                    std::uint8_t* q = o + static_cast<std::size_t>(x) * ch;
                    const std::uint8_t* sp = src + src_offset[static_cast<std::size_t>(x)];
                    q[0] = sp[0];
                    q[1] = sp[1];
                    q[2] = sp[2];
                    if (ch == 4) q[3] = ip[static_cast<std::size_t>(x) * 4 + 3];
                }
            }
        });
    }
}

// The effect on any region `in` of the image at ctx (whole blocks: the halo of a local
// footprint); palette=adaptive takes its palette from the analysis (ctx.analysis).
Image render(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    const int h = in.height();
    const int total = 2 * h;
    ctx.report(0, total);

    const BlockGrid grid(s.block, in, ctx);
    const Image small = average_blocks(in, grid, s.linear, ctx);
    ctx.throw_if_cancelled();
    ctx.report(h / 2, total);

    EffectContext small_ctx;  // the block image's place: absolute block indices
    small_ctx.origin_x = static_cast<int>(grid.first_x);
    small_ctx.origin_y = static_cast<int>(grid.first_y);
    small_ctx.cancel = ctx.cancel;
    const Palette& palette = palette_of(s, ctx.analysis);
    const Image mapped = dither_to_palette(small, palette, spec_for(s, palette), small_ctx);
    ctx.throw_if_cancelled();
    ctx.report(h, total);

    Image out = Image::allocate(in.width(), h, in.channels());
    expand_blocks(in, mapped, grid, ctx, out, h, total);
    ctx.report(total, total);
    return out;
}

// Error diffusion over block rows: bands of whole block rows (Footprint::band_alignment) are
// averaged, their block rows diffused in order by one carried diffuser, and scaled back.
class BlockBands final : public BandProcessor {
  public:
    BlockBands(const Settings& s, const Palette& palette, int width)
        : block_(s.block), linear_(s.linear) {
        const int cols = static_cast<int>((std::int64_t{width} + block_ - 1) / block_);
        diffuser_ = dither_bands(palette, spec_for(s, palette), cols);
    }
    void process(const Image& in, Image& out, int y0) override {
        if (y0 % block_ != 0)
            throw Error(Status::internal, "retro_8bit: a band does not start on a block row");
        EffectContext ctx;
        ctx.origin_y = y0;
        const BlockGrid grid(block_, in, ctx);
        const Image small = average_blocks(in, grid, linear_, ctx);
        Image mapped = Image::allocate(small.width(), small.height(), small.channels());
        diffuser_->process(small, mapped, static_cast<int>(grid.first_y));
        expand_blocks(in, mapped, grid, ctx, out, 0, 0);
    }

  private:
    int block_;
    bool linear_;
    std::unique_ptr<BandProcessor> diffuser_;
};

// palette=adaptive, streamed: the block image's rows (bands arrive block-aligned) into the
// palette builder, which then fits what adaptive_palette fits to the whole block image.
class BlockPaletteAnalyzer final : public Analyzer {
  public:
    BlockPaletteAnalyzer(const Settings& s, int width, int height)
        : block_(s.block),
          linear_(s.linear),
          builder_(s.colors, s.adaptive_method, s.seed,
                   static_cast<int>((std::int64_t{width} + block_ - 1) / block_),
                   static_cast<int>((std::int64_t{height} + block_ - 1) / block_)) {}
    void add_rows(const Image& band, int y0) override {
        if (y0 % block_ != 0)
            throw Error(Status::internal, "retro_8bit: a band does not start on a block row");
        EffectContext ctx;
        ctx.origin_y = y0;
        const BlockGrid grid(block_, band, ctx);
        builder_.add_rows(average_blocks(band, grid, linear_, ctx), static_cast<int>(grid.first_y));
    }
    std::shared_ptr<const void> finish() override {
        return std::make_shared<const Palette>(builder_.finish());
    }

  private:
    int block_;
    bool linear_;
    AdaptivePaletteBuilder builder_;
};

}  // namespace

void register_retro_8bit(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "retro_8bit";
    e.version = 2;  // 2: adaptive palettes are hull_kmeans by default, their error limited
    e.summary =
        "Big pixels in a retro console palette (NES, Game Boy, PICO-8, C64, CGA, EGA) "
        "or an adaptive one, optionally dithered";
    e.params = {
        param::integer("block", 8, 1, 256,
                       "pixel size: each block x block square (grid anchored at the top-left) "
                       "becomes one colour"),
        param::choice(
            "palette", "nes", retro_palette_choices(),
            "the colour set, matched in Oklab; adaptive fits `colors` colours to the image"),
        param::integer("colors", 16, 2, 256, "palette=adaptive: how many colours"),
        param::choice("adaptive_method", "hull_kmeans", adaptive_method_names(),
                      adaptive_method_help()),
        param::integer("seed", 0, 0, 2147483647,
                       "adaptive kmeans starting colours; blue_noise dither mask"),
        param::choice("dither", "none", retro_dither_choices(),
                      "dither the block image to the palette (any `dither` method), or none"),
        param::number("dither_strength", 1.0, 0, 1,
                      "error fraction passed on / ordered threshold spread"),
        param::flag("linear", true,
                    "average blocks and dither in linear light (true) or in sRGB codes (false)"),
    };
    e.output_format = OutputFormat::lossless;
    e.decode = decoder(read_settings);
    e.describe = [](const Params& p, int w, int h, const EffectContext&) {
        const Settings& s = p.settings<Settings>();
        const int b = s.block;
        EffectPlan plan;
        // Adaptive: a streamed palette pass, then per region (a halo of one block) or, with
        // error diffusion, in bands of whole block rows. Else a region needs the whole of
        // every block it touches.
        plan.footprint = s.adaptive   ? Footprint{Footprint::Kind::global, b - 1, b}
                         : s.diffused ? Footprint{Footprint::Kind::sequential, 0, b}
                                      : Footprint{Footprint::Kind::local, b - 1, 1};
        const auto B = static_cast<std::size_t>(b);
        const auto W = static_cast<std::size_t>(std::max(w, 0)),
                   H = static_cast<std::size_t>(std::max(h, 0));
        const std::size_t small = (W / B + 2) * (H / B + 2) * 4;
        plan.memory_bytes = W * H * 4 + 2 * small + (W / B + 2) * 5 * sizeof(double) * 2 +
                            (std::size_t{4} << 20) + (s.adaptive ? adaptive_palette_bytes : 0);
        return plan;
    };
    e.render = render;
    e.begin_bands =
        [](const Params& p, int width, int, const EffectContext&,
           const std::shared_ptr<const void>& analysis) -> std::unique_ptr<BandProcessor> {
        const Settings& s = p.settings<Settings>();
        if (!s.diffused || (s.adaptive && !analysis)) return nullptr;
        return std::make_unique<BlockBands>(s, palette_of(s, analysis), width);
    };
    e.begin_analysis = [](const Params& p, int width, int height,
                          const EffectContext&) -> std::unique_ptr<Analyzer> {
        const Settings& s = p.settings<Settings>();
        if (!s.adaptive) return nullptr;
        return std::make_unique<BlockPaletteAnalyzer>(s, width, height);
    };
    registry.add(std::move(e));
}

}  // namespace artistry::effects
