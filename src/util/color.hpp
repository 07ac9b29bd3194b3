#pragma once
// Colour-space helpers shared by the effects: sRGB transfer curves, luminance, Oklab.

#include <array>
#include <cmath>
#include <cstdint>

namespace artistry::util {

inline float srgb_to_linear(float v) noexcept {
    return v <= 0.04045f ? v / 12.92f : std::pow((v + 0.055f) / 1.055f, 2.4f);
}
inline float linear_to_srgb(float v) noexcept {
    v = v < 0.f ? 0.f : (v > 1.f ? 1.f : v);
    return v <= 0.0031308f ? v * 12.92f : 1.055f * std::pow(v, 1.f / 2.4f) - 0.055f;
}

// 8-bit sRGB code value → linear light in [0, 1].
const std::array<float, 256>& srgb8_to_linear_table() noexcept;

// Linear [0,1] → nearest 8-bit sRGB code (exact inverse of the table above on its values).
std::uint8_t linear_to_srgb8(float linear) noexcept;

inline std::uint8_t clamp_u8(float v) noexcept {
    return static_cast<std::uint8_t>(v <= 0.f ? 0.f : (v >= 255.f ? 255.f : v + 0.5f));
}
inline std::uint8_t clamp_u8(int v) noexcept {
    return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

struct Oklab {
    float L, a, b;
};

// sRGB 8-bit → Oklab (Björn Ottosson's matrices).
Oklab srgb8_to_oklab(std::uint8_t r, std::uint8_t g, std::uint8_t b) noexcept;
Oklab linear_to_oklab(float r, float g, float b) noexcept;
// Oklab → linear RGB (may fall outside [0,1]).
std::array<float, 3> oklab_to_linear(const Oklab& c) noexcept;

inline float oklab_distance2(const Oklab& p, const Oklab& q) noexcept {
    const float dL = p.L - q.L, da = p.a - q.a, db = p.b - q.b;
    return dL * dL + da * da + db * db;
}

// Rec. 709 luma weights on sRGB-encoded values (what photographers' "luminance" means here).
inline constexpr float luma_r = 0.2126f, luma_g = 0.7152f, luma_b = 0.0722f;

}  // namespace artistry::util
