// detect_faces: BlazeFace (MediaPipe's short-range face detector, ONNX). The photo is padded to
// a square keeping its aspect, shrunk to the model's input, decoded against the SSD anchors,
// merged by weighted NMS (as MediaPipe does: overlapping detections are averaged by score,
// which steadies the box), and mapped back to image pixels. Data: the faces as JSON.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "artistry/opencv.hpp"
#include "effects/builtin.hpp"
#include "effects/neural/box_iou.hpp"

namespace artistry::effects {
namespace {

constexpr int keypoint_count = 6;  // eyes, nose tip, mouth, ear tragions

struct Face {
    float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // corners
    float score = 0;
    std::array<cv::Point2f, keypoint_count> keypoints{};
};

// Weighted NMS: each kept face is the score-weighted mean of the candidates that overlap the
// best remaining one by more than `threshold`; its score is the best one's.
std::vector<Face> weighted_nms(std::vector<Face> candidates, float threshold) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Face& a, const Face& b) { return a.score > b.score; });
    std::vector<Face> kept;
    std::vector<bool> used(candidates.size(), false);
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (used[i]) continue;
        Face sum;
        float weight = 0;
        for (std::size_t j = i; j < candidates.size(); ++j) {
            if (used[j] || (j != i && box_iou(candidates[i], candidates[j]) <= threshold)) continue;
            used[j] = true;
            const Face& c = candidates[j];
            weight += c.score;
            sum.x0 += c.score * c.x0, sum.y0 += c.score * c.y0;
            sum.x1 += c.score * c.x1, sum.y1 += c.score * c.y1;
            for (int k = 0; k < keypoint_count; ++k)
                sum.keypoints[std::size_t(k)] += c.score * c.keypoints[std::size_t(k)];
        }
        Face f;
        f.x0 = sum.x0 / weight, f.y0 = sum.y0 / weight;
        f.x1 = sum.x1 / weight, f.y1 = sum.y1 / weight;
        for (int k = 0; k < keypoint_count; ++k)
            f.keypoints[std::size_t(k)] = sum.keypoints[std::size_t(k)] / weight;
        f.score = candidates[i].score;
        kept.push_back(f);
    }
    return kept;
}

// The square input the model sees: the photo scaled to fit, centred, black around it.
struct Letterbox {
    int size = 128;  // the model's input side
    int width = 0;   // the scaled photo inside it
    int height = 0;
    int left = 0;
    int top = 0;
    double to_image_x = 1;  // image pixels per input pixel
    double to_image_y = 1;
};

Letterbox letterbox(int w, int h, int size) {
    Letterbox b;
    b.size = size;
    const double scale = double(size) / std::max(w, h);
    b.width = std::clamp(int(std::lround(w * scale)), 1, size);
    b.height = std::clamp(int(std::lround(h * scale)), 1, size);
    b.left = (size - b.width) / 2;
    b.top = (size - b.height) / 2;
    b.to_image_x = double(w) / b.width;
    b.to_image_y = double(h) / b.height;
    return b;
}

// The model's square input side and layout from its spec: NHWC [1, N, N, 3] or NCHW [1, 3, N, N].
int input_side(const ModelSpec& spec, bool& nhwc) {
    nhwc = spec.layout != "nchw";
    if (spec.inputs.empty() || spec.inputs[0].shape.size() != 4) return 128;
    const auto& s = spec.inputs[0].shape;
    const std::int64_t side = nhwc ? s[1] : s[2];
    return side > 0 ? int(side) : 128;
}

Tensor model_input(const Image& in, const Letterbox& box, bool nhwc) {
    cv::Mat scaled;
    cv::resize(as_mat(in), scaled, {box.width, box.height}, 0, 0, cv::INTER_AREA);
    const int n = box.size, ch = in.channels();
    // Padding is black: −1 after x / 127.5 − 1.
    Tensor t(nhwc ? std::vector<std::int64_t>{1, n, n, 3} : std::vector<std::int64_t>{1, 3, n, n},
             std::vector<float>(std::size_t(n) * std::size_t(n) * 3, -1.f));
    const std::size_t plane = std::size_t(n) * std::size_t(n);
    for (int y = 0; y < box.height; ++y) {
        const std::uint8_t* px = scaled.ptr<std::uint8_t>(y);
        for (int x = 0; x < box.width; ++x, px += ch) {
            const std::size_t at =
                std::size_t(y + box.top) * std::size_t(n) + std::size_t(x + box.left);
            for (std::size_t c = 0; c < 3; ++c)
                t.values[nhwc ? at * 3 + c : c * plane + at] = float(px[c]) / 127.5f - 1.f;
        }
    }
    return t;
}

// One anchor group: `per` anchors on each cell of a grid × grid layout, cell centres.
struct AnchorGroup {
    int grid = 0;
    int per = 0;
};

AnchorGroup anchor_group(std::int64_t count, const std::string& model) {
    for (int per : {2, 6}) {
        if (count % per != 0) continue;
        const int grid = int(std::lround(std::sqrt(double(count / per))));
        if (std::int64_t(grid) * grid * per == count) return {grid, per};
    }
    throw Error(Status::invalid_argument,
                fmt::format("model '{}': {} anchors is not a BlazeFace layout (grid² × 2 or × 6)",
                            model, count));
}

// Candidates above the score threshold, in image pixels.
std::vector<Face> decode(const std::vector<Tensor>& outputs, const Letterbox& box, float min_score,
                         const std::string& model) {
    // Outputs come as score/regressor pairs ([1, n, 1] and [1, n, 16]); pair them by n and keep
    // the groups in the order of their first output (stride 8 before stride 16).
    std::vector<const Tensor*> scores, regressors;
    for (const auto& t : outputs) {
        if (t.shape.size() != 3) continue;
        if (t.shape[2] == 1) scores.push_back(&t);
        if (t.shape[2] == 4 + 2 * keypoint_count) regressors.push_back(&t);
    }
    if (scores.empty() || scores.size() != regressors.size())
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}': expected pairs of score [1, n, 1] and regressor "
                                "[1, n, 16] outputs",
                                model));
    std::vector<Face> faces;
    const float n = float(box.size);
    for (const Tensor* s : scores) {
        const auto r = std::find_if(regressors.begin(), regressors.end(),
                                    [&](const Tensor* t) { return t->shape[1] == s->shape[1]; });
        if (r == regressors.end())
            throw Error(
                Status::invalid_argument,
                fmt::format("model '{}': no regressor output for {} anchors", model, s->shape[1]));
        const AnchorGroup g = anchor_group(s->shape[1], model);
        const float* reg = (*r)->values.data();
        for (std::int64_t i = 0; i < s->shape[1]; ++i) {
            const float logit = std::clamp(s->values[std::size_t(i)], -100.f, 100.f);
            const float score = 1.f / (1.f + std::exp(-logit));
            if (score < min_score) continue;
            const std::int64_t cell = i / g.per;
            const float ax = (float(cell % g.grid) + 0.5f) / float(g.grid);
            const float ay = (float(cell / g.grid) + 0.5f) / float(g.grid);
            const float* v = reg + std::size_t(i) * (4 + 2 * keypoint_count);
            // Input pixels (the letterbox) → image pixels.
            const auto px = [&](float ux) {
                return float((ux * n - float(box.left)) * box.to_image_x);
            };
            const auto py = [&](float uy) {
                return float((uy * n - float(box.top)) * box.to_image_y);
            };
            const float cx = v[0] / n + ax, cy = v[1] / n + ay;
            const float hw = v[2] / n / 2, hh = v[3] / n / 2;
            Face f;
            f.x0 = px(cx - hw), f.x1 = px(cx + hw);
            f.y0 = py(cy - hh), f.y1 = py(cy + hh);
            f.score = score;
            for (int k = 0; k < keypoint_count; ++k)
                f.keypoints[std::size_t(k)] = {px(v[4 + 2 * k] / n + ax),
                                               py(v[5 + 2 * k] / n + ay)};
            faces.push_back(f);
        }
    }
    return faces;
}

double round2(double v) {
    return std::round(v * 100) / 100;
}

std::string faces_json(const std::vector<Face>& faces) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : faces) {
        nlohmann::json kp = nlohmann::json::array();
        for (const auto& p : f.keypoints) kp.push_back({round2(p.x), round2(p.y)});
        list.push_back(
            {{"box", {round2(f.x0), round2(f.y0), round2(f.x1 - f.x0), round2(f.y1 - f.y0)}},
             {"score", std::round(f.score * 1e4) / 1e4},
             {"keypoints", kp}});
    }
    return list.dump();
}

Image annotate(const Image& in, const std::vector<Face>& faces) {
    Image out = in.clone();
    cv::Mat m = as_mat(out);
    const int thick = std::max(1, int(std::lround(std::max(in.width(), in.height()) / 320.0)));
    for (const auto& f : faces) {
        cv::rectangle(m, cv::Point(int(std::lround(f.x0)), int(std::lround(f.y0))),
                      cv::Point(int(std::lround(f.x1)), int(std::lround(f.y1))),
                      cv::Scalar(0, 255, 0, 255), thick, cv::LINE_AA);
        for (const auto& p : f.keypoints)
            cv::circle(m, cv::Point(int(std::lround(p.x)), int(std::lround(p.y))), 2 * thick,
                       cv::Scalar(255, 0, 0, 255), cv::FILLED, cv::LINE_AA);
    }
    return out;
}

Image run_detect_faces(const Image& in, const Params& p, const EffectContext& ctx) {
    const std::string& name = p.text("model");
    ModelStore& store = ModelStore::of(ctx);
    const auto model = store.get(name);
    ctx.report(0, 3);
    bool nhwc = true;
    const Letterbox box = letterbox(in.width(), in.height(), input_side(model->spec(), nhwc));
    const std::vector<Tensor> outputs = model->run({model_input(in, box, nhwc)});
    ctx.report(1, 3);
    ctx.throw_if_cancelled();

    std::vector<Face> faces =
        weighted_nms(decode(outputs, box, float(p.number("score_threshold")), name),
                     float(p.number("nms_threshold")));
    for (auto& f : faces) {  // the padding is not the photo
        f.x0 = std::clamp(f.x0, 0.f, float(in.width())),
        f.x1 = std::clamp(f.x1, 0.f, float(in.width()));
        f.y0 = std::clamp(f.y0, 0.f, float(in.height())),
        f.y1 = std::clamp(f.y1, 0.f, float(in.height()));
    }
    if (ctx.data != nullptr) *ctx.data = faces_json(faces);
    ctx.report(2, 3);
    Image out = p.flag("annotate") ? annotate(in, faces) : in;
    ctx.report(3, 3);
    return out;
}

std::string check_model_name(const std::string& text) {
    return text.empty() ? "expected a model name (see `artistry models`)" : std::string();
}

}  // namespace

void register_detect_faces(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "detect_faces";
    e.version = 1;
    e.summary =
        "Find faces (BlazeFace): the image unchanged, or with boxes and keypoints drawn. Data: "
        "[{\"box\": [x, y, w, h], \"score\", \"keypoints\": [[x, y] × 6]}] in image pixels";
    e.params = {
        param::number("score_threshold", 0.5, 0, 1, "keep detections at least this confident"),
        param::number("nms_threshold", 0.3, 0, 1,
                      "overlap (IoU) above which detections are merged (weighted NMS)"),
        param::flag("annotate", false, "draw the boxes (green) and keypoints (red) on the output"),
        param::text("model", "blazeface-front", "an installed BlazeFace model (`artistry models`)",
                    check_model_name),
    };
    e.has_data = true;
    e.describe = [](const Params& p, int width, int height, const EffectContext&) {
        EffectPlan plan;
        plan.footprint = {Footprint::Kind::global, 0};
        // an annotated copy and the model's small activations
        plan.memory_bytes = std::size_t(width) * std::size_t(height) * 4 + (std::size_t(32) << 20);
        plan.models = {p.text("model")};
        return plan;
    };
    e.render = run_detect_faces;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
