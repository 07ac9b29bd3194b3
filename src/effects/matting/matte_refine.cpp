// Banded, tile-exact full-resolution guided filter for mattes (matte_refine.hpp).

#include "effects/matting/matte_refine.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {
namespace {

// Fixed point: the guide is the pixel's colour in u8 codes, the matte × 2^16, the filter's
// coefficients × 2^20. Box sums of them are exact integers, whatever the window.
constexpr double code_one = 255.0;
constexpr double matte_one = 65536.0;
constexpr double coef_one = 1048576.0;

// Sums per column of the first pass: I (3), I·Iᵀ (6: 00 01 02 11 12 22), I·p (3), p.
constexpr std::size_t n_stats = 13;
using Stats = std::array<std::int64_t, n_stats>;
// Coefficients per pixel: a (3) and b.
constexpr std::size_t n_coefs = 4;

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

// Values over an absolute rectangle, `channels` per pixel, row-major.
template <class T>
struct Plane {
    int x0, y0, width, channels;
    std::vector<T> v;

    Plane(int x0_, int y0_, int x1, int y1, int channels_)
        : x0(x0_),
          y0(y0_),
          width(x1 - x0_),
          channels(channels_),
          v(std::size_t(width) * std::size_t(y1 - y0_) * std::size_t(channels_)) {}
    T* at(int y, int x) {
        return &v[(std::size_t(y - y0) * std::size_t(width) + std::size_t(x - x0)) *
                  std::size_t(channels)];
    }
    const T* at(int y, int x) const { return const_cast<Plane*>(this)->at(y, x); }
};
using Guide = Plane<std::uint8_t>;  // RGB codes
using Matte = Plane<std::int32_t>;  // matte × 2^16
using Coefs = Plane<std::int64_t>;  // a (3) and b, × 2^20

// The guide (I: the colour, grey replicated) and the matte stretched bilinearly to the full
// image (P) over the band's sample extent.
void sample_guide_and_matte(const Image& image, const cv::Mat& matte, const Geometry& g,
                            const BandExtents& e, Guide& I, Matte& P) {
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
        std::uint8_t* gi = I.at(y, e.gx0);
        std::int32_t* gp = P.at(y, e.gx0);
        for (int x = e.gx0; x < e.gx1; ++x, gi += 3, ++gp) {
            const std::uint8_t* px = src + std::size_t(x - g.gx) * std::size_t(ch);
            for (std::size_t c = 0; c < 3; ++c) gi[c] = px[ch >= 3 ? c : 0];
            const auto [i0, fx] = tap(x, W, matte.cols);
            const std::size_t a = std::size_t(i0 - mc0),
                              b = std::size_t(std::min(i0 + 1, matte.cols - 1) - mc0);
            const float p = mrow[a] + fx * (mrow[b] - mrow[a]);
            *gp = std::int32_t(std::lround(double(p) * matte_one));
        }
    }
}

// The pixel's sums: its colour, their products, with the matte, and the matte.
Stats pixel_stats(const std::uint8_t* i, std::int64_t p) {
    const std::int64_t r = i[0], g = i[1], b = i[2];
    return {r, g, b, r * r, r * g, r * b, g * g, g * b, b * b, r * p, g * p, b * p, p};
}

// a = (Σ + εU)⁻¹·cov(I, p) and b = mean(p) − a·mean(I) from a window's n pixels' sums.
std::array<double, n_coefs> solve(const Stats& s, double n, double eps) {
    const double m[3] = {s[0] / (n * code_one), s[1] / (n * code_one), s[2] / (n * code_one)};
    const double mp = double(s[12]) / (n * matte_one);
    const auto cov = [&](std::size_t k, int i, int j) {
        return double(s[k]) / (n * code_one * code_one) - m[i] * m[j] + (i == j ? eps : 0);
    };
    const double c00 = cov(3, 0, 0), c01 = cov(4, 0, 1), c02 = cov(5, 0, 2);
    const double c11 = cov(6, 1, 1), c12 = cov(7, 1, 2), c22 = cov(8, 2, 2);
    double v[3];
    for (int c = 0; c < 3; ++c)
        v[c] = double(s[9 + std::size_t(c)]) / (n * code_one * matte_one) - m[c] * mp;
    // The symmetric 3 × 3 inverse by cofactors (positive definite: ε > 0).
    const double k00 = c11 * c22 - c12 * c12, k01 = c02 * c12 - c01 * c22,
                 k02 = c01 * c12 - c02 * c11, k11 = c00 * c22 - c02 * c02,
                 k12 = c01 * c02 - c00 * c12, k22 = c00 * c11 - c01 * c01;
    const double det = c00 * k00 + c01 * k01 + c02 * k02;
    const double a0 = (k00 * v[0] + k01 * v[1] + k02 * v[2]) / det;
    const double a1 = (k01 * v[0] + k11 * v[1] + k12 * v[2]) / det;
    const double a2 = (k02 * v[0] + k12 * v[1] + k22 * v[2]) / det;
    return {a0, a1, a2, mp - a0 * m[0] - a1 * m[1] - a2 * m[2]};
}

// Pass 1: the coefficients a and b per coefficient pixel.
void filter_coefficients(const Guide& I, const Matte& P, const Geometry& g, const BandExtents& e,
                         Coefs& C) {
    const int W = g.full_w, H = g.full_h, r = g.r;
    const double n = double(2 * r + 1) * double(2 * r + 1);
    std::vector<Stats> column(std::size_t(e.gx1 - e.gx0), Stats{});
    const auto column_step = [&](int y, int sign) {
        const std::uint8_t* i = I.at(y, e.gx0);
        const std::int32_t* p = P.at(y, e.gx0);
        for (auto& col : column) {
            const Stats v = pixel_stats(i, *p);
            for (std::size_t k = 0; k < n_stats; ++k) col[k] += sign * v[k];
            i += 3, ++p;
        }
    };
    slide(
        e.ay0, e.ay1, r, H, [&](int y) { column_step(y, 1); }, [&](int y) { column_step(y, -1); },
        [&](int ky) {
            Stats sum{};
            const auto step = [&](int x, int sign) {
                const Stats& col = column[std::size_t(x - e.gx0)];
                for (std::size_t k = 0; k < n_stats; ++k) sum[k] += sign * col[k];
            };
            std::int64_t* out = C.at(ky, e.ax0);
            slide(
                e.ax0, e.ax1, r, W, [&](int x) { step(x, 1); }, [&](int x) { step(x, -1); },
                [&](int kx) {
                    const auto coefs = solve(sum, n, g.eps);
                    std::int64_t* o = out + std::size_t(kx - e.ax0) * n_coefs;
                    for (std::size_t k = 0; k < n_coefs; ++k)
                        o[k] = std::llround(coefs[k] * coef_one);
                });
        });
}

// Pass 2: q = mean(a)·I + mean(b), one output row at a time.
void apply_coefficients(const Image& image, const Guide& I, const Coefs& C, const Geometry& g,
                        const BandExtents& e, const std::function<void(int y, float* alpha)>& row) {
    const int W = g.full_w, H = g.full_h, r = g.r;
    const double n = double(2 * r + 1) * double(2 * r + 1);
    using Sums = std::array<std::int64_t, n_coefs>;
    std::vector<Sums> column(std::size_t(e.ax1 - e.ax0), Sums{});
    const auto column_step = [&](int y, int sign) {
        const std::int64_t* c = C.at(y, e.ax0);
        for (auto& col : column) {
            for (std::size_t k = 0; k < n_coefs; ++k) col[k] += sign * c[k];
            c += n_coefs;
        }
    };
    std::vector<float> alpha(std::size_t(image.width()), 0.f);
    slide(
        e.y0, e.y1, r, H, [&](int y) { column_step(y, 1); }, [&](int y) { column_step(y, -1); },
        [&](int y) {
            Sums sum{};
            const auto step = [&](int x, int sign) {
                const Sums& col = column[std::size_t(x - e.ax0)];
                for (std::size_t k = 0; k < n_coefs; ++k) sum[k] += sign * col[k];
            };
            std::fill(alpha.begin(), alpha.end(), 0.f);
            slide(
                g.x0, g.x1, r, W, [&](int x) { step(x, 1); }, [&](int x) { step(x, -1); },
                [&](int x) {
                    const std::uint8_t* i = I.at(y, x);
                    const double q =
                        (double(sum[0]) * i[0] / code_one + double(sum[1]) * i[1] / code_one +
                         double(sum[2]) * i[2] / code_one + double(sum[3])) /
                        (n * coef_one);
                    alpha[std::size_t(x - g.gx)] = float(std::clamp(q, 0.0, 1.0));
                });
            row(y - g.gy, alpha.data());
        });
}

// Output rows [y0, y1) (absolute) of the band.
void refine_band(const Image& image, const cv::Mat& matte, const Geometry& g, int y0, int y1,
                 const std::function<void(int y, float* alpha)>& row) {
    const BandExtents e = band_extents(g, y0, y1);
    Guide I(e.gx0, e.gy0, e.gx1, e.gy1, 3);
    Matte P(e.gx0, e.gy0, e.gx1, e.gy1, 1);
    sample_guide_and_matte(image, matte, g, e, I, P);
    Coefs C(e.ax0, e.ay0, e.ax1, e.ay1, int(n_coefs));
    filter_coefficients(I, P, g, e, C);
    apply_coefficients(image, I, C, g, e, row);
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
