#pragma once
// The validated form of a graph, shared by the spec readers and the engine.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/graph.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

struct GraphData {
    const EffectRegistry* registry = nullptr;
    std::vector<NodeSpec> nodes;
    std::vector<std::string> outputs;
    std::map<std::string, int> index;        // id → position in nodes
    std::vector<const EffectInfo*> effects;  // by node
    std::vector<Params> params;              // resolved, by node
    std::vector<std::vector<int>> inputs;    // by node: positions of the nodes it reads
    std::vector<std::vector<int>> readers;   // by node: positions of the nodes reading it
    std::vector<int> order;                  // topological: inputs first
    std::vector<int> output_nodes;           // positions of the outputs
};

struct GraphAccess {
    static const GraphData& impl(const Graph& graph) { return *graph.impl_; }
    static Graph make(std::shared_ptr<const GraphData> impl) { return Graph(std::move(impl)); }
};

// Checks a spec against the registry and builds its validated form; Error(invalid_argument)
// names the node and the problem. outputs_given false: the nodes nothing reads are outputs.
std::shared_ptr<const GraphData> validate_graph(std::vector<NodeSpec> nodes,
                                                std::vector<std::string> outputs,
                                                bool outputs_given, const EffectRegistry& registry);

// The same graph checked against another registry (the engine's), or itself when it is one.
Graph rebind(const Graph& graph, const EffectRegistry& registry);

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
