// Run planning: needed nodes and node keys (plan.hpp).

#include "graph/plan.hpp"

#include <fmt/format.h>

namespace artistry::graph {

std::vector<PlannedNode> plan_run(const detail::GraphData& g, const std::string& input_identity) {
    std::vector<PlannedNode> plan(g.nodes.size());
    for (int n : g.order) {
        std::vector<std::string> in;
        for (int i : g.inputs[n]) in.push_back(plan[i].key);
        if (in.empty()) in.push_back(input_identity);
        plan[n].key = fmt::format("{}@{}({})[{}]", g.nodes[n].op, g.effects[n]->version,
                                  g.params[n].canonical(), fmt::join(in, ","));
    }
    // Needed: the outputs and everything they read, walked from the readers down.
    for (int n : g.output_nodes) plan[n].needed = true;
    for (auto it = g.order.rbegin(); it != g.order.rend(); ++it)
        if (plan[*it].needed)
            for (int i : g.inputs[*it]) plan[i].needed = true;
    return plan;
}

}  // namespace artistry::graph
