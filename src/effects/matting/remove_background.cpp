// remove_background. Neural (ISNet, when installed): the model's matte at its resolution (its
// input area-resampled from streamed rows), refined at full resolution by a guided filter in
// absolute coordinates (matte_refine.hpp), so it also runs tiled: an analysis, then per tile.
// Classical (no model): saliency-seeded GrabCut on the whole image (classical_matte.hpp).

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "effects/builtin.hpp"
#include "effects/matting/area_downscale.hpp"
#include "effects/matting/classical_matte.hpp"
#include "effects/matting/colour_matte.hpp"
#include "effects/matting/foreground.hpp"
#include "effects/matting/matte_refine.hpp"

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

struct Settings {
    bool alpha_only = false;
    bool composite = false;
    bool decontaminate = true;
    bool colour_edges = true;
    std::array<std::uint8_t, 3> background{};
    double threshold = 0;
    int refine_radius = 0;  // 0: auto
    int iterations = 5;
    int work_size = 512;
    std::uint64_t seed = 0;

    explicit Settings(const Params& p)
        : alpha_only(p.text("mode") == "alpha"),
          composite(!p.text("background").empty()),
          decontaminate(p.flag("decontaminate")),
          colour_edges(p.flag("colour_edges")),
          threshold(p.number("threshold")),
          refine_radius(static_cast<int>(p.integer("refine_radius"))),
          iterations(static_cast<int>(p.integer("iterations"))),
          work_size(static_cast<int>(p.integer("work_size"))),
          seed(static_cast<std::uint64_t>(p.integer("seed"))) {
        if (composite) background = parse_background(p.text("background"));
    }
    int out_channels() const { return alpha_only ? 1 : (composite ? 3 : 4); }
    // Whether the subject's colours are re-estimated at its edges.
    bool estimates_colours() const { return decontaminate && !alpha_only; }
};

// The foreground estimation's windows (foreground.hpp's defaults).
constexpr ForegroundOptions foreground_options{};

// A window's final opacity, one code per pixel (0 outside `known`), and the pixels it knows.
struct WindowMatte {
    std::vector<std::uint8_t> alpha;
    PixelRect known;
};

// One row of opacity codes from the matte (alpha[x] in [0, 1]).
void alpha_codes(const float* alpha, int w, std::uint8_t* dst) {
    for (int x = 0; x < w; ++x) dst[x] = static_cast<std::uint8_t>(alpha[x] * 255.f + 0.5f);
}

// The matte's final form: its edge re-estimated from colour (colour_matte.hpp), then
// thresholded and multiplied by the input's own alpha, so both methods give the same modes.
void finish_matte(const Image& in, const Settings& s, WindowMatte& m, const MatteWindow& window,
                  const EffectContext& ctx) {
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
void write_row(const Settings& s, const WindowMatte& m, int y, int x0, int x1,
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
Image compose(const Image& in, const Settings& s, const WindowMatte& m, const MatteWindow& window,
              const EffectContext& ctx) {
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

// The classical method on the whole image.
Image run_classical(const Image& in, const Settings& s, const EffectContext& ctx) {
    const int w = in.width(), h = in.height();
    const ClassicalMatteOptions options{s.refine_radius, s.iterations, s.work_size, s.seed};
    const int stages = s.estimates_colours() ? 2 : 1;
    WindowMatte m{std::vector<std::uint8_t>(std::size_t(w) * std::size_t(h)), {0, 0, w, h}};
    classical_matte(
        in, options,
        [&](int y, float* alpha) {
            alpha_codes(alpha, w, m.alpha.data() + std::size_t(y) * std::size_t(w));
        },
        stage_context(ctx, 0, stages));
    const MatteWindow window{0, 0, w, h};
    finish_matte(in, s, m, window, ctx);
    return compose(in, s, m, window, stage_context(ctx, 1, stages));
}

// ---- the neural method (ISNet) -----------------------------------------------------------

constexpr const char* isnet_model = "isnet";

// "isnet" or "classical": what `model` means with the models installed now.
std::string resolve_method(const Params& p, ModelStore& store) {
    const std::string& model = p.text("model");
    if (model != "auto") return model;
    return store.has(isnet_model) ? isnet_model : "classical";
}

// The model's input size from its spec ([1, 3, H, W]); 1024² when the spec does not say.
cv::Size model_input_size(const ModelSpec& spec) {
    cv::Size size(1024, 1024);
    if (!spec.inputs.empty() && spec.inputs[0].shape.size() == 4) {
        const auto& s = spec.inputs[0].shape;
        if (s[2] > 0 && s[3] > 0) size = cv::Size(int(s[3]), int(s[2]));
    }
    return size;
}

// Full pixels per matte pixel decide the auto refinement radius; capped, so that the tiled
// path's halo (the footprint's) holds it.
constexpr int max_auto_radius = 32;

int refine_radius(const Settings& s, int full_w, int full_h, const cv::Mat& matte) {
    if (s.refine_radius > 0) return s.refine_radius;
    const double up = std::max(double(full_w) / matte.cols, double(full_h) / matte.rows);
    return std::clamp(int(std::lround(2 * up)), 2, max_auto_radius);
}

// The analysis: the model's input (the whole image stretched to its size, no aspect kept, as it
// was trained) by exact area resampling of the streamed rows; the model's matte on finish.
struct IsnetState {
    cv::Mat matte;  // CV_32F in [0, 1], at the model's resolution
};

class IsnetAnalyzer final : public Analyzer {
  public:
    IsnetAnalyzer(std::shared_ptr<const Model> model, cv::Size size, int width, int height)
        : model_(std::move(model)),
          size_(size),
          input_(width, height, size.width, size.height, 3) {}

    void add_rows(const Image& band, int y0) override { input_.add_rows(band, y0); }

    std::shared_ptr<const void> finish() override {
        // RGB planes, (v − 128) / 256.
        Tensor input({1, 3, size_.height, size_.width});
        input.values = input_.finish();
        for (float& v : input.values) v = (v - 128.f) / 256.f;
        std::vector<Tensor> outputs = model_->run({input});
        if (outputs.empty() || outputs[0].shape.size() < 2)
            throw Error(Status::internal, fmt::format("model '{}' gave no matte", isnet_model));
        const auto& shape = outputs[0].shape;
        const int mh = int(shape[shape.size() - 2]), mw = int(shape[shape.size() - 1]);
        if (std::int64_t(mh) * mw != outputs[0].elements())
            throw Error(Status::internal,
                        fmt::format("model '{}': matte of shape {} is not one plane", isnet_model,
                                    fmt::join(shape, "x")));
        auto state = std::make_shared<IsnetState>();
        state->matte =
            cv::min(cv::max(cv::Mat(mh, mw, CV_32F, outputs[0].values.data()), 0.0), 1.0);
        return state;
    }

  private:
    std::shared_ptr<const Model> model_;
    cv::Size size_;
    AreaDownscaler input_;
};

std::unique_ptr<Analyzer> isnet_analyzer(ModelStore& store, int width, int height) {
    auto model = store.get(isnet_model);
    const cv::Size size = model_input_size(model->spec());
    return std::make_unique<IsnetAnalyzer>(std::move(model), size, width, height);
}

// The refinement of any window of the image (a tile with its halo, or the whole image) from the
// analysis: a full-resolution guided filter in absolute coordinates (matte_refine.hpp), then
// the colours. Pixels it cannot compute (within the halo of a window edge inside the image)
// are left 0.
Image refine_window(const Image& in, const Settings& s, const EffectContext& ctx,
                    const IsnetState& state) {
    const int w = in.width(), h = in.height();
    MatteWindow window{ctx.origin_x, ctx.origin_y, ctx.full_width > 0 ? ctx.full_width : w,
                       ctx.full_height > 0 ? ctx.full_height : h};
    MatteRefineOptions refine;
    refine.radius = refine_radius(s, window.full_width, window.full_height, state.matte);
    WindowMatte m{std::vector<std::uint8_t>(std::size_t(w) * std::size_t(h)),
                  refinable_rect(window, w, h, refine.radius)};
    const int stages = s.estimates_colours() ? 2 : 1;
    const EffectContext refining = stage_context(ctx, 0, stages);
    std::atomic<std::int64_t> rows_done{0};
    refine_matte(
        in, state.matte, refine, window,
        [&](int y, float* alpha) {
            alpha_codes(alpha, w, m.alpha.data() + std::size_t(y) * std::size_t(w));
        },
        [&](int rows) { refining.report(rows_done += rows, h); }, ctx);
    finish_matte(in, s, m, window, ctx);
    return compose(in, s, m, window, stage_context(ctx, 1, stages));
}

// Any region of the image: with ISNet, refined from the analysis of the whole image
// (ctx.analysis); without it, the classical method on the whole image.
Image render_region(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    const auto* isnet = static_cast<const IsnetState*>(ctx.analysis.get());
    if (ctx.data != nullptr)
        *ctx.data = nlohmann::json{{"method", isnet ? isnet_model : "classical"}}.dump();
    return isnet ? refine_window(in, s, ctx, *isnet) : run_classical(in, s, ctx);
}

// ISNet's analysis over the whole image, or nullptr for the classical method, which runs whole.
std::unique_ptr<Analyzer> begin_analysis(const Params& p, int width, int height,
                                         const EffectContext& ctx) {
    ModelStore& store = ModelStore::of(ctx);
    if (resolve_method(p, store) != isnet_model) return nullptr;
    return isnet_analyzer(store, width, height);
}

}  // namespace

void register_remove_background(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "remove_background";
    e.version = 4;
    e.summary =
        "Cut the subject out (ISNet matte when installed, else saliency-seeded GrabCut; edges "
        "refined at full resolution from the photo's colours, and their colours freed of the "
        "old background): RGBA with the matte as alpha, a colour behind it, or the matte alone. "
        "Data: {\"method\": \"isnet\" | \"classical\"}";
    e.params = {
        param::choice(
            "model", "auto", {"auto", "isnet", "classical"},
            "auto: ISNet when installed (scripts/fetch-models), else classical; isnet: fail when "
            "it is not installed"),
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
        param::integer("iterations", 5, 1, 10, "GrabCut iterations (classical)"),
        param::integer(
            "work_size", 512, 64, 2048,
            "longest side of the copy the segmentation runs on (classical; larger: slower, finer)"),
        param::integer("seed", 0, 0, 2147483647,
                       "seed of GrabCut's colour-model start (classical)"),
    };
    e.has_data = true;
    e.decode = decoder([](const Params& p) { return Settings(p); });
    e.describe = [](const Params& p, int width, int height, const EffectContext& ctx) {
        const Settings& s = p.settings<Settings>();
        const auto px = std::size_t(width) * std::size_t(height);
        EffectPlan plan;
        // The halo is the ISNet refinement's and the colour estimation's (the classical method
        // runs whole).
        plan.footprint = {
            Footprint::Kind::global,
            matte_refine_halo(s.refine_radius > 0 ? s.refine_radius : max_auto_radius) +
                (s.colour_edges ? colour_matte_halo(colour_matte_options(width, height)) : 0) +
                (s.estimates_colours() ? foreground_halo(foreground_options) : 0)};
        if (resolve_method(p, ModelStore::of(ctx)) == isnet_model) {
            plan.models = {isnet_model};
            // the output, two refinement bands (256 rows and the halo) of four 64-bit planes,
            // the model's activations at 1024²
            plan.memory_bytes =
                px * 4 + std::size_t(width) * 400 * 8 * 4 * 2 + (std::size_t(640) << 20);
        } else {
            // the output (at most RGBA), a reduced guide, and GrabCut's graph on the working copy
            const auto work = std::size_t(s.work_size);
            plan.memory_bytes = px * 4 + px / 2 + work * work * 160;
        }
        // the window's opacity codes; with colour estimation two bands (256 rows and the small
        // window's halo) of first-pass colours and backgrounds
        plan.memory_bytes += px;
        if (s.estimates_colours()) plan.memory_bytes += std::size_t(width) * 262 * 24 * 2;
        return plan;
    };
    e.render = render_region;
    e.begin_analysis = begin_analysis;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
