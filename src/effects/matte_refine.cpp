// Banded full-resolution guided filter for mattes (matte_refine.hpp).

#include "effects/matte_refine.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {
namespace {

// Bilinear taps mapping n_out pixel centres onto n_in (first index, weight of the next).
std::vector<std::pair<int, float>> taps(int n_out, int n_in) {
    std::vector<std::pair<int, float>> t(static_cast<std::size_t>(n_out));
    for (int i = 0; i < n_out; ++i) {
        const double f = std::clamp((i + 0.5) * n_in / n_out - 0.5, 0.0, double(n_in - 1));
        const int i0 = std::min(int(f), n_in - 1);
        t[std::size_t(i)] = {i0, float(f - i0)};
    }
    return t;
}

float luma(const std::uint8_t* p, int channels) {
    if (channels < 3) return p[0] * (1.f / 255.f);
    return (0.2126f * p[0] + 0.7152f * p[1] + 0.0722f * p[2]) * (1.f / 255.f);
}

}  // namespace

void refine_matte(const Image& image, const cv::Mat& matte, const MatteRefineOptions& options,
                  const std::function<void(int y, float* alpha)>& row,
                  const std::function<void(int rows)>& band_done, const EffectContext& ctx) {
    if (image.empty() || image.type() != PixelType::u8)
        throw Error(Status::invalid_argument, "refine_matte: the image must be non-empty u8");
    if (matte.empty() || matte.type() != CV_32FC1)
        throw Error(Status::invalid_argument,
                    "refine_matte: the matte must be a non-empty one-channel float image");
    if (options.radius < 1 || options.band_rows < 1 || !(options.eps > 0))
        throw Error(Status::invalid_argument,
                    fmt::format("refine_matte: radius {} and band_rows {} must be >= 1, eps {} > 0",
                                options.radius, options.band_rows, options.eps));
    const int w = image.width(), h = image.height(), ch = image.channels();
    const int r = options.radius, halo = 2 * r;
    const auto xt = taps(w, matte.cols), yt = taps(h, matte.rows);
    const int bands = (h + options.band_rows - 1) / options.band_rows;
    const cv::Size window(2 * r + 1, 2 * r + 1);
    const auto box = [&](const cv::Mat& m) {
        cv::Mat out;
        cv::boxFilter(m, out, CV_32F, window, cv::Point(-1, -1), true, cv::BORDER_REFLECT);
        return out;
    };

    util::parallel_rows(
        bands,
        [&](int b0, int b1) {
            for (int b = b0; b < b1; ++b) {
                ctx.throw_if_cancelled();
                const int y0 = b * options.band_rows, y1 = std::min(h, y0 + options.band_rows);
                // The halo: two box filters deep, clipped at the image (where reflection then
                // matches the whole-image filter).
                const int hy0 = std::max(0, y0 - halo), hy1 = std::min(h, y1 + halo);
                const int rows = hy1 - hy0;
                cv::Mat I(rows, w, CV_32F), p(rows, w, CV_32F);
                std::vector<float> mrow(static_cast<std::size_t>(matte.cols));
                for (int y = hy0; y < hy1; ++y) {
                    const std::uint8_t* src = image.row(y);
                    float* gi = I.ptr<float>(y - hy0);
                    for (int x = 0; x < w; ++x) gi[x] = luma(src + std::size_t(x) * std::size_t(ch), ch);
                    const auto [j0, fy] = yt[std::size_t(y)];
                    const float* m0 = matte.ptr<float>(j0);
                    const float* m1 = matte.ptr<float>(std::min(j0 + 1, matte.rows - 1));
                    for (int i = 0; i < matte.cols; ++i) mrow[std::size_t(i)] = m0[i] + fy * (m1[i] - m0[i]);
                    float* gp = p.ptr<float>(y - hy0);
                    for (int x = 0; x < w; ++x) {
                        const auto [i0, fx] = xt[std::size_t(x)];
                        const std::size_t i1 = std::size_t(std::min(i0 + 1, matte.cols - 1));
                        gp[x] = mrow[std::size_t(i0)] + fx * (mrow[i1] - mrow[std::size_t(i0)]);
                    }
                }
                // q = mean(a)·I + mean(b) with a = cov(I, p) / (var(I) + eps), b = mean(p) − a·mean(I).
                const cv::Mat mean_I = box(I), mean_p = box(p);
                const cv::Mat var_I = box(I.mul(I)) - mean_I.mul(mean_I);
                const cv::Mat cov_Ip = box(I.mul(p)) - mean_I.mul(mean_p);
                const cv::Mat a = cov_Ip / (var_I + options.eps);
                const cv::Mat mean_a = box(a), mean_b = box(mean_p - a.mul(mean_I));
                std::vector<float> alpha(static_cast<std::size_t>(w));
                for (int y = y0; y < y1; ++y) {
                    const float* ma = mean_a.ptr<float>(y - hy0);
                    const float* mb = mean_b.ptr<float>(y - hy0);
                    const float* gi = I.ptr<float>(y - hy0);
                    for (int x = 0; x < w; ++x)
                        alpha[std::size_t(x)] = std::clamp(ma[x] * gi[x] + mb[x], 0.f, 1.f);
                    row(y, alpha.data());
                }
                if (band_done) band_done(y1 - y0);
            }
        },
        1);
}

}  // namespace artistry::effects
