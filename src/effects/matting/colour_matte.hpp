#pragma once
// Opacity from colour where the matte is unsure. Near the matte's edge a pixel is a mix
// I = α·F + (1 − α)·B; where the surely-subject and surely-background pixels nearby have
// clearly different mean colours F̄ and B̄, the pixel's place on the line from B̄ to F̄,
//     α_c = ((I − B̄)·(F̄ − B̄)) / |F̄ − B̄|²,
// measures its opacity better than a model run at a fraction of the resolution (fur against
// foliage, a wing against a plain wall). α_c is trusted as far as the two means differ and the
// pixel lies near their line; elsewhere the matte stays. Surely subject: every pixel within
// `erode` has a matte of at least 250/255 (surely background: at most 5/255).
//
// Exact integer box sums over absolute coordinates (box_sums.hpp): tiled and streamed runs
// equal the whole image byte for byte.

#include <cstdint>
#include <vector>

#include "artistry/effect.hpp"
#include "effects/matting/matte_refine.hpp"

namespace artistry::effects {

struct ColourMatteOptions {
    int erode = 6;          // how far a sure pixel's neighbours must be sure too
    int radius = 18;        // the window the sure colours are averaged over
    int min_contrast = 24;  // F̄ and B̄ closer than this (8-bit codes, Euclidean): keep the matte
    int band_rows = 256;
};

// The pixels a new opacity depends on, each way.
constexpr int colour_matte_halo(const ColourMatteOptions& o) {
    return o.erode + o.radius;
}

// The options for a full image of width × height: the windows grow with the image, so that
// they span the matte's soft edge (a model's matte is upscaled by the same ratio).
ColourMatteOptions colour_matte_options(int full_width, int full_height);

// image: the window (u8, 1 to 4 channels, the first three the colour). alpha: the window's
// opacity codes (width × height), valid over `known` (absolute). Returns the new opacity of the
// same size, valid over the returned rectangle (`known` shrunk by the halo where it does not
// reach the full image's edge; 0 elsewhere).
PixelRect colour_matte(const Image& image, const std::vector<std::uint8_t>& alpha,
                       const PixelRect& known, const MatteWindow& window,
                       const ColourMatteOptions& options, std::vector<std::uint8_t>& out,
                       const EffectContext& ctx);

}  // namespace artistry::effects
