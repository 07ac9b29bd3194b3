#pragma once
// What one run will do: each node's result-cache key, which nodes the cache already holds,
// and which nodes the outputs still need computed.

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "artistry/cache.hpp"
#include "graph/graph_impl.hpp"

namespace artistry::graph {

struct PlannedNode {
    // xxh3-128 over the inputs' keys (the run input's content hash for a node without
    // inputs), the op, its version and the canonical parameters (DESIGN.md).
    CacheKey key;
    bool needed = false;              // an output depends on it and no cached reader covers it
    std::optional<Image> cached;      // needed and found in the cache: it finishes as `cached`
    std::string cached_data;          // its structured output (EffectInfo::has_data), found with it
    int width = 0, height = 0;        // its input's size
    EffectPlan effect;                // what its effect said it takes (EffectInfo::describe)
    std::exception_ptr plan_failure;  // describe failed: the node fails with it when it runs
};

// The cache key's salt for a plan's models: each model's name, sha256 and size as installed
// now, so that another model file under the same name is another result.
std::string model_salt(const EffectPlan& plan, ModelStore* models);

// A node's structured output sits in the cache beside its image, under a key derived from
// the image's; a node with data counts as cached only when both are found.
CacheKey data_key(const CacheKey& image_key);
Image data_to_image(const std::string& json);  // one row of bytes
std::string data_from_image(const Image& image);

// cache may be null: nothing is looked up. Readers are decided before their inputs, so the
// inputs of a cached node are not computed unless another needed node reads them.
// The input is width × height; models: what the effects' describe is told (null:
// ModelStore::shared()).
std::vector<PlannedNode> plan_run(const detail::GraphData& graph, const CacheKey& input_key,
                                  int width, int height, ResultCache* cache,
                                  ModelStore* models = nullptr);

}  // namespace artistry::graph
