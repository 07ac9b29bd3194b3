#pragma once
// What one run will do: which nodes its outputs need, and each node's identity key.

#include <string>
#include <vector>

#include "graph/graph_impl.hpp"

namespace artistry::graph {

struct PlannedNode {
    bool needed = false;  // some requested output depends on it
    // Identity of the node's result: its op, op version and canonical parameters over its
    // inputs' keys, down to the run input's identity. The result cache looks nodes up by this
    // (hashing it with the input's content hash); a hit finishes the node as `cached`.
    std::string key;
};

// input_identity: what identifies the run's input (a content hash once the cache lands).
std::vector<PlannedNode> plan_run(const detail::GraphData& graph,
                                  const std::string& input_identity);

}  // namespace artistry::graph
