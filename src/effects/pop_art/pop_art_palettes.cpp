// pop_art's palette sets, and which colours each grid cell takes from them.

#include "effects/pop_art/pop_art_palettes.hpp"

#include <cstddef>
#include <utility>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "effects/pop_art/pop_art.hpp"
#include "util/rng.hpp"

namespace artistry::effects {

namespace pop_art {
namespace {

// Per palette: six tones from shadow to highlight, then the background colour.
using PaletteCodes = std::array<std::uint32_t, max_levels + 1>;

struct PaletteSet {
    const char* name;
    std::vector<PaletteCodes> palettes;
};

// Hue jumps between neighbouring bands are the point: that is what makes it read as Warhol
// rather than as a tinted photo.
const std::vector<PaletteSet>& palette_sets() {
    static const std::vector<PaletteSet> sets = {
        {"warhol",
         {{0x1B1B3A, 0x7A1F5C, 0xE8338B, 0xF28FB8, 0xF7D23E, 0xFFF3B0, 0x36C5D8},
          {0x141414, 0x2E3A8C, 0xE23B2E, 0xF5A623, 0xF7E76B, 0xFFFFFF, 0xF06EAA},
          {0x1D1D1D, 0x0E7C61, 0x5FC46B, 0xF2C94C, 0xF9E79F, 0xFFFDF0, 0xE8432C},
          {0x2A1A4A, 0x6B3FA0, 0xE86A92, 0xF9A65A, 0xFCE38A, 0xFFF9E6, 0x4FB0E8},
          {0x102A43, 0x1F6FB2, 0x38B6FF, 0x9BE15D, 0xF6F930, 0xFFFFFF, 0xFF5E5B},
          {0x231F20, 0xC1272D, 0xF15A24, 0xFBB03B, 0xFCEE21, 0xFFFBEA, 0x29ABE2}}},
        {"vivid",
         {{0x000000, 0x0033CC, 0xFF0033, 0xFF9900, 0xFFEE00, 0xFFFFFF, 0x00CC66},
          {0x0B0B0B, 0x6600CC, 0xFF0066, 0x00CCFF, 0xCCFF00, 0xFFFFFF, 0xFF6600},
          {0x111111, 0xCC0000, 0xFF6600, 0x00AA44, 0xFFDD00, 0xFFFFFF, 0x3366FF},
          {0x000033, 0x006699, 0x00CC99, 0xFF3399, 0xFFCC00, 0xFFFFFF, 0x9933FF}}},
        {"neon",
         {{0x0D0221, 0x5B00D6, 0xFF00A0, 0x00F0FF, 0xB6FF00, 0xFFFFFF, 0x120458},
          {0x000000, 0xFF003C, 0xFF8A00, 0xFAFF00, 0x00FF9C, 0xF2FFFD, 0x1B0536},
          {0x0A0A0A, 0x0047FF, 0x00E5FF, 0x39FF14, 0xFFF200, 0xFFFFFF, 0xFF00C8},
          {0x14001F, 0x9D00FF, 0xFF2DAA, 0xFF9E00, 0xFFE600, 0xFFFFFF, 0x00D2FF}}},
        {"pastel",
         {{0x3D3B5C, 0x8E7CC3, 0xF4A7B9, 0xFFD3A5, 0xFDF6B2, 0xFFFFFF, 0xA8E6CF},
          {0x2F4858, 0x86BBD8, 0xF6AE99, 0xF9DC5C, 0xFCF5C7, 0xFFFFFF, 0xF7CAC9},
          {0x4A3F55, 0x77A6B6, 0xB3D89C, 0xF7D488, 0xFAEBD7, 0xFFFFFF, 0xFFB6B9},
          {0x3B2E40, 0xC38D9E, 0xE8A87C, 0x85DCB0, 0xE8E6A5, 0xFFFFFF, 0x9AB7D3}}},
    };
    return sets;
}

PopPalette decode(const PaletteCodes& codes) {
    PopPalette p;
    for (std::size_t i = 0; i < p.tones.size(); ++i) p.tones[i] = hex(codes[i]);
    p.background = hex(codes[max_levels]);
    return p;
}

}  // namespace

std::vector<PopPalette> palettes_for(const std::string& set, std::uint64_t seed) {
    std::vector<PopPalette> out;
    for (const auto& s : palette_sets())
        if (set == "mixed" || set == s.name)
            for (const auto& codes : s.palettes) out.push_back(decode(codes));
    if (out.empty())
        throw Error(Status::invalid_argument,
                    fmt::format("pop_art: unknown palette set '{}'", set));
    if (seed != 0) {  // seed 0 keeps the set's own order; any other seed shuffles it
        util::SplitMix64 rng(seed);
        for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);
    }
    return out;
}

int tone_index(int band, int levels) {
    return (band * (max_levels - 1) * 2 + (levels - 1)) / (2 * (levels - 1));
}

}  // namespace pop_art

std::vector<std::string> pop_art_palette_sets() {
    std::vector<std::string> names;
    for (const auto& s : pop_art::palette_sets()) names.emplace_back(s.name);
    names.emplace_back("mixed");
    return names;
}

PopCellColors pop_art_cell_colors(const std::string& palette_set, std::uint64_t seed, int levels,
                                  int cell) {
    const auto palettes = pop_art::palettes_for(palette_set, seed);
    const pop_art::PopPalette& pal = palettes[static_cast<std::size_t>(cell) % palettes.size()];
    PopCellColors out;
    for (int b = 0; b < levels; ++b) {
        const pop_art::Rgb& c = pal.tones[static_cast<std::size_t>(pop_art::tone_index(b, levels))];
        out.tones.push_back({c.r, c.g, c.b});
    }
    out.background = {pal.background.r, pal.background.g, pal.background.b};
    return out;
}

}  // namespace artistry::effects
