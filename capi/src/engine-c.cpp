// art_engine: one engine, many runs on its shared worker pool.

#include <fmt/format.h>

#include "capi_internal.hpp"

using artistry::Error;
using artistry::Status;
using namespace artistry::capi;

namespace {

// Comma-separated names; empty items are skipped.
std::vector<std::string> split_names(const char* text) {
    std::vector<std::string> names;
    std::string name;
    for (const char* p = text;; ++p) {
        if (*p == ',' || *p == '\0') {
            if (!name.empty()) names.push_back(name);
            name.clear();
            if (*p == '\0') break;
        } else if (*p != ' ') {
            name += *p;
        }
    }
    return names;
}

artistry::EngineOptions engine_options(const art_engine_options* options) {
    artistry::EngineOptions e;
    if (options == nullptr) return e;
    const art_engine_options defaults = ART_ENGINE_OPTIONS_INIT;
    const art_engine_options o = read_struct(options, defaults);
    if (o.threads < 0 || o.max_parallel < 0)
        throw Error(Status::invalid_argument,
                    fmt::format("art_engine_options: threads ({}) and max_parallel ({}) must be "
                                ">= 0",
                                o.threads, o.max_parallel));
    e.threads = o.threads;
    e.max_parallel = o.max_parallel;
    e.use_environment = o.use_environment != 0;
    if (o.models_dir != nullptr) {
        if (o.models_dir[0] == '\0')
            throw Error(Status::invalid_argument,
                        "art_engine_options: models_dir is empty (NULL: the shared store)");
        artistry::ModelStoreOptions m;
        m.dir = o.models_dir;
        m.use_environment = e.use_environment;
        e.models = std::make_shared<artistry::ModelStore>(std::move(m));
    }
    if (o.preload != nullptr) {
        e.preload = split_names(o.preload);
        if (e.preload.empty())
            throw Error(Status::invalid_argument,
                        fmt::format("art_engine_options: preload '{}' names no model (NULL: "
                                    "ARTISTRY_PRELOAD)",
                                    o.preload));
    }
    return e;
}

artistry::Engine& engine_of(const art_engine* engine) {
    require(engine, "engine");
    return const_cast<art_engine*>(engine)->engine;
}

}  // namespace

extern "C" {

art_status art_engine_create(art_engine** out, const art_engine_options* options) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    *out = new art_engine(engine_options(options));
    ART_CATCH
}

void art_engine_free(art_engine* engine) {
    delete engine;
}

art_status art_engine_threads(int32_t* out, const art_engine* engine) {
    ART_TRY
    require(out, "out");
    *out = engine_of(engine).threads();
    ART_CATCH
}

art_status art_engine_metrics_text(char** out, const art_engine* engine) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    *out = dup_string(engine_of(engine).metrics_text());
    ART_CATCH
}

art_status art_engine_cancel(art_engine* engine, uint64_t run_id) {
    ART_TRY
    if (!engine_of(engine).cancel(run_id))
        throw Error(Status::not_found, fmt::format("no run {} is going", run_id));
    ART_CATCH
}

}  // extern "C"
