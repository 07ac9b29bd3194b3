// remove_background's classical method (no model): a saliency and centre prior seeds GrabCut on a
// small working copy; the mask is upsampled and its edge refined at full resolution with a fast
// guided filter (He et al. 2010) steered by the full-size luminance.

#include "effects/matting/classical_matte.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "artistry/opencv.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"
#include "util/rng.hpp"

namespace artistry::effects {
namespace {

// The guide: Rec. 709 luminance of sRGB codes, in [0, 1].
inline float luma(const std::uint8_t* p) {
    return (0.2126f * p[0] + 0.7152f * p[1] + 0.0722f * p[2]) * (1.f / 255.f);
}

// ---- saliency: how unlike the image's border a pixel's colour is --------------------------

using Lab = cv::Vec3f;

inline float dist2(const Lab& a, const Lab& b) {
    const Lab d = a - b;
    return d.dot(d);
}

// A few colour clusters of one border side (k-means, deterministic start); clusters holding
// under 4 % of the side are dropped: they are likely the subject touching the border.
std::vector<Lab> border_clusters(const std::vector<Lab>& samples, int k) {
    std::vector<Lab> centres;
    if (samples.empty()) return centres;
    k = std::min<int>(k, static_cast<int>(samples.size()));
    for (int i = 0; i < k; ++i)
        centres.push_back(samples[samples.size() * std::size_t(2 * i + 1) / std::size_t(2 * k)]);
    std::vector<int> label(samples.size());
    std::vector<int> count(static_cast<std::size_t>(k));
    for (int iter = 0; iter < 10; ++iter) {
        for (std::size_t s = 0; s < samples.size(); ++s) {
            int best = 0;
            float bd = dist2(samples[s], centres[0]);
            for (int c = 1; c < k; ++c)
                if (const float d = dist2(samples[s], centres[std::size_t(c)]); d < bd)
                    bd = d, best = c;
            label[s] = best;
        }
        std::vector<cv::Vec3d> sum(static_cast<std::size_t>(k), cv::Vec3d(0, 0, 0));
        std::fill(count.begin(), count.end(), 0);
        for (std::size_t s = 0; s < samples.size(); ++s) {
            sum[std::size_t(label[s])] += cv::Vec3d(samples[s]);
            ++count[std::size_t(label[s])];
        }
        for (int c = 0; c < k; ++c)
            if (count[std::size_t(c)] > 0)
                centres[std::size_t(c)] = Lab(sum[std::size_t(c)] / count[std::size_t(c)]);
    }
    std::vector<Lab> kept;
    for (int c = 0; c < k; ++c)
        if (count[std::size_t(c)] * 25 >= static_cast<int>(samples.size()))
            kept.push_back(centres[std::size_t(c)]);
    return kept;
}

float nearest(const Lab& p, const std::vector<Lab>& centres) {
    float best = 1e30f;
    for (const auto& c : centres) best = std::min(best, dist2(p, c));
    return std::sqrt(best);
}

// Saliency in [0, 1] at working size: colour distance to the border's colours, with a mild
// centre prior. A side whose colours are foreign to the other three (the subject cut by the
// frame, e.g. a bust) is left out of the background model.
cv::Mat saliency(const cv::Mat& rgb, int band) {
    cv::Mat lab(rgb.size(), CV_32FC3);  // Oklab × 100: perceptual, in CIELAB-like units
    util::parallel_rows(rgb.rows, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const auto* src = rgb.ptr<std::uint8_t>(y);
            auto* dst = lab.ptr<Lab>(y);
            for (int x = 0; x < rgb.cols; ++x, src += 3) {
                const util::Oklab c = util::srgb8_to_oklab(src[0], src[1], src[2]);
                dst[x] = Lab(100 * c.L, 100 * c.a, 100 * c.b);
            }
        }
    });
    const int w = lab.cols, h = lab.rows;
    std::array<std::vector<Lab>, 4> sides;                // top, bottom, left, right
    const int step = std::max(1, (w + h) * band / 6000);  // about 3000 samples per side at most
    for (int y = 0; y < band; y += 1)
        for (int x = 0; x < w; x += step) {
            sides[0].push_back(lab.at<Lab>(y, x));
            sides[1].push_back(lab.at<Lab>(h - 1 - y, x));
        }
    for (int y = 0; y < h; y += step)
        for (int x = 0; x < band; ++x) {
            sides[2].push_back(lab.at<Lab>(y, x));
            sides[3].push_back(lab.at<Lab>(y, w - 1 - x));
        }
    std::array<std::vector<Lab>, 4> model;
    for (int s = 0; s < 4; ++s) model[std::size_t(s)] = border_clusters(sides[std::size_t(s)], 6);
    // How foreign each side is to the others: its mean distance to their clusters.
    std::array<float, 4> foreign{};
    for (int s = 0; s < 4; ++s) {
        std::vector<Lab> others;
        for (int o = 0; o < 4; ++o)
            if (o != s)
                others.insert(others.end(), model[std::size_t(o)].begin(),
                              model[std::size_t(o)].end());
        double sum = 0;
        for (const auto& p : sides[std::size_t(s)]) sum += nearest(p, others);
        foreign[std::size_t(s)] =
            sides[std::size_t(s)].empty() ? 0.f : float(sum / sides[std::size_t(s)].size());
    }
    std::array<float, 4> sorted = foreign;
    std::sort(sorted.begin(), sorted.end());
    std::vector<Lab> background;
    for (int s = 0; s < 4; ++s) {
        const float f_s = foreign[std::size_t(s)];
        const bool odd_one_out = f_s == sorted[3] && f_s > 2.f * sorted[1] + 8.f;
        if (!odd_one_out)
            background.insert(background.end(), model[std::size_t(s)].begin(),
                              model[std::size_t(s)].end());
    }

    cv::Mat sal(h, w, CV_32F);
    util::parallel_rows(h, [&](int y0, int y1) {
        for (int y = y0; y < y1; ++y) {
            const Lab* p = lab.ptr<Lab>(y);
            float* o = sal.ptr<float>(y);
            const float dy = (y + 0.5f) / h - 0.5f;
            for (int x = 0; x < w; ++x) {
                const float dx = (x + 0.5f) / w - 0.5f;
                const float centre = std::exp(-(dx * dx + dy * dy) / (2 * 0.3f * 0.3f));
                o[x] = nearest(p[x], background) * (0.6f + 0.4f * centre);
            }
        }
    });
    cv::GaussianBlur(sal, sal, {0, 0}, std::max(1.0, std::min(w, h) / 150.0));
    // Robust normalisation: the 98th percentile maps to 1.
    std::vector<float> v(sal.begin<float>(), sal.end<float>());
    const auto k = v.size() * 98 / 100;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    const float top = std::max(v[k], 1e-3f);
    sal = cv::min(sal / top, 1.0);
    return sal;
}

// ---- seeds and GrabCut ------------------------------------------------------------------

cv::Mat grabcut_seeds(const cv::Mat& sal, int band) {
    cv::Mat sal8;
    sal.convertTo(sal8, CV_8U, 255);
    cv::Mat ignored;
    const double otsu = cv::threshold(sal8, ignored, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
    const int w = sal.cols, h = sal.rows;
    cv::Mat mask(h, w, CV_8U);
    int foreground = 0;
    for (int y = 0; y < h; ++y) {
        const std::uint8_t* s = sal8.ptr<std::uint8_t>(y);
        std::uint8_t* m = mask.ptr<std::uint8_t>(y);
        const float dy = (y + 0.5f) / h - 0.5f;
        for (int x = 0; x < w; ++x) {
            const float dx = (x + 0.5f) / w - 0.5f;
            const bool centre = dx * dx / (0.3f * 0.3f) + dy * dy / (0.3f * 0.3f) <= 1.f;
            const bool border = x < band || y < band || x >= w - band || y >= h - band;
            const bool salient = s[x] > otsu || (centre && s[x] > 0.6 * otsu);
            if (border && s[x] <= otsu)
                m[x] = cv::GC_BGD;
            else if (salient)
                m[x] = cv::GC_PR_FGD, ++foreground;
            else
                m[x] = cv::GC_PR_BGD;
        }
    }
    if (foreground == 0)  // a flat image: the centre ellipse is the only guess left
        cv::ellipse(mask, cv::Point(w / 2, h / 2), cv::Size(w * 3 / 10, h * 3 / 10), 0, 0, 360,
                    cv::GC_PR_FGD, -1);
    if (cv::countNonZero(mask == cv::GC_BGD) + cv::countNonZero(mask == cv::GC_PR_BGD) == 0) {
        // Everything looked salient: GrabCut still needs background samples, so take the frame.
        mask.setTo(cv::GC_BGD);
        mask(cv::Rect(band, band, w - 2 * band, h - 2 * band)).setTo(cv::GC_PR_FGD);
    }
    return mask;
}

// GrabCut's GMM start uses OpenCV's thread-local RNG: fix it here (and restore it after) so runs
// are identical. One iteration per call lets us report progress and honour cancellation; GC_EVAL
// continues exactly where the previous call stopped. Returns the foreground as 0/255.
cv::Mat run_grabcut(const cv::Mat& rgb, cv::Mat mask, int iterations, std::uint64_t seed,
                    const EffectContext& ctx, std::int64_t& done, std::int64_t total) {
    // Each colour model needs a few samples (its k-means has five clusters); without them
    // the seeds are already the answer.
    const int seeded_fg = cv::countNonZero(mask & 1), pixels = mask.rows * mask.cols;
    if (seeded_fg < 16 || pixels - seeded_fg < 16) {
        done += iterations;
        ctx.report(done, total);
        return (mask & 1) * 255;
    }
    cv::Mat bgd, fgd;
    cv::RNG& rng = cv::theRNG();
    const std::uint64_t saved = rng.state;
    rng.state = util::mix64(seed ^ 0x6a09e667f3bcc909ULL) | 1;
    try {
        for (int i = 0; i < iterations; ++i) {
            cv::grabCut(rgb, mask, cv::Rect(), bgd, fgd, 1,
                        i == 0 ? cv::GC_INIT_WITH_MASK : cv::GC_EVAL);
            ctx.report(++done, total);
            ctx.throw_if_cancelled();
        }
    } catch (...) {
        rng.state = saved;
        throw;
    }
    rng.state = saved;
    return (mask & 1) * 255;  // GC_FGD = 1, GC_PR_FGD = 3
}

// The fine pass's seeds: the coarse result upsampled, definite away from its outline and
// probable in a band along it, where the fine pass may move the boundary.
cv::Mat boundary_seeds(const cv::Mat& coarse_fg, cv::Size size, int band) {
    cv::Mat fg;
    cv::resize(coarse_fg, fg, size, 0, 0, cv::INTER_LINEAR);
    fg = fg >= 128;
    const cv::Mat k = cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * band + 1, 2 * band + 1});
    cv::Mat inner, outer;
    cv::erode(fg, inner, k);
    cv::dilate(fg, outer, k);
    cv::Mat mask(size, CV_8U, cv::Scalar(cv::GC_BGD));
    mask.setTo(cv::GC_PR_BGD, outer);
    mask.setTo(cv::GC_PR_FGD, fg);
    mask.setTo(cv::GC_FGD, inner);
    return mask;
}

// Keeps the main subject: drops specks far smaller than the largest region and fills small
// holes that do not reach the border.
void clean_mask(cv::Mat& fg) {
    cv::Mat labels, stats, centroids;
    const int n = cv::connectedComponentsWithStats(fg, labels, stats, centroids, 8, CV_32S);
    int largest = 0;
    for (int i = 1; i < n; ++i) largest = std::max(largest, stats.at<int>(i, cv::CC_STAT_AREA));
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(n), 0);
    for (int i = 1; i < n; ++i)
        keep[std::size_t(i)] = stats.at<int>(i, cv::CC_STAT_AREA) * 8 >= largest;
    const cv::Mat holes = fg == 0;
    cv::Mat hole_labels;
    const int hn =
        cv::connectedComponentsWithStats(holes, hole_labels, stats, centroids, 4, CV_32S);
    const int max_hole = fg.rows * fg.cols / 400;
    std::vector<std::uint8_t> fill(static_cast<std::size_t>(hn), 0);
    for (int i = 1; i < hn; ++i) {
        const int x = stats.at<int>(i, cv::CC_STAT_LEFT), y = stats.at<int>(i, cv::CC_STAT_TOP);
        const int bw = stats.at<int>(i, cv::CC_STAT_WIDTH),
                  bh = stats.at<int>(i, cv::CC_STAT_HEIGHT);
        const bool touches = x == 0 || y == 0 || x + bw == fg.cols || y + bh == fg.rows;
        fill[std::size_t(i)] = !touches && stats.at<int>(i, cv::CC_STAT_AREA) <= max_hole;
    }
    for (int y = 0; y < fg.rows; ++y) {
        std::uint8_t* m = fg.ptr<std::uint8_t>(y);
        const int* l = labels.ptr<int>(y);
        const int* hl = hole_labels.ptr<int>(y);
        for (int x = 0; x < fg.cols; ++x)
            m[x] = (m[x] ? keep[std::size_t(l[x])] : fill[std::size_t(hl[x])]) ? 255 : 0;
    }
}

// ---- edge refinement --------------------------------------------------------------------

// Fast guided filter (He & Sun 2015): the box-filter statistics of the guided filter are taken
// at 1/s scale, their coefficients upsampled, and applied to the full-resolution guide:
//   a = cov(I, p) / (var(I) + eps),  b = mean(p) − a·mean(I),  q = mean(a)·I + mean(b).
// Returns a and b's box means at the small scale; the caller applies them per full-res pixel.
void guided_coefficients(const cv::Mat& I, const cv::Mat& p, int radius, double eps,
                         cv::Mat& mean_a, cv::Mat& mean_b) {
    const cv::Size k(2 * radius + 1, 2 * radius + 1);
    const auto box = [&](const cv::Mat& m) {
        cv::Mat out;
        cv::boxFilter(m, out, CV_32F, k, cv::Point(-1, -1), true, cv::BORDER_REFLECT);
        return out;
    };
    const cv::Mat mean_I = box(I), mean_p = box(p);
    const cv::Mat corr_Ip = box(I.mul(p)), corr_II = box(I.mul(I));
    const cv::Mat var_I = corr_II - mean_I.mul(mean_I);
    const cv::Mat cov_Ip = corr_Ip - mean_I.mul(mean_p);
    const cv::Mat a = cov_Ip / (var_I + eps);
    const cv::Mat b = mean_p - a.mul(mean_I);
    mean_a = box(a);
    mean_b = box(b);
}

// ---- the method, step by step -----------------------------------------------------------

constexpr int fine_iterations = 1;

// GrabCut's cost grows steeply with size, so the full search runs on the coarse copy and the
// working copy only refines a band along the boundary.
struct WorkingCopies {
    double scale = 1;  // working pixels per full-size pixel
    cv::Mat work;      // RGB, longest side at most work_size
    cv::Mat coarse;    // half the working copy's size
};

WorkingCopies working_copies(const Image& in, int work_size) {
    const int w = in.width(), h = in.height();
    WorkingCopies c;
    c.scale = std::min(1.0, double(work_size) / std::max(w, h));
    const int ww = std::max(1, int(std::lround(w * c.scale))),
              wh = std::max(1, int(std::lround(h * c.scale)));
    cv::Mat small;
    cv::resize(as_mat(in), small, {ww, wh}, 0, 0, cv::INTER_AREA);
    if (in.channels() == 4)
        cv::cvtColor(small, c.work, cv::COLOR_RGBA2RGB);
    else
        c.work = small;
    const int cw = std::max(1, (ww + 1) / 2), chh = std::max(1, (wh + 1) / 2);
    cv::resize(c.work, c.coarse, {cw, chh}, 0, 0, cv::INTER_AREA);
    return c;
}

// The subject as 0/255 at working size: saliency seeds GrabCut on the coarse copy, whose result
// seeds a pass along the boundary on the working copy.
cv::Mat segment(const WorkingCopies& c, const ClassicalMatteOptions& o, const EffectContext& ctx,
                std::int64_t& done, std::int64_t total) {
    const cv::Mat& work = c.work;
    const int ww = work.cols, wh = work.rows, cw = c.coarse.cols, chh = c.coarse.rows;
    const int band = std::max(2, std::min(cw, chh) / 40);
    if (std::min(cw, chh) < 4 * band + 8) {
        done += 2 + o.iterations + fine_iterations;
        return cv::Mat(wh, ww, CV_8U, cv::Scalar(255));  // too small to segment: keep it all
    }
    // Saliency → seeds: the border band is definite background; salient or central pixels
    // probable foreground; the rest probable background.
    const cv::Mat seeds = grabcut_seeds(saliency(c.coarse, band), band);
    ctx.report(++done, total);
    ctx.throw_if_cancelled();
    // GrabCut, coarse then fine (GrabCut is channel-order blind: RGB goes in as is).
    cv::Mat coarse_fg = run_grabcut(c.coarse, seeds, o.iterations, o.seed, ctx, done, total);
    clean_mask(coarse_fg);
    cv::Mat fg;
    const int area = cv::countNonZero(coarse_fg);
    if (area == 0 || area == coarse_fg.rows * coarse_fg.cols) {
        // Nothing, or everything, is subject: no boundary for the fine pass to refine.
        cv::resize(coarse_fg, fg, work.size(), 0, 0, cv::INTER_NEAREST);
        done += fine_iterations;
    } else {
        fg = run_grabcut(
            work, boundary_seeds(coarse_fg, work.size(), std::max(2, std::min(ww, wh) / 100)),
            fine_iterations, o.seed + 1, ctx, done, total);
        clean_mask(fg);
    }
    ctx.report(++done, total);
    ctx.throw_if_cancelled();
    return fg;
}

// The guided filter's coefficients at 1/sub scale (fast guided filter), to be interpolated and
// applied to every full-size pixel's luminance.
struct EdgeCoefficients {
    int width = 1, height = 1;  // the small scale
    cv::Mat mean_a, mean_b;
};

EdgeCoefficients edge_coefficients(const Image& in, cv::Mat fg, double scale, int refine_radius) {
    const int w = in.width(), h = in.height(), ch = in.channels(), ww = fg.cols;
    const double up = 1.0 / scale;  // full-size pixels per working pixel
    const int radius = refine_radius > 0 ? refine_radius : std::max(2, int(std::lround(2 * up)));
    const int sub = std::max(1, std::min(radius / 2, int(std::floor(up))));
    const int sw = std::max(1, (w + sub - 1) / sub), sh = std::max(1, (h + sub - 1) / sub);
    cv::Mat guide_small, I_sub(sh, sw, CV_32F), p_sub;
    cv::resize(as_mat(in), guide_small, {sw, sh}, 0, 0, cv::INTER_AREA);
    for (int y = 0; y < sh; ++y) {
        const std::uint8_t* g = guide_small.ptr<std::uint8_t>(y);
        float* o = I_sub.ptr<float>(y);
        for (int x = 0; x < sw; ++x, g += ch) o[x] = luma(g);
    }
    fg.convertTo(fg, CV_32F, 1.0 / 255);
    cv::resize(fg, p_sub, {sw, sh}, 0, 0, sw < ww ? cv::INTER_AREA : cv::INTER_LINEAR);
    EdgeCoefficients e;
    e.width = sw;
    e.height = sh;
    guided_coefficients(I_sub, p_sub, std::max(1, int(std::lround(double(radius) / sub))), 1e-3,
                        e.mean_a, e.mean_b);
    return e;
}

// Bilinear taps from n_in to n_out samples, pixel centres aligned: the first source sample and
// the weight of the next.
std::vector<std::pair<int, float>> bilinear_taps(int n_out, int n_in) {
    std::vector<std::pair<int, float>> t(static_cast<std::size_t>(n_out));
    for (int i = 0; i < n_out; ++i) {
        const double f = std::clamp((i + 0.5) * n_in / n_out - 0.5, 0.0, double(n_in - 1));
        const int i0 = std::min(int(f), n_in - 1);
        t[std::size_t(i)] = {i0, float(f - i0)};
    }
    return t;
}

// The matte, one pass over the full-size pixels: the coefficients interpolated to each pixel
// and applied to its luminance.
void matte_rows(const Image& in, const EdgeCoefficients& e, const MatteRowSink& row) {
    const int w = in.width(), h = in.height(), ch = in.channels(), sw = e.width, sh = e.height;
    const auto xt = bilinear_taps(w, sw), yt = bilinear_taps(h, sh);
    util::parallel_rows(h, [&](int y0, int y1) {
        std::vector<float> ra(static_cast<std::size_t>(sw)), rb(static_cast<std::size_t>(sw));
        std::vector<float> alpha(static_cast<std::size_t>(w));
        for (int y = y0; y < y1; ++y) {
            const auto [j0, fy] = yt[std::size_t(y)];
            const int j1 = std::min(j0 + 1, sh - 1);
            const float *a0 = e.mean_a.ptr<float>(j0), *a1 = e.mean_a.ptr<float>(j1);
            const float *b0 = e.mean_b.ptr<float>(j0), *b1 = e.mean_b.ptr<float>(j1);
            for (int i = 0; i < sw; ++i) {
                ra[std::size_t(i)] = a0[i] + fy * (a1[i] - a0[i]);
                rb[std::size_t(i)] = b0[i] + fy * (b1[i] - b0[i]);
            }
            const std::uint8_t* src = in.row(y);
            for (int x = 0; x < w; ++x) {  // the matte row (kept simple so it vectorises)
                const auto [i0, fx] = xt[std::size_t(x)];
                const std::size_t i1 = std::size_t(std::min(i0 + 1, sw - 1));
                const float a = ra[std::size_t(i0)] + fx * (ra[i1] - ra[std::size_t(i0)]);
                const float b = rb[std::size_t(i0)] + fx * (rb[i1] - rb[std::size_t(i0)]);
                const std::uint8_t* px = src + std::size_t(x) * std::size_t(ch);
                alpha[std::size_t(x)] = std::clamp(a * luma(px) + b, 0.f, 1.f);
            }
            row(y, alpha.data());
        }
    });
}

}  // namespace

void classical_matte(const Image& in, const ClassicalMatteOptions& options, const MatteRowSink& row,
                     const EffectContext& ctx) {
    const std::int64_t total = 4 + options.iterations + fine_iterations;
    std::int64_t done = 0;
    ctx.report(done, total);
    const WorkingCopies copies = working_copies(in, options.work_size);
    cv::Mat fg = segment(copies, options, ctx, done, total);
    const EdgeCoefficients edges =
        edge_coefficients(in, std::move(fg), copies.scale, options.refine_radius);
    ctx.report(++done, total);
    ctx.throw_if_cancelled();
    matte_rows(in, edges, row);
    ctx.report(++done, total);
}

}  // namespace artistry::effects
