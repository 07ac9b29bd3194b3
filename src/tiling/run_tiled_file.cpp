// run_tiled_file: file → chain → file in bands, with a reader thread, the workers (this thread
// and the tbb pool) and a writer thread joined by bounded queues.

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/tiling.hpp"
#include "tiling/band_queue.hpp"
#include "tiling/pipeline.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

// Effects take RGB or RGBA: a grey file's rows are expanded on the reader thread.
Image grey_to_rgb(const Image& g) {
    Image out = Image::allocate(g.width(), g.height(), 3);
    for (int y = 0; y < g.height(); ++y) {
        const std::uint8_t* p = g.row(y);
        std::uint8_t* q = out.row(y);
        for (int x = 0; x < g.width(); ++x, q += 3) q[0] = q[1] = q[2] = p[x];
    }
    return out;
}

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

}  // namespace

TiledRunStats run_tiled_file(const EffectChain& chain, const std::string& input_path,
                             const std::string& output_path, const TileOptions& options) {
    LoadOptions load = options.load;
    load.max_pixels = std::max<std::uint64_t>(load.max_pixels, std::uint64_t{1} << 40);
    auto reader = ImageReader::open(input_path, load, options.stream_read);
    const int w = reader->info().width, h = reader->info().height;
    const int channels = reader->info().channels == 1 ? 3 : reader->info().channels;

    const auto steps = tiling::resolve_chain(chain, options);
    TiledRunStats stats;
    stats.tile_size =
        options.tile_size > 0
            ? options.tile_size
            : tile_size_for_budget(chain, w, h, channels, options.memory_budget_bytes, options);
    tiling::PipelineShape shape;
    shape.width = w;
    shape.height = h;
    shape.channels = channels;
    shape.tile_rows = stats.tile_size;
    shape.tile_width = options.tile_width;
    stats.planned_bytes = tiling::working_set(steps, shape, options.queue_depth);
    const auto whole = tiling::whole_image_effects(steps, w, h);
    if (!whole.empty() && stats.planned_bytes > options.memory_budget_bytes)
        throw Error(Status::unsupported,
                    fmt::format("run_tiled_file: effect '{}' needs the whole {}x{} image in memory "
                                "(no streamed pass for these parameters yet): about {} MiB, over "
                                "the memory budget of {} MiB",
                                whole.front(), w, h, stats.planned_bytes / mib,
                                options.memory_budget_bytes / mib));

    // The working set held from the manager for the whole run; every thread of the run charges
    // its images to it.
    const AllocationScope charged = tiling::charge_run(options, stats.planned_bytes);

    // Global steps with a streamed analysis: one pass over the file each (read again, on this
    // thread), before the final pass.
    tiling::AnalysisStates states =
        tiling::analyse_chain(steps, shape, [&](tiling::Stage& stage) {
            auto again = ImageReader::open(input_path, load, options.stream_read);
            for (int y = 0; y < h; y += stats.tile_size) {
                if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed))
                    throw Error(Status::cancelled, "run_tiled_file: cancelled");
                Image band = again->read_band(std::min(stats.tile_size, h - y));
                if (band.channels() == 1) band = grey_to_rgb(band);
                stage.push(band, y);
            }
            stage.finish();
        });

    const auto depth = static_cast<std::size_t>(std::max(1, options.queue_depth));
    tiling::BandQueue in_queue(depth), out_queue(depth);
    std::mutex failure_mutex;
    std::exception_ptr failure;
    const auto fail = [&](std::exception_ptr e) {
        {
            const std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::move(e);
        }
        in_queue.abort();
        out_queue.abort();
    };
    const auto failed = [&] {
        const std::lock_guard lock(failure_mutex);
        return failure != nullptr;
    };

    std::unique_ptr<ImageWriter> writer;  // created on the first band: its channels decide
    std::thread reading([&, account = charged.account()] {
        const AllocationScope on_this_thread(account);
        try {
            for (int y = 0; y < h; y += stats.tile_size) {
                if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed))
                    throw Error(Status::cancelled, "run_tiled_file: cancelled");
                Image band = reader->read_band(std::min(stats.tile_size, h - y));
                if (band.channels() == 1) band = grey_to_rgb(band);
                if (!in_queue.push({std::move(band), y})) return;
                ++stats.bands;
            }
            in_queue.close();
        } catch (...) {
            fail(std::current_exception());
        }
    });
    std::thread writing([&, account = charged.account()] {
        const AllocationScope on_this_thread(account);
        try {
            while (auto band = out_queue.pop()) {
                if (!writer)
                    writer = ImageWriter::create(output_path, w, h, band->pixels.channels(),
                                                 options.save, options.stream_write);
                writer->write_rows(band->pixels);
                if (options.progress) options.progress(band->y0 + band->pixels.height(), h);
            }
        } catch (...) {
            fail(std::current_exception());
        }
    });

    try {
        bool whole_stage = false;
        auto pipeline = tiling::build_pipeline(
            steps, shape,
            [&](const Image& band, int y0) {
                if (!out_queue.push({band, y0}))
                    throw Error(Status::cancelled, "run_tiled_file: stopped by a failure");
            },
            &whole_stage, &states);
        stats.whole_image_stage = whole_stage;
        while (auto band = in_queue.pop()) pipeline->push(band->pixels, band->y0);
        if (!failed()) pipeline->finish();
        out_queue.close();
    } catch (...) {
        fail(std::current_exception());
    }
    reading.join();
    writing.join();
    if (failure) {
        writer.reset();  // removes its temporary file: nothing appears at output_path
        std::rethrow_exception(failure);
    }
    if (!writer) throw Error(Status::internal, "run_tiled_file: no rows were produced");
    writer->finish();
    return stats;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
