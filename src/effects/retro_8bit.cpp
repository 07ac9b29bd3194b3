// retro_8bit: big pixels in a retro console palette. Each block of the grid anchored at
// absolute (0, 0) is averaged, the block image is mapped (optionally dithered) to the palette,
// and scaled back nearest-neighbour.

#include <algorithm>

#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/dither.hpp"
#include "effects/palette.hpp"
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

DitherSpec retro_dither_spec(const Params& p) {
    DitherSpec spec;
    spec.method = parse_dither_method(p.text("dither"));
    spec.strength = static_cast<float>(p.number("dither_strength"));
    spec.linear = p.flag("linear");
    spec.seed = static_cast<std::uint64_t>(p.integer("seed"));
    return spec;
}

bool diffused(const Params& p) {
    const std::string& d = p.text("dither");
    return d != "none" && is_error_diffusion(parse_dither_method(d));
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

// The whole effect on `in` at ctx; `adaptive` is the analysed palette (null: from params, or
// fitted to this input's block image when palette=adaptive).
Image render(const Image& in, const Params& p, const EffectContext& ctx, const Palette* adaptive) {
    const int b = static_cast<int>(p.integer("block"));
    const bool linear = p.flag("linear");
    const int h = in.height();
    const int total = 2 * h;
    ctx.report(0, total);

    const BlockGrid grid(b, in, ctx);
    const Image small = average_blocks(in, grid, linear, ctx);
    ctx.throw_if_cancelled();
    ctx.report(h / 2, total);

    const std::string& pal = p.text("palette");
    const std::uint64_t seed = static_cast<std::uint64_t>(p.integer("seed"));
    const Palette palette =
        adaptive ? *adaptive
        : pal == "adaptive"
            ? adaptive_palette(small, static_cast<int>(p.integer("colors")),
                               parse_adaptive_method(p.text("adaptive_method")), seed)
            : named_palette(pal);

    EffectContext small_ctx;  // the block image's place: absolute block indices
    small_ctx.origin_x = static_cast<int>(grid.first_x);
    small_ctx.origin_y = static_cast<int>(grid.first_y);
    small_ctx.cancel = ctx.cancel;
    const Image mapped = dither_to_palette(small, palette, retro_dither_spec(p), small_ctx);
    ctx.throw_if_cancelled();
    ctx.report(h, total);

    Image out = Image::allocate(in.width(), h, in.channels());
    expand_blocks(in, mapped, grid, ctx, out, h, total);
    ctx.report(total, total);
    return out;
}

const Palette& state_palette(const std::shared_ptr<const void>& state) {
    if (!state) throw Error(Status::internal, "retro_8bit: an adaptive palette's state is missing");
    return *static_cast<const Palette*>(state.get());
}

// Error diffusion over block rows: bands of whole block rows (Footprint::band_alignment) are
// averaged, their block rows diffused in order by one carried diffuser, and scaled back.
class BlockBands final : public BandProcessor {
  public:
    BlockBands(const Params& p, const Palette& palette, int width)
        : block_(static_cast<int>(p.integer("block"))), linear_(p.flag("linear")) {
        const int cols = static_cast<int>((std::int64_t{width} + block_ - 1) / block_);
        diffuser_ = dither_bands(palette, retro_dither_spec(p), cols);
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
    BlockPaletteAnalyzer(const Params& p, int width, int height)
        : block_(static_cast<int>(p.integer("block"))),
          linear_(p.flag("linear")),
          builder_(static_cast<int>(p.integer("colors")),
                   parse_adaptive_method(p.text("adaptive_method")),
                   static_cast<std::uint64_t>(p.integer("seed")),
                   static_cast<int>((std::int64_t{width} + block_ - 1) / block_),
                   static_cast<int>((std::int64_t{height} + block_ - 1) / block_)) {}
    void add_rows(const Image& band, int y0) override {
        if (y0 % block_ != 0)
            throw Error(Status::internal, "retro_8bit: a band does not start on a block row");
        EffectContext ctx;
        ctx.origin_y = y0;
        const BlockGrid grid(block_, band, ctx);
        builder_.add_rows(average_blocks(band, grid, linear_, ctx),
                          static_cast<int>(grid.first_y));
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
    e.version = 1;
    e.summary =
        "Big pixels in a retro console palette (NES, Game Boy, PICO-8, C64, CGA, EGA) "
        "or an adaptive one, optionally dithered";
    e.params = {
        {"block",
         ParamType::integer,
         std::int64_t{8},
         1,
         256,
         {},
         "pixel size: each block x block square (grid anchored at the top-left) becomes one colour",
         {}},
        {"palette",
         ParamType::choice,
         std::string("nes"),
         0,
         0,
         retro_palette_choices(),
         "the colour set, matched in Oklab; adaptive fits `colors` colours to the image",
         {}},
        {"colors",
         ParamType::integer,
         std::int64_t{16},
         2,
         256,
         {},
         "palette=adaptive: how many colours",
         {}},
        {"adaptive_method",
         ParamType::choice,
         std::string("median_cut"),
         0,
         0,
         {"median_cut", "kmeans"},
         "palette=adaptive: median cut, or k-means in Oklab (seeded)",
         {}},
        {"seed",
         ParamType::integer,
         std::int64_t{0},
         0,
         2147483647.0,
         {},
         "adaptive kmeans starting colours; blue_noise dither mask",
         {}},
        {"dither",
         ParamType::choice,
         std::string("none"),
         0,
         0,
         retro_dither_choices(),
         "dither the block image to the palette (any `dither` method), or none",
         {}},
        {"dither_strength",
         ParamType::number,
         1.0,
         0,
         1,
         {},
         "error fraction passed on / ordered threshold spread",
         {}},
        {"linear",
         ParamType::boolean,
         true,
         0,
         0,
         {},
         "average blocks and dither in linear light (true) or in sRGB codes (false)",
         {}},
    };
    e.footprint = [](const Params& p) {
        const int b = static_cast<int>(p.integer("block"));
        // Adaptive: a streamed palette pass, then per tile (a halo of one block) or, with
        // error diffusion, in bands of whole block rows.
        if (p.text("palette") == "adaptive") return Footprint{Footprint::Kind::global, b - 1, b};
        if (diffused(p)) return Footprint{Footprint::Kind::sequential, 0, b};
        // A tile needs the whole of every block it touches.
        return Footprint{Footprint::Kind::local, b - 1, 1};
    };
    e.memory_estimate = [](int w, int h, const Params& p) -> std::size_t {
        const auto b = static_cast<std::size_t>(p.integer("block"));
        const auto W = static_cast<std::size_t>(std::max(w, 0)),
                   H = static_cast<std::size_t>(std::max(h, 0));
        const std::size_t small = (W / b + 2) * (H / b + 2) * 4;
        return W * H * 4 + 2 * small + (W / b + 2) * 5 * sizeof(double) * 2 +
               (std::size_t{4} << 20) +
               (p.text("palette") == "adaptive" ? std::size_t{2} << 20 : 0);
    };
    e.run = [](const Image& in, const Params& p, const EffectContext& ctx) {
        return render(in, p, ctx, nullptr);
    };
    e.begin_bands = [](const Params& p, int width, int,
                       const std::shared_ptr<const void>& state) -> std::unique_ptr<BandProcessor> {
        if (!diffused(p)) return nullptr;
        if (p.text("palette") != "adaptive")
            return std::make_unique<BlockBands>(p, named_palette(p.text("palette")), width);
        if (!state) return nullptr;
        return std::make_unique<BlockBands>(p, state_palette(state), width);
    };
    e.begin_analysis = [](const Params& p, int width, int height) -> std::unique_ptr<Analyzer> {
        if (p.text("palette") != "adaptive") return nullptr;
        return std::make_unique<BlockPaletteAnalyzer>(p, width, height);
    };
    e.apply = [](const Image& tile, const Params& p, const EffectContext& ctx,
                 const std::shared_ptr<const void>& state) {
        return render(tile, p, ctx, &state_palette(state));
    };
    registry.add(std::move(e));
}

}  // namespace artistry::effects
