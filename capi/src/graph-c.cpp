// art_graph: graph specs from JSON or from a list of effect names.

#include <fmt/format.h>

#include "capi_internal.hpp"

using artistry::Error;
using artistry::Graph;
using artistry::Status;
using namespace artistry::capi;

namespace artistry::capi {

Graph graph_from_effects(const char* const* effects, std::size_t count) {
    require(effects, "effects");
    if (count == 0) throw Error(Status::invalid_argument, "effects: the list is empty");
    std::vector<std::string> names;
    for (std::size_t i = 0; i < count; ++i) {
        if (effects[i] == nullptr)
            throw Error(Status::invalid_argument, fmt::format("effects[{}] is NULL", i));
        names.emplace_back(effects[i]);
    }
    return Graph::from_effects(names);
}

}  // namespace artistry::capi

namespace {

const artistry::Graph& graph_of(const art_graph* graph) {
    require(graph, "graph");
    return graph->graph;
}

}  // namespace

extern "C" {

art_status art_graph_from_json(art_graph** out, const char* json) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(json, "json");
    *out = new art_graph{Graph::from_json(json)};
    ART_CATCH
}

art_status art_graph_from_effects(art_graph** out, const char* const* effects, size_t count) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    *out = new art_graph{graph_from_effects(effects, count)};
    ART_CATCH
}

art_status art_graph_to_json(char** out, const art_graph* graph) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    *out = dup_string(graph_of(graph).to_json(2));
    ART_CATCH
}

art_status art_graph_output_count(size_t* out, const art_graph* graph) {
    ART_TRY
    require(out, "out");
    *out = graph_of(graph).outputs().size();
    ART_CATCH
}

art_status art_graph_output_name(const char** out, const art_graph* graph, size_t index) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    const auto& outputs = graph_of(graph).outputs();
    if (index >= outputs.size())
        throw Error(Status::invalid_argument,
                    fmt::format("output index {} out of range (count {})", index, outputs.size()));
    *out = outputs[index].c_str();
    ART_CATCH
}

void art_graph_free(art_graph* graph) {
    delete graph;
}

}  // extern "C"
