// remove_background. Neural (ISNet, when installed): the model's matte at its resolution (its
// input area-resampled from streamed rows), refined at full resolution by a guided filter in
// absolute coordinates (matte_refine.hpp), so it also runs tiled: an analysis, then per tile.
// Classical (no model): a saliency and centre prior seeds GrabCut on a small working copy; the mask
// is upsampled and its edge refined at full resolution with a fast guided filter (He et al. 2010)
// steered by the full-size luminance.

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "artistry/opencv.hpp"
#include "effects/matting/area_downscale.hpp"
#include "effects/builtin.hpp"
#include "effects/matting/matte_refine.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"
#include "util/rng.hpp"

namespace artistry::effects {
namespace {

// "" (transparent), "#rrggbb" or "rrggbb".
std::string check_background(const std::string& text) {
    if (text.empty()) return {};
    const std::string h = text[0] == '#' ? text.substr(1) : text;
    if (h.size() != 6 || !std::all_of(h.begin(), h.end(), [](char c) {
            return std::isxdigit(static_cast<unsigned char>(c));
        }))
        return fmt::format("expected empty (transparent) or a colour #rrggbb, got '{}'", text);
    return {};
}

std::array<std::uint8_t, 3> parse_background(const std::string& text) {
    const std::string h = text[0] == '#' ? text.substr(1) : text;
    const auto v = std::stoul(h, nullptr, 16);
    return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
            static_cast<std::uint8_t>(v)};
}

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

struct Settings {
    bool alpha_only = false;
    bool composite = false;
    std::array<std::uint8_t, 3> background{};
    double threshold = 0;
    int refine_radius = 0;  // 0: auto
    int iterations = 5;
    int work_size = 512;
    std::uint64_t seed = 0;

    explicit Settings(const Params& p)
        : alpha_only(p.text("mode") == "alpha"),
          composite(!p.text("background").empty()),
          threshold(p.number("threshold")),
          refine_radius(static_cast<int>(p.integer("refine_radius"))),
          iterations(static_cast<int>(p.integer("iterations"))),
          work_size(static_cast<int>(p.integer("work_size"))),
          seed(static_cast<std::uint64_t>(p.integer("seed"))) {
        if (composite) background = parse_background(p.text("background"));
    }
    int out_channels() const { return alpha_only ? 1 : (composite ? 3 : 4); }
};

// One output row from the input row and its matte (alpha[x] in [0, 1]; thresholded and
// multiplied by the input's own alpha here, so both methods give the same modes).
void emit_row(const Settings& s, const std::uint8_t* src, int ch, float* alpha, int w,
              std::uint8_t* dst) {
    const float cut = static_cast<float>(s.threshold);
    for (int x = 0; x < w; ++x) {
        float v = alpha[x];
        if (cut > 0) v = v >= cut ? 1.f : 0.f;
        if (ch == 4) v *= src[std::size_t(x) * 4 + 3] * (1.f / 255.f);
        alpha[x] = v;
    }
    if (s.alpha_only) {
        for (int x = 0; x < w; ++x)
            dst[x] = static_cast<std::uint8_t>(alpha[std::size_t(x)] * 255.f + 0.5f);
    } else if (s.composite) {
        const auto& bg = s.background;
        for (int x = 0; x < w; ++x, src += ch, dst += 3) {
            const float t = alpha[std::size_t(x)];
            for (std::size_t c = 0; c < 3; ++c)
                dst[c] = static_cast<std::uint8_t>(float(bg[c]) + t * float(src[c] - bg[c]) + 0.5f);
        }
    } else {
        for (int x = 0; x < w; ++x, src += ch, dst += 4) {
            dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
            dst[3] = static_cast<std::uint8_t>(alpha[std::size_t(x)] * 255.f + 0.5f);
        }
    }
}

Image run_classical(const Image& in, const Settings& s, const EffectContext& ctx) {
    const int w = in.width(), h = in.height(), ch = in.channels();
    constexpr int fine_iterations = 1;
    const std::int64_t total = 4 + s.iterations + fine_iterations;
    std::int64_t done = 0;
    ctx.report(done, total);

    // 1. The working copy (RGB, longest side at most work_size) and a coarse copy of half
    //    that: GrabCut's cost grows steeply with size, so the full search runs on the coarse
    //    copy and the working copy only refines a band along the boundary.
    const double scale = std::min(1.0, double(s.work_size) / std::max(w, h));
    const int ww = std::max(1, int(std::lround(w * scale))),
              wh = std::max(1, int(std::lround(h * scale)));
    cv::Mat small, work;
    cv::resize(as_mat(in), small, {ww, wh}, 0, 0, cv::INTER_AREA);
    if (ch == 4)
        cv::cvtColor(small, work, cv::COLOR_RGBA2RGB);
    else
        work = small;
    const int cw = std::max(1, (ww + 1) / 2), chh = std::max(1, (wh + 1) / 2);
    cv::Mat coarse;
    cv::resize(work, coarse, {cw, chh}, 0, 0, cv::INTER_AREA);

    cv::Mat fg;
    const int band = std::max(2, std::min(cw, chh) / 40);
    if (std::min(cw, chh) < 4 * band + 8) {
        fg = cv::Mat(wh, ww, CV_8U, cv::Scalar(255));  // too small to segment: keep it all
        done += 2 + s.iterations + fine_iterations;
    } else {
        // 2. Saliency → seeds: the border band is definite background; salient or central
        //    pixels probable foreground; the rest probable background.
        const cv::Mat seeds = grabcut_seeds(saliency(coarse, band), band);
        ctx.report(++done, total);
        ctx.throw_if_cancelled();
        // 3. GrabCut, coarse then fine (GrabCut is channel-order blind: RGB goes in as is).
        cv::Mat coarse_fg = run_grabcut(coarse, seeds, s.iterations, s.seed, ctx, done, total);
        clean_mask(coarse_fg);
        const int area = cv::countNonZero(coarse_fg);
        if (area == 0 || area == coarse_fg.rows * coarse_fg.cols) {
            // Nothing, or everything, is subject: no boundary for the fine pass to refine.
            cv::resize(coarse_fg, fg, work.size(), 0, 0, cv::INTER_NEAREST);
            done += fine_iterations;
        } else {
            fg = run_grabcut(
                work, boundary_seeds(coarse_fg, work.size(), std::max(2, std::min(ww, wh) / 100)),
                fine_iterations, s.seed + 1, ctx, done, total);
            clean_mask(fg);
        }
        ctx.report(++done, total);
        ctx.throw_if_cancelled();
    }

    // 4. Edge refinement: the guided filter's statistics at 1/sub scale (fast guided filter),
    //    its coefficients interpolated and applied to every full-size pixel's luminance below.
    const double up = 1.0 / scale;  // full-size pixels per working pixel
    const int radius =
        s.refine_radius > 0 ? s.refine_radius : std::max(2, int(std::lround(2 * up)));
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
    cv::Mat mean_a, mean_b;
    guided_coefficients(I_sub, p_sub, std::max(1, int(std::lround(double(radius) / sub))), 1e-3,
                        mean_a, mean_b);
    ctx.report(++done, total);
    ctx.throw_if_cancelled();

    // 5. Matte and output, one pass over the full-size pixels.
    const auto taps = [](int n_out, int n_in) {  // bilinear taps, pixel-centre aligned
        std::vector<std::pair<int, float>> t(static_cast<std::size_t>(n_out));
        for (int i = 0; i < n_out; ++i) {
            const double f = std::clamp((i + 0.5) * n_in / n_out - 0.5, 0.0, double(n_in - 1));
            const int i0 = std::min(int(f), n_in - 1);
            t[std::size_t(i)] = {i0, float(f - i0)};
        }
        return t;
    };
    const auto xt = taps(w, sw), yt = taps(h, sh);
    Image out = Image::allocate(w, h, s.out_channels());
    util::parallel_rows(h, [&](int y0, int y1) {
        std::vector<float> ra(static_cast<std::size_t>(sw)), rb(static_cast<std::size_t>(sw));
        std::vector<float> alpha(static_cast<std::size_t>(w));
        for (int y = y0; y < y1; ++y) {
            const auto [j0, fy] = yt[std::size_t(y)];
            const int j1 = std::min(j0 + 1, sh - 1);
            const float *a0 = mean_a.ptr<float>(j0), *a1 = mean_a.ptr<float>(j1);
            const float *b0 = mean_b.ptr<float>(j0), *b1 = mean_b.ptr<float>(j1);
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
            emit_row(s, src, ch, alpha.data(), w, out.row(y));
        }
    });
    ctx.report(++done, total);
    return out;
}

// ---- the neural method (ISNet) -----------------------------------------------------------

constexpr const char* isnet_model = "isnet";

// "isnet" or "classical": what `model` means with the models installed now.
std::string resolve_method(const Params& p, ModelStore& store) {
    const std::string& model = p.text("model");
    if (model != "auto") return model;
    return store.has(isnet_model) ? isnet_model : "classical";
}

// The model's input size from its spec ([1, 3, H, W]); 1024² when the spec does not say.
cv::Size model_input_size(const ModelSpec& spec) {
    cv::Size size(1024, 1024);
    if (!spec.inputs.empty() && spec.inputs[0].shape.size() == 4) {
        const auto& s = spec.inputs[0].shape;
        if (s[2] > 0 && s[3] > 0) size = cv::Size(int(s[3]), int(s[2]));
    }
    return size;
}

// Full pixels per matte pixel decide the auto refinement radius; capped, so that the tiled
// path's halo (the footprint's) holds it.
constexpr int max_auto_radius = 32;

int refine_radius(const Settings& s, int full_w, int full_h, const cv::Mat& matte) {
    if (s.refine_radius > 0) return s.refine_radius;
    const double up = std::max(double(full_w) / matte.cols, double(full_h) / matte.rows);
    return std::clamp(int(std::lround(2 * up)), 2, max_auto_radius);
}

// The analysis: the model's input (the whole image stretched to its size, no aspect kept, as it
// was trained) by exact area resampling of the streamed rows; the model's matte on finish.
struct IsnetState {
    cv::Mat matte;  // CV_32F in [0, 1], at the model's resolution
};

class IsnetAnalyzer final : public Analyzer {
  public:
    IsnetAnalyzer(std::shared_ptr<const Model> model, cv::Size size, int width, int height)
        : model_(std::move(model)),
          size_(size),
          input_(width, height, size.width, size.height, 3) {}

    void add_rows(const Image& band, int y0) override { input_.add_rows(band, y0); }

    std::shared_ptr<const void> finish() override {
        // RGB planes, (v − 128) / 256.
        Tensor input({1, 3, size_.height, size_.width});
        input.values = input_.finish();
        for (float& v : input.values) v = (v - 128.f) / 256.f;
        std::vector<Tensor> outputs = model_->run({input});
        if (outputs.empty() || outputs[0].shape.size() < 2)
            throw Error(Status::internal, fmt::format("model '{}' gave no matte", isnet_model));
        const auto& shape = outputs[0].shape;
        const int mh = int(shape[shape.size() - 2]), mw = int(shape[shape.size() - 1]);
        if (std::int64_t(mh) * mw != outputs[0].elements())
            throw Error(Status::internal,
                        fmt::format("model '{}': matte of shape {} is not one plane", isnet_model,
                                    fmt::join(shape, "x")));
        auto state = std::make_shared<IsnetState>();
        state->matte =
            cv::min(cv::max(cv::Mat(mh, mw, CV_32F, outputs[0].values.data()), 0.0), 1.0);
        return state;
    }

  private:
    std::shared_ptr<const Model> model_;
    cv::Size size_;
    AreaDownscaler input_;
};

std::unique_ptr<Analyzer> isnet_analyzer(ModelStore& store, int width, int height) {
    auto model = store.get(isnet_model);
    const cv::Size size = model_input_size(model->spec());
    return std::make_unique<IsnetAnalyzer>(std::move(model), size, width, height);
}

// The refinement of any window of the image (a tile with its halo, or the whole image) from the
// analysis: a full-resolution guided filter in absolute coordinates (matte_refine.hpp). Rows
// and columns it cannot refine (within the halo of a window edge inside the image) are left 0.
Image refine_window(const Image& in, const Settings& s, const EffectContext& ctx,
                    const IsnetState& state) {
    const int w = in.width(), h = in.height(), ch = in.channels();
    MatteWindow window{ctx.origin_x, ctx.origin_y, ctx.full_width > 0 ? ctx.full_width : w,
                       ctx.full_height > 0 ? ctx.full_height : h};
    MatteRefineOptions refine;
    refine.radius = refine_radius(s, window.full_width, window.full_height, state.matte);
    Image out = Image::allocate(w, h, s.out_channels());
    for (int y = 0; y < h; ++y) std::memset(out.row(y), 0, out.row_bytes());
    std::atomic<std::int64_t> rows_done{0};
    refine_matte(
        in, state.matte, refine, window,
        [&](int y, float* alpha) { emit_row(s, in.row(y), ch, alpha, w, out.row(y)); },
        [&](int rows) { ctx.report(rows_done += rows, h); }, ctx);
    return out;
}

// Any region of the image: with ISNet, refined from the analysis of the whole image
// (ctx.analysis); without it, the classical method on the whole image.
Image render_region(const Image& in, const Params& p, const EffectContext& ctx) {
    const Settings& s = p.settings<Settings>();
    const auto* isnet = static_cast<const IsnetState*>(ctx.analysis.get());
    if (ctx.data != nullptr)
        *ctx.data = nlohmann::json{{"method", isnet ? isnet_model : "classical"}}.dump();
    return isnet ? refine_window(in, s, ctx, *isnet) : run_classical(in, s, ctx);
}

// ISNet's analysis over the whole image, or nullptr for the classical method, which runs whole.
std::unique_ptr<Analyzer> begin_analysis(const Params& p, int width, int height,
                                         const EffectContext& ctx) {
    ModelStore& store = ModelStore::of(ctx);
    if (resolve_method(p, store) != isnet_model) return nullptr;
    return isnet_analyzer(store, width, height);
}

}  // namespace

void register_remove_background(EffectRegistry& registry) {
    EffectInfo e;
    e.name = "remove_background";
    e.version = 3;
    e.summary =
        "Cut the subject out (ISNet matte when installed, else saliency-seeded GrabCut; "
        "guided-filter edges at full resolution): RGBA with the matte as alpha, a colour "
        "behind it, or the matte alone. Data: {\"method\": \"isnet\" | \"classical\"}";
    e.params = {
        param::choice(
            "model", "auto", {"auto", "isnet", "classical"},
            "auto: ISNet when installed (scripts/fetch-models), else classical; isnet: fail when "
            "it is not installed"),
        param::choice(
            "mode", "cutout", {"cutout", "alpha"},
            "cutout: the image with the matte as alpha; alpha: the matte alone, one grey channel "
            "(white = subject)"),
        param::text(
            "background", "",
            "empty: transparent; #rrggbb: composite onto this colour and return RGB (cutout mode)",
            check_background),
        param::number(
            "threshold", 0.0, 0, 1,
            "0: soft matte; above 0: hard mask, subject where the matte reaches this level"),
        param::integer(
            "refine_radius", 0, 0, 256,
            "edge refinement (guided filter) radius in full-size pixels; 0: from the image size "
            "(at most 32)"),
        param::integer("iterations", 5, 1, 10, "GrabCut iterations (classical)"),
        param::integer(
            "work_size", 512, 64, 2048,
            "longest side of the copy the segmentation runs on (classical; larger: slower, finer)"),
        param::integer("seed", 0, 0, 2147483647,
                       "seed of GrabCut's colour-model start (classical)"),
    };
    e.has_data = true;
    e.decode = decoder([](const Params& p) { return Settings(p); });
    e.describe = [](const Params& p, int width, int height, const EffectContext& ctx) {
        const Settings& s = p.settings<Settings>();
        const auto px = std::size_t(width) * std::size_t(height);
        EffectPlan plan;
        // The halo is the ISNet refinement's (the classical method runs whole).
        plan.footprint = {
            Footprint::Kind::global,
            matte_refine_halo(s.refine_radius > 0 ? s.refine_radius : max_auto_radius)};
        if (resolve_method(p, ModelStore::of(ctx)) == isnet_model) {
            plan.models = {isnet_model};
            // the output, two refinement bands (256 rows and the halo) of four 64-bit planes,
            // the model's activations at 1024²
            plan.memory_bytes =
                px * 4 + std::size_t(width) * 400 * 8 * 4 * 2 + (std::size_t(640) << 20);
        } else {
            // the output (at most RGBA), a reduced guide, and GrabCut's graph on the working copy
            const auto work = std::size_t(s.work_size);
            plan.memory_bytes = px * 4 + px / 2 + work * work * 160;
        }
        return plan;
    };
    e.render = render_region;
    e.begin_analysis = begin_analysis;
    registry.add(std::move(e));
}

}  // namespace artistry::effects
