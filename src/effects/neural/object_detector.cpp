// CenterNet decoding (object_detector.hpp): peaks of the class heatmap (a value that equals the
// maximum of its 3×3 neighbourhood in its class, as the model's own max-pool decode), the box
// from the left/top/right/bottom distances predicted at the peak, NMS per class.

#include "effects/neural/object_detector.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "artistry/error.hpp"
#include "effects/neural/box_iou.hpp"

namespace artistry::effects {
namespace {

// Greedy NMS within each class; `sorted` best first.
std::vector<Detection> nms_per_class(const std::vector<Detection>& sorted, float threshold) {
    std::vector<Detection> kept;
    for (const auto& d : sorted) {
        const bool overlaps = std::any_of(kept.begin(), kept.end(), [&](const Detection& k) {
            return k.class_id == d.class_id && box_iou(k, d) > threshold;
        });
        if (!overlaps) kept.push_back(d);
    }
    return kept;
}

// The model's class names (its manifest's "classes", else COCO's), as coco_labels() spells
// them.
std::vector<std::string> model_classes(const ModelSpec& spec) {
    if (!spec.extras.empty()) {
        const auto extras = nlohmann::json::parse(spec.extras, nullptr, false);
        if (extras.is_object() && extras.contains("classes") && extras["classes"].is_array()) {
            auto names = extras["classes"].get<std::vector<std::string>>();
            for (auto& n : names) n = canonical_label(n);
            return names;
        }
    }
    return coco_labels();
}

int input_side(const ModelSpec& spec) {
    if (spec.inputs.empty() || spec.inputs[0].shape.size() != 4 || spec.inputs[0].shape[1] <= 0)
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}': expected an NHWC input [1, N, N, 3]", spec.name));
    return int(spec.inputs[0].shape[1]);
}

struct Heads {
    const Tensor* heat = nullptr;  // [1, H, W, classes]
    const Tensor* wh = nullptr;    // [1, H, W, 4]
};

Heads heads(const std::vector<Tensor>& outputs, const std::string& model) {
    Heads h;
    for (const auto& t : outputs) {
        if (t.shape.size() != 4) continue;
        if (t.shape[3] == 4)
            h.wh = &t;
        else
            h.heat = &t;
    }
    if (h.heat == nullptr || h.wh == nullptr || h.heat->shape[1] != h.wh->shape[1] ||
        h.heat->shape[2] != h.wh->shape[2])
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}': expected a heatmap [1, H, W, classes] and box "
                                "distances [1, H, W, 4]",
                                model));
    return h;
}

bool is_peak(const float* heat, int gh, int gw, int classes, int y, int x, int c, float v) {
    for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
            const int yy = y + dy, xx = x + dx;
            if ((dy == 0 && dx == 0) || yy < 0 || yy >= gh || xx < 0 || xx >= gw) continue;
            if (heat[(std::size_t(yy) * std::size_t(gw) + std::size_t(xx)) * std::size_t(classes) +
                     std::size_t(c)] > v)
                return false;
        }
    return true;
}

}  // namespace

const std::vector<std::string>& coco_labels() {
    static const std::vector<std::string> labels = {
        "person",        "bicycle",      "car",
        "motorcycle",    "airplane",     "bus",
        "train",         "truck",        "boat",
        "traffic light", "fire hydrant", "stop sign",
        "parking meter", "bench",        "bird",
        "cat",           "dog",          "horse",
        "sheep",         "cow",          "elephant",
        "bear",          "zebra",        "giraffe",
        "backpack",      "umbrella",     "handbag",
        "tie",           "suitcase",     "frisbee",
        "skis",          "snowboard",    "sports ball",
        "kite",          "baseball bat", "baseball glove",
        "skateboard",    "surfboard",    "tennis racket",
        "bottle",        "wine glass",   "cup",
        "fork",          "knife",        "spoon",
        "bowl",          "banana",       "apple",
        "sandwich",      "orange",       "broccoli",
        "carrot",        "hot dog",      "pizza",
        "donut",         "cake",         "chair",
        "couch",         "potted plant", "bed",
        "dining table",  "toilet",       "tv",
        "laptop",        "mouse",        "remote",
        "keyboard",      "cell phone",   "microwave",
        "oven",          "toaster",      "sink",
        "refrigerator",  "book",         "clock",
        "vase",          "scissors",     "teddy bear",
        "hair drier",    "toothbrush"};
    return labels;
}

std::string canonical_label(const std::string& name) {
    // Darknet's coco.names (and models trained with it) spell six classes differently.
    static const std::map<std::string, std::string> aliases = {
        {"motorbike", "motorcycle"},     {"aeroplane", "airplane"},       {"sofa", "couch"},
        {"pottedplant", "potted plant"}, {"diningtable", "dining table"}, {"tvmonitor", "tv"}};
    const auto it = aliases.find(name);
    return it == aliases.end() ? name : it->second;
}

std::vector<std::string> split_labels(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        const auto b = item.find_first_not_of(' ');
        const auto e = item.find_last_not_of(' ');
        if (b != std::string::npos) out.push_back(canonical_label(item.substr(b, e - b + 1)));
    }
    return out;
}

std::string check_coco_labels(const std::string& text) {
    const auto& known = coco_labels();
    for (const auto& label : split_labels(text))
        if (std::find(known.begin(), known.end(), label) == known.end())
            return fmt::format("'{}' is not a COCO label (known: {})", label,
                               fmt::join(known, ", "));
    return {};
}

ObjectDetector::ObjectDetector(std::shared_ptr<const Model> model, int width, int height)
    : model_(std::move(model)),
      width_(width),
      height_(height),
      side_(input_side(model_->spec())),
      input_(width, height, side_, side_, 3) {}

std::vector<Detection> ObjectDetector::detect(const DetectOptions& options) {
    const ModelSpec& spec = model_->spec();
    const std::vector<float> planes = input_.finish();
    const auto area = std::size_t(side_) * std::size_t(side_);
    Tensor input({1, side_, side_, 3});
    for (std::size_t i = 0; i < area; ++i)
        for (std::size_t c = 0; c < 3; ++c) input.values[i * 3 + c] = planes[c * area + i];
    const std::vector<Tensor> outputs = model_->run({input});
    const Heads h = heads(outputs, spec.name);
    const int gh = int(h.heat->shape[1]), gw = int(h.heat->shape[2]);
    const int classes = int(h.heat->shape[3]);
    const std::vector<std::string> names = model_classes(spec);
    if (int(names.size()) != classes)
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}': {} classes in its heatmap, {} names in its manifest",
                                spec.name, classes, names.size()));
    std::vector<bool> wanted(std::size_t(classes), options.labels.empty());
    for (const auto& label : options.labels) {
        const auto it = std::find(names.begin(), names.end(), label);
        if (it == names.end())
            throw Error(Status::invalid_argument,
                        fmt::format("model '{}' has no class '{}'", spec.name, label));
        wanted[std::size_t(it - names.begin())] = true;
    }

    const float* heat = h.heat->values.data();
    const float* wh = h.wh->values.data();
    const float stride_x = float(side_) / float(gw), stride_y = float(side_) / float(gh);
    const float sx = float(width_) / float(side_), sy = float(height_) / float(side_);
    std::vector<Detection> found;
    for (int y = 0; y < gh; ++y)
        for (int x = 0; x < gw; ++x) {
            const std::size_t cell = std::size_t(y) * std::size_t(gw) + std::size_t(x);
            for (int c = 0; c < classes; ++c) {
                const float v = heat[cell * std::size_t(classes) + std::size_t(c)];
                if (v < options.score_threshold || !wanted[std::size_t(c)] ||
                    !is_peak(heat, gh, gw, classes, y, x, c, v))
                    continue;
                const float* d = wh + cell * 4;
                Detection det;
                det.x0 = std::clamp((float(x) * stride_x - d[0]) * sx, 0.f, float(width_));
                det.y0 = std::clamp((float(y) * stride_y - d[1]) * sy, 0.f, float(height_));
                det.x1 = std::clamp((float(x) * stride_x + d[2]) * sx, 0.f, float(width_));
                det.y1 = std::clamp((float(y) * stride_y + d[3]) * sy, 0.f, float(height_));
                det.score = v;
                det.class_id = c;
                det.label = names[std::size_t(c)];
                if (det.x1 > det.x0 && det.y1 > det.y0) found.push_back(std::move(det));
            }
        }
    // Best first; position breaks ties so the order never depends on anything else.
    std::stable_sort(found.begin(), found.end(),
                     [](const Detection& a, const Detection& b) { return a.score > b.score; });
    std::vector<Detection> kept = nms_per_class(found, options.nms_iou);
    if (int(kept.size()) > options.max_count) kept.resize(std::size_t(options.max_count));
    return kept;
}

std::vector<Detection> detect_objects(std::shared_ptr<const Model> model, const Image& image,
                                      const DetectOptions& options) {
    ObjectDetector detector(std::move(model), image.width(), image.height());
    detector.add_rows(image, 0);
    return detector.detect(options);
}

std::string detections_json(const std::vector<Detection>& detections) {
    const auto round2 = [](float v) { return std::round(double(v) * 100) / 100; };
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : detections)
        list.push_back(
            {{"box", {round2(d.x0), round2(d.y0), round2(d.x1 - d.x0), round2(d.y1 - d.y0)}},
             {"score", std::round(double(d.score) * 1e4) / 1e4},
             {"label", d.label},
             {"class_id", d.class_id}});
    return list.dump();
}

std::optional<std::vector<Detection>> detections_from_json(const std::string& json) {
    const auto list = nlohmann::json::parse(json, nullptr, false);
    if (!list.is_array()) return std::nullopt;
    std::vector<Detection> out;
    for (const auto& d : list) {
        if (!d.is_object() || !d.contains("box") || !d["box"].is_array() || d["box"].size() != 4 ||
            !std::all_of(d["box"].begin(), d["box"].end(),
                         [](const auto& v) { return v.is_number(); }))
            return std::nullopt;
        Detection det;
        const auto& b = d["box"];
        det.x0 = b[0].get<float>(), det.y0 = b[1].get<float>();
        det.x1 = det.x0 + b[2].get<float>(), det.y1 = det.y0 + b[3].get<float>();
        det.score = d.contains("score") && d["score"].is_number() ? d["score"].get<float>() : 0.f;
        det.label = d.contains("label") && d["label"].is_string() ? d["label"].get<std::string>()
                                                                  : std::string();
        out.push_back(std::move(det));
    }
    return out;
}

}  // namespace artistry::effects
