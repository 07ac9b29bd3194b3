// upscale: super-resolution with an ESRGAN model (esrgan-slim-x2/x3/x4 from scripts/fetch-models,
// or any registered model whose spec says task "upscale" and its scale). Inference runs in
// tiles with a halo of input context on every side, cropped from each output tile, so a large
// image upscales in bounded memory without seams; alpha is resized alongside (bilinear).

#include <algorithm>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "artistry/opencv.hpp"
#include "effects/builtin.hpp"

namespace artistry::effects {
namespace {

constexpr const char* effect_name = "upscale";
// Input pixels of context per tile side: more than ESRGAN-slim's receptive field (9 input px:
// 8 from its low-resolution convolutions, 1 from the 3×3 after its ×s resize), so tiles equal
// the whole-image result.
constexpr int halo = 16;
// Feature maps held per input pixel during inference (an estimate for the memory planner):
// ESRGAN-slim keeps a few 32–64-channel float maps at the input resolution.
constexpr std::size_t feature_bytes_per_pixel = 4 * 64 * 3;

struct Settings {
    int scale = 2;
    std::string model;  // resolved: "auto" names the model for the scale
    int tile = 0;       // input pixels per inference tile side; 0: the whole image
};

Settings read_settings(const Params& p) {
    Settings s;
    s.scale = static_cast<int>(p.integer("scale"));
    const std::string& m = p.text("model");
    s.model = m == "auto" ? fmt::format("esrgan-slim-x{}", s.scale) : m;
    s.tile = static_cast<int>(p.integer("tile"));
    return s;
}

// The model, checked to be an image upscaler of the requested scale that takes any input size.
std::shared_ptr<const Model> upscaler(const Settings& s, const EffectContext& ctx) {
    const std::string& name = s.model;
    const int scale = s.scale;
    auto model = ModelStore::of(ctx).get(name);
    const ModelSpec& spec = model->spec();
    if (!spec.task.empty() && spec.task != "upscale")
        throw Error(
            Status::invalid_argument,
            fmt::format("upscale: model '{}' is a {} model, not an upscaler", name, spec.task));
    if (spec.scale != scale)
        throw Error(Status::invalid_argument,
                    fmt::format("upscale: model '{}' upscales {}x, asked for scale {}", name,
                                spec.scale, scale));
    if (spec.inputs.size() != 1 || spec.inputs[0].shape.size() != 4)
        throw Error(
            Status::invalid_argument,
            fmt::format("upscale: model '{}' must take one image tensor (4 dimensions)", name));
    const auto& shape = spec.inputs[0].shape;
    const bool nchw = spec.layout != "nhwc";
    if ((nchw ? shape[2] : shape[1]) > 0 || (nchw ? shape[3] : shape[2]) > 0)
        throw Error(Status::invalid_argument,
                    fmt::format("upscale: model '{}' takes a fixed input size; tiling needs one "
                                "that takes any size (-1)",
                                name));
    return model;
}

// Copies the RGB of `src` into the first three channels of `dst` (same size; dst 3 or 4 channels).
void put_rgb(const Image& src, const Image& dst) {
    const int c = dst.channels();
    for (int y = 0; y < src.height(); ++y) {
        const std::uint8_t* s = src.row(y);
        std::uint8_t* d = dst.row(y);
        if (c == 3) {
            std::memcpy(d, s, static_cast<std::size_t>(src.width()) * 3);
            continue;
        }
        for (int x = 0; x < src.width(); ++x, s += 3, d += c) std::memcpy(d, s, 3);
    }
}

Image run_upscale(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& settings = p.settings<Settings>();
    const auto model = upscaler(settings, ctx);
    const ModelSpec& spec = model->spec();
    const int s = spec.scale;
    const int w = in.width(), h = in.height();
    const int tile =
        settings.tile > 0 ? settings.tile : std::max({w, h, ctx.full_width, ctx.full_height});
    Image out = Image::allocate(w * s, h * s, in.channels());

    // The tile grid is anchored at the whole image's top-left corner (ctx.origin places `in` in
    // it), so a region (a band with its halo) runs the same tiles with the same context as the
    // whole image, and its rows come out the same.
    const int first_y = ctx.origin_y / tile * tile, first_x = ctx.origin_x / tile * tile;
    for (int ay = first_y; ay < ctx.origin_y + h; ay += tile) {
        for (int ax = first_x; ax < ctx.origin_x + w; ax += tile) {
            ctx.throw_if_cancelled();
            const int cx = std::max(ax, ctx.origin_x) - ctx.origin_x;
            const int cy = std::max(ay, ctx.origin_y) - ctx.origin_y;
            const Rect core{cx, cy, std::min(ax + tile - ctx.origin_x, w) - cx,
                            std::min(ay + tile - ctx.origin_y, h) - cy};
            // The halo exists only inside the image: at its border the model pads, as it does
            // on the whole image, so border tiles match too.
            const int x0 = std::max(0, core.x - halo), y0 = std::max(0, core.y - halo);
            const int x1 = std::min(w, core.x + core.width + halo);
            const int y1 = std::min(h, core.y + core.height + halo);
            const Image context = in.view({x0, y0, x1 - x0, y1 - y0});
            const auto result = model->run({image_to_tensor(context, spec.layout)});
            const Image up = tensor_to_image(result.at(0), spec.layout);
            if (up.width() != context.width() * s || up.height() != context.height() * s)
                throw Error(Status::invalid_argument,
                            fmt::format("upscale: model '{}' turned {}x{} into {}x{}, not {}x "
                                        "larger",
                                        spec.name, context.width(), context.height(), up.width(),
                                        up.height(), s));
            const Image inner =
                up.view({(core.x - x0) * s, (core.y - y0) * s, core.width * s, core.height * s});
            put_rgb(inner, out.view({core.x * s, core.y * s, core.width * s, core.height * s}));
        }
        ctx.report(std::min(h, ay + tile - ctx.origin_y), h);
    }
    if (in.channels() == 4) {
        cv::Mat alpha, big;
        cv::extractChannel(as_mat(in), alpha, 3);
        cv::resize(alpha, big, cv::Size(w * s, h * s), 0, 0, cv::INTER_LINEAR);
        cv::Mat dst = as_mat(out);
        cv::insertChannel(big, dst, 3);
    }
    return out;
}

}  // namespace

void register_upscale(EffectRegistry& registry) {
    EffectInfo e;
    e.name = effect_name;
    e.version = 1;
    e.summary = "Super-resolution: the image scale times larger, by an ESRGAN model run in tiles";
    e.params = {
        param::integer("scale", 2, 2, 4, "how many times larger (2, 3 or 4)"),
        param::text(
            "model", "auto",
            "the upscaling model: auto = esrgan-slim-x<scale> (scripts/fetch-models installs it), "
            "or the name of an installed or registered one of that scale",
            [](const std::string& v) {
                return v.empty() ? std::string("expected 'auto' or a model name") : std::string();
            }),
        param::integer(
            "tile", 256, 0, 8192,
            "input pixels per inference tile side (plus 16 px of context each side); 0 = the whole "
            "image at once. Smaller tiles bound memory; the result is the same within ±1"),
    };
    e.changes_size = true;
    e.decode = decoder(read_settings);
    e.describe = [](const Params& p, int w, int h, const EffectContext&) {
        const Settings& set = p.settings<Settings>();
        const auto s = static_cast<std::size_t>(set.scale);
        const auto side = [&](int n) {
            return (set.tile > 0 ? std::min(set.tile, n) : n) + std::size_t{2} * halo;
        };
        EffectPlan plan;
        // Its own inference tiles, anchored at the image's corner, each with `halo` pixels of
        // context: a band of whole tile rows with that halo gives the rows of the whole image.
        // Without tiles (tile = 0), the whole image at once.
        plan.footprint = set.tile > 0 ? Footprint{Footprint::Kind::local, halo, set.tile}
                                      : Footprint{Footprint::Kind::global, 0};
        plan.scale = {set.scale, 1};
        plan.models = {set.model};
        // The output, and per tile: input floats, output floats and u8, the feature maps.
        plan.memory_bytes = std::size_t(w) * std::size_t(h) * s * s * 4 +
                            side(w) * side(h) * (12 + s * s * (12 + 3) + feature_bytes_per_pixel);
        return plan;
    };
    e.render = run_upscale;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
