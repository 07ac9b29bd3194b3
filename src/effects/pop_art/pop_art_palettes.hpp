#pragma once
// pop_art's palettes: the families of bold colours the grid cells cycle through, shared by the
// effect and the colour queries its tests use (pop_art.hpp).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace artistry::effects::pop_art {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
};

constexpr Rgb hex(std::uint32_t v) {
    return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
            static_cast<std::uint8_t>(v)};
}

constexpr int max_levels = 6;

// One cell's colours: tones from shadow to highlight (posterisation bands pick from them, in
// order), and the flat colour that fills a cut-out's transparent background.
struct PopPalette {
    std::array<Rgb, max_levels> tones;
    Rgb background;
};

// The palettes of a set ("mixed": every set), in the set's own order for seed 0 and shuffled
// by any other seed. Error(invalid_argument) for a set it does not know.
std::vector<PopPalette> palettes_for(const std::string& set, std::uint64_t seed);

// With fewer levels than tones, the bands spread over the palette's whole dark-to-light range.
int tone_index(int band, int levels);

}  // namespace artistry::effects::pop_art
