// The proxy image and the dither score that pick the hull_kmeans palette among candidates.

#include "effects/pixel_art/palette_proxy.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "effects/pixel_art/dither.hpp"

namespace artistry::effects {

namespace {

constexpr double proxy_pixels = 65536.0;
constexpr float fixed_one = 65535.f;

const std::array<std::uint32_t, 256>& linear16() {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        const auto& lin = util::srgb8_to_linear_table();
        for (std::size_t i = 0; i < 256; ++i)
            t[i] = static_cast<std::uint32_t>(std::lround(lin[i] * fixed_one));
        return t;
    }();
    return table;
}

// Gaussian σ = 1.5 px, radius 4, normalised.
std::array<float, 9> blur_taps() {
    std::array<float, 9> k{};
    float sum = 0.f;
    for (int i = -4; i <= 4; ++i) {
        k[static_cast<std::size_t>(i + 4)] = std::exp(-static_cast<float>(i * i) / (2.f * 2.25f));
        sum += k[static_cast<std::size_t>(i + 4)];
    }
    for (float& v : k) v /= sum;
    return k;
}

// The image in linear light, blurred (edges clamped): one buffer, blurred across then down
// through a row-sized scratch, so a score holds little beside its dithered image.
std::vector<std::array<float, 3>> blurred_linear(const Image& img) {
    const int w = img.width(), h = img.height(), ch = img.channels();
    const auto& lin = util::srgb8_to_linear_table();
    const auto k = blur_taps();
    std::vector<std::array<float, 3>> a(static_cast<std::size_t>(w) * static_cast<std::size_t>(h));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::uint8_t* p = img.row(y) + static_cast<std::size_t>(x) * ch;
            a[static_cast<std::size_t>(y) * w + x] = {lin[p[0]], lin[p[1]], lin[p[2]]};
        }
    // One line (a row, or a column at `stride`) of n values, blurred in place.
    std::vector<std::array<float, 3>> line(static_cast<std::size_t>(std::max(w, h)));
    const auto blur_line = [&](std::size_t first, std::size_t stride, int n) {
        for (int i = 0; i < n; ++i) line[static_cast<std::size_t>(i)] = a[first + i * stride];
        for (int i = 0; i < n; ++i) {
            std::array<float, 3> s{0.f, 0.f, 0.f};
            for (int t = -4; t <= 4; ++t) {
                const auto& v = line[static_cast<std::size_t>(std::clamp(i + t, 0, n - 1))];
                const float wt = k[static_cast<std::size_t>(t + 4)];
                for (std::size_t c = 0; c < 3; ++c) s[c] += wt * v[c];
            }
            a[first + i * stride] = s;
        }
    };
    for (int y = 0; y < h; ++y) blur_line(static_cast<std::size_t>(y) * w, 1, w);
    for (int x = 0; x < w; ++x)
        blur_line(static_cast<std::size_t>(x), static_cast<std::size_t>(w), h);
    return a;
}

}  // namespace

ProxyBuilder::ProxyBuilder(int full_width, int full_height)
    : width_(full_width), height_(full_height) {
    const double n = static_cast<double>(full_width) * static_cast<double>(full_height);
    block_ = std::max(1, static_cast<int>(std::ceil(std::sqrt(n / proxy_pixels))));
    const int cols = (full_width + block_ - 1) / block_, rows = (full_height + block_ - 1) / block_;
    acc_.assign(static_cast<std::size_t>(cols) * 4, 0);
    proxy_ = Image::allocate(cols, rows, 4);
}

void ProxyBuilder::add_row(const std::uint8_t* p, int channels, int y) {
    const auto& lin = linear16();
    for (int x = 0; x < width_; ++x, p += channels) {
        if (channels == 4 && p[3] == 0) continue;
        std::uint64_t* a = &acc_[static_cast<std::size_t>(x / block_) * 4];
        a[0] += lin[p[0]];
        a[1] += lin[p[1]];
        a[2] += lin[p[2]];
        a[3] += 1;
    }
    if ((y + 1) % block_ == 0 || y + 1 == height_) flush(y / block_);
}

void ProxyBuilder::flush(int block_row) {
    std::uint8_t* out = proxy_.row(block_row);
    for (int i = 0; i < proxy_.width(); ++i) {
        std::uint64_t* a = &acc_[static_cast<std::size_t>(i) * 4];
        std::uint8_t* q = out + static_cast<std::size_t>(i) * 4;
        for (std::size_t c = 0; c < 3; ++c)
            q[c] = a[3] ? util::linear_to_srgb8(static_cast<float>(
                              static_cast<double>(a[c]) / (static_cast<double>(a[3]) * fixed_one)))
                        : 0;
        q[3] = a[3] ? 255 : 0;
        std::fill_n(a, 4, std::uint64_t{0});
    }
}

Image ProxyBuilder::finish() const {
    return proxy_.clone();
}

DitherScore::DitherScore(Image proxy) : proxy_(std::move(proxy)) {
    const auto blurred = blurred_linear(proxy_);
    reference_.reserve(blurred.size());
    for (const auto& v : blurred) reference_.push_back(approx_oklab(v[0], v[1], v[2]));
}

double DitherScore::operator()(const Palette& palette) const {
    DitherSpec spec;  // Floyd–Steinberg, serpentine, linear light
    const auto got =
        blurred_linear(dither_to_palette(proxy_, palette, adaptive_spec(spec, palette), {}));
    double sum = 0;
    std::size_t n = 0;
    for (int y = 0; y < proxy_.height(); ++y)
        for (int x = 0; x < proxy_.width(); ++x) {
            if (proxy_.row(y)[static_cast<std::size_t>(x) * 4 + 3] == 0) continue;
            const std::size_t i = static_cast<std::size_t>(y) * proxy_.width() + x;
            const util::Oklab o = approx_oklab(got[i][0], got[i][1], got[i][2]);
            sum += std::sqrt(util::oklab_distance2(o, reference_[i]));
            ++n;
        }
    return n ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace artistry::effects
