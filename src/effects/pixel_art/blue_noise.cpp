// Void-and-cluster blue-noise masks (R. Ulichney, "The void-and-cluster method for dither
// array generation", SPIE 1993), on a torus with a Gaussian energy filter (sigma 1.5).

#include "effects/pixel_art/blue_noise.hpp"

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "util/rng.hpp"

namespace artistry::effects {

namespace {

// Energy of every pixel: the Gaussian-weighted count of "1" pixels around it, on the torus.
class Energy {
  public:
    explicit Energy(int size) : size_(size), energy_(static_cast<std::size_t>(size) * size, 0.0) {
        constexpr double sigma = 1.5;
        // exp(-r²/2σ²) is below 1e-9 beyond r = 9.6: a window keeps each update O(1).
        reach_ = std::min(size / 2, 10);
        const int w = 2 * reach_ + 1;
        kernel_.resize(static_cast<std::size_t>(w) * w);
        for (int dy = -reach_; dy <= reach_; ++dy)
            for (int dx = -reach_; dx <= reach_; ++dx)
                kernel_[static_cast<std::size_t>((dy + reach_) * w + dx + reach_)] =
                    std::exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
    }

    void toggle(int p, double sign) {
        const int px = p % size_, py = p / size_, w = 2 * reach_ + 1;
        for (int dy = -reach_; dy <= reach_; ++dy) {
            const int y = (py + dy + size_) % size_;
            for (int dx = -reach_; dx <= reach_; ++dx) {
                const int x = (px + dx + size_) % size_;
                energy_[static_cast<std::size_t>(y * size_ + x)] +=
                    sign * kernel_[static_cast<std::size_t>((dy + reach_) * w + dx + reach_)];
            }
        }
    }

    // The "1" with the most energy (tightest cluster) or the "0" with the least (largest
    // void); the lowest index wins ties, so the result is deterministic.
    int tightest_cluster(const std::vector<std::uint8_t>& bits) const {
        return extreme(bits, 1, +1);
    }
    int largest_void(const std::vector<std::uint8_t>& bits) const { return extreme(bits, 0, -1); }

  private:
    int extreme(const std::vector<std::uint8_t>& bits, std::uint8_t want, double sign) const {
        int best = -1;
        double best_e = 0;
        for (std::size_t i = 0; i < bits.size(); ++i) {
            if (bits[i] != want) continue;
            const double e = sign * energy_[i];
            if (best < 0 || e > best_e) {
                best = static_cast<int>(i);
                best_e = e;
            }
        }
        return best;
    }

    int size_;
    int reach_ = 0;
    std::vector<double> kernel_;
    std::vector<double> energy_;
};

}  // namespace

BlueNoiseMask make_blue_noise_mask(int size, std::uint64_t seed) {
    if (size < 8 || size > 128)
        throw Error(Status::invalid_argument,
                    fmt::format("blue-noise mask size must be in [8, 128], got {}", size));
    const int n = size * size;

    // 1. A random initial pattern with 10 % ones (a seeded Fisher–Yates prefix).
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    util::SplitMix64 rng(seed ^ 0xB1E5EED5ULL);
    const int ones = std::max(1, n / 10);
    for (int i = 0; i < ones; ++i) {
        const auto j = i + static_cast<int>(rng.below(static_cast<std::uint64_t>(n - i)));
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
    }
    std::vector<std::uint8_t> proto(static_cast<std::size_t>(n), 0);
    Energy energy(size);
    for (int i = 0; i < ones; ++i) {
        proto[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])] = 1;
        energy.toggle(order[static_cast<std::size_t>(i)], +1);
    }

    // 2. Move the tightest cluster into the largest void until that changes nothing.
    for (int guard = 0; guard < 4 * n; ++guard) {
        const int c = energy.tightest_cluster(proto);
        proto[static_cast<std::size_t>(c)] = 0;
        energy.toggle(c, -1);
        const int v = energy.largest_void(proto);
        proto[static_cast<std::size_t>(v)] = 1;
        energy.toggle(v, +1);
        if (v == c) break;
    }

    BlueNoiseMask mask;
    mask.size = size;
    mask.rank.assign(static_cast<std::size_t>(n), 0);

    // 3. Phase 1: remove the prototype's ones, tightest cluster first, ranking downwards.
    {
        std::vector<std::uint8_t> bits = proto;
        Energy e = energy;
        for (int rank = ones - 1; rank >= 0; --rank) {
            const int c = e.tightest_cluster(bits);
            bits[static_cast<std::size_t>(c)] = 0;
            e.toggle(c, -1);
            mask.rank[static_cast<std::size_t>(c)] = static_cast<std::uint16_t>(rank);
        }
    }
    // 4. Phases 2 and 3: fill the largest void, ranking upwards. (Ulichney's phase 3 takes
    //    the tightest cluster of zeros; with a filter that sums to the same total everywhere
    //    on the torus, that is the same pixel as the largest void of ones.)
    for (int rank = ones; rank < n; ++rank) {
        const int v = energy.largest_void(proto);
        proto[static_cast<std::size_t>(v)] = 1;
        energy.toggle(v, +1);
        mask.rank[static_cast<std::size_t>(v)] = static_cast<std::uint16_t>(rank);
    }
    return mask;
}

const BlueNoiseMask& blue_noise_mask(int size, std::uint64_t seed) {
    static std::mutex mutex;
    static std::map<std::pair<int, std::uint64_t>, std::unique_ptr<BlueNoiseMask>> cache;
    const std::lock_guard<std::mutex> lock(mutex);
    auto& slot = cache[{size, seed}];
    if (!slot) slot = std::make_unique<BlueNoiseMask>(make_blue_noise_mask(size, seed));
    return *slot;
}

}  // namespace artistry::effects
