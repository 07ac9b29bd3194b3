#pragma once
// Edge-aware refinement of a low-resolution matte at full resolution: a guided filter (He et
// al. 2010) steered by the full-size image's luminance, so edges follow the photo rather than
// a blurry upscale. It runs in row bands with a 2·radius halo: memory grows with the band,
// not with the image, and the result does not depend on the band height.

#include <functional>

#include <opencv2/core/mat.hpp>

#include "artistry/effect.hpp"

namespace artistry::effects {

struct MatteRefineOptions {
    int radius = 4;       // filter window radius, in full-size pixels
    double eps = 1e-3;    // regularisation: smaller follows the image's edges more closely
    int band_rows = 256;  // output rows per band
};

// matte: CV_32F in [0, 1], any size (stretched to the image, pixel centres aligned). image: u8
// with 1, 3 or 4 channels (alpha is not the guide). Calls row(y, alpha) once per output row,
// alpha holding width values in [0, 1] (scratch: the callee may overwrite them); rows of
// different bands come from worker threads at once. band_done(rows) after each band (may be empty). Checks ctx's cancel between bands.
void refine_matte(const Image& image, const cv::Mat& matte, const MatteRefineOptions& options,
                  const std::function<void(int y, float* alpha)>& row,
                  const std::function<void(int rows)>& band_done, const EffectContext& ctx);

}  // namespace artistry::effects
