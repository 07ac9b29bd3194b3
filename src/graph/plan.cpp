// Run planning: node keys, cache lookups and needed nodes (plan.hpp).

#include "graph/plan.hpp"

namespace artistry::graph {

std::vector<PlannedNode> plan_run(const detail::GraphData& g, const CacheKey& input_key,
                                  ResultCache* cache) {
    std::vector<PlannedNode> plan(g.nodes.size());
    for (int n : g.order) {
        std::vector<CacheKey> in;
        for (int i : g.inputs[n]) in.push_back(plan[i].key);
        if (in.empty()) in.push_back(input_key);
        plan[n].key = make_cache_key(in, g.nodes[n].op, g.effects[n]->version, g.params[n].canonical());
    }
    for (int n : g.output_nodes) plan[n].needed = true;
    for (auto it = g.order.rbegin(); it != g.order.rend(); ++it) {
        const int n = *it;
        if (!plan[n].needed) continue;
        if (cache != nullptr) {
            if (auto hit = cache->get(plan[n].key)) {
                plan[n].cached = std::move(hit->image);
                continue;
            }
        }
        for (int i : g.inputs[n]) plan[i].needed = true;
    }
    return plan;
}

}  // namespace artistry::graph
