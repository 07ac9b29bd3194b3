#pragma once
// Overlap of two axis-aligned boxes (anything with corners x0, y0, x1, y1): intersection over
// union, 0 when they do not touch. The detectors' NMS share it.

#include <algorithm>

namespace artistry::effects {

template <class Box>
float box_iou(const Box& a, const Box& b) {
    const float iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0);
    const float ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
    if (iw <= 0 || ih <= 0) return 0;
    const float inter = iw * ih;
    const float uni = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
    return uni > 0 ? inter / uni : 0;
}

}  // namespace artistry::effects
