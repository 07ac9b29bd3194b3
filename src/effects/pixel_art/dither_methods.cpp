// Dither methods by name, and the rank matrices behind the ordered ones.

#include "effects/pixel_art/dither.hpp"

#include <fmt/format.h>

#include "artistry/error.hpp"

namespace artistry::effects {

namespace {

// clang-format off
const char* const method_names[] = {
    "floyd_steinberg", "false_floyd_steinberg", "jarvis_judice_ninke", "stucki", "burkes",
    "sierra3", "sierra2", "sierra_lite", "atkinson",
    "bayer2", "bayer4", "bayer8", "bayer16", "clustered_dot", "blue_noise", "none",
};
// clang-format on

}  // namespace

std::vector<std::string> dither_method_names() {
    return {std::begin(method_names), std::end(method_names)};
}

DitherMethod parse_dither_method(const std::string& name) {
    for (std::size_t i = 0; i < std::size(method_names); ++i)
        if (name == method_names[i]) return static_cast<DitherMethod>(i);
    throw Error(Status::invalid_argument,
                fmt::format("unknown dither method '{}' (known: {})", name,
                            fmt::join(dither_method_names(), ", ")));
}

bool is_error_diffusion(DitherMethod method) noexcept {
    return static_cast<int>(method) <= static_cast<int>(DitherMethod::atkinson);
}

std::vector<int> bayer_matrix(int n) {
    if (n < 1 || n > 256 || (n & (n - 1)) != 0)
        throw Error(Status::invalid_argument,
                    fmt::format("Bayer matrix size must be a power of two, got {}", n));
    std::vector<int> m{0};
    // M(2k) = [4M + 0, 4M + 2; 4M + 3, 4M + 1]
    for (int k = 1; k < n; k *= 2) {
        const int k2 = 2 * k;
        std::vector<int> next(static_cast<std::size_t>(k2) * static_cast<std::size_t>(k2));
        constexpr int offset[2][2] = {{0, 2}, {3, 1}};
        for (int y = 0; y < k2; ++y)
            for (int x = 0; x < k2; ++x)
                next[static_cast<std::size_t>(y * k2 + x)] =
                    4 * m[static_cast<std::size_t>((y % k) * k + x % k)] + offset[y / k][x / k];
        m = std::move(next);
    }
    return m;
}

const std::array<int, 64>& clustered_dot_matrix() {
    // The classic 8×8 clustered-dot screen (as in libcaca's halftoning study): two dots on a
    // 45° grid, each growing outward from its centre.
    // clang-format off
    static constexpr std::array<int, 64> m = {
        24, 10, 12, 26, 35, 47, 49, 37,
        8,  0,  2,  14, 45, 59, 61, 51,
        22, 6,  4,  16, 43, 57, 63, 53,
        30, 20, 18, 28, 33, 41, 55, 39,
        34, 46, 48, 36, 25, 11, 13, 27,
        44, 58, 60, 50, 9,  1,  3,  15,
        42, 56, 62, 52, 23, 7,  5,  17,
        32, 40, 54, 38, 31, 21, 19, 29,
    };
    // clang-format on
    return m;
}

}  // namespace artistry::effects
