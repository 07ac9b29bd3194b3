// The built-in registry: every effect in effects.def, then those of the effect plugins named in
// $ARTISTRY_EFFECT_PLUGINS.

#include "effects/builtin.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

[[noreturn]] void plugin_error(const std::string& path, const std::string& what) {
    throw Error(Status::unsupported,
                fmt::format("effect plugin '{}' ($ARTISTRY_EFFECT_PLUGINS): {}", path, what));
}

// Loads one plugin and lets it add its effects. The library stays loaded for the process: its
// effects' functions live in it.
void load_plugin(const std::string& path, EffectRegistry& registry) {
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = ::dlerror();
        plugin_error(path, why != nullptr ? why : "cannot be loaded");
    }
    using VersionFn = const char* (*)();
    const auto version = reinterpret_cast<VersionFn>(::dlsym(handle, "artistry_plugin_version"));
    const auto add =
        reinterpret_cast<EffectPluginRegister>(::dlsym(handle, "artistry_register_effects"));
    if (version == nullptr || add == nullptr)
        plugin_error(path, "not an effect plugin (no ARTISTRY_EFFECT_PLUGIN in it)");
    // Effects cross the C++ ABI: a plugin must be built against this very version.
    if (std::string(version()) != ARTISTRY_VERSION_STRING)
        plugin_error(path, fmt::format("built against artistry {}, this is {}", version(),
                                       ARTISTRY_VERSION_STRING));
    add(registry);
}

void load_plugins(EffectRegistry& registry) {
    const char* list = std::getenv("ARTISTRY_EFFECT_PLUGINS");
    if (list == nullptr) return;
    const std::string paths = list;
    std::size_t start = 0;
    while (start <= paths.size()) {
        const std::size_t end = std::min(paths.find(':', start), paths.size());
        if (end > start) load_plugin(paths.substr(start, end - start), registry);
        start = end + 1;
    }
}

}  // namespace

const EffectRegistry& EffectRegistry::builtin() {
    // A plugin that fails to load throws out of the initialiser: the next call tries again
    // and says the same, rather than run without the effects the caller asked for.
    static const EffectRegistry registry = [] {
        EffectRegistry r;
#define ARTISTRY_BUILTIN_EFFECT(register_fn) effects::register_fn(r);
#include "effects/effects.def"
#undef ARTISTRY_BUILTIN_EFFECT
        load_plugins(r);
        return r;
    }();
    return registry;
}

Image apply_effect(const std::string& name, const Image& input, const ParamMap& params,
                   const EffectContext& context) {
    return apply_effect(EffectRegistry::builtin(), name, input, params, context);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
