#pragma once
// How far a point lies outside the convex hull of a few points, in 3-D: what an adaptive
// palette needs to know of a colour that dithering must mix from its nearest palette colours.

#include <array>

namespace artistry::effects {

using Vec3 = std::array<float, 3>;

// p minus the point of the convex hull of pts[0 .. n) nearest to it: zero when p lies inside
// the hull (or on it). 1 <= n <= 8; degenerate (flat, collinear, repeated) points are allowed.
Vec3 outside_hull(const Vec3& p, const Vec3* pts, int n);

}  // namespace artistry::effects
