// The offset of a point from the convex hull of a few points: inside tests over tetrahedra,
// else the nearest point over every triangle, segment and vertex.

#include "effects/pixel_art/hull_distance.hpp"

#include <algorithm>
#include <limits>

#include "artistry/error.hpp"

namespace artistry::effects {

namespace {

Vec3 sub(const Vec3& a, const Vec3& b) {
    return {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
}
float dot(const Vec3& a, const Vec3& b) {
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
Vec3 cross(const Vec3& a, const Vec3& b) {
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
Vec3 along(const Vec3& a, const Vec3& d, float t) {
    return {a[0] + t * d[0], a[1] + t * d[1], a[2] + t * d[2]};
}

// Whether p lies in the tetrahedron abcd (barycentric coordinates by Cramer's rule); a flat
// tetrahedron holds nothing here (its points are covered by the triangle search).
bool in_tetrahedron(const Vec3& p, const Vec3& a, const Vec3& b, const Vec3& c, const Vec3& d) {
    const Vec3 ab = sub(b, a), ac = sub(c, a), ad = sub(d, a), ap = sub(p, a);
    const Vec3 n = cross(ac, ad);
    const float det = dot(ab, n);
    const float scale = dot(ab, ab) * dot(ac, ac) * dot(ad, ad);
    if (det * det <= 1e-12f * scale || scale == 0.f) return false;
    const float u = dot(ap, n) / det;
    const float v = dot(ab, cross(ap, ad)) / det;
    const float w = dot(ab, cross(ac, ap)) / det;
    return u >= 0.f && v >= 0.f && w >= 0.f && u + v + w <= 1.f;
}

Vec3 nearest_on_segment(const Vec3& p, const Vec3& a, const Vec3& b) {
    const Vec3 ab = sub(b, a);
    const float len2 = dot(ab, ab);
    if (len2 <= 0.f) return a;
    return along(a, ab, std::clamp(dot(sub(p, a), ab) / len2, 0.f, 1.f));
}

// The nearest point of triangle abc to p, found by the Voronoi region of p: a vertex, an edge
// or the face. Only called on triangles with area, so no denominator below is zero.
Vec3 nearest_on_triangle(const Vec3& p, const Vec3& a, const Vec3& b, const Vec3& c) {
    const Vec3 ab = sub(b, a), ac = sub(c, a), ap = sub(p, a);
    const float d1 = dot(ab, ap), d2 = dot(ac, ap);
    if (d1 <= 0.f && d2 <= 0.f) return a;
    const Vec3 bp = sub(p, b);
    const float d3 = dot(ab, bp), d4 = dot(ac, bp);
    if (d3 >= 0.f && d4 <= d3) return b;
    const float vc = d1 * d4 - d3 * d2;
    if (vc <= 0.f && d1 >= 0.f && d3 <= 0.f) return along(a, ab, d1 / (d1 - d3));
    const Vec3 cp = sub(p, c);
    const float d5 = dot(ab, cp), d6 = dot(ac, cp);
    if (d6 >= 0.f && d5 <= d6) return c;
    const float vb = d5 * d2 - d1 * d6;
    if (vb <= 0.f && d2 >= 0.f && d6 <= 0.f) return along(a, ac, d2 / (d2 - d6));
    const float va = d3 * d6 - d5 * d4;
    if (va <= 0.f && d4 >= d3 && d5 >= d6)
        return along(b, sub(c, b), (d4 - d3) / ((d4 - d3) + (d5 - d6)));
    const float inv = 1.f / (va + vb + vc);
    return along(along(a, ab, vb * inv), ac, vc * inv);
}

bool has_area(const Vec3& a, const Vec3& b, const Vec3& c) {
    const Vec3 ab = sub(b, a), ac = sub(c, a);
    const Vec3 n = cross(ab, ac);
    return dot(n, n) > 1e-12f * dot(ab, ab) * dot(ac, ac);
}

}  // namespace

Vec3 outside_hull(const Vec3& p, const Vec3* pts, int n) {
    if (n < 1 || n > 8)
        throw Error(Status::internal, "outside_hull: between 1 and 8 points are needed");
    for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j)
            for (int k = j + 1; k < n; ++k)
                for (int l = k + 1; l < n; ++l)
                    if (in_tetrahedron(p, pts[i], pts[j], pts[k], pts[l])) return {0.f, 0.f, 0.f};
    // Outside: the hull's nearest point lies on one of its boundary triangles, edges or
    // vertices, and every triangle of the points lies in the hull, so the nearest over all of
    // them is the hull's.
    Vec3 best = pts[0];
    float best_d = dot(sub(p, best), sub(p, best));
    const auto consider = [&](const Vec3& q) {
        const Vec3 d = sub(p, q);
        const float d2 = dot(d, d);
        if (d2 < best_d) {
            best_d = d2;
            best = q;
        }
    };
    for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j) {
            consider(nearest_on_segment(p, pts[i], pts[j]));
            for (int k = j + 1; k < n; ++k)
                if (has_area(pts[i], pts[j], pts[k]))
                    consider(nearest_on_triangle(p, pts[i], pts[j], pts[k]));
        }
    return sub(p, best);
}

}  // namespace artistry::effects
