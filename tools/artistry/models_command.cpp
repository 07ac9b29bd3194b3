// `artistry models`: one line per installed or registered model (name, task, backend, size,
// loaded, license), or the same as JSON. Loaded means in this process: ARTISTRY_PRELOAD.

#include "models_command.hpp"

#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "artistry/memory.hpp"
#include "artistry/models.hpp"

namespace artistry::cli {

int models_command(bool json) {
    ModelStore& store = ModelStore::shared();
    const auto models = store.available();
    if (json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& m : models)
            list.push_back({{"name", m.name},
                            {"task", m.task},
                            {"backend", model_backend_name(m.backend)},
                            {"bytes", m.bytes},
                            {"license", m.license},
                            {"source", m.source},
                            {"file", m.file.string()},
                            {"loaded", store.loaded(m.name)}});
        fmt::print("{}\n", nlohmann::json{{"dir", store.dir().string()}, {"models", list}}.dump(2));
        return 0;
    }
    if (models.empty()) {
        fmt::print("no models installed in {} (scripts/fetch-models installs them)\n",
                   store.dir().string());
        return 0;
    }
    fmt::print("models in {}\n", store.dir().string());
    // The license last: it can be long (a package's and its weights' upstream terms).
    fmt::print("{:<20} {:<20} {:<12} {:>10}  {:<6} {}\n", "name", "task", "backend", "size",
               "loaded", "license");
    for (const auto& m : models)
        fmt::print("{:<20} {:<20} {:<12} {:>10}  {:<6} {}\n", m.name, m.task,
                   model_backend_name(m.backend), format_bytes(m.bytes),
                   store.loaded(m.name) ? "yes" : "no", m.license.empty() ? "?" : m.license);
    return 0;
}

}  // namespace artistry::cli
