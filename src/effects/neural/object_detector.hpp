#pragma once
// COCO object detection with CenterNet (MobileNetV3, from @vladmandic/human): the photo is
// stretched to the model's square input by exact area resampling (streamable: the rows go
// through an AreaDownscaler), the heatmap's local peaks become boxes, and per-class NMS keeps
// the best of each overlapping group. detect_objects and remove_background's subject= share it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "artistry/models.hpp"
#include "effects/matting/area_downscale.hpp"

namespace artistry::effects {

inline constexpr const char* detector_model = "centernet";

struct Detection {
    float x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // corners, image pixels
    float score = 0;
    int class_id = 0;
    std::string label;
};

struct DetectOptions {
    float score_threshold = 0.3f;
    float nms_iou = 0.4f;  // per class
    int max_count = 100;
    std::vector<std::string> labels;  // keep only these COCO names; empty: all
};

// The 80 COCO class names in the detector's order ("person", "bicycle", … "toothbrush").
const std::vector<std::string>& coco_labels();
// The COCO name of a class as other lists spell it ("motorbike" → "motorcycle", "tvmonitor" →
// "tv"); other names unchanged.
std::string canonical_label(const std::string& name);
// "" when every comma-separated name is a COCO label (or the text is empty), else what is wrong.
std::string check_coco_labels(const std::string& text);
// Comma-separated labels, trimmed and canonical.
std::vector<std::string> split_labels(const std::string& text);

// Feeds the photo's rows to the detector's input resampler; detect() once every row is in.
class ObjectDetector {
  public:
    ObjectDetector(std::shared_ptr<const Model> model, int width, int height);
    void add_rows(const Image& band, int y0) { input_.add_rows(band, y0); }
    // Best first, at most options.max_count, boxes clipped to the image.
    std::vector<Detection> detect(const DetectOptions& options);

  private:
    std::shared_ptr<const Model> model_;
    int width_, height_, side_;
    AreaDownscaler input_;
};

// The whole image at once.
std::vector<Detection> detect_objects(std::shared_ptr<const Model> model, const Image& image,
                                      const DetectOptions& options);

// [{"box": [x, y, w, h], "score", "label", "class_id"}], boxes in image pixels.
std::string detections_json(const std::vector<Detection>& detections);
// The detections such a text holds (as corners); nullopt when it is not a list of them.
std::optional<std::vector<Detection>> detections_from_json(const std::string& json);

}  // namespace artistry::effects
