// Engine::run_file: a graph from an image file to output files, streamed band by band through
// run_tiled_file when the input is large (or when asked), else loaded and run in memory.

#include "graph/run_file.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "graph/graph_impl.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

std::string extension_of(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    if (!ext.empty()) ext.erase(0, 1);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

bool streamable_output(const std::string& path) {
    const std::string ext = extension_of(path);
    return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "tif" || ext == "tiff";
}

bool streamable_input(const std::string& format) {
    return format == "jpeg" || format == "png" || format == "tiff";
}

// Each output's chain (input first), or false when some output's ancestry has a node with more
// than one input.
bool output_chains(const Graph& graph, std::map<std::string, EffectChain>& chains) {
    const auto& g = detail::GraphAccess::impl(graph);
    for (const int out : g.output_nodes) {
        EffectChain chain;
        for (int n = out;;) {
            if (g.inputs[n].size() > 1) return false;
            chain.push_back({g.nodes[n].op, g.nodes[n].params});
            if (g.inputs[n].empty()) break;
            n = g.inputs[n].front();
        }
        std::reverse(chain.begin(), chain.end());
        chains[g.nodes[out].id] = std::move(chain);
    }
    return true;
}

void emit(const ProgressCallback& progress, const ProgressEvent& event) {
    if (!progress) return;
    try {
        progress(event);
    } catch (...) {  // dropped, as the engine does
    }
}

// The node ids of an output's chain, input first (as output_chains' steps).
std::vector<std::string> chain_node_ids(const Graph& graph, const std::string& output) {
    const auto& g = detail::GraphAccess::impl(graph);
    std::vector<std::string> ids;
    for (int n = g.index.at(output);; n = g.inputs[n].front()) {
        ids.push_back(g.nodes[n].id);
        if (g.inputs[n].empty()) break;
    }
    std::reverse(ids.begin(), ids.end());
    return ids;
}

// Progress of outputs streamed together: the rows each has written, summed into one fraction
// and ETA; events go out one at a time (writers call from their own threads).
class StreamProgress {
  public:
    StreamProgress(const ProgressCallback& callback, std::size_t outputs, int width)
        : callback_(callback), rows_(outputs, 0), width_(width) {}

    void rows_written(std::size_t output, const std::string& id, const std::string& op,
                      int rows_done, int rows_total) {
        if (!callback_) return;
        const std::lock_guard lock(mutex_);
        rows_[output] = rows_done;
        double done = 0;
        for (const int r : rows_) done += r;
        ProgressEvent e;
        e.node = id;
        e.op = op;
        e.phase = Phase::running;
        e.units_done = rows_done;
        e.units_total = rows_total;
        e.fraction =
            std::min(1.0, done / (static_cast<double>(rows_.size()) * std::max(1, rows_total)));
        const double elapsed = seconds();
        if (e.fraction > 0) e.eta_seconds = elapsed * (1 - e.fraction) / e.fraction;
        if (elapsed > 0) e.rate_mps = done * width_ / 1e6 / elapsed;
        emit(callback_, e);
    }
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

  private:
    const ProgressCallback& callback_;
    std::mutex mutex_;
    std::vector<int> rows_;
    int width_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The streamed run: every requested output's chain through run_tiled_files together, the input
// read once per pass for all of them, with the engine's models, the run's cancellation flag,
// progress, and the structured output of the nodes that have some, as Engine::run gives.
void stream_outputs(Engine& engine, MemoryManager& memory, double memory_wait_seconds,
                    const Graph& graph, const std::string& input_path,
                    const std::map<std::string, std::string>& output_paths,
                    const FileRunOptions& options, FileRunResult& out) {
    const ProgressCallback& progress = options.run.progress;
    StreamProgress rows(progress, output_paths.size(), out.plan.width);
    std::vector<StreamedOutput> streamed;
    std::vector<std::string> ids;
    for (const auto& [id, path] : output_paths) {
        const EffectChain& chain = out.plan.chains.at(id);
        const std::size_t k = streamed.size();
        streamed.push_back(
            {chain, path, [&rows, k, id = id, op = chain.back().effect](int done, int total) {
                 rows.rows_written(k, id, op, done, total);
             }});
        ids.push_back(id);
    }
    TileOptions tile;
    tile.tile_size = options.tile_size;
    tile.registry = &engine.registry();
    tile.models = &engine.models();
    tile.cancel = options.run.cancel.get();
    tile.memory_budget_bytes = out.plan.budget_bytes;
    tile.load = options.load;
    tile.save = options.save;
    tile.stream_write = options.stream_write;
    // The band working set is reserved from the engine's manager for the run, so streamed runs
    // and in-memory nodes share one budget.
    if (memory.has_device(Device::cpu())) {
        tile.memory = &memory;
        tile.memory_wait_seconds = memory_wait_seconds;
    }

    ProgressEvent first;
    first.phase = Phase::running;
    first.node = ids.front();
    first.op = streamed.front().chain.back().effect;
    first.units_total = out.plan.height;
    emit(progress, first);
    std::vector<TiledRunStats> stats;
    try {
        stats = run_tiled_files(streamed, input_path, tile);
    } catch (const std::exception& e) {
        ProgressEvent last;
        const auto* error = dynamic_cast<const Error*>(&e);
        last.phase = error != nullptr && error->status() == Status::cancelled ? Phase::cancelled
                                                                              : Phase::failed;
        last.fraction = 1.0;
        last.message = e.what();
        emit(progress, last);
        throw;
    }

    Result& result = out.result;
    result.wall_seconds = rows.seconds();
    for (std::size_t k = 0; k < ids.size(); ++k) {
        const std::vector<std::string> nodes = chain_node_ids(graph, ids[k]);
        for (std::size_t step = 0; step < nodes.size(); ++step)
            if (!stats[k].data[step].empty()) result.data[nodes[step]] = stats[k].data[step];
        NodeResult node;
        node.id = ids[k];
        node.op = streamed[k].chain.back().effect;
        node.status = NodeStatus::ok;
        node.end_seconds = node.seconds = result.wall_seconds;  // the outputs ran side by side
        node.data = stats[k].data.back();
        result.nodes.push_back(std::move(node));
        out.tiled[ids[k]] = std::move(stats[k]);
        out.written[ids[k]] = output_paths.at(ids[k]);
    }
    result.status = RunStatus::ok;
    ProgressEvent last;
    last.phase = Phase::done;
    last.fraction = 1.0;
    emit(progress, last);
}
}  // namespace

void save_run_output(const Image& image, const std::string& path, const SaveOptions& save,
                     const StreamWriteOptions& stream) {
    if (!streamable_output(path)) {
        save_image(image, path, save);
        return;
    }
    auto writer =
        ImageWriter::create(path, image.width(), image.height(), image.channels(), save, stream);
    writer->write_rows(image);
    writer->finish();
}

namespace detail {

FilePlan plan_file(const Graph& graph, const MemoryManager& memory, const std::string& input_path,
                   const FileRunOptions& options) {
    FilePlan plan;
    const ImageInfo info = probe_image_file(input_path);
    plan.width = info.width;
    plan.height = info.height;
    plan.channels = info.channels;
    if (options.memory_budget_bytes > 0) {
        plan.budget_bytes = options.memory_budget_bytes;
    } else if (memory.has_device(Device::cpu())) {
        plan.budget_bytes = memory.largest_fit(Device::cpu(), 1, 0, FitBasis::threshold);
        if (plan.budget_bytes == 0) plan.budget_bytes = memory.budget(Device::cpu());
    }
    if (plan.budget_bytes == 0) plan.budget_bytes = std::uint64_t{256} << 20;
    plan.threshold_bytes = options.streaming_threshold_bytes > 0
                               ? options.streaming_threshold_bytes
                               : std::min(plan.budget_bytes / 4, std::uint64_t{512} << 20);
    plan.chain = output_chains(graph, plan.chains);

    const std::uint64_t bytes =
        static_cast<std::uint64_t>(info.width) * static_cast<std::uint64_t>(info.height) * 4;
    const bool forced = options.force_streaming || options.tile_size > 0;
    const bool fits = bytes * 2 <= plan.budget_bytes;
    if (!forced && bytes <= plan.threshold_bytes) {
        plan.reason = fmt::format(
            "in memory: {} MiB of pixels, under the streaming threshold of "
            "{} MiB",
            bytes / mib, plan.threshold_bytes / mib);
        return plan;
    }
    // Streaming wanted: can it be done?
    std::string obstacle;
    if (!plan.chain)
        obstacle = "the graph is not a chain (some node reads more than one image)";
    else if (!streamable_input(info.format))
        obstacle = fmt::format("streaming reads JPEG, PNG or TIFF, not {}", info.format);
    else if (info.orientation != 1 && options.load.apply_orientation)
        obstacle = fmt::format("the file has EXIF orientation {} (streaming reads orientation 1)",
                               info.orientation);
    if (obstacle.empty()) {
        plan.stream = true;
        plan.reason = forced ? std::string("streamed: asked for")
                             : fmt::format(
                                   "streamed: {} MiB of pixels, over the threshold of "
                                   "{} MiB",
                                   bytes / mib, plan.threshold_bytes / mib);
        return plan;
    }
    if (forced)
        throw Error(Status::unsupported,
                    fmt::format("'{}': cannot stream: {}", input_path, obstacle));
    if (!fits)
        throw Error(Status::unsupported,
                    fmt::format("'{}': {}x{} needs about {} MiB in memory, over the budget of {} "
                                "MiB, and cannot be streamed: {}",
                                input_path, info.width, info.height, bytes * 2 / mib,
                                plan.budget_bytes / mib, obstacle));
    plan.reason = fmt::format("in memory: {}", obstacle);
    return plan;
}

FileRunResult run_file(Engine& engine, MemoryManager& memory, double memory_wait_seconds,
                       const Graph& graph, const std::string& input_path,
                       const std::map<std::string, std::string>& output_paths,
                       const FileRunOptions& options, std::uint64_t run_id) {
    if (output_paths.empty())
        throw Error(Status::invalid_argument, "run_file: no output paths given");
    const auto& outputs = graph.outputs();
    for (const auto& [id, path] : output_paths) {
        if (std::find(outputs.begin(), outputs.end(), id) == outputs.end())
            throw Error(Status::invalid_argument,
                        fmt::format("run_file: '{}' is not an output of the graph", id));
        if (path.empty())
            throw Error(Status::invalid_argument,
                        fmt::format("run_file: output '{}' has an empty path", id));
    }

    FileRunResult out;
    out.plan = plan_file(graph, memory, input_path, options);
    if (out.plan.stream) {
        for (const auto& [id, path] : output_paths) {
            if (streamable_output(path)) continue;
            const bool forced = options.force_streaming || options.tile_size > 0;
            const std::uint64_t bytes = static_cast<std::uint64_t>(out.plan.width) *
                                        static_cast<std::uint64_t>(out.plan.height) * 4;
            if (forced || bytes * 2 > out.plan.budget_bytes)
                throw Error(Status::unsupported,
                            fmt::format("'{}': streaming writes JPEG, PNG or TIFF (.jpg, .png, "
                                        ".tif), not .{}",
                                        path, extension_of(path)));
            out.plan.stream = false;
            out.plan.reason = fmt::format("in memory: '{}' is not JPEG, PNG or TIFF", path);
        }
    }

    if (!out.plan.stream) {
        const Image input = load_image(input_path, options.load);
        out.result = engine.run(graph, input, options.run);
        out.result.run_id = run_id;
        for (const auto& [id, path] : output_paths) {
            const auto it = out.result.outputs.find(id);
            if (it == out.result.outputs.end()) continue;  // failed: reported in the Result
            save_run_output(it->second, path, options.save, options.stream_write);
            out.written[id] = path;
        }
        return out;
    }

    stream_outputs(engine, memory, memory_wait_seconds, graph, input_path, output_paths, options,
                   out);
    out.result.run_id = run_id;
    return out;
}

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
