// Models of an engine's store: listing and preloading (ModelStore).

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "capi_internal.hpp"

using artistry::Error;
using artistry::Status;
using namespace artistry::capi;

namespace {

const art_model_list& list_of(const art_model_list* list) {
    require(list, "list");
    return *list;
}

// The manifest's size, else the file's, else 0.
std::uint64_t file_bytes(const artistry::ModelSpec& spec) {
    if (spec.bytes != 0) return spec.bytes;
    std::error_code ec;
    const auto size = std::filesystem::file_size(spec.file, ec);
    return ec ? 0 : static_cast<std::uint64_t>(size);
}

}  // namespace

extern "C" {

art_status art_engine_list_models(art_model_list** out, const art_engine* engine) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(engine, "engine");
    auto& store = engine->engine.models();
    auto list = std::make_unique<art_model_list>();
    list->specs = store.available();
    for (const auto& spec : list->specs) {
        list->loaded.push_back(store.loaded(spec.name));
        list->bytes.push_back(file_bytes(spec));
    }
    *out = list.release();
    ART_CATCH
}

art_status art_model_list_count(size_t* out, const art_model_list* list) {
    ART_TRY
    require(out, "out");
    *out = list_of(list).specs.size();
    ART_CATCH
}

art_status art_model_list_info(art_model_info* out, const art_model_list* list, size_t index) {
    ART_TRY
    require(out, "out");
    const auto& l = list_of(list);
    if (index >= l.specs.size())
        throw Error(Status::invalid_argument,
                    fmt::format("model index {} out of range (count {})", index, l.specs.size()));
    const auto& spec = l.specs[index];
    art_model_info info = ART_MODEL_INFO_INIT;
    info.name = spec.name.c_str();
    info.task = spec.task.c_str();
    info.backend = artistry::model_backend_name(spec.backend);
    info.loaded = l.loaded[index] ? 1 : 0;
    info.bytes = l.bytes[index];
    write_struct(out, info);
    ART_CATCH
}

void art_model_list_free(art_model_list* list) {
    delete list;
}

art_status art_engine_preload_model(art_engine* engine, const char* name) {
    ART_TRY
    require(engine, "engine");
    require(name, "name");
    if (name[0] == '\0') throw Error(Status::invalid_argument, "name is empty");
    engine->engine.models().preload({name});
    ART_CATCH
}

}  // extern "C"
