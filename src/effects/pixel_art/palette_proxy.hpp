#pragma once
// Judging a palette by dithering: a small box-filtered stand-in for the image, dithered with
// Floyd–Steinberg, both blurred, then compared in Oklab. On photos this ranks palettes as the
// full-size image compared in CIEDE2000 does (bench/quality/palettes.py), at a few hundredth of
// the cost; the hull_kmeans fit keeps the candidate that scores best, then moves its colours
// down the score's gradient.

#include <array>
#include <cstdint>
#include <vector>

#include "artistry/image.hpp"
#include "effects/pixel_art/palette.hpp"
#include "util/color.hpp"

namespace artistry::effects {

// The stand-in of a full_width × full_height image, built from its rows in order: the mean in
// linear light of each block × block square (block chosen from the size alone, so that the proxy
// holds at most about 2^16 pixels), over the square's pixels with alpha above 0.
class ProxyBuilder {
  public:
    ProxyBuilder(int full_width, int full_height);
    void add_row(const std::uint8_t* pixels, int channels, int y);
    // RGBA: alpha 255 where the square held an opaque pixel, else 0. Needs every row added.
    Image finish() const;

  private:
    void flush(int block_row);

    int width_, height_, block_;
    std::vector<std::uint64_t> acc_;  // per block column: Σ linear (16-bit fixed point) ×3, count
    Image proxy_;
};

// How far a palette's Floyd–Steinberg dither (serpentine, linear light, the adaptive error
// limit, as the dither effect runs it) of the proxy lies from the proxy once both are blurred
// (Gaussian σ = 1.5 px, in linear light): the mean Oklab distance over the pixels with alpha.
class DitherScore {
  public:
    explicit DitherScore(Image proxy);
    // With `targets`: per palette colour, where to move it (linear light) to lower the score:
    // down the gradient of the squared blurred error, which for a colour is the blurred residual
    // blurred again (the blur's transpose) and summed over the pixels the dither gave it; its
    // own colour where it got none.
    double operator()(const Palette& palette,
                      std::vector<std::array<float, 3>>* targets = nullptr) const;

  private:
    Image proxy_;
    std::vector<std::array<float, 3>> linear_;   // the proxy in linear light
    std::vector<std::array<float, 3>> blurred_;  // and blurred
    std::vector<util::Oklab> reference_;         // the proxy, blurred
};

}  // namespace artistry::effects
