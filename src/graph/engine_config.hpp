#pragma once
// EngineOptions completed from the environment (code first, then ARTISTRY_*, then the old
// backend's names).

#include "artistry/engine.hpp"

namespace artistry::graph {

struct EngineConfig {
    int threads = 1;
    int max_parallel = 1;
};

// Error(invalid_argument) names the variable when a value is not understood.
EngineConfig resolve_engine_config(const EngineOptions& options);

}  // namespace artistry::graph
