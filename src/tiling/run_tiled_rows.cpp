// Bands of output rows computed apart (plan_row_bands, run_tiled_rows): what a process needs to
// compute its share of one large image when several processes share it.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/stream.hpp"
#include "artistry/tiling.hpp"
#include "tiling/pipeline.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

RowBandPlan plan_of(const std::vector<tiling::ResolvedStep>& steps) {
    RowBandPlan plan;
    if (steps.empty()) {
        plan.reason = "the chain has no effect";
        return plan;
    }
    for (const auto& step : steps) {
        const Footprint& f = step.footprint;
        if (f.kind != Footprint::Kind::point && f.kind != Footprint::Kind::local) {
            plan.reason = fmt::format("effect '{}' is {}: {}, so it runs as one task",
                                      step.info->name, footprint_name(f.kind),
                                      f.kind == Footprint::Kind::sequential
                                          ? "each row depends on the rows above it"
                                          : "its rows depend on the whole image");
            return plan;
        }
        if (!step.scale.identity()) {
            plan.reason = fmt::format(
                "effect '{}' changes the image's size, so it runs as one task", step.info->name);
            return plan;
        }
        if (f.kind == Footprint::Kind::local) plan.halo += f.radius;
    }
    plan.bandable = true;
    return plan;
}

}  // namespace

RowBandPlan plan_row_bands(const EffectChain& chain, const TileOptions& options) {
    return plan_of(tiling::resolve_chain(chain, options));
}

Image run_tiled_rows(const EffectChain& chain, const std::string& input_path, int y0, int y1,
                     const TileOptions& options) {
    const auto steps = tiling::resolve_chain(chain, options);
    const RowBandPlan plan = plan_of(steps);
    if (!plan.bandable)
        throw Error(Status::unsupported, fmt::format("run_tiled_rows: {}", plan.reason));
    const auto reader =
        ImageReader::open(input_path, tiling::streamed_load(options.load), options.stream_read);
    const int width = reader->info().width, height = reader->info().height;
    if (y0 < 0 || y1 > height || y0 >= y1)
        throw Error(Status::invalid_argument,
                    fmt::format("run_tiled_rows: rows {}..{} are not within the image's {} rows",
                                y0, y1, height));

    // The input rows the band's output depends on, as the tiled run extends a tile by its halo
    // (clipped at the image's edges, so the edges see the real edge).
    const int e0 = std::max(0, y0 - plan.halo), e1 = std::min(height, y1 + plan.halo);
    // With options.memory: the band, its output and one step's working copy, reserved from the
    // budget and the band's images charged to it.
    const std::uint64_t row_bytes = static_cast<std::uint64_t>(width) * 4;
    const AllocationScope charged =
        tiling::charge_run(options, row_bytes * static_cast<std::uint64_t>(e1 - e0) * 3);
    const int skip_rows = 256;
    for (int y = 0; y < e0; y += skip_rows) {
        if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed))
            throw Error(Status::cancelled, "run_tiled_rows: cancelled");
        reader->read_band(std::min(skip_rows, e0 - y));
    }
    Image band = reader->read_band(e1 - e0);
    if (band.channels() == 1) band = tiling::grey_to_rgb(band);

    EffectContext ctx;
    ctx.origin_x = 0;
    ctx.origin_y = e0;
    ctx.full_width = width;
    ctx.full_height = height;
    ctx.models = options.models;
    ctx.cancel = options.cancel;
    for (const auto& step : steps) band = step.info->render(band, step.params, ctx);
    return band.view({0, y0 - e0, band.width(), y1 - y0}).clone();
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
