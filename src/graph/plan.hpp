#pragma once
// What one run will do: each node's result-cache key, which nodes the cache already holds,
// and which nodes the outputs still need computed.

#include <optional>
#include <vector>

#include "artistry/cache.hpp"
#include "graph/graph_impl.hpp"

namespace artistry::graph {

struct PlannedNode {
    // xxh3-128 over the inputs' keys (the run input's content hash for a node without
    // inputs), the op, its version and the canonical parameters (DESIGN.md).
    CacheKey key;
    bool needed = false;          // an output depends on it and no cached reader covers it
    std::optional<Image> cached;  // needed and found in the cache: it finishes as `cached`
};

// cache may be null: nothing is looked up. Readers are decided before their inputs, so the
// inputs of a cached node are not computed unless another needed node reads them.
std::vector<PlannedNode> plan_run(const detail::GraphData& graph, const CacheKey& input_key,
                                  ResultCache* cache);

}  // namespace artistry::graph
