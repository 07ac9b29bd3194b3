// Adaptive palettes: colours fitted to an image, whole or streamed in row bands.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "artistry/error.hpp"
#include "effects/pixel_art/palette.hpp"
#include "effects/pixel_art/palette_fit.hpp"
#include "effects/pixel_art/palette_proxy.hpp"
#include "util/parallel.hpp"
#include "util/rng.hpp"

namespace artistry::effects {

std::vector<std::string> adaptive_method_names() {
    return {"hull_kmeans", "median_cut", "kmeans"};
}

std::string adaptive_method_help() {
    return "palette=adaptive: hull_kmeans (k-means in Oklab on every pixel's colour, pushed out "
           "until dithering can mix every colour of the image; the most accurate), median_cut, "
           "or kmeans (on a sample, seeded)";
}

AdaptiveMethod parse_adaptive_method(const std::string& name) {
    if (name == "hull_kmeans") return AdaptiveMethod::hull_kmeans;
    if (name == "median_cut") return AdaptiveMethod::median_cut;
    if (name == "kmeans") return AdaptiveMethod::kmeans;
    throw Error(Status::invalid_argument,
                fmt::format("unknown adaptive method '{}' (known: {})", name,
                            fmt::join(adaptive_method_names(), ", ")));
}

// ---- adaptive palettes ----------------------------------------------------------------

namespace {

struct Bin {
    std::uint32_t key;  // 5-bit r,g,b
    std::uint64_t count;
    std::uint64_t sum[3];
    int axis(int c) const { return static_cast<int>((key >> (10 - 5 * c)) & 31); }
};

}  // namespace

Palette median_cut_palette(const std::vector<std::uint64_t>& count,
                           const std::vector<std::array<std::uint64_t, 3>>& sum, int colors) {
    std::vector<Bin> bins;
    for (std::uint32_t k = 0; k < 32768; ++k)
        if (count[k] != 0) bins.push_back({k, count[k], {sum[k][0], sum[k][1], sum[k][2]}});
    if (bins.empty()) return Palette({Rgb8{0, 0, 0}});

    struct Box {
        std::size_t begin, end;  // range in `bins`
        int range = 0, axis = 0;
    };
    const auto measure = [&](Box& b) {
        b.range = -1;
        for (int c = 0; c < 3; ++c) {
            int lo = 31, hi = 0;
            for (std::size_t i = b.begin; i < b.end; ++i) {
                lo = std::min(lo, bins[i].axis(c));
                hi = std::max(hi, bins[i].axis(c));
            }
            if (hi - lo > b.range) {
                b.range = hi - lo;
                b.axis = c;
            }
        }
    };
    std::vector<Box> boxes{{0, bins.size()}};
    measure(boxes[0]);
    while (static_cast<int>(boxes.size()) < colors) {
        // The box with the largest range (first one on ties) is split next.
        std::size_t pick = 0;
        for (std::size_t i = 1; i < boxes.size(); ++i)
            if (boxes[i].range > boxes[pick].range) pick = i;
        Box& b = boxes[pick];
        if (b.range <= 0) break;  // every box holds a single histogram cell
        const int axis = b.axis;
        std::stable_sort(bins.begin() + static_cast<std::ptrdiff_t>(b.begin),
                         bins.begin() + static_cast<std::ptrdiff_t>(b.end),
                         [&](const Bin& u, const Bin& v) { return u.axis(axis) < v.axis(axis); });
        std::uint64_t total = 0;
        for (std::size_t i = b.begin; i < b.end; ++i) total += bins[i].count;
        // Weighted median, kept strictly inside so both halves are non-empty.
        std::uint64_t acc = 0;
        std::size_t cut = b.begin + 1;
        for (std::size_t i = b.begin; i + 1 < b.end; ++i) {
            acc += bins[i].count;
            cut = i + 1;
            if (2 * acc >= total) break;
        }
        // Never split inside a run of bins with equal coordinate on the axis.
        while (cut < b.end && bins[cut].axis(axis) == bins[cut - 1].axis(axis)) ++cut;
        if (cut == b.end) {
            cut = b.begin + 1;
            while (bins[cut].axis(axis) == bins[cut - 1].axis(axis)) ++cut;
        }
        Box lo{b.begin, cut}, hi{cut, b.end};
        measure(lo);
        measure(hi);
        boxes[pick] = lo;
        boxes.push_back(hi);
    }
    std::vector<Rgb8> out;
    for (const Box& b : boxes) {
        std::uint64_t n = 0, s[3] = {0, 0, 0};
        for (std::size_t i = b.begin; i < b.end; ++i) {
            n += bins[i].count;
            for (int c = 0; c < 3; ++c) s[c] += bins[i].sum[c];
        }
        const auto mean = [&](int c) { return static_cast<std::uint8_t>((s[c] + n / 2) / n); };
        out.push_back({mean(0), mean(1), mean(2)});
    }
    return Palette(std::move(out));
}

namespace {

Rgb8 oklab_to_rgb8(const util::Oklab& c) {
    const auto lin = util::oklab_to_linear(c);
    return {util::linear_to_srgb8(lin[0]), util::linear_to_srgb8(lin[1]),
            util::linear_to_srgb8(lin[2])};
}

// k-means in Oklab over the samples, k-means++ starts drawn with SplitMix64(seed).
Palette kmeans(const std::vector<util::Oklab>& samples, int k, std::uint64_t seed) {
    if (samples.empty()) return Palette({Rgb8{0, 0, 0}});

    // k-means++ starts.
    util::SplitMix64 rng(seed);
    std::vector<util::Oklab> centres{samples[rng.below(samples.size())]};
    std::vector<float> d2(samples.size(), std::numeric_limits<float>::max());
    while (static_cast<int>(centres.size()) < k) {
        double total = 0;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            d2[i] = std::min(d2[i], util::oklab_distance2(samples[i], centres.back()));
            total += d2[i];
        }
        if (total <= 0) break;  // fewer distinct colours than k
        double r = rng.uniform() * total;
        std::size_t pick = samples.size() - 1;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            r -= d2[i];
            if (r < 0 && d2[i] > 0) {
                pick = i;
                break;
            }
        }
        centres.push_back(samples[pick]);
    }

    std::vector<int> label(samples.size(), 0);
    constexpr int iterations = 12;
    for (int it = 0; it < iterations; ++it) {
        util::parallel_rows(
            static_cast<int>(samples.size()),
            [&](int i0, int i1) {
                for (int i = i0; i < i1; ++i) label[i] = nearest_oklab(centres, samples[i]);
            },
            1024);
        std::vector<double> acc(centres.size() * 4, 0.0);
        for (std::size_t i = 0; i < samples.size(); ++i) {
            double* a = &acc[static_cast<std::size_t>(label[i]) * 4];
            a[0] += samples[i].L;
            a[1] += samples[i].a;
            a[2] += samples[i].b;
            a[3] += 1;
        }
        for (std::size_t c = 0; c < centres.size(); ++c) {
            const double* a = &acc[c * 4];
            if (a[3] > 0)  // an empty cluster keeps its centre
                centres[c] = {static_cast<float>(a[0] / a[3]), static_cast<float>(a[1] / a[3]),
                              static_cast<float>(a[2] / a[3])};
        }
    }
    std::vector<Rgb8> out;
    out.reserve(centres.size());
    for (const auto& c : centres) out.push_back(oklab_to_rgb8(c));
    return Palette(std::move(out));
}

// The sampling grid step: at most about 65536 samples, from the whole image's size only.
int kmeans_step(int width, int height) {
    const double n_pixels = static_cast<double>(width) * static_cast<double>(height);
    return std::max<int>(1, static_cast<int>(std::ceil(std::sqrt(n_pixels / 65536.0))));
}

}  // namespace

AdaptivePaletteBuilder::AdaptivePaletteBuilder(int colors, AdaptiveMethod method,
                                               std::uint64_t seed, int full_width, int full_height)
    : colors_(colors), method_(method), seed_(seed), width_(full_width), height_(full_height) {
    if (colors < 1 || colors > 256)
        throw Error(Status::invalid_argument,
                    fmt::format("adaptive_palette: colours must be in [1, 256], got {}", colors));
    if (full_width <= 0 || full_height <= 0)
        throw Error(
            Status::invalid_argument,
            fmt::format("adaptive_palette: image size {}x{} is empty", full_width, full_height));
    if (method == AdaptiveMethod::hull_kmeans) {
        histogram_ = std::make_unique<ColourHistogram>(colors);
        proxy_ = std::make_unique<ProxyBuilder>(full_width, full_height);
    } else if (method == AdaptiveMethod::median_cut) {
        count_.assign(32768, 0);
        sum_.assign(32768, {0, 0, 0});
    } else {
        step_ = kmeans_step(full_width, full_height);
    }
}

AdaptivePaletteBuilder::~AdaptivePaletteBuilder() = default;
AdaptivePaletteBuilder::AdaptivePaletteBuilder(AdaptivePaletteBuilder&&) noexcept = default;
AdaptivePaletteBuilder& AdaptivePaletteBuilder::operator=(AdaptivePaletteBuilder&&) noexcept =
    default;

void AdaptivePaletteBuilder::add_rows(const Image& band, int y0) {
    if (band.empty() || band.type() != PixelType::u8 || band.channels() < 3)
        throw Error(Status::invalid_argument, "adaptive_palette: expects u8 RGB or RGBA pixels");
    if (band.width() != width_ || y0 != next_row_ || y0 + band.height() > height_)
        throw Error(
            Status::invalid_argument,
            fmt::format("adaptive_palette: rows {}..{} of width {} do not continue a "
                        "{}x{} image at row {}",
                        y0, y0 + band.height() - 1, band.width(), width_, height_, next_row_));
    next_row_ = y0 + band.height();
    const int ch = band.channels();
    for (int r = 0; r < band.height(); ++r) {
        const std::uint8_t* row = band.row(r);
        if (histogram_) {
            histogram_->add_row(row, width_, ch);
            proxy_->add_row(row, ch, y0 + r);
            continue;
        }
        if (method_ == AdaptiveMethod::median_cut) {
            const std::uint8_t* p = row;
            for (int x = 0; x < width_; ++x, p += ch) {
                if (ch == 4 && p[3] == 0) continue;
                const std::uint32_t k = (std::uint32_t{p[0]} >> 3 << 10) |
                                        (std::uint32_t{p[1]} >> 3 << 5) | (p[2] >> 3);
                ++count_[k];
                sum_[k][0] += p[0];
                sum_[k][1] += p[1];
                sum_[k][2] += p[2];
            }
            continue;
        }
        const int y = y0 + r;
        if (y < step_ / 2 || (y - step_ / 2) % step_ != 0) continue;
        for (int x = step_ / 2; x < width_; x += step_) {
            const std::uint8_t* p = row + static_cast<std::size_t>(x) * ch;
            if (ch == 4 && p[3] == 0) continue;
            samples_.push_back(util::srgb8_to_oklab(p[0], p[1], p[2]));
        }
    }
}

Palette AdaptivePaletteBuilder::finish() const {
    if (next_row_ != height_)
        throw Error(
            Status::invalid_argument,
            fmt::format("adaptive_palette: saw {} of the image's {} rows", next_row_, height_));
    if (histogram_) return fit_palette(*histogram_, proxy_->finish(), colors_);
    return method_ == AdaptiveMethod::median_cut ? median_cut_palette(count_, sum_, colors_)
                                                 : kmeans(samples_, colors_, seed_);
}

Palette adaptive_palette(const Image& image, int colors, AdaptiveMethod method,
                         std::uint64_t seed) {
    if (image.empty() || image.type() != PixelType::u8 || image.channels() < 3)
        throw Error(Status::invalid_argument, "adaptive_palette: expects u8 RGB or RGBA pixels");
    AdaptivePaletteBuilder builder(colors, method, seed, image.width(), image.height());
    builder.add_rows(image, 0);
    return builder.finish();
}

}  // namespace artistry::effects
