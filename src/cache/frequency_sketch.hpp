#pragma once
// TinyLFU's frequency estimate: a count-min sketch of 4 rows of saturating 4-bit counts, all
// halved after every `sample` increments so that old popularity fades. Not thread-safe.

#include <cstdint>
#include <vector>

#include "artistry/cache.hpp"

namespace artistry::cache {

class FrequencySketch {
  public:
    // width: counters per row (rounded up to a power of two); sample: 0 means 10 × width.
    explicit FrequencySketch(std::uint32_t width, std::uint64_t sample = 0);

    void increment(const CacheKey& key) noexcept;
    std::uint8_t estimate(const CacheKey& key) const noexcept;  // 0..15
    std::uint64_t halvings() const noexcept { return halvings_; }
    // Increments between halvings; TinyLFU ties it to the number of entries cached (× 10).
    void set_sample(std::uint64_t sample) noexcept { sample_ = sample > 0 ? sample : sample_; }

  private:
    std::uint32_t index(const CacheKey& key, int row) const noexcept;

    static constexpr int rows_ = 4;
    std::uint32_t mask_ = 0;
    std::vector<std::uint8_t> counts_;  // rows_ × width, one count per byte (≤ 15)
    std::uint64_t sample_ = 0;
    std::uint64_t added_ = 0;
    std::uint64_t halvings_ = 0;
};

}  // namespace artistry::cache
