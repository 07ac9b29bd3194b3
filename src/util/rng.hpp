#pragma once
// Counter-based randomness: a value is a pure function of (seed, x, y, stream), so noise at a
// pixel does not depend on visiting order, thread count or tiling.

#include <cstdint>

namespace artistry::util {

constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
    // splitmix64 finaliser
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

constexpr std::uint64_t hash_xy(std::uint64_t seed, std::int64_t x, std::int64_t y,
                                std::uint64_t stream = 0) noexcept {
    return mix64(seed ^ mix64(static_cast<std::uint64_t>(x) * 0x632be59bd9b4e019ULL ^
                              mix64(static_cast<std::uint64_t>(y) + (stream << 32))));
}

// Uniform in [0, 1).
constexpr double unit_xy(std::uint64_t seed, std::int64_t x, std::int64_t y,
                         std::uint64_t stream = 0) noexcept {
    return static_cast<double>(hash_xy(seed, x, y, stream) >> 11) * 0x1.0p-53;
}

// A small sequential generator for things that are not per pixel (k-means starts, masks).
class SplitMix64 {
  public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() noexcept { return mix64(state_++); }
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    std::uint64_t below(std::uint64_t n) noexcept { return n ? next() % n : 0; }

  private:
    std::uint64_t state_;
};

}  // namespace artistry::util
