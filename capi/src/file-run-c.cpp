// art_engine_run_file: graph runs from an image file to files, streamed when large
// (Engine::run_file).

#include <map>

#include <fmt/format.h>

#include "capi_internal.hpp"

using artistry::Error;
using artistry::Status;
using namespace artistry::capi;

namespace {

// node id → path from the parallel arrays; a NULL or repeated entry is refused (run_file
// refuses an empty path or a node that is no output).
std::map<std::string, std::string> outputs_by_node(const char* const* nodes,
                                                   const char* const* paths, std::size_t count) {
    if (count == 0) throw Error(Status::invalid_argument, "output_count is 0: name an output");
    require(nodes, "output_nodes");
    require(paths, "output_paths");
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i < count; ++i) {
        if (nodes[i] == nullptr)
            throw Error(Status::invalid_argument, fmt::format("output_nodes[{}] is NULL", i));
        if (paths[i] == nullptr)
            throw Error(Status::invalid_argument, fmt::format("output_paths[{}] is NULL", i));
        if (!out.emplace(nodes[i], paths[i]).second)
            throw Error(Status::invalid_argument,
                        fmt::format("output_nodes[{}]: '{}' is named twice", i, nodes[i]));
    }
    return out;
}

artistry::FileRunOptions file_run_options(const art_run_options* options) {
    const art_run_options o = run_options_struct(options);
    if (o.tile_size < 0)
        throw Error(Status::invalid_argument,
                    fmt::format("art_run_options: tile_size {} must be >= 0", o.tile_size));
    artistry::FileRunOptions f;
    f.run = run_options(options);
    f.tile_size = o.tile_size;
    f.force_streaming = o.force_streaming != 0;
    f.memory_budget_bytes = o.memory_budget_bytes;
    return f;
}

}  // namespace

extern "C" {

art_status art_engine_run_file(art_result** out, art_engine* engine, const art_graph* graph,
                               const char* input_path, const char* const* output_nodes,
                               const char* const* output_paths, size_t output_count,
                               const art_run_options* options) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(engine, "engine");
    require(graph, "graph");
    require(input_path, "input_path");
    const auto paths = outputs_by_node(output_nodes, output_paths, output_count);
    const auto opts = file_run_options(options);
    auto run = engine->engine.run_file(graph->graph, input_path, paths, opts);
    *out = make_result(std::move(run.result), graph->graph);
    ART_CATCH
}

}  // extern "C"
