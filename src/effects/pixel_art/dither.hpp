#pragma once
// Dithering to a palette: error diffusion, ordered (Bayer, clustered dot) and blue-noise
// thresholds. The `dither` effect wraps it; retro_8bit calls it on its block image.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "artistry/effect.hpp"
#include "effects/pixel_art/palette.hpp"

namespace artistry::effects {

// clang-format off
enum class DitherMethod {
    floyd_steinberg, false_floyd_steinberg, jarvis_judice_ninke, stucki, burkes,
    sierra3, sierra2, sierra_lite, atkinson,
    bayer2, bayer4, bayer8, bayer16, clustered_dot, blue_noise, none,
};
// clang-format on

std::vector<std::string> dither_method_names();             // in enum order; the schema's choices
DitherMethod parse_dither_method(const std::string& name);  // Error(invalid_argument)
bool is_error_diffusion(DitherMethod method) noexcept;

// Ordered-dither ranks 0 .. n²-1, row-major: Bayer (n = 2, 4, 8, 16; built recursively) and
// the classic 8×8 clustered-dot screen (two 45° dots per cell).
std::vector<int> bayer_matrix(int n);
const std::array<int, 64>& clustered_dot_matrix();

struct DitherSpec {
    DitherMethod method = DitherMethod::floyd_steinberg;
    bool serpentine = true;  // error diffusion: alternate direction on odd (absolute) rows
    float strength = 1.f;    // error fraction passed on / ordered threshold spread, 0..1
    bool linear = true;      // diffuse and threshold in linear light, else in sRGB codes
    std::uint64_t seed = 0;  // blue-noise mask
    // Match by luminance and write R = G = B (the palette must be greys); else Oklab colour.
    bool luminance = false;
    // Colour error diffusion: when the colour chosen lies farther than this (Oklab distance)
    // from the error-adjusted colour it stands for, the error passed on is shortened to this
    // length, so a colour outside the palette's reach does not pile up error that then smears
    // into its neighbours. 0: no limit.
    float error_limit = 0.f;
};

// `spec` for dithering to a palette fitted to the image: error_limit set to twice the palette's
// typical step between colours (Palette::typical_gap). Measured on photos against pngquant,
// shorter limits hold back the dither's mixing, longer ones let unreachable colours smear.
DitherSpec adaptive_spec(DitherSpec spec, const Palette& palette);

// Maps every pixel of a u8 RGB/RGBA image to a palette colour; alpha is copied unchanged.
// Thresholds are indexed by absolute position (ctx.origin_x + x, ctx.origin_y + y). Error
// diffusion runs rows in order on one thread; the others run rows in parallel. Reports
// progress and checks cancellation every band of rows.
Image dither_to_palette(const Image& input, const Palette& palette, const DitherSpec& spec,
                        const EffectContext& ctx);

// Error diffusion in row bands of `width` columns fed in raster order (the same code as
// dither_to_palette's whole-image pass); nullptr when spec.method is not error diffusion.
std::unique_ptr<BandProcessor> dither_bands(const Palette& palette, const DitherSpec& spec,
                                            int width);

// Bytes of error diffusion's row buffers for rows `width` wide (an upper bound, colour or grey).
std::size_t dither_row_bytes(std::size_t width);

}  // namespace artistry::effects
