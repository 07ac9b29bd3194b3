// detect_objects: the 80 COCO classes (CenterNet, object_detector.hpp). The image passes
// through unchanged, or with labelled boxes drawn; the detections are the node's data, which a
// segment node can take its prompts from.

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/models.hpp"
#include "artistry/opencv.hpp"
#include "effects/builtin.hpp"
#include "effects/neural/object_detector.hpp"

namespace artistry::effects {
namespace {

struct Settings {
    DetectOptions options;
    bool annotate = false;
    std::string model;

    explicit Settings(const Params& p) : annotate(p.flag("annotate")), model(p.text("model")) {
        options.score_threshold = float(p.number("score_threshold"));
        options.nms_iou = float(p.number("iou_threshold"));
        options.max_count = int(p.integer("max_count"));
        options.labels = split_labels(p.text("classes"));
    }
};

// A colour per class, spread around the hue circle so neighbours differ.
cv::Scalar class_colour(int class_id) {
    static const std::array<cv::Scalar, 8> colours = {
        cv::Scalar(230, 25, 75, 255),  cv::Scalar(60, 180, 75, 255),  cv::Scalar(255, 225, 25, 255),
        cv::Scalar(0, 130, 200, 255),  cv::Scalar(245, 130, 48, 255), cv::Scalar(145, 30, 180, 255),
        cv::Scalar(70, 240, 240, 255), cv::Scalar(240, 50, 230, 255)};
    return colours[std::size_t(class_id) % colours.size()];
}

Image annotate(const Image& in, const std::vector<Detection>& detections) {
    Image out = in.clone();
    cv::Mat m = as_mat(out);
    const double unit = std::max(in.width(), in.height()) / 640.0;
    const int thick = std::max(1, int(std::lround(2 * unit)));
    const double font = std::max(0.4, 0.5 * unit);
    for (const auto& d : detections) {
        const cv::Scalar colour = class_colour(d.class_id);
        const cv::Point p0(int(std::lround(d.x0)), int(std::lround(d.y0)));
        cv::rectangle(m, p0, cv::Point(int(std::lround(d.x1)), int(std::lround(d.y1))), colour,
                      thick, cv::LINE_AA);
        const std::string text = fmt::format("{} {:.2f}", d.label, d.score);
        int baseline = 0;
        const cv::Size size =
            cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, font, thick, &baseline);
        const int top = std::max(0, p0.y - size.height - baseline - thick);
        cv::rectangle(
            m, cv::Point(p0.x, top),
            cv::Point(p0.x + size.width + 2 * thick, top + size.height + baseline + thick), colour,
            cv::FILLED);
        cv::putText(m, text, cv::Point(p0.x + thick, top + size.height + thick),
                    cv::FONT_HERSHEY_SIMPLEX, font, cv::Scalar(0, 0, 0, 255), thick, cv::LINE_AA);
    }
    return out;
}

Image render(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    const auto model = ModelStore::of(ctx).get(s.model);
    ctx.report(0, 2);
    const std::vector<Detection> found = detect_objects(model, in, s.options);
    ctx.throw_if_cancelled();
    if (ctx.data != nullptr) *ctx.data = detections_json(found);
    ctx.report(1, 2);
    Image out = s.annotate ? annotate(in, found) : in;
    ctx.report(2, 2);
    return out;
}

std::string check_model_name(const std::string& text) {
    return text.empty() ? "expected a model name (see `artistry models`)" : std::string();
}

}  // namespace

void register_detect_objects(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "detect_objects";
    e.version = 1;
    e.summary =
        "Find objects of the 80 COCO classes (CenterNet): the image unchanged, or with labelled "
        "boxes drawn. Data: [{\"box\": [x, y, w, h], \"score\", \"label\", \"class_id\"}] in "
        "image pixels, best first";
    e.params = {
        param::number("score_threshold", 0.3, 0, 1, "keep detections at least this confident"),
        param::number("iou_threshold", 0.4, 0, 1,
                      "overlap (IoU) above which the weaker of two boxes of a class is dropped"),
        param::text("classes", "",
                    "only these COCO labels, comma-separated (\"dog,cat\"); empty: all",
                    check_coco_labels),
        param::integer("max_count", 100, 1, 100, "keep at most this many, best first"),
        param::flag("annotate", false, "draw the boxes with their label and score"),
        param::text("model", detector_model, "an installed COCO detector (`artistry models`)",
                    check_model_name),
    };
    e.has_data = true;
    e.decode = decoder([](const Params& p) { return Settings(p); });
    e.describe = [](const Params& p, int width, int height, const EffectContext&) {
        EffectPlan plan;
        plan.footprint = {Footprint::Kind::global, 0};
        // an annotated copy, the model's input and activations at 512²
        plan.memory_bytes = std::size_t(width) * std::size_t(height) * 4 + (std::size_t(96) << 20);
        plan.models = {p.text("model")};
        return plan;
    };
    e.render = render;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
