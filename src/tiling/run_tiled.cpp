// run_tiled (in memory) and the tile size the memory budget allows.

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/tiling.hpp"
#include "tiling/pipeline.hpp"

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

}  // namespace

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
    const int t = options.tile_size > 0
                      ? options.tile_size
                      : tile_size_for_budget(chain, w, h, input.channels(),
                                             options.memory_budget_bytes, options);
    const auto shape = shape_of(w, h, input.channels(), t, options);
    const AllocationScope charged =
        tiling::charge_run(options, tiling::working_set(steps, shape, options.queue_depth));
    const auto feed = [&](tiling::Stage& stage) {
        for (int y = 0; y < h; y += t) stage.push(input.view({0, y, w, std::min(t, h - y)}), y);
        stage.finish();
    };
    // Global steps with a streamed analysis: their passes first, then the final pass.
    tiling::AnalysisStates states = tiling::analyse_chain(steps, shape, feed);
    Image out;
    auto pipeline = tiling::build_pipeline(
        steps, shape,
        [&](const Image& band, int y0) {
            if (out.empty()) out = Image::allocate(w, h, band.channels());
            for (int y = 0; y < band.height(); ++y)
                std::memcpy(out.row(y0 + y), band.row(y), band.row_bytes());
        },
        nullptr, &states);
    feed(*pipeline);
    return out;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
