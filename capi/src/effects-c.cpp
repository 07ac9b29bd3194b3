// Effect listing and parameter schemas, read from the one built-in registry.

#include <mutex>
#include <variant>

#include <fmt/format.h>

#include "artistry/effect.hpp"
#include "capi_internal.hpp"

using artistry::Error;
using artistry::Status;
using namespace artistry::capi;

namespace {

// C views of the schema, built once; the registry is immutable so they live for the process.
struct ParamView {
    std::string default_text;
    std::vector<const char*> choices;
};
struct EffectView {
    const artistry::EffectInfo* info = nullptr;
    std::vector<ParamView> params;
};
struct Catalog {
    std::vector<std::string> names;
    std::vector<EffectView> effects;  // same order as names
};

std::string value_text(const artistry::ParamValue& value) {
    return std::visit(
        [](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>)
                return v ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>)
                return v;
            else
                return fmt::format("{}", v);
        },
        value);
}

const Catalog& catalog() {
    static const Catalog c = [] {
        const auto& registry = artistry::EffectRegistry::builtin();
        Catalog built;
        built.names = registry.names();
        for (const auto& name : built.names) {
            EffectView view;
            view.info = &registry.get(name);
            for (const auto& p : view.info->params) {
                ParamView pv;
                pv.default_text = value_text(p.default_value);
                for (const auto& choice : p.choices) pv.choices.push_back(choice.c_str());
                view.params.push_back(std::move(pv));
            }
            built.effects.push_back(std::move(view));
        }
        return built;
    }();
    return c;
}

const EffectView& find_effect(const char* effect) {
    require(effect, "effect");
    const auto& c = catalog();
    for (std::size_t i = 0; i < c.names.size(); ++i)
        if (c.names[i] == effect) return c.effects[i];
    throw Error(Status::not_found,
                fmt::format("no effect '{}' (known: {})", effect, fmt::join(c.names, ", ")));
}

art_param_type param_type(artistry::ParamType type) {
    switch (type) {
        case artistry::ParamType::boolean:
            return ART_PARAM_BOOL;
        case artistry::ParamType::integer:
            return ART_PARAM_INT;
        case artistry::ParamType::number:
            return ART_PARAM_FLOAT;
        case artistry::ParamType::choice:
            return ART_PARAM_CHOICE;
        case artistry::ParamType::text:
            return ART_PARAM_TEXT;
    }
    return ART_PARAM_TEXT;
}

}  // namespace

extern "C" {

art_status art_effect_count(size_t* out) {
    ART_TRY
    require(out, "out");
    *out = catalog().names.size();
    ART_CATCH
}

art_status art_effect_name(const char** out, size_t index) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    const auto& names = catalog().names;
    if (index >= names.size())
        throw Error(Status::invalid_argument,
                    fmt::format("effect index {} out of range (count {})", index, names.size()));
    *out = names[index].c_str();
    ART_CATCH
}

art_status art_effect_describe(art_effect_info* out, const char* effect) {
    ART_TRY
    require(out, "out");
    checked_struct_size<art_effect_info>(out->struct_size);
    const auto& info = *find_effect(effect).info;
    art_effect_info e = ART_EFFECT_INFO_INIT;
    e.name = info.name.c_str();
    e.version = info.version;
    e.summary = info.summary.c_str();
    e.param_count = info.params.size();
    write_struct(out, e);
    ART_CATCH
}

art_status art_effect_param(art_param_info* out, const char* effect, size_t index) {
    ART_TRY
    require(out, "out");
    checked_struct_size<art_param_info>(out->struct_size);
    const auto& view = find_effect(effect);
    if (index >= view.params.size())
        throw Error(Status::invalid_argument,
                    fmt::format("effect '{}': parameter index {} out of range (count {})",
                                view.info->name, index, view.params.size()));
    const auto& spec = view.info->params[index];
    const auto& param = view.params[index];
    art_param_info p = ART_PARAM_INFO_INIT;
    p.name = spec.name.c_str();
    p.type = param_type(spec.type);
    p.type_name = artistry::param_type_name(spec.type);
    p.default_text = param.default_text.c_str();
    p.min = spec.min;
    p.max = spec.max;
    p.choice_count = param.choices.size();
    p.choices = param.choices.empty() ? nullptr : param.choices.data();
    p.help = spec.help.c_str();
    write_struct(out, p);
    ART_CATCH
}

}  // extern "C"
