// run_tiled (in memory), and band heights: the one that runs fastest (sized to the CPU caches)
// and the largest the memory budget allows.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <fmt/format.h>
#include <tbb/info.h>

#include "artistry/error.hpp"
#include "artistry/tiling.hpp"
#include "tiling/pipeline.hpp"
#include "util/parallel.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

tiling::PipelineShape shape_of(int width, int height, int channels, int tile_rows,
                               const TileOptions& options) {
    tiling::PipelineShape s;
    s.width = width;
    s.height = height;
    s.channels = channels;
    s.tile_rows = tile_rows;
    s.tile_width = options.tile_width;
    return s;
}

// The CPU's per-core L2 and shared L3 data cache sizes: sysfs, else sysconf, else typical sizes.
// Sizes outside sane ranges (a hypervisor's made-up topology) are clamped into them.
struct CacheSizes {
    std::uint64_t l2 = 0, l3 = 0;
};

std::uint64_t sysfs_cache_bytes(int level) {
    namespace fs = std::filesystem;
    const fs::path dir = "/sys/devices/system/cpu/cpu0/cache";
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::ifstream lv(entry.path() / "level"), ty(entry.path() / "type"),
            sz(entry.path() / "size");
        int l = 0;
        std::string type, size;
        if (!(lv >> l) || l != level || !(ty >> type) || type == "Instruction" || !(sz >> size))
            continue;
        std::size_t used = 0;
        const std::uint64_t v = std::stoull(size, &used);
        const char unit = used < size.size() ? size[used] : 'B';
        return unit == 'K' ? v << 10 : unit == 'M' ? v << 20 : unit == 'G' ? v << 30 : v;
    }
    return 0;
}

std::uint64_t sysconf_bytes(int name) {
    const long v = ::sysconf(name);
    return v > 0 ? static_cast<std::uint64_t>(v) : 0;
}

const CacheSizes& cpu_caches() {
    static const CacheSizes sizes = [] {
        constexpr std::uint64_t kib = 1024, mib = kib * kib;
        CacheSizes c;
        c.l2 = sysfs_cache_bytes(2);
        c.l3 = sysfs_cache_bytes(3);
#ifdef _SC_LEVEL2_CACHE_SIZE
        if (c.l2 == 0) c.l2 = sysconf_bytes(_SC_LEVEL2_CACHE_SIZE);
        if (c.l3 == 0) c.l3 = sysconf_bytes(_SC_LEVEL3_CACHE_SIZE);
#endif
        c.l2 = c.l2 == 0 ? mib : std::clamp(c.l2, 256 * kib, 4 * mib);
        c.l3 = c.l3 == 0 ? 8 * mib : std::clamp(c.l3, 2 * mib, 64 * mib);
        return c;
    }();
    return sizes;
}

}  // namespace

int band_rows_for_speed(const EffectChain& chain, int width, int height, int channels,
                        std::uint64_t budget_bytes, const TileOptions& options) {
    return tiling::fast_band_rows({tiling::resolve_chain(chain, options)},
                                  shape_of(width, height, channels, 0, options), budget_bytes,
                                  options.queue_depth);
}

std::uint64_t tiled_working_set(const EffectChain& chain, int width, int height, int channels,
                                int tile_size, const TileOptions& options) {
    return tiling::working_set(tiling::resolve_chain(chain, options),
                               shape_of(width, height, channels, tile_size, options),
                               options.queue_depth);
}

int tile_size_for_budget(const EffectChain& chain, int width, int height, int channels,
                         std::uint64_t budget_bytes, const TileOptions& options) {
    const auto steps = tiling::resolve_chain(chain, options);
    const auto fits = [&](int t) {
        return tiling::working_set(steps, shape_of(width, height, channels, t, options),
                                   options.queue_depth) <= budget_bytes;
    };
    // The working set grows with the band height: the largest that fits, by bisection.
    constexpr int smallest = 8;
    int lo = smallest, hi = std::max(smallest, height);
    if (!fits(lo)) return smallest;
    while (lo < hi) {
        const int mid = lo + (hi - lo + 1) / 2;
        if (fits(mid))
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

Image run_tiled(const EffectChain& chain, const Image& input, const TileOptions& options) {
    if (input.empty() || input.type() != PixelType::u8 ||
        (input.channels() != 3 && input.channels() != 4))
        throw Error(Status::invalid_argument, "run_tiled: expects u8 RGB or RGBA pixels");
    const int w = input.width(), h = input.height();
    const auto steps = tiling::resolve_chain(chain, options);
    const int t = options.tile_size > 0 ? options.tile_size
                                        : band_rows_for_speed(chain, w, h, input.channels(),
                                                              options.memory_budget_bytes, options);
    auto shape = shape_of(w, h, input.channels(), t, options);
    shape.context.models = options.models;
    shape.context.cancel = options.cancel;
    const AllocationScope charged =
        tiling::charge_run(options, tiling::working_set(steps, shape, options.queue_depth));
    const auto feed = [&](tiling::Stage& stage) {
        for (int y = 0; y < h; y += t) stage.push(input.view({0, y, w, std::min(t, h - y)}), y);
        stage.finish();
    };
    // Global steps with a streamed analysis: their passes first, then the final pass.
    tiling::AnalysisStates states = tiling::analyse_chain(steps, shape, feed);
    Image out;
    const auto [out_w, out_h] = tiling::output_size(steps, w, h);
    auto pipeline = tiling::build_pipeline(
        steps, shape,
        [&, out_w = out_w, out_h = out_h](const Image& band, int y0) {
            if (out.empty()) out = Image::allocate(out_w, out_h, band.channels());
            for (int y = 0; y < band.height(); ++y)
                std::memcpy(out.row(y0 + y), band.row(y), band.row_bytes());
        },
        nullptr, &states);
    feed(*pipeline);
    return out;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry

namespace artistry::tiling {

int fast_band_rows(const std::vector<std::vector<ResolvedStep>>& chains, PipelineShape shape,
                   std::uint64_t budget_bytes, int queue_depth) {
    using u64 = std::uint64_t;
    const int workers = std::max(1, tbb::info::default_concurrency());
    const auto total = [&](int rows, int depth) {
        shape.tile_rows = rows;
        u64 bytes = 0;
        for (const auto& steps : chains) bytes += working_set(steps, shape, depth);
        return bytes;
    };
    // Bands start and end on every chain's alignments; halos are recomputed per band, so a
    // band is kept large against them.
    int align = 1, halo = 0;
    for (const auto& steps : chains) {
        int chain_halo = 0;
        for (const auto& s : steps) {
            align = std::lcm(align, std::max(1, s.footprint.band_alignment));
            if (s.footprint.kind != Footprint::Kind::point) chain_halo += s.footprint.radius;
        }
        halo = std::max(halo, chain_halo);
    }
    // Every worker busy: the reader and each output's writer keep a core each on the codecs;
    // the spare workers each take one task of the effects' row loops (util::row_grain rows).
    // More rows than that buy nothing but cache misses (and, on a busy machine, idle pool
    // threads spinning); so do more rows than the caches hold while a band is worked on.
    const int codec_threads = 1 + static_cast<int>(chains.size());
    const int spare = std::max(1, workers - codec_threads);
    const u64 cache = std::max(cpu_caches().l2 * static_cast<u64>(spare), cpu_caches().l3 / 2);
    // Per row: what grows with the band (a stage that gathers the whole image does not).
    const u64 per_row = std::max<u64>(1, (total(65, 0) - total(1, 0)) / 64);
    const int for_workers = util::row_grain * spare;
    const int for_cache = static_cast<int>(std::min<u64>(cache / per_row, 1u << 20));
    int rows = std::max(util::row_grain, std::min(for_workers, for_cache));
    // Halos are recomputed for every band: keep them under a quarter of it.
    rows = std::max(rows, 4 * halo);
    rows = (rows + align - 1) / align * align;
    rows = std::min(rows, std::max(1, shape.height));
    // The budget bounds it: the largest band that fits, queues included.
    if (total(rows, queue_depth) > budget_bytes) {
        int lo = 1, hi = rows;
        while (lo < hi) {
            const int mid = lo + (hi - lo + 1) / 2;
            if (total(mid, queue_depth) <= budget_bytes)
                lo = mid;
            else
                hi = mid - 1;
        }
        rows = std::max(std::min(8, rows), lo);
    }
    return rows;
}

AllocationScope charge_run(const TileOptions& options, std::uint64_t planned_bytes) {
    if (options.memory == nullptr) return AllocationScope();
    MemoryManager& m = *options.memory;
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(static_cast<std::int64_t>(options.memory_wait_seconds * 1000));
    Reservation held = m.reserve(Device::cpu(), std::min(planned_bytes, m.budget(Device::cpu())),
                                 deadline, options.cancel);
    return AllocationScope(&m, std::move(held), deadline, options.cancel);
}

}  // namespace artistry::tiling
