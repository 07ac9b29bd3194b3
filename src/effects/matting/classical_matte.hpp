#pragma once
// remove_background's classical method, for images without a matting model: saliency-seeded
// GrabCut on a small working copy, its edge refined at full resolution by a fast guided filter.

#include <cstdint>
#include <functional>

#include "artistry/effect.hpp"

namespace artistry::effects {

struct ClassicalMatteOptions {
    int refine_radius = 0;   // edge refinement radius in full-size pixels; 0: from the image size
    int iterations = 5;      // GrabCut iterations on the coarse copy
    int work_size = 512;     // longest side of the copy the segmentation runs on
    std::uint64_t seed = 0;  // GrabCut's colour-model start
};

// Receives row y's matte: the image's width values in [0, 1] (scratch: the callee may
// overwrite them).
using MatteRowSink = std::function<void(int y, float* alpha)>;

// The matte of a whole u8 RGB or RGBA image (alpha is not looked at): row() once for each row,
// from worker threads at once. Reports progress and checks ctx's cancel between steps.
void classical_matte(const Image& image, const ClassicalMatteOptions& options,
                     const MatteRowSink& row, const EffectContext& ctx);

}  // namespace artistry::effects
