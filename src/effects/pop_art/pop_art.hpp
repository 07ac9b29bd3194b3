#pragma once
// pop_art internals shared with its tests: which colours a grid cell may use.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace artistry::effects {

using PopColor = std::array<std::uint8_t, 3>;

// The palette families, in the order `palette_set` lists them ("mixed" is all of them).
std::vector<std::string> pop_art_palette_sets();

// The colours of grid cell `cell` (row-major index): `levels` tones from shadow to highlight,
// and the flat colour behind a cut-out's transparent pixels.
struct PopCellColors {
    std::vector<PopColor> tones;
    PopColor background{};
};
PopCellColors pop_art_cell_colors(const std::string& palette_set, std::uint64_t seed, int levels,
                                  int cell);

}  // namespace artistry::effects
