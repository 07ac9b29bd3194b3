#pragma once
// Blue-noise threshold masks made by the library: Ulichney's void-and-cluster method on a
// torus, so the mask tiles the plane without seams. Used by dither's blue_noise method.

#include <cstdint>
#include <vector>

namespace artistry::effects {

struct BlueNoiseMask {
    int size = 0;                     // the mask is size × size
    std::vector<std::uint16_t> rank;  // row-major; a permutation of 0 .. size²-1

    // Threshold in (0, 1) at absolute pixel (x, y); the mask repeats every `size` pixels.
    float threshold(std::int64_t x, std::int64_t y) const noexcept {
        const std::int64_t n = size;
        const auto xi = static_cast<std::size_t>(((x % n) + n) % n);
        const auto yi = static_cast<std::size_t>(((y % n) + n) % n);
        return (static_cast<float>(rank[yi * static_cast<std::size_t>(size) + xi]) + 0.5f) /
               static_cast<float>(rank.size());
    }
};

// Generates a mask (size in [4, 256]; seed picks the initial random pattern). Deterministic.
BlueNoiseMask make_blue_noise_mask(int size, std::uint64_t seed);

// The same, cached per (size, seed) for the life of the process; safe from any thread.
const BlueNoiseMask& blue_noise_mask(int size, std::uint64_t seed);

}  // namespace artistry::effects
