#pragma once
// Edge-aware refinement of a low-resolution matte at full resolution: a guided filter (He et
// al. 2010) steered by the full-size image's colour (the three-channel form: a subject and a
// background of the same brightness but different hue still part), so edges follow the photo
// rather than a blurry upscale. It runs in row bands with a 2·radius halo, and on any window of
// the image (a tile): its statistics are exact integer box sums over absolute coordinates, so a
// pixel's value does not depend on the band height or on where the window starts.

#include <functional>

#include <opencv2/core/mat.hpp>

#include "artistry/effect.hpp"

namespace artistry::effects {

struct MatteRefineOptions {
    int radius = 4;       // filter window radius, in full-size pixels
    double eps = 1e-3;    // regularisation: smaller follows the image's edges more closely
    int band_rows = 256;  // output rows per band
};

// The pixels a refined pixel depends on, each way: two box filters deep.
constexpr int matte_refine_halo(int radius) {
    return 2 * radius;
}

// Where the image lies in the full image (a tile and its halo); full size 0: the image's own.
struct MatteWindow {
    int x = 0;
    int y = 0;
    int full_width = 0;
    int full_height = 0;
};

// A rectangle in absolute (full-image) coordinates: [x0, x1) × [y0, y1).
struct PixelRect {
    int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    bool empty() const { return x1 <= x0 || y1 <= y0; }
};

// The pixels of a width × height window that refine_matte refines: those whose halo lies in
// the window or reaches the full image's edge (absolute coordinates; may be empty).
PixelRect refinable_rect(const MatteWindow& window, int width, int height, int radius);

// matte: CV_32F in [0, 1], any size (stretched to the full image, pixel centres aligned).
// image: u8 with 1, 3 or 4 channels (alpha is not the guide). Borders reflect at the full
// image's edges. Only rows and columns whose halo lies inside the image (or reaches the full
// image's edge) can be refined: row(y, alpha) is called once for each such row (y in the
// image's rows), alpha holding the image's width values in [0, 1], 0 in columns that cannot be
// refined (scratch: the callee may overwrite them); rows of different bands come from worker
// threads at once. band_done(rows) after each band (may be empty). Checks ctx's cancel between
// bands.
void refine_matte(const Image& image, const cv::Mat& matte, const MatteRefineOptions& options,
                  const MatteWindow& window, const std::function<void(int y, float* alpha)>& row,
                  const std::function<void(int rows)>& band_done, const EffectContext& ctx);

// The whole image.
void refine_matte(const Image& image, const cv::Mat& matte, const MatteRefineOptions& options,
                  const std::function<void(int y, float* alpha)>& row,
                  const std::function<void(int rows)>& band_done, const EffectContext& ctx);

}  // namespace artistry::effects
