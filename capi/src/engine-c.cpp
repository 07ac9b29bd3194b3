// art_engine: one engine, many runs on its shared worker pool.

#include <fmt/format.h>

#include "capi_internal.hpp"

using artistry::Error;
using artistry::Status;
using namespace artistry::capi;

namespace {

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
    artistry::EngineOptions o;
    if (options != nullptr) {
        require_struct_size(options->struct_size, sizeof(art_engine_options), "art_engine_options");
        if (options->threads < 0 || options->max_parallel < 0)
            throw Error(Status::invalid_argument,
                        fmt::format("art_engine_options: threads ({}) and max_parallel ({}) "
                                    "must be >= 0",
                                    options->threads, options->max_parallel));
        o.threads = options->threads;
        o.max_parallel = options->max_parallel;
        o.use_environment = options->use_environment != 0;
    }
    *out = new art_engine(o);
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
