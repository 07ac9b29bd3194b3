// Run planning: node keys, cache lookups and needed nodes (plan.hpp).

#include "graph/plan.hpp"

#include <cstring>

#include <fmt/format.h>

#include "artistry/models.hpp"

namespace artistry::graph {

CacheKey data_key(const CacheKey& image_key) {
    return make_cache_key({image_key}, "#data", 1, "");
}

Image data_to_image(const std::string& json) {
    // A leading marker byte: an empty structured output still makes a non-empty image.
    Image image = Image::allocate(static_cast<int>(json.size()) + 1, 1, 1);
    image.row(0)[0] = '#';
    if (!json.empty()) std::memcpy(image.row(0) + 1, json.data(), json.size());
    return image;
}

std::string data_from_image(const Image& image) {
    if (image.height() != 1 || image.channels() != 1 || image.width() < 1 || image.row(0)[0] != '#')
        return {};
    return std::string(reinterpret_cast<const char*>(image.row(0)) + 1,
                       static_cast<std::size_t>(image.width() - 1));
}

std::string model_salt(const EffectPlan& plan, ModelStore* models) {
    std::string salt;
    for (const auto& name : plan.models) {
        if (!salt.empty()) salt += ',';
        try {
            const auto spec = (models != nullptr ? *models : ModelStore::shared()).find(name);
            salt += spec ? fmt::format("{}:{}:{}", name, spec->sha256, spec->bytes)
                         : fmt::format("{}:missing", name);
        } catch (const std::exception& e) {  // an unreadable manifest: the run says so
            salt += fmt::format("{}:unresolved:{}", name, e.what());
        }
    }
    return salt;
}

std::vector<PlannedNode> plan_run(const detail::GraphData& g, const CacheKey& input_key, int width,
                                  int height, ResultCache* cache, ModelStore* models) {
    std::vector<PlannedNode> plan(g.nodes.size());
    EffectContext ctx;
    ctx.models = models;
    for (int n : g.order) {
        std::vector<CacheKey> in;
        for (int i : g.inputs[n]) in.push_back(plan[i].key);
        if (in.empty()) in.push_back(input_key);
        const EffectInfo& info = *g.effects[n];
        PlannedNode& node = plan[n];
        // The node's input size: the run's input, or its first input node's output.
        if (g.inputs[n].empty()) {
            node.width = width, node.height = height;
        } else {
            const PlannedNode& from = plan[g.inputs[n].front()];
            node.width = from.effect.scale.apply(from.width);
            node.height = from.effect.scale.apply(from.height);
        }
        try {
            node.effect = info.plan(g.params[n], node.width, node.height, ctx);
        } catch (...) {
            node.plan_failure = std::current_exception();
        }
        std::string canonical = g.params[n].canonical();
        if (!node.effect.models.empty())
            canonical.append(1, '#').append(model_salt(node.effect, models));
        node.key = make_cache_key(in, g.nodes[n].op, info.version, canonical);
    }
    for (int n : g.output_nodes) plan[n].needed = true;
    // A node with structured output that feeds an output is looked up (or run) even when the
    // output downstream is cached: its data belongs in the result either way.
    std::vector<bool> feeds_output(g.nodes.size(), false);
    for (int n : g.output_nodes) feeds_output[n] = true;
    for (auto it = g.order.rbegin(); it != g.order.rend(); ++it)
        if (feeds_output[*it])
            for (int i : g.inputs[*it]) feeds_output[i] = true;
    for (int n : g.order)
        if (feeds_output[n] && g.effects[n]->has_data) plan[n].needed = true;
    for (auto it = g.order.rbegin(); it != g.order.rend(); ++it) {
        const int n = *it;
        if (!plan[n].needed) continue;
        if (cache != nullptr) {
            if (auto hit = cache->get(plan[n].key)) {
                if (!g.effects[n]->has_data) {
                    plan[n].cached = std::move(hit->image);
                    continue;
                }
                if (auto data = cache->get(data_key(plan[n].key))) {
                    plan[n].cached = std::move(hit->image);
                    plan[n].cached_data = data_from_image(data->image);
                    continue;
                }
            }
        }
        for (int i : g.inputs[n]) plan[i].needed = true;
    }
    return plan;
}

}  // namespace artistry::graph
