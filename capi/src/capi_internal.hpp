#pragma once
// Shared by the capi/*-c.cpp files: the handle structs, the exception barrier, argument checks.
// The C layer translates; it never decides (DuckDB's capi shape).

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "artistry.h"
#include "artistry/engine.hpp"
#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "artistry/image.hpp"
#include "artistry/models.hpp"
#include "struct_size.hpp"

struct art_image {
    artistry::Image image;
};
struct art_graph {
    artistry::Graph graph;
};
struct art_engine {
    artistry::Engine engine;
    explicit art_engine(artistry::EngineOptions options) : engine(options) {}
};
struct art_run {
    artistry::RunHandle handle;
    artistry::Graph graph;  // what it runs (copies share one description)
};
struct art_result {
    artistry::Result result;
    std::vector<std::string> output_names;  // in graph output order, finished ones only
    // The graph's node ids (file runs: a streamed run reports only its outputs in
    // result.nodes, the others' structured data in result.data).
    std::vector<std::string> node_ids;
};
struct art_model_list {
    std::vector<artistry::ModelSpec> specs;  // sorted by name
    std::vector<bool> loaded;                // same order
    std::vector<std::uint64_t> bytes;
};

namespace artistry::capi {

// Records the current exception as this thread's last error and returns its status. Defined
// in errors-c.cpp, the one file that knows cv::Exception.
art_status translate_current_exception() noexcept;
void clear_error() noexcept;

// Throws Error(invalid_argument) naming the parameter when p is null.
template <class T>
void require(const T* p, const char* what) {
    if (p == nullptr) throw Error(Status::invalid_argument, std::string(what) + " is NULL");
}

// A copy the caller frees with art_string_free.
char* dup_string(const std::string& text);

}  // namespace artistry::capi

// The barrier around every body: no exception crosses into C.
#define ART_TRY                    \
    artistry::capi::clear_error(); \
    try {
#define ART_CATCH                                             \
    }                                                         \
    catch (...) {                                             \
        return artistry::capi::translate_current_exception(); \
    }                                                         \
    return ART_OK;

namespace artistry::capi {
// The graph art_graph_from_effects describes (graph-c.cpp).
Graph graph_from_effects(const char* const* effects, std::size_t count);
// Run options from the C struct (NULL: defaults) (run-c.cpp).
RunOptions run_options(const art_run_options* options);
// The C struct as this header's (NULL: defaults): older sizes get the newer fields' defaults.
art_run_options run_options_struct(const art_run_options* options);
// The result handle of a finished run of `graph` (run-c.cpp).
art_result* make_result(Result result, const Graph& graph);
}  // namespace artistry::capi
