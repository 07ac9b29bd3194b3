// Graph validation: ids, effects, parameters, inputs, outputs and cycles, each error naming
// the node it is about.

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "graph/graph_impl.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

using detail::GraphData;

namespace {

Error invalid(std::string message) {
    return Error(Status::invalid_argument, std::move(message));
}

// Ids become metric labels and file names: keep them to a safe alphabet.
bool valid_id(const std::string& id) {
    return std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
}

std::string known_effects(const EffectRegistry& registry) {
    const auto names = registry.names();
    return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

// "one input", "2 or 3 inputs": what a node of the effect may read.
std::string allowed_inputs(const EffectInfo& effect) {
    if (effect.min_inputs == effect.max_inputs)
        return effect.max_inputs == 1 ? std::string("one input")
                                      : fmt::format("{} inputs", effect.max_inputs);
    return fmt::format("{} to {} inputs", effect.min_inputs, effect.max_inputs);
}

// A node's image count (none given: the run's input, one) against the effect's range, and its
// node-reference parameters against its inputs.
void check_node_inputs(const NodeSpec& n, const EffectInfo& effect, const Params& params) {
    const auto count = std::max<std::size_t>(1, n.inputs.size());
    if (count < std::size_t(effect.min_inputs) || count > std::size_t(effect.max_inputs))
        throw invalid(fmt::format("node '{}': effect '{}' takes {}, got {}{}", n.id, n.op,
                                  allowed_inputs(effect), n.inputs.size(),
                                  n.inputs.empty()
                                      ? std::string(" (the run's input)")
                                      : fmt::format(" ({})", fmt::join(n.inputs, ", "))));
    for (const auto& name : effect.node_params) {
        const std::string& ref = params.text(name);
        if (ref.empty() || std::find(n.inputs.begin(), n.inputs.end(), ref) != n.inputs.end())
            continue;
        throw invalid(fmt::format("node '{}': {} '{}' must be one of the node's inputs ({})", n.id,
                                  name, ref,
                                  n.inputs.empty() ? std::string("it has none: add \"in\"")
                                                   : fmt::format("{}", fmt::join(n.inputs, ", "))));
    }
}

// A cycle among the nodes Kahn's algorithm could not order, as "a -> b -> a" in data order.
std::string find_cycle(const GraphData& g, const std::vector<int>& unordered) {
    enum class Mark { none, open, closed };
    std::vector<Mark> mark(g.nodes.size(), Mark::none);
    std::vector<int> path;
    std::string found;
    const auto visit = [&](auto&& self, int n) -> bool {
        mark[n] = Mark::open;
        path.push_back(n);
        for (int next : g.readers[n]) {
            if (mark[next] == Mark::open) {
                const auto from = std::find(path.begin(), path.end(), next);
                std::vector<std::string> ids;
                for (auto it = from; it != path.end(); ++it) ids.push_back(g.nodes[*it].id);
                ids.push_back(g.nodes[next].id);
                found = fmt::format("{}", fmt::join(ids, " -> "));
                return true;
            }
            if (mark[next] == Mark::none && self(self, next)) return true;
        }
        path.pop_back();
        mark[n] = Mark::closed;
        return false;
    };
    for (int n : unordered)
        if (mark[n] == Mark::none && visit(visit, n)) break;
    return found;
}

void check_nodes(GraphData& g, const EffectRegistry& registry) {
    if (g.nodes.empty()) throw invalid("graph has no nodes");
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
        const auto& id = g.nodes[i].id;
        if (id.empty()) throw invalid(fmt::format("node {} has no id", i + 1));
        if (!valid_id(id))
            throw invalid(
                fmt::format("node id '{}' may only use letters, digits, '_', '-' and '.'", id));
        if (!g.index.emplace(id, static_cast<int>(i)).second)
            throw invalid(fmt::format("duplicate node id '{}'", id));
    }
    for (const auto& n : g.nodes) {
        if (n.op.empty()) throw invalid(fmt::format("node '{}' has no op", n.id));
        const EffectInfo* effect = registry.find(n.op);
        if (effect == nullptr)
            throw invalid(fmt::format("node '{}': unknown effect '{}' (known: {})", n.id, n.op,
                                      known_effects(registry)));
        try {
            g.params.push_back(registry.resolve(n.op, n.params));
        } catch (const Error& e) {
            throw invalid(fmt::format("node '{}': {}", n.id, e.what()));
        }
        g.effects.push_back(effect);
        check_node_inputs(n, *effect, g.params.back());
        std::vector<int> in;
        for (const auto& input : n.inputs) {
            if (input.empty()) throw invalid(fmt::format("node '{}': an input id is empty", n.id));
            const auto it = g.index.find(input);
            if (it == g.index.end())
                throw invalid(fmt::format("node '{}': input '{}' is not a node", n.id, input));
            in.push_back(it->second);
        }
        g.inputs.push_back(std::move(in));
    }
}

void check_outputs(GraphData& g, bool outputs_given) {
    if (!outputs_given) {
        for (std::size_t i = 0; i < g.nodes.size(); ++i)
            if (g.readers[i].empty()) g.outputs.push_back(g.nodes[i].id);
    }
    if (g.outputs.empty()) throw invalid("graph has no outputs");
    for (std::size_t i = 0; i < g.outputs.size(); ++i) {
        const auto& out = g.outputs[i];
        const auto it = g.index.find(out);
        if (it == g.index.end()) throw invalid(fmt::format("output '{}' is not a node", out));
        if (std::find(g.outputs.begin(), g.outputs.begin() + static_cast<long>(i), out) !=
            g.outputs.begin() + static_cast<long>(i))
            throw invalid(fmt::format("output '{}' is listed twice", out));
        g.output_nodes.push_back(it->second);
    }
}

void order_nodes(GraphData& g) {
    const auto n = g.nodes.size();
    std::vector<std::size_t> waiting(n);
    std::vector<int> ready;
    for (std::size_t i = 0; i < n; ++i) {
        waiting[i] = g.inputs[i].size();
        if (waiting[i] == 0) ready.push_back(static_cast<int>(i));
    }
    // Spec order among ready nodes: the order a reader of the spec expects.
    std::reverse(ready.begin(), ready.end());
    while (!ready.empty()) {
        const int next = ready.back();
        ready.pop_back();
        g.order.push_back(next);
        std::vector<int> freed;
        for (int r : g.readers[next])
            if (--waiting[r] == 0) freed.push_back(r);
        ready.insert(ready.end(), freed.rbegin(), freed.rend());
    }
    if (g.order.size() == n) return;
    std::vector<int> unordered;
    for (std::size_t i = 0; i < n; ++i)
        if (waiting[i] > 0) unordered.push_back(static_cast<int>(i));
    throw invalid(fmt::format("cycle: {}", find_cycle(g, unordered)));
}

}  // namespace

namespace detail {

std::shared_ptr<const GraphData> validate_graph(std::vector<NodeSpec> nodes,
                                                std::vector<std::string> outputs,
                                                bool outputs_given,
                                                const EffectRegistry& registry) {
    auto g = std::make_shared<GraphData>();
    g->registry = &registry;
    g->nodes = std::move(nodes);
    g->outputs = std::move(outputs);
    check_nodes(*g, registry);
    g->readers.resize(g->nodes.size());
    for (std::size_t i = 0; i < g->nodes.size(); ++i)
        for (int in : g->inputs[i]) g->readers[in].push_back(static_cast<int>(i));
    order_nodes(*g);
    check_outputs(*g, outputs_given);
    return g;
}

Graph rebind(const Graph& graph, const EffectRegistry& registry) {
    const auto& g = GraphAccess::impl(graph);
    if (g.registry == &registry) return graph;
    return GraphAccess::make(validate_graph(g.nodes, g.outputs, true, registry));
}

}  // namespace detail

Graph::Graph(std::shared_ptr<const detail::GraphData> impl) : impl_(std::move(impl)) {}
Graph::~Graph() = default;

Graph Graph::from_nodes(std::vector<NodeSpec> nodes, std::vector<std::string> outputs,
                        const EffectRegistry& registry) {
    const bool given = !outputs.empty();
    return Graph(detail::validate_graph(std::move(nodes), std::move(outputs), given, registry));
}

Graph Graph::from_effects(const std::vector<std::string>& effects,
                          const std::map<std::string, ParamMap>& params, bool cut,
                          const EffectRegistry& registry) {
    if (effects.empty())
        throw Error(Status::invalid_argument, "no effect given: the list is empty");
    constexpr const char* cutout = "remove_background";
    std::vector<std::string> list;
    for (const auto& e : effects) {
        if (std::find(list.begin(), list.end(), e) != list.end())
            throw Error(Status::invalid_argument, fmt::format("effect '{}' is listed twice", e));
        if (!(cut && e == cutout)) list.push_back(e);
    }
    for (const auto& [effect, values] : params) {
        const bool used =
            std::find(list.begin(), list.end(), effect) != list.end() || (cut && effect == cutout);
        if (!used && !values.empty())
            throw Error(Status::invalid_argument,
                        fmt::format("parameters for '{}', which is not among the effects run ({})",
                                    effect, fmt::join(effects, ",")));
    }
    const auto params_of = [&](const std::string& effect) {
        const auto it = params.find(effect);
        return it == params.end() ? ParamMap{} : it->second;
    };
    Builder builder;
    std::vector<std::string> from;
    if (cut) {
        builder.node(cutout, cutout, {}, params_of(cutout)).output(cutout);
        from = {cutout};
    }
    for (const auto& e : list) builder.node(e, e, from, params_of(e)).output(e);
    return builder.build(registry);
}

const std::vector<NodeSpec>& Graph::nodes() const noexcept {
    return impl_->nodes;
}
const std::vector<std::string>& Graph::outputs() const noexcept {
    return impl_->outputs;
}
const EffectRegistry& Graph::registry() const noexcept {
    return *impl_->registry;
}

const NodeSpec& Graph::node(const std::string& id) const {
    const auto it = impl_->index.find(id);
    if (it == impl_->index.end())
        throw Error(Status::not_found, fmt::format("graph has no node '{}'", id));
    return impl_->nodes[it->second];
}

const Params& Graph::params(const std::string& id) const {
    node(id);  // the not_found message
    return impl_->params[impl_->index.at(id)];
}

std::vector<std::string> Graph::topological_order() const {
    std::vector<std::string> ids;
    ids.reserve(impl_->order.size());
    for (int n : impl_->order) ids.push_back(impl_->nodes[n].id);
    return ids;
}

Graph::Builder& Graph::Builder::node(std::string id, std::string op,
                                     std::vector<std::string> inputs, ParamMap params) {
    nodes_.push_back({std::move(id), std::move(op), std::move(inputs), std::move(params)});
    return *this;
}

Graph::Builder& Graph::Builder::output(std::string id) {
    outputs_.push_back(std::move(id));
    return *this;
}

Graph Graph::Builder::build(const EffectRegistry& registry) const {
    return Graph::from_nodes(nodes_, outputs_, registry);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
