// Count-min sketch with periodic halving (TinyLFU, Einziger, Friedman & Manes 2017).

#include <algorithm>
#include <bit>

#include "cache/frequency_sketch.hpp"

namespace artistry::cache {

FrequencySketch::FrequencySketch(std::uint32_t width, std::uint64_t sample) {
    const std::uint32_t w = std::bit_ceil(std::max<std::uint32_t>(width, 64));
    mask_ = w - 1;
    counts_.assign(static_cast<std::size_t>(rows_) * w, 0);
    sample_ = sample > 0 ? sample : 10ull * w;
}

std::uint32_t FrequencySketch::index(const CacheKey& key, int row) const noexcept {
    // The key is already a strong hash; each row mixes it with its own odd constant.
    static constexpr std::uint64_t seeds[rows_] = {0xc3a5c85c97cb3127ull, 0xb492b66fbe98f273ull,
                                                   0x9ae16a3b2f90404full, 0xcbf29ce484222325ull};
    std::uint64_t h = (key.lo ^ std::rotl(key.hi, 17 * row)) * seeds[row];
    h ^= h >> 32;
    return static_cast<std::uint32_t>(h) & mask_;
}

void FrequencySketch::increment(const CacheKey& key) noexcept {
    const std::size_t width = static_cast<std::size_t>(mask_) + 1;
    bool added = false;
    for (int r = 0; r < rows_; ++r) {
        std::uint8_t& c = counts_[static_cast<std::size_t>(r) * width + index(key, r)];
        if (c < 15) {
            ++c;
            added = true;
        }
    }
    if (added && ++added_ >= sample_) {
        for (std::uint8_t& c : counts_) c = static_cast<std::uint8_t>(c >> 1);
        added_ /= 2;
        ++halvings_;
    }
}

std::uint8_t FrequencySketch::estimate(const CacheKey& key) const noexcept {
    const std::size_t width = static_cast<std::size_t>(mask_) + 1;
    std::uint8_t m = 15;
    for (int r = 0; r < rows_; ++r)
        m = std::min(m, counts_[static_cast<std::size_t>(r) * width + index(key, r)]);
    return m;
}

}  // namespace artistry::cache
