#pragma once
// Palettes: the fixed retro sets, grey ramps, custom hex lists and adaptive palettes, with
// perceptual (Oklab) nearest-colour matching. Shared by dither and retro_8bit.

#include <cstdint>
#include <string>
#include <vector>

#include "artistry/image.hpp"

namespace artistry::effects {

struct Rgb8 {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(const Rgb8&, const Rgb8&) = default;
};

class Palette {
public:
    Palette() = default;
    explicit Palette(std::vector<Rgb8> colors);

    const std::vector<Rgb8>& colors() const noexcept { return colors_; }
    std::size_t size() const noexcept { return colors_.size(); }

    // Index of the perceptually nearest colour (Oklab distance); deterministic ties.
    int nearest(std::uint8_t r, std::uint8_t g, std::uint8_t b) const;

private:
    std::vector<Rgb8> colors_;
    // implementation-defined acceleration state (e.g. a lookup table) may be added here
};

// The named retro palettes: nes, gameboy, pico8, c64, cga, ega, mono.
std::vector<std::string> named_palette_names();
Palette named_palette(const std::string& name);  // Error(invalid_argument) if unknown

// N evenly spaced grey levels (2..256), black and white included.
Palette grey_palette(int levels);

// "#rrggbb,#rrggbb,…" (also without '#', separated by commas or spaces).
// Returns an empty string when text is valid, else what is wrong (for schema checks).
std::string check_hex_palette(const std::string& text);
Palette parse_hex_palette(const std::string& text);

enum class AdaptiveMethod { median_cut, kmeans };
// An N-colour palette fitted to the image (RGB/RGBA u8; alpha-0 pixels ignored), seeded.
Palette adaptive_palette(const Image& image, int colors, AdaptiveMethod method, std::uint64_t seed);

}  // namespace artistry::effects
