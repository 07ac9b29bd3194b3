#pragma once
// Effect graphs: a DAG of named effect nodes, from the JSON spec (DESIGN.md) or from code.
//
// A Graph is validated when it is made, against an effect registry's schemas, and is
// immutable afterwards; copies share one validated description and are cheap.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "artistry/effect.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace detail {
struct GraphData;
struct GraphAccess;
}  // namespace detail

// One node as the spec gives it.
struct NodeSpec {
    std::string id;                   // letters, digits, '_', '-', '.'
    std::string op;                   // an effect name in the registry
    std::vector<std::string> inputs;  // node ids; empty: the run's input image
    ParamMap params;                  // as given; the schema fills defaults at validation
};

class Graph {
  public:
    class Builder;

    // Parses and validates a spec:
    //   {"nodes": [{"id": "cut", "op": "remove_background"},
    //              {"id": "bw", "op": "enhanced_bw", "in": ["cut"], "params": {"clahe_clip": 2}}],
    //    "outputs": ["bw"]}
    // "outputs" may be left out: then every node no other node reads is an output.
    // Error(invalid_argument) names the node and the problem; malformed JSON gives line:column.
    static Graph from_json(std::string_view json,
                           const EffectRegistry& registry = EffectRegistry::builtin());
    // As from_json; messages start with the path. Error(io_error) when it cannot be read.
    static Graph from_json_file(const std::string& path,
                                const EffectRegistry& registry = EffectRegistry::builtin());
    // Validates nodes and outputs built in code (empty outputs: the nodes nothing reads).
    static Graph from_nodes(std::vector<NodeSpec> nodes, std::vector<std::string> outputs = {},
                            const EffectRegistry& registry = EffectRegistry::builtin());

    // The graph a list of effect names describes (the CLI's -e, the C ABI's and Python's
    // lists): one node per effect, named after it, reading the input and each an output. With
    // `cut`, one remove_background node that every other effect reads instead (an output too).
    // `params` by effect name. Error(invalid_argument) for an empty list, an unknown or
    // repeated effect, or parameters for an effect not in the list (as for a JSON spec).
    static Graph from_effects(const std::vector<std::string>& effects,
                              const std::map<std::string, ParamMap>& params = {}, bool cut = false,
                              const EffectRegistry& registry = EffectRegistry::builtin());

    Graph(const Graph&) = default;
    Graph(Graph&&) noexcept = default;
    Graph& operator=(const Graph&) = default;
    Graph& operator=(Graph&&) noexcept = default;
    ~Graph();

    const std::vector<NodeSpec>& nodes() const noexcept;  // in spec order
    const std::vector<std::string>& outputs() const noexcept;
    const NodeSpec& node(const std::string& id) const;   // Error(not_found)
    const Params& params(const std::string& id) const;   // resolved by the schema
    std::vector<std::string> topological_order() const;  // inputs before their readers
    const EffectRegistry& registry() const noexcept;     // the one it was validated against

    // The spec as JSON (compact when indent < 0); from_json(to_json()) gives the same graph.
    std::string to_json(int indent = -1) const;

  private:
    explicit Graph(std::shared_ptr<const detail::GraphData> impl);
    std::shared_ptr<const detail::GraphData> impl_;
    friend struct detail::GraphAccess;
};

// Graph::Builder().node("cut", "remove_background")
//                 .node("bw", "enhanced_bw", {"cut"}, {{"clahe_clip", 2.0}})
//                 .output("bw").build(registry)
class Graph::Builder {
  public:
    Builder& node(std::string id, std::string op, std::vector<std::string> inputs = {},
                  ParamMap params = {});
    Builder& output(std::string id);
    Graph build(const EffectRegistry& registry = EffectRegistry::builtin()) const;

  private:
    std::vector<NodeSpec> nodes_;
    std::vector<std::string> outputs_;
};

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
