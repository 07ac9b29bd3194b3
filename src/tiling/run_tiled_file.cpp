// run_tiled_files: file → chains → files in bands. Each pass over the input has one reader
// thread feeding every chain through a bounded queue; the final pass runs the chains side by
// side on the workers (this thread and the tbb pool) and gives each output a writer thread.

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/tiling.hpp"
#include "tiling/band_queue.hpp"
#include "tiling/pipeline.hpp"
#include "util/parallel.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

// The run's memory account, entered by each of its threads.
using Account = std::shared_ptr<detail::ChargeAccount>;

// The first failure of any thread of a pass; it aborts every queue so all of them stop.
class Failure {
  public:
    void watch(tiling::BandQueue& queue) { queues_.push_back(&queue); }
    void fail(std::exception_ptr e) {
        {
            const std::lock_guard lock(mutex_);
            if (!first_) first_ = std::move(e);
        }
        for (auto* q : queues_) q->abort();
    }
    bool failed() const {
        const std::lock_guard lock(mutex_);
        return first_ != nullptr;
    }
    void rethrow() const {
        if (first_) std::rethrow_exception(first_);
    }

  private:
    mutable std::mutex mutex_;
    std::exception_ptr first_;
    std::vector<tiling::BandQueue*> queues_;
};

// The passes over the input file: the first uses the reader opened for the header, each later
// one opens the file again. Counts what was read.
class Input {
  public:
    Input(const std::string& path, const TileOptions& options) : path_(path), options_(options) {
        load_ = tiling::streamed_load(options.load);
        reader_ = ImageReader::open(path_, load_, options_.stream_read);
        const auto& info = reader_->info();
        width = info.width;
        height = info.height;
        channels = info.channels == 1 ? 3 : info.channels;
    }

    // One pass, bands of `rows`, into `queue` on a thread of its own (closed at the end, or the
    // failure recorded). The thread charges its images to `account`.
    std::thread read_into(tiling::BandQueue& queue, int rows, Failure& failure,
                          const Account& account) {
        std::unique_ptr<ImageReader> reader =
            reader_ ? std::move(reader_) : ImageReader::open(path_, load_, options_.stream_read);
        ++passes;
        return std::thread([this, &queue, rows, &failure, account, r = std::move(reader)] {
            const AllocationScope on_this_thread(account);
            try {
                for (int y = 0; y < height; y += rows) {
                    if (options_.cancel != nullptr &&
                        options_.cancel->load(std::memory_order_relaxed))
                        throw Error(Status::cancelled, "run_tiled_file: cancelled");
                    Image band = r->read_band(std::min(rows, height - y));
                    rows_read += static_cast<std::uint64_t>(band.height());
                    if (band.channels() == 1) band = tiling::grey_to_rgb(band);
                    if (!queue.push({std::move(band), y})) return;
                }
                queue.close();
            } catch (...) {
                failure.fail(std::current_exception());
            }
        });
    }

    int width = 0, height = 0, channels = 0;
    int passes = 0;
    std::uint64_t rows_read = 0;  // written by the reader thread, read after it is joined

  private:
    std::string path_;
    const TileOptions& options_;
    LoadOptions load_;
    std::unique_ptr<ImageReader> reader_;
};

// Pushes a band into every stage that is there, side by side when there are several.
void push_all(const std::vector<std::unique_ptr<tiling::Stage>>& stages, const tiling::Band& band) {
    std::vector<tiling::Stage*> live;
    for (const auto& s : stages)
        if (s) live.push_back(s.get());
    if (live.size() == 1) {
        live.front()->push(band.pixels, band.y0);
        return;
    }
    util::parallel_for(std::size_t{0}, live.size(),
                       [&, account = AllocationScope::current()](std::size_t i) {
                           const AllocationScope on_this_thread(account);
                           live[i]->push(band.pixels, band.y0);
                       });
}

// The analysis passes of every chain, level by level: one read of the input per level feeds
// each chain that still has a step to analyse.
std::vector<tiling::AnalysisStates> analyse_all(
    const std::vector<std::vector<tiling::ResolvedStep>>& steps,
    const std::vector<tiling::PipelineShape>& shapes, Input& input, const TileOptions& options,
    const Account& account) {
    std::vector<tiling::AnalysisStates> states(steps.size());
    const auto depth = static_cast<std::size_t>(std::max(1, options.queue_depth));
    for (;;) {
        std::vector<std::unique_ptr<tiling::Stage>> passes(steps.size());
        bool any = false;
        for (std::size_t i = 0; i < steps.size(); ++i) {
            passes[i] = tiling::next_analysis_pass(steps[i], shapes[i], states[i]);
            any = any || passes[i] != nullptr;
        }
        if (!any) return states;
        tiling::BandQueue queue(depth);
        Failure failure;
        failure.watch(queue);
        std::thread reading = input.read_into(queue, shapes.front().tile_rows, failure, account);
        try {
            while (auto band = queue.pop()) push_all(passes, *band);
            if (!failure.failed())
                for (auto& p : passes)
                    if (p) p->finish();
        } catch (...) {
            failure.fail(std::current_exception());
        }
        reading.join();
        failure.rethrow();
    }
}

// What the run will hold: each output's resolved chain, the band shape (bands sized for speed
// unless given), each chain's working set; refused when an effect needs the whole image and
// the working sets exceed the budget.
struct RunLayout {
    std::vector<std::vector<tiling::ResolvedStep>> steps;
    std::vector<tiling::PipelineShape> shapes;
    std::vector<TiledRunStats> stats;
    std::uint64_t planned = 0;
};

RunLayout lay_out(const std::vector<StreamedOutput>& outputs, const Input& input,
                  const TileOptions& options) {
    const int w = input.width, h = input.height;
    const std::size_t n = outputs.size();
    RunLayout layout;
    auto& [steps, shapes, stats, planned] = layout;
    for (const auto& o : outputs) steps.push_back(tiling::resolve_chain(o.chain, options));
    tiling::PipelineShape shape;
    shape.width = w;
    shape.height = h;
    shape.channels = input.channels;
    shape.tile_width = options.tile_width;
    shape.context.models = options.models;
    shape.context.cancel = options.cancel;
    shape.tile_rows = options.tile_size > 0
                          ? options.tile_size
                          : tiling::fast_band_rows(steps, shape, options.memory_budget_bytes,
                                                   options.queue_depth);

    stats.resize(n);
    shapes.assign(n, shape);
    for (std::size_t i = 0; i < n; ++i) {
        stats[i].tile_size = shape.tile_rows;
        stats[i].planned_bytes = tiling::working_set(steps[i], shape, options.queue_depth);
        stats[i].data.resize(steps[i].size());
        shapes[i].context.data = &stats[i].data;
        planned += stats[i].planned_bytes;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const auto whole = tiling::whole_image_effects(steps[i], w, h);
        if (!whole.empty() && planned > options.memory_budget_bytes)
            throw Error(
                Status::unsupported,
                fmt::format("run_tiled_file: effect '{}' needs the whole {}x{} image in "
                            "memory (no streamed pass for these parameters yet): about {} "
                            "MiB, over the memory budget of {} MiB",
                            whole.front(), w, h, planned / mib, options.memory_budget_bytes / mib));
    }

    return layout;
}

// The final pass: one reader, the chains side by side, a writer per output. Returns the number
// of bands read.
int final_pass(const std::vector<StreamedOutput>& outputs, RunLayout& layout,
               std::vector<tiling::AnalysisStates>& states, Input& input,
               const TileOptions& options, const Account& account) {
    const int w = input.width, h = input.height;
    const std::size_t n = outputs.size();
    auto& steps = layout.steps;  // (clang 14 cannot capture structured bindings)
    const tiling::PipelineShape& shape = layout.shapes.front();
    const auto depth = static_cast<std::size_t>(std::max(1, options.queue_depth));
    Failure failure;
    tiling::BandQueue in_queue(depth);
    failure.watch(in_queue);
    std::vector<std::unique_ptr<tiling::BandQueue>> out_queues;
    for (std::size_t i = 0; i < n; ++i) {
        out_queues.push_back(std::make_unique<tiling::BandQueue>(depth));
        failure.watch(*out_queues.back());
    }
    // Created on the first band: its channels decide.
    std::vector<std::unique_ptr<ImageWriter>> writers(n);
    std::vector<std::thread> writing;
    for (std::size_t i = 0; i < n; ++i)
        writing.emplace_back([&, i] {
            const AllocationScope on_this_thread(account);
            try {
                while (auto band = out_queues[i]->pop()) {
                    const auto [out_w, out_h] = tiling::output_size(steps[i], w, h);
                    if (!writers[i])
                        writers[i] = ImageWriter::create(outputs[i].path, out_w, out_h,
                                                         band->pixels.channels(), options.save,
                                                         options.stream_write);
                    writers[i]->write_rows(band->pixels);
                    if (outputs[i].progress)
                        outputs[i].progress(band->y0 + band->pixels.height(), out_h);
                }
            } catch (...) {
                failure.fail(std::current_exception());
            }
        });
    std::thread reading = input.read_into(in_queue, shape.tile_rows, failure, account);

    int bands = 0;
    try {
        std::vector<std::unique_ptr<tiling::Stage>> pipelines;
        for (std::size_t i = 0; i < n; ++i) {
            bool whole_stage = false;
            pipelines.push_back(tiling::build_pipeline(
                steps[i], layout.shapes[i],
                [&queue = *out_queues[i]](const Image& band, int y0) {
                    if (!queue.push({band, y0}))
                        throw Error(Status::cancelled, "run_tiled_file: stopped by a failure");
                },
                &whole_stage, &states[i]));
            layout.stats[i].whole_image_stage = whole_stage;
        }
        while (auto band = in_queue.pop()) {
            push_all(pipelines, *band);
            ++bands;
        }
        if (!failure.failed()) {
            if (n == 1) {
                pipelines.front()->finish();
            } else {
                util::parallel_for(std::size_t{0}, n, [&](std::size_t i) {
                    const AllocationScope on_this_thread(account);
                    pipelines[i]->finish();
                });
            }
        }
        for (auto& q : out_queues) q->close();
    } catch (...) {
        failure.fail(std::current_exception());
    }
    reading.join();
    for (auto& t : writing) t.join();
    if (failure.failed()) {
        writers.clear();  // removes their temporary files: nothing appears at the outputs
        failure.rethrow();
    }
    for (std::size_t i = 0; i < n; ++i)
        if (!writers[i]) throw Error(Status::internal, "run_tiled_file: no rows were produced");
    for (auto& wr : writers) wr->finish();
    return bands;
}

}  // namespace

std::vector<TiledRunStats> run_tiled_files(const std::vector<StreamedOutput>& outputs,
                                           const std::string& input_path,
                                           const TileOptions& options) {
    if (outputs.empty()) throw Error(Status::invalid_argument, "run_tiled_files: no outputs");
    Input input(input_path, options);
    RunLayout layout = lay_out(outputs, input, options);

    // The working set held from the manager for the whole run; every thread of the run charges
    // its images to it.
    const AllocationScope charged = tiling::charge_run(options, layout.planned);
    const Account account = charged.account();

    std::vector<tiling::AnalysisStates> states =
        analyse_all(layout.steps, layout.shapes, input, options, account);
    const int bands = final_pass(outputs, layout, states, input, options, account);
    std::vector<TiledRunStats>& stats = layout.stats;
    for (auto& s : stats) {
        s.bands = bands;
        s.input_passes = input.passes;
        s.rows_read = input.rows_read;
    }
    return stats;
}

TiledRunStats run_tiled_file(const EffectChain& chain, const std::string& input_path,
                             const std::string& output_path, const TileOptions& options) {
    return run_tiled_files({{chain, output_path, options.progress}}, input_path, options).front();
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
