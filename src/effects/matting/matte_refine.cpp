// Banded, tile-exact full-resolution guided filter for mattes (matte_refine.hpp).

#include "effects/matting/matte_refine.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {
namespace {

// Fixed point: the guide is Rec. 709 luma × 2 550 000 (exact for u8 codes), the matte × 2^16,
// the filter's coefficients × 2^20. Box sums of them are exact integers, whatever the window.
constexpr double guide_one = 2550000.0;
constexpr double matte_one = 65536.0;
constexpr double coef_one = 1048576.0;

std::int64_t guide(const std::uint8_t* p, int channels) {
    if (channels < 3) return std::int64_t{p[0]} * 10000;
    return 2126 * std::int64_t{p[0]} + 7152 * std::int64_t{p[1]} + 722 * std::int64_t{p[2]};
}

// OpenCV's BORDER_REFLECT (fedcba|abcdef) for any offset, even past the far edge.
int reflect(int i, int n) {
    if (n == 1) return 0;
    const int period = 2 * n;
    int m = i % period;
    if (m < 0) m += period;
    return m < n ? m : period - 1 - m;
}

// The bilinear tap of output pixel centre i of n_out onto n_in: first index, weight of the next.
std::pair<int, float> tap(int i, int n_out, int n_in) {
    const double f = std::clamp((i + 0.5) * n_in / n_out - 0.5, 0.0, double(n_in - 1));
    const int i0 = std::min(int(f), n_in - 1);
    return {i0, float(f - i0)};
}

// Sliding box sums along a reflected axis of n: emit(k) for k in [k0, k1) once add and sub have
// left the sum of reflect(j) for j in [k − r, k + r] (integer sums: exact in any order).
template <class Add, class Sub, class Emit>
void slide(int k0, int k1, int r, int n, Add&& add, Sub&& sub, Emit&& emit) {
    for (int j = k0 - r; j <= k0 + r; ++j) add(reflect(j, n));
    for (int k = k0;; ++k) {
        emit(k);
        if (k + 1 >= k1) break;
        add(reflect(k + r + 1, n));
        sub(reflect(k - r, n));
    }
}

struct Geometry {
    int gx, gy;          // the image's place in the full image
    int full_w, full_h;  // the full image
    int x0, x1;          // refined columns, absolute
    int r;
    double eps;
};

// A band's absolute extents: its output rows, the guide and matte samples it reads (two boxes
// deep) and the filter coefficients it needs (one box deep).
struct BandExtents {
    int y0, y1;
    int gx0, gx1, gy0, gy1;
    int ax0, ax1, ay0, ay1;
};

// Output rows [y0, y1) (absolute); reads the image's rows within 2r of them.
BandExtents band_extents(const Geometry& g, int y0, int y1) {
    const int W = g.full_w, H = g.full_h, r = g.r;
    return {y0,
            y1,
            std::max(0, g.x0 - 2 * r),
            std::min(W, g.x1 + 2 * r),
            std::max(0, y0 - 2 * r),
            std::min(H, y1 + 2 * r),
            std::max(0, g.x0 - r),
            std::min(W, g.x1 + r),
            std::max(0, y0 - r),
            std::min(H, y1 + r)};
}

// Fixed-point values over an absolute rectangle, row-major.
struct Plane {
    int x0, y0, width;
    std::vector<std::int64_t> v;

    Plane(int x0_, int y0_, int x1, int y1)
        : x0(x0_), y0(y0_), width(x1 - x0_), v(std::size_t(width) * std::size_t(y1 - y0_)) {}
    std::int64_t* row(int y) { return &v[std::size_t(y - y0) * std::size_t(width)]; }
    std::int64_t at(int y, int x) const {
        return v[std::size_t(y - y0) * std::size_t(width) + std::size_t(x - x0)];
    }
};

// The guide (I) and the matte stretched bilinearly to the full image (P) over the band's sample
// extent.
void sample_guide_and_matte(const Image& image, const cv::Mat& matte, const Geometry& g,
                            const BandExtents& e, Plane& I, Plane& P) {
    const int W = g.full_w, H = g.full_h, ch = image.channels();
    const int mc0 = tap(e.gx0, W, matte.cols).first;
    const int mc1 = std::min(tap(e.gx1 - 1, W, matte.cols).first + 1, matte.cols - 1);
    std::vector<float> mrow(std::size_t(mc1 - mc0 + 1));
    for (int y = e.gy0; y < e.gy1; ++y) {
        const std::uint8_t* src = image.row(y - g.gy);
        const auto [j0, fy] = tap(y, H, matte.rows);
        const float* m0 = matte.ptr<float>(j0);
        const float* m1 = matte.ptr<float>(std::min(j0 + 1, matte.rows - 1));
        for (int i = mc0; i <= mc1; ++i) mrow[std::size_t(i - mc0)] = m0[i] + fy * (m1[i] - m0[i]);
        std::int64_t* gi = I.row(y);
        std::int64_t* gp = P.row(y);
        for (int x = e.gx0; x < e.gx1; ++x) {
            gi[x - e.gx0] = guide(src + std::size_t(x - g.gx) * std::size_t(ch), ch);
            const auto [i0, fx] = tap(x, W, matte.cols);
            const std::size_t a = std::size_t(i0 - mc0),
                              b = std::size_t(std::min(i0 + 1, matte.cols - 1) - mc0);
            const float p = mrow[a] + fx * (mrow[b] - mrow[a]);
            gp[x - e.gx0] = std::lround(double(p) * matte_one);
        }
    }
}

// Pass 1: a = cov(I, p) / (var(I) + eps) and b = mean(p) − a·mean(I), per coefficient pixel.
void filter_coefficients(const Plane& I, const Plane& P, const Geometry& g, const BandExtents& e,
                         Plane& A, Plane& B) {
    const int W = g.full_w, H = g.full_h, r = g.r;
    const double n = double(2 * r + 1) * double(2 * r + 1);
    std::vector<std::int64_t> vi(std::size_t(e.gx1 - e.gx0), 0), vp(vi), vii(vi), vip(vi);
    const auto column_step = [&](int y, int sign) {
        for (int x = e.gx0; x < e.gx1; ++x) {
            const std::int64_t i = I.at(y, x), p = P.at(y, x);
            const auto c = std::size_t(x - e.gx0);
            vi[c] += sign * i, vp[c] += sign * p, vii[c] += sign * i * i, vip[c] += sign * i * p;
        }
    };
    slide(
        e.ay0, e.ay1, r, H, [&](int y) { column_step(y, 1); }, [&](int y) { column_step(y, -1); },
        [&](int ky) {
            std::int64_t si = 0, sp = 0, sii = 0, sip = 0;
            const auto step = [&](int x, int sign) {
                const auto c = std::size_t(x - e.gx0);
                si += sign * vi[c], sp += sign * vp[c], sii += sign * vii[c], sip += sign * vip[c];
            };
            std::int64_t* a_row = A.row(ky);
            std::int64_t* b_row = B.row(ky);
            slide(
                e.ax0, e.ax1, r, W, [&](int x) { step(x, 1); }, [&](int x) { step(x, -1); },
                [&](int kx) {
                    const double mean_i = double(si) / (n * guide_one);
                    const double mean_p = double(sp) / (n * matte_one);
                    const double var = double(sii) / (n * guide_one * guide_one) - mean_i * mean_i;
                    const double cov = double(sip) / (n * guide_one * matte_one) - mean_i * mean_p;
                    const double a = cov / (var + g.eps);
                    a_row[kx - e.ax0] = std::llround(a * coef_one);
                    b_row[kx - e.ax0] = std::llround((mean_p - a * mean_i) * coef_one);
                });
        });
}

// Pass 2: q = mean(a)·I + mean(b), one output row at a time.
void apply_coefficients(const Image& image, const Plane& I, const Plane& A, const Plane& B,
                        const Geometry& g, const BandExtents& e,
                        const std::function<void(int y, float* alpha)>& row) {
    const int W = g.full_w, H = g.full_h, r = g.r;
    const double n = double(2 * r + 1) * double(2 * r + 1);
    std::vector<std::int64_t> va(std::size_t(e.ax1 - e.ax0), 0), vb(va);
    const auto column_step = [&](int y, int sign) {
        for (int x = e.ax0; x < e.ax1; ++x) {
            const auto c = std::size_t(x - e.ax0);
            va[c] += sign * A.at(y, x), vb[c] += sign * B.at(y, x);
        }
    };
    std::vector<float> alpha(std::size_t(image.width()), 0.f);
    slide(
        e.y0, e.y1, r, H, [&](int y) { column_step(y, 1); }, [&](int y) { column_step(y, -1); },
        [&](int y) {
            std::int64_t sa = 0, sb = 0;
            const auto step = [&](int x, int sign) {
                sa += sign * va[std::size_t(x - e.ax0)], sb += sign * vb[std::size_t(x - e.ax0)];
            };
            std::fill(alpha.begin(), alpha.end(), 0.f);
            slide(
                g.x0, g.x1, r, W, [&](int x) { step(x, 1); }, [&](int x) { step(x, -1); },
                [&](int x) {
                    const double guide_value = double(I.at(y, x)) / guide_one;
                    const double q = (double(sa) * guide_value + double(sb)) / (n * coef_one);
                    alpha[std::size_t(x - g.gx)] = float(std::clamp(q, 0.0, 1.0));
                });
            row(y - g.gy, alpha.data());
        });
}

// Output rows [y0, y1) (absolute) of the band.
void refine_band(const Image& image, const cv::Mat& matte, const Geometry& g, int y0, int y1,
                 const std::function<void(int y, float* alpha)>& row) {
    const BandExtents e = band_extents(g, y0, y1);
    Plane I(e.gx0, e.gy0, e.gx1, e.gy1), P(I);
    sample_guide_and_matte(image, matte, g, e, I, P);
    Plane A(e.ax0, e.ay0, e.ax1, e.ay1), B(A);
    filter_coefficients(I, P, g, e, A, B);
    apply_coefficients(image, I, A, B, g, e, row);
}

}  // namespace

PixelRect refinable_rect(const MatteWindow& window, int width, int height, int radius) {
    const int halo = matte_refine_halo(radius);
    const int full_w = window.full_width > 0 ? window.full_width : width;
    const int full_h = window.full_height > 0 ? window.full_height : height;
    return {window.x + (window.x == 0 ? 0 : halo), window.y + (window.y == 0 ? 0 : halo),
            window.x + (window.x + width == full_w ? width : width - halo),
            window.y + (window.y + height == full_h ? height : height - halo)};
}

void refine_matte(const Image& image, const cv::Mat& matte, const MatteRefineOptions& options,
                  const MatteWindow& window, const std::function<void(int y, float* alpha)>& row,
                  const std::function<void(int rows)>& band_done, const EffectContext& ctx) {
    if (image.empty() || image.type() != PixelType::u8)
        throw Error(Status::invalid_argument, "refine_matte: the image must be non-empty u8");
    if (matte.empty() || matte.type() != CV_32FC1)
        throw Error(Status::invalid_argument,
                    "refine_matte: the matte must be a non-empty one-channel float image");
    if (options.radius < 1 || options.radius > 256 || options.band_rows < 1 || !(options.eps > 0))
        throw Error(Status::invalid_argument,
                    fmt::format("refine_matte: radius {} must be in [1, 256], band_rows {} >= 1, "
                                "eps {} > 0",
                                options.radius, options.band_rows, options.eps));
    const int w = image.width(), h = image.height();
    Geometry g{window.x,
               window.y,
               window.full_width > 0 ? window.full_width : w,
               window.full_height > 0 ? window.full_height : h,
               0,
               0,
               options.radius,
               options.eps};
    if (g.gx < 0 || g.gy < 0 || g.gx + w > g.full_w || g.gy + h > g.full_h)
        throw Error(Status::invalid_argument,
                    fmt::format("refine_matte: a {}x{} window at {},{} is outside the {}x{} image",
                                w, h, g.gx, g.gy, g.full_w, g.full_h));
    const PixelRect refined =
        refinable_rect({g.gx, g.gy, g.full_w, g.full_h}, w, h, options.radius);
    if (refined.empty()) return;
    g.x0 = refined.x0, g.x1 = refined.x1;
    const int y0 = refined.y0, y1 = refined.y1;
    const int bands = (y1 - y0 + options.band_rows - 1) / options.band_rows;
    util::parallel_rows(
        bands,
        [&](int b0, int b1) {
            for (int b = b0; b < b1; ++b) {
                ctx.throw_if_cancelled();
                const int by0 = y0 + b * options.band_rows;
                const int by1 = std::min(y1, by0 + options.band_rows);
                refine_band(image, matte, g, by0, by1, row);
                if (band_done) band_done(by1 - by0);
            }
        },
        1);
}

void refine_matte(const Image& image, const cv::Mat& matte, const MatteRefineOptions& options,
                  const std::function<void(int y, float* alpha)>& row,
                  const std::function<void(int rows)>& band_done, const EffectContext& ctx) {
    refine_matte(image, matte, options, MatteWindow{}, row, band_done, ctx);
}

}  // namespace artistry::effects
