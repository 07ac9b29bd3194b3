#pragma once
// The hull_kmeans adaptive palette: a palette fitted for dithering. k-means alone puts each
// colour at the mean of its cluster, inside the image's colour cloud, so a dither (which can
// only mix colours inside the palette's convex hull) cannot reach the cloud's outer colours and
// shifts them; measured against pngquant that costs more than the clusters' spread does. Here
// every colour of the image pulls its cluster's centre by the distance it lies outside the hull
// of its nearest palette colours, in linear light where a dither's dots mix.

#include <array>
#include <cstdint>
#include <vector>

#include "effects/pixel_art/palette.hpp"

namespace artistry::effects {

// A 5-bit-per-channel histogram of an image's colours: per cell the pixel count and the sums of
// the pixels' linear-light values (16-bit fixed point, so rows added in any bands give the same
// sums), and the image's distinct colours while there are at most `distinct_limit` of them.
class ColourHistogram {
  public:
    explicit ColourHistogram(int distinct_limit);
    // One row of `width` pixels of `channels` (3, or 4 with alpha: alpha-0 pixels are skipped).
    void add_row(const std::uint8_t* pixels, int width, int channels);
    // Another histogram's pixels added to this one (any order of merging gives the same).
    void merge(const ColourHistogram& other);

    struct Cell {
        std::uint64_t count = 0;
        std::array<std::uint64_t, 3> linear_sum{};  // Σ round(65535 · linear light)
    };
    const std::vector<Cell>& cells() const noexcept { return cells_; }
    // The distinct colours (0xRRGGBB, ascending) when there are at most distinct_limit; else
    // empty with many() true.
    const std::vector<std::uint32_t>& distinct() const noexcept { return distinct_; }
    bool many() const noexcept { return many_; }

  private:
    void note(std::uint32_t rgb);

    int limit_;
    std::vector<Cell> cells_;
    std::vector<std::uint32_t> distinct_;
    bool many_ = false;
    std::uint32_t last_ = 0xffffffffu;  // the colour noted last: runs are looked up once
};

// The palette of at most `colors` colours fitted to the histogram (see adaptive_palette): the
// image's own colours when it has at most `colors`; else, of the candidates below, the one whose
// dither of `proxy` (palette_proxy.hpp) scores best (the first on ties), then moved down the
// score's gradient while that lowers it. The candidates: the median_cut method's cut of this
// histogram (cells at their mean colour); a median cut in Oklab pushed out to the hull; k-means
// from that cut, half-way and fully pushed out.
Palette fit_palette(const ColourHistogram& histogram, const Image& proxy, int colors);

// The median_cut method's palette from its histogram: per 5-bit cell, the count and the sums of
// sRGB codes (adaptive_palette.cpp).
Palette median_cut_palette(const std::vector<std::uint64_t>& count,
                           const std::vector<std::array<std::uint64_t, 3>>& sum, int colors);

}  // namespace artistry::effects
