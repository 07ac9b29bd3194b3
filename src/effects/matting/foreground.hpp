#pragma once
// Foreground colour of a cut-out's edge pixels. A semi-transparent pixel of the photo is a mix
// I = α·F + (1 − α)·B of the subject's colour F and the old background B; keeping I as the
// cut-out's colour carries B (green leaves, a blue sky) onto whatever the cut-out is placed
// over. This re-estimates F by blur fusion (Forte & Pitié, "Approximate fast foreground colour
// estimation", ICIP 2021): F and B are first taken as the α- and (1 − α)-weighted local means
// of the photo, then F is corrected so that the pixel's own mix is respected,
//     F = F̄ + α·(I − α·F̄ − (1 − α)·B̄),
// once with a large window (the colours around an edge) and once with a small one, from the
// first pass's F and B̄. Opaque pixels keep their colour exactly.
//
// Every sum is an exact integer box sum over absolute coordinates (windows clipped at the
// image's edges), so a pixel's colour does not depend on the band height or on where a tile
// starts: tiled and streamed runs equal the whole image byte for byte.

#include <cstdint>
#include <functional>

#include "artistry/effect.hpp"
#include "effects/matting/matte_refine.hpp"

namespace artistry::effects {

struct ForegroundOptions {
    int radius = 45;      // first pass: window radius (a 91 × 91 box)
    int fine_radius = 3;  // second pass (a 7 × 7 box)
    int band_rows = 256;  // output rows per band
};

// The pixels an estimated colour depends on, each way.
constexpr int foreground_halo(const ForegroundOptions& o) {
    return o.radius + o.fine_radius;
}

// image: the window (u8, 1 to 4 channels; grey is replicated, a fourth channel is not colour).
// alpha: the final opacity of each window pixel (width × height bytes, row-major), valid over
// `known` (absolute, inside the window). Estimates F for every pixel of `known` whose halo lies
// in `known` or reaches the full image's edge, and calls row(y, x0, x1, rgb) once per such row
// (window coordinates; rgb holds 3·(x1 − x0) bytes; rows of different bands come from worker
// threads at once). Returns the rectangle it covered (absolute; empty when none). Checks ctx's
// cancel between bands.
PixelRect estimate_foreground(
    const Image& image, const std::uint8_t* alpha, const PixelRect& known,
    const MatteWindow& window, const ForegroundOptions& options,
    const std::function<void(int y, int x0, int x1, const std::uint8_t* rgb)>& row,
    const EffectContext& ctx);

}  // namespace artistry::effects
