#pragma once
// What every cut-out shares (remove_background, segment): the output parameters (cut-out,
// matte alone, a colour behind, a hard threshold, colour edges, decontaminated colours) and the
// path from a low-resolution matte to any window of the full-resolution output: refined by a
// colour-guided filter in absolute coordinates (matte_refine.hpp), its edge re-estimated from
// colour (colour_matte.hpp), its colours freed of the old background (foreground.hpp). A window
// of the image gives the same bytes as the same crop of a whole-image run.

#include <array>
#include <cstdint>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "artistry/effect.hpp"
#include "effects/matting/matte_refine.hpp"

namespace artistry::effects {

struct CutoutSettings {
    bool alpha_only = false;
    bool composite = false;
    bool decontaminate = true;
    bool colour_edges = true;
    bool refine = true;  // false: the matte upscaled bilinearly, no guided filter
    std::array<std::uint8_t, 3> background{};
    double threshold = 0;
    int refine_radius = 0;  // 0: auto

    CutoutSettings() = default;
    // From the parameters of cutout_params(); `refine` when the effect has it.
    explicit CutoutSettings(const Params& p);
    int out_channels() const { return alpha_only ? 1 : (composite ? 3 : 4); }
    // Whether the subject's colours are re-estimated at its edges.
    bool estimates_colours() const { return decontaminate && !alpha_only; }
};

// mode, background, colour_edges, decontaminate, threshold, refine_radius.
std::vector<ParamSpec> cutout_params();

// The auto refinement radius is at most this, so a tiled run's halo holds it.
inline constexpr int max_auto_refine_radius = 32;

// The halo a window needs for a width × height image.
int cutout_halo(const CutoutSettings& s, int width, int height);
// Working memory of a window run, beyond the model's own.
std::size_t cutout_memory(const CutoutSettings& s, int width, int height);

// The output for `in`, a window of the full image at ctx.origin (ctx.full_*: 0 = the window is
// the image), from `matte` (CV_32F in [0, 1], any size, stretched over the full image).
// Pixels it cannot compute (within the halo of a window edge inside the image) are left 0.
Image cutout_from_matte(const Image& in, const CutoutSettings& s, const cv::Mat& matte,
                        const EffectContext& ctx);

// One row of opacity codes from a matte row (alpha[x] in [0, 1]).
void alpha_codes(const float* alpha, int w, std::uint8_t* dst);

// The output of the whole image from a full-resolution matte (one code per pixel).
Image cutout_from_codes(const Image& in, const CutoutSettings& s, std::vector<std::uint8_t> alpha,
                        const EffectContext& ctx);

// A context whose progress covers stage `index` of `count` equal stages of the run.
EffectContext stage_context(const EffectContext& ctx, int index, int count);

}  // namespace artistry::effects
