#pragma once
// Options and info structs across releases (docs/abi.md, "struct_size"): the library accepts
// the struct_size of every header it has shipped. A caller's struct is read only as far as
// its size reaches, the newer fields keeping the library's defaults; a struct the library
// fills is written only as far. Any other size: Error(invalid_argument) naming the struct,
// the size given and the sizes accepted.
//
// Adding a field in a release: put it at the end of the struct and its _INIT macro, then add
// the previous layout's size to the struct's StructSizes below (with a mirror struct of that
// layout and a static_assert that the new fields start after it).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "artistry.h"

namespace artistry::capi {

struct ShippedSize {
    std::size_t size;
    const char* release;  // the first header version with this layout ("0.1")
};

// Throws unless `given` is one of `accepted`. Defined in errors-c.cpp.
void check_struct_size(std::size_t given, const char* name, const char* init_macro,
                       std::span<const ShippedSize> accepted);

// Per struct: its name, its _INIT macro and the sizes of its shipped layouts, oldest first,
// the last being this header's sizeof.
template <class T>
struct StructSizes;

// The 0.1 layouts, as a caller built against the 0.1 header passes them.
struct art_engine_options_0_1 {
    std::size_t struct_size;
    std::int32_t threads;
    std::int32_t max_parallel;
    std::int32_t use_environment;
};
struct art_run_options_0_1 {
    std::size_t struct_size;
    std::int32_t max_parallel;
    art_progress_fn progress;
    void* user_data;
};
// The 0.2 fields lie past the end of the 0.1 struct (not in its tail padding, which an old
// caller may leave uninitialised).
static_assert(offsetof(art_engine_options, models_dir) >= sizeof(art_engine_options_0_1));
static_assert(offsetof(art_run_options, tile_size) >= sizeof(art_run_options_0_1));

template <>
struct StructSizes<art_engine_options> {
    static constexpr const char* name = "art_engine_options";
    static constexpr const char* init = "ART_ENGINE_OPTIONS_INIT";
    static constexpr ShippedSize sizes[] = {{sizeof(art_engine_options_0_1), "0.1"},
                                            {sizeof(art_engine_options), "0.2"}};
};
template <>
struct StructSizes<art_run_options> {
    static constexpr const char* name = "art_run_options";
    static constexpr const char* init = "ART_RUN_OPTIONS_INIT";
    static constexpr ShippedSize sizes[] = {{sizeof(art_run_options_0_1), "0.1"},
                                            {sizeof(art_run_options), "0.2"}};
};
template <>
struct StructSizes<art_image_desc> {
    static constexpr const char* name = "art_image_desc";
    static constexpr const char* init = "ART_IMAGE_DESC_INIT";
    static constexpr ShippedSize sizes[] = {{sizeof(art_image_desc), "0.1"}};
};
template <>
struct StructSizes<art_effect_info> {
    static constexpr const char* name = "art_effect_info";
    static constexpr const char* init = "ART_EFFECT_INFO_INIT";
    static constexpr ShippedSize sizes[] = {{sizeof(art_effect_info), "0.1"}};
};
template <>
struct StructSizes<art_param_info> {
    static constexpr const char* name = "art_param_info";
    static constexpr const char* init = "ART_PARAM_INFO_INIT";
    static constexpr ShippedSize sizes[] = {{sizeof(art_param_info), "0.1"}};
};
template <>
struct StructSizes<art_model_info> {
    static constexpr const char* name = "art_model_info";
    static constexpr const char* init = "ART_MODEL_INFO_INIT";
    static constexpr ShippedSize sizes[] = {{sizeof(art_model_info), "0.2"}};
};

template <class T>
std::size_t checked_struct_size(std::size_t given) {
    using S = StructSizes<T>;
    static_assert(std::is_trivially_copyable_v<T>);
    static_assert(std::size(S::sizes) > 0 && std::end(S::sizes)[-1].size == sizeof(T),
                  "the newest shipped size must be this header's");
    check_struct_size(given, S::name, S::init, S::sizes);
    return given;
}

// The caller's struct as this header's: the bytes its struct_size covers, the rest from
// `defaults`. in must not be NULL.
template <class T>
T read_struct(const T* in, T defaults) {
    const std::size_t n = checked_struct_size<T>(in->struct_size);
    std::memcpy(static_cast<void*>(&defaults), in, n);
    defaults.struct_size = sizeof(T);
    return defaults;
}

// Fills the caller's struct from `value` as far as its struct_size reaches (struct_size
// itself stays). out must not be NULL.
template <class T>
void write_struct(T* out, const T& value) {
    const std::size_t n = checked_struct_size<T>(out->struct_size);
    constexpr std::size_t head = sizeof(out->struct_size);
    std::memcpy(reinterpret_cast<unsigned char*>(out) + head,
                reinterpret_cast<const unsigned char*>(&value) + head, n - head);
}

}  // namespace artistry::capi
