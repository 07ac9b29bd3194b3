// The proxy image and the dither score that pick the hull_kmeans palette among candidates.

#include "effects/pixel_art/palette_proxy.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>

#include "effects/pixel_art/dither.hpp"

namespace artistry::effects {

namespace {

constexpr double proxy_pixels = 65536.0;
constexpr float fixed_one = 65535.f;
// The gradient step: twice the mean residual of a colour's pixels (a colour stands for about
// half of the dots around its pixels). Measured on photos, 1 moves too little, 3 or more overshoot.
constexpr float gradient_step = 2.f;

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

using Linear = std::vector<std::array<float, 3>>;

Linear linear_of(const Image& img) {
    const auto& lin = util::srgb8_to_linear_table();
    Linear a;
    a.reserve(static_cast<std::size_t>(img.width()) * static_cast<std::size_t>(img.height()));
    for (int y = 0; y < img.height(); ++y) {
        const std::uint8_t* p = img.row(y);
        for (int x = 0; x < img.width(); ++x, p += img.channels())
            a.push_back({lin[p[0]], lin[p[1]], lin[p[2]]});
    }
    return a;
}

// A w × h image in linear light blurred in place (edges clamped), across then down through a
// line-sized scratch.
void blur(Linear& a, int w, int h) {
    const auto k = blur_taps();
    Linear line(static_cast<std::size_t>(std::max(w, h)));
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
}

// Exact nearest-colour search in Oklab over colours sorted by lightness: outward from the
// query's lightness until the lightness gap alone exceeds the best distance. A fresh palette's
// lookup table would cost more to fill for a small proxy than this search does.
class NearestByLightness {
  public:
    explicit NearestByLightness(const Palette& p) : order_(p.size()) {
        std::iota(order_.begin(), order_.end(), 0);
        const auto& ok = p.oklab();
        std::sort(order_.begin(), order_.end(), [&](int a, int b) {
            const auto ia = static_cast<std::size_t>(a), ib = static_cast<std::size_t>(b);
            return ok[ia].L < ok[ib].L || (ok[ia].L == ok[ib].L && a < b);
        });
        for (const int i : order_) sorted_.push_back(ok[static_cast<std::size_t>(i)]);
    }
    // The index into the palette, and the squared distance to it.
    int find(const util::Oklab& c, float& d2) const {
        const auto n = static_cast<int>(sorted_.size());
        int hi = static_cast<int>(
            std::lower_bound(sorted_.begin(), sorted_.end(), c.L,
                             [](const util::Oklab& o, float L) { return o.L < L; }) -
            sorted_.begin());
        int lo = hi - 1, best = 0;
        d2 = std::numeric_limits<float>::max();
        while (lo >= 0 || hi < n) {
            bool any = false;
            for (const int i : {lo, hi}) {
                if (i < 0 || i >= n) continue;
                const float dL = sorted_[static_cast<std::size_t>(i)].L - c.L;
                if (dL * dL >= d2) continue;
                any = true;
                const float d = util::oklab_distance2(sorted_[static_cast<std::size_t>(i)], c);
                if (d < d2) {
                    d2 = d;
                    best = i;
                }
            }
            if (!any) break;
            --lo;
            ++hi;
        }
        return order_[static_cast<std::size_t>(best)];
    }

  private:
    std::vector<int> order_;
    std::vector<util::Oklab> sorted_;
};

// Floyd–Steinberg as the dither effect runs it for an adaptive palette (serpentine, in linear
// light, the adaptive error limit), with the exact search above: the result in linear light.
// With `chosen`, also the palette index of every pixel.
Linear dither_model(const Linear& img, const Image& proxy, const Palette& palette,
                    std::vector<std::uint8_t>* chosen) {
    const int w = proxy.width(), h = proxy.height();
    const NearestByLightness nearest(palette);
    const float limit = adaptive_spec(DitherSpec{}, palette).error_limit;
    const auto& lin = util::srgb8_to_linear_table();
    Linear pal;
    for (const Rgb8& c : palette.colors()) pal.push_back({lin[c.r], lin[c.g], lin[c.b]});
    Linear out(img.size()), here(static_cast<std::size_t>(w) + 2), below(here.size());
    for (int y = 0; y < h; ++y) {
        const int dir = (y & 1) ? -1 : 1;
        for (int i = 0; i < w; ++i) {
            const int x = dir > 0 ? i : w - 1 - i;
            const std::size_t at = static_cast<std::size_t>(y) * w + x;
            const auto e = static_cast<std::size_t>(x + 1);
            std::array<float, 3> v;
            for (std::size_t c = 0; c < 3; ++c)
                v[c] = std::clamp(img[at][c] + here[e][c], 0.f, 1.f);
            float d2 = 0.f;
            const auto k =
                static_cast<std::size_t>(nearest.find(approx_oklab(v[0], v[1], v[2]), d2));
            out[at] = pal[k];
            if (chosen) (*chosen)[at] = static_cast<std::uint8_t>(k);
            const float scale = d2 <= limit * limit ? 1.f : limit / std::sqrt(d2);
            for (std::size_t c = 0; c < 3; ++c) {
                const float q = (v[c] - pal[k][c]) * scale;
                here[static_cast<std::size_t>(static_cast<int>(e) + dir)][c] += q * 7.f / 16.f;
                below[static_cast<std::size_t>(static_cast<int>(e) - dir)][c] += q * 3.f / 16.f;
                below[e][c] += q * 5.f / 16.f;
                below[static_cast<std::size_t>(static_cast<int>(e) + dir)][c] += q * 1.f / 16.f;
            }
        }
        std::swap(here, below);
        std::fill(below.begin(), below.end(), std::array<float, 3>{0.f, 0.f, 0.f});
    }
    return out;
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

DitherScore::DitherScore(Image proxy) : proxy_(std::move(proxy)), linear_(linear_of(proxy_)) {
    blurred_ = linear_;
    blur(blurred_, proxy_.width(), proxy_.height());
    reference_.reserve(blurred_.size());
    for (const auto& v : blurred_) reference_.push_back(approx_oklab(v[0], v[1], v[2]));
}

double DitherScore::operator()(const Palette& palette,
                               std::vector<std::array<float, 3>>* targets) const {
    const int w = proxy_.width(), h = proxy_.height();
    std::vector<std::uint8_t> chosen(targets ? linear_.size() : 0);
    Linear got = dither_model(linear_, proxy_, palette, targets ? &chosen : nullptr);
    blur(got, w, h);
    double sum = 0;
    std::size_t n = 0;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            if (proxy_.row(y)[static_cast<std::size_t>(x) * 4 + 3] == 0) continue;
            const std::size_t i = static_cast<std::size_t>(y) * w + x;
            const util::Oklab o = approx_oklab(got[i][0], got[i][1], got[i][2]);
            sum += std::sqrt(util::oklab_distance2(o, reference_[i]));
            ++n;
        }
    if (targets) {
        // The blurred residual, blurred again (the blur's transpose), summed over each colour's
        // pixels: the gradient of the squared blurred error in linear light.
        for (std::size_t i = 0; i < got.size(); ++i)
            for (std::size_t c = 0; c < 3; ++c) got[i][c] -= blurred_[i][c];
        blur(got, w, h);
        std::vector<std::array<double, 4>> g(palette.size(), {0, 0, 0, 0});
        for (std::size_t i = 0; i < got.size(); ++i) {
            auto& a = g[chosen[i]];
            for (std::size_t c = 0; c < 3; ++c) a[c] += got[i][c];
            a[3] += 1;
        }
        const auto& lin = util::srgb8_to_linear_table();
        targets->clear();
        for (std::size_t k = 0; k < palette.size(); ++k) {
            const Rgb8 col = palette.colors()[k];
            std::array<float, 3> t{lin[col.r], lin[col.g], lin[col.b]};
            if (g[k][3] > 0)
                for (std::size_t c = 0; c < 3; ++c)
                    t[c] -= static_cast<float>(g[k][c] / g[k][3]) * gradient_step;
            targets->push_back(t);
        }
    }
    return n ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace artistry::effects
