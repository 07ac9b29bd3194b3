#include "util/color.hpp"

#include <algorithm>

namespace artistry::util {

const std::array<float, 256>& srgb8_to_linear_table() noexcept {
    static const std::array<float, 256> table = [] {
        std::array<float, 256> t{};
        for (int i = 0; i < 256; ++i) t[i] = srgb_to_linear(static_cast<float>(i) / 255.f);
        return t;
    }();
    return table;
}

std::uint8_t linear_to_srgb8(float linear) noexcept {
    const auto& t = srgb8_to_linear_table();
    // Midpoints between neighbouring codes decide the nearest code in linear light.
    const auto it = std::lower_bound(t.begin(), t.end(), linear);
    if (it == t.begin()) return 0;
    if (it == t.end()) return 255;
    const auto hi = static_cast<int>(it - t.begin());
    return static_cast<std::uint8_t>((linear - t[hi - 1] < t[hi] - linear) ? hi - 1 : hi);
}

Oklab linear_to_oklab(float r, float g, float b) noexcept {
    const float l = 0.4122214708f * r + 0.5363325363f * g + 0.0514459929f * b;
    const float m = 0.2119034982f * r + 0.6806995451f * g + 0.1073969566f * b;
    const float s = 0.0883024619f * r + 0.2817188376f * g + 0.6299787005f * b;
    const float l_ = std::cbrt(l), m_ = std::cbrt(m), s_ = std::cbrt(s);
    return {0.2104542553f * l_ + 0.7936177850f * m_ - 0.0040720468f * s_,
            1.9779984951f * l_ - 2.4285922050f * m_ + 0.4505937099f * s_,
            0.0259040371f * l_ + 0.7827717662f * m_ - 0.8086757660f * s_};
}

Oklab srgb8_to_oklab(std::uint8_t r, std::uint8_t g, std::uint8_t b) noexcept {
    const auto& t = srgb8_to_linear_table();
    return linear_to_oklab(t[r], t[g], t[b]);
}

std::array<float, 3> oklab_to_linear(const Oklab& c) noexcept {
    const float l_ = c.L + 0.3963377774f * c.a + 0.2158037573f * c.b;
    const float m_ = c.L - 0.1055613458f * c.a - 0.0638541728f * c.b;
    const float s_ = c.L - 0.0894841775f * c.a - 1.2914855480f * c.b;
    const float l = l_ * l_ * l_, m = m_ * m_ * m_, s = s_ * s_ * s_;
    return {4.0767416621f * l - 3.3077115913f * m + 0.2309699292f * s,
            -1.2684380046f * l + 2.6097574011f * m - 0.3413193965f * s,
            -0.0041960863f * l - 0.7034186147f * m + 1.7076147010f * s};
}

}  // namespace artistry::util
