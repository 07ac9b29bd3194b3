#pragma once
// Palettes: the fixed retro sets, grey ramps, custom hex lists and adaptive palettes, with
// perceptual (Oklab) nearest-colour matching. Shared by dither and retro_8bit.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "artistry/image.hpp"
#include "util/color.hpp"

namespace artistry::effects {

struct Rgb8 {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(const Rgb8&, const Rgb8&) = default;
};

class Palette {
  public:
    Palette() = default;
    // Duplicates are dropped (first occurrence kept); at most 256 colours.
    explicit Palette(std::vector<Rgb8> colors);

    const std::vector<Rgb8>& colors() const noexcept { return colors_; }
    std::size_t size() const noexcept { return colors_.size(); }
    const std::vector<util::Oklab>& oklab() const noexcept { return oklab_; }

    // Index of the perceptually nearest colour (Oklab distance); deterministic ties (lowest
    // index). Exact; O(size).
    int nearest(std::uint8_t r, std::uint8_t g, std::uint8_t b) const;

    // The same answer as nearest(), for hot loops: a 64×64×64 table over RGB whose cells
    // (4×4×4 code values) hold the colour proven nearest for the whole cell by bounding the
    // cell in Oklab; a cell where two colours compete gets a block of 64 exact answers, one
    // per code. Filled lazily, so a run pays only for the cells it meets; every entry is a
    // pure function of the palette, so any thread count or visiting order gives the same.
    int nearest_fast(std::uint8_t r, std::uint8_t g, std::uint8_t b) const {
        const std::size_t cell =
            (std::size_t{r} >> 2 << 12) | (std::size_t{g} >> 2 << 6) | (b >> 2);
        std::uint32_t v = lut_->cells[cell].load(std::memory_order_acquire);
        if (v - 1 < 256) return static_cast<int>(v - 1);
        if (v == 0) v = fill_cell(cell);
        if (v - 1 < 256) return static_cast<int>(v - 1);
        const std::uint32_t block = v - 257;
        const std::uint8_t* chunk = lut_->chunks[block >> 6].load(std::memory_order_acquire);
        return chunk[(block & 63) * 64 + ((r & 3u) | (g & 3u) << 2 | (b & 3u) << 4)];
    }

    // True when every colour is a grey (R = G = B).
    bool is_grey() const noexcept;

    // A per-channel step typical of the palette's gaps, in [0, 1] of full scale, measured in
    // sRGB (linear == false) or in linear light: how far an ordered-dither threshold must
    // push a colour to reach its neighbours. Twice the largest distance from the midpoint of
    // any two colours to the nearest colour, divided by √3 (so black/white gives 1).
    float spread(bool linear) const;

    // The median Oklab distance from each colour to its nearest other colour (0 for a single
    // colour): the palette's typical step, which scales how much error a dither may carry.
    float typical_gap() const;

  private:
    struct Lut {
        // 0: not computed yet; 1..256: palette index + 1 for the whole cell; 257 + k: exact
        // answers in block k (chunk k / 64, 64 blocks of 64 entries per chunk).
        std::unique_ptr<std::atomic<std::uint32_t>[]> cells;
        std::array<std::atomic<const std::uint8_t*>, 4096> chunks{};
        std::mutex grow;  // guards the two below
        std::vector<std::unique_ptr<std::uint8_t[]>> owned;
        std::uint32_t blocks = 0;
    };
    std::uint32_t fill_cell(std::size_t cell) const;  // the cell's new value

    std::vector<Rgb8> colors_;
    std::vector<util::Oklab> oklab_;
    std::shared_ptr<Lut> lut_;  // shared by copies: same colours, same answers
};

// Oklab of linear RGB with a cube root good to about 1e-5 relative: for hot loops that only
// compare distances (util::linear_to_oklab calls std::cbrt three times).
util::Oklab approx_oklab(float r, float g, float b) noexcept;

// The named retro palettes: nes, gameboy, pico8, c64, cga, ega, mono.
std::vector<std::string> named_palette_names();
Palette named_palette(const std::string& name);  // Error(invalid_argument) if unknown

// N evenly spaced grey levels (2..256), black and white included.
Palette grey_palette(int levels);

// "#rrggbb,#rrggbb,…" (also without '#', separated by commas or spaces).
// Returns an empty string when text is valid, else what is wrong (for schema checks).
std::string check_hex_palette(const std::string& text);
Palette parse_hex_palette(const std::string& text);

// Index of the colour of `colours` nearest to c (Oklab distance; the lowest index on ties).
int nearest_oklab(const std::vector<util::Oklab>& colours, const util::Oklab& c);

enum class AdaptiveMethod { hull_kmeans, median_cut, kmeans };
std::vector<std::string> adaptive_method_names();  // the schema's choices, the best first
AdaptiveMethod parse_adaptive_method(const std::string& name);  // Error(invalid_argument)
std::string adaptive_method_help();  // the adaptive_method parameter's description

// An N-colour palette fitted to the image (RGB/RGBA u8; alpha-0 pixels ignored). All three are
// deterministic; the result may hold fewer than N colours when the image has fewer distinct ones.
// hull_kmeans (the best for dithering; palette_fit.hpp): an image of at most N distinct colours
// gets exactly those; else k-means in Oklab over a 5-bit-per-channel histogram of every pixel,
// seeded by a variance-driven median cut, then moved outward until the colours' convex hull
// holds the image's colours, so that a dither can mix every colour of the image. Of that and a
// few other candidates (median_cut's palette among them) it keeps the one whose Floyd–Steinberg
// dither of a 64k-pixel stand-in for the image looks closest to it once blurred, and moves its
// colours down the gradient of that measure (palette_proxy.hpp).
// median_cut: a 5-bit-per-channel histogram; the box with the largest channel range is split
// at its weighted median along that channel; each box's colour is the mean of its pixels.
// kmeans: in Oklab, on a regular-grid subsample of at most 65536 pixels, k-means++ starts
// drawn with SplitMix64(seed), a fixed 12 iterations. Only kmeans uses the seed.
Palette adaptive_palette(const Image& image, int colors, AdaptiveMethod method, std::uint64_t seed);

// The most memory fitting an adaptive palette holds (histograms, the proxy image, candidate
// palettes and their lookup tables), whatever the method.
inline constexpr std::size_t adaptive_palette_bytes = std::size_t{6} << 20;

class ColourHistogram;  // palette_fit.hpp
class ProxyBuilder;     // palette_proxy.hpp

// adaptive_palette streamed: the rows of a full_width × full_height image in raster order, in
// bands of any height, then finish() gives exactly adaptive_palette's answer on the whole image
// (hull_kmeans and median_cut sum histograms; kmeans takes the same grid samples in order).
class AdaptivePaletteBuilder {
  public:
    AdaptivePaletteBuilder(int colors, AdaptiveMethod method, std::uint64_t seed, int full_width,
                           int full_height);
    ~AdaptivePaletteBuilder();
    AdaptivePaletteBuilder(AdaptivePaletteBuilder&&) noexcept;
    AdaptivePaletteBuilder& operator=(AdaptivePaletteBuilder&&) noexcept;
    void add_rows(const Image& band, int y0);
    Palette finish() const;

  private:
    int colors_;
    AdaptiveMethod method_;
    std::uint64_t seed_;
    int width_, height_;
    int next_row_ = 0;
    int step_ = 1;                                   // kmeans sampling grid
    std::vector<std::uint64_t> count_;               // median_cut: per 5-bit cell
    std::vector<std::array<std::uint64_t, 3>> sum_;  // median_cut: channel sums per cell
    std::vector<util::Oklab> samples_;               // kmeans
    std::unique_ptr<ColourHistogram> histogram_;     // hull_kmeans
    std::unique_ptr<ProxyBuilder> proxy_;            // hull_kmeans
};

}  // namespace artistry::effects
