// load_torchscript in the core: loads libartistry_torch.so (the LibTorch backend) the first time
// a TorchScript model is loaded, and hands it the model. Processes that never load a TorchScript
// model never map LibTorch; a missing module is a clear error naming it and where it was sought.

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "artistry/error.hpp"
#include "models/model_impl.hpp"
#include "models/torch_module.hpp"

namespace artistry::models {
namespace {
namespace fs = std::filesystem;

// Where the module is sought, in order: ARTISTRY_TORCH_MODULE (a file), the folder of the
// library holding this code (and its artistry/ sub-folder), the install folder, the build tree.
std::vector<fs::path> module_candidates() {
    std::vector<fs::path> out;
    if (const char* env = std::getenv("ARTISTRY_TORCH_MODULE"); env != nullptr && *env != '\0') {
        out.emplace_back(env);
        return out;  // an explicit choice is the only one tried
    }
    Dl_info info{};
    if (dladdr(reinterpret_cast<const void*>(&module_candidates), &info) != 0 &&
        info.dli_fname != nullptr) {
        const fs::path here = fs::path(info.dli_fname).parent_path();
        out.push_back(here / torch_module_file);
        out.push_back(here / "artistry" / torch_module_file);
    }
#ifdef ARTISTRY_TORCH_MODULE_INSTALL_DIR
    out.push_back(fs::path(ARTISTRY_TORCH_MODULE_INSTALL_DIR) / torch_module_file);
#endif
#ifdef ARTISTRY_TORCH_MODULE_BUILD_DIR
    out.push_back(fs::path(ARTISTRY_TORCH_MODULE_BUILD_DIR) / torch_module_file);
#endif
    return out;
}

struct LoadedModule {
    const TorchModuleApi* api = nullptr;
    std::string error;  // why there is no api
};

LoadedModule open_module() {
    // LibTorch's OpenMP workers spin while they wait by default; beside the engine's own
    // threads on a few cores that made a 2-thread detection 4–5× slower than 1 thread. Passive
    // waiting costs little on a quiet machine. Read once, when OpenMP starts: set it before the
    // module loads, unless the user chose.
    setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
    std::vector<std::string> tried;
    for (const fs::path& path : module_candidates()) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            tried.push_back(path.string() + " (absent)");
            continue;
        }
        // Never closed: LibTorch does not support being unloaded.
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr) {
            const char* why = dlerror();
            tried.push_back(fmt::format("{} ({})", path.string(), why != nullptr ? why : "?"));
            continue;
        }
        using Entry = const TorchModuleApi* (*)();
        const auto entry = reinterpret_cast<Entry>(dlsym(handle, torch_module_symbol));
        const TorchModuleApi* api = entry != nullptr ? entry() : nullptr;
        if (api == nullptr) {
            tried.push_back(path.string() + " (not an artistry TorchScript module)");
            continue;
        }
        if (api->abi != torch_module_abi || std::string(api->build) != torch_module_build) {
            tried.push_back(fmt::format("{} (built for artistry {}, this is {})", path.string(),
                                        api->build, torch_module_build));
            continue;
        }
        return {api, {}};
    }
    if (tried.empty()) return {nullptr, "tried: nowhere"};
    return {nullptr, fmt::format("tried: {}", fmt::join(tried, "; "))};
}

// The module once found; a failure is not remembered, so a module installed (or
// ARTISTRY_TORCH_MODULE set) after a refused load is found by the next one.
LoadedModule torch_module() {
    static std::mutex mutex;
    static const TorchModuleApi* found = nullptr;
    const std::lock_guard lock(mutex);
    if (found != nullptr) return {found, {}};
    LoadedModule module = open_module();
    found = module.api;
    return module;
}

}  // namespace

std::shared_ptr<Model> load_torchscript(const ModelSpec& spec,
                                        const std::vector<std::uint8_t>& bytes, Device device,
                                        int threads) {
    const LoadedModule module = torch_module();
    if (module.api == nullptr)
        throw Error(Status::unsupported,
                    fmt::format("model '{}' is TorchScript, which needs artistry's LibTorch "
                                "module {} (built with -DARTISTRY_WITH_TORCH=ON; point "
                                "ARTISTRY_TORCH_MODULE at it if it is elsewhere): {}",
                                spec.name, torch_module_file, module.error));
    auto model = module.api->load(spec, bytes, device, threads);
    static std::once_flag hooks_once;
    std::call_once(hooks_once, [&] {
        CudaHooks hooks;
        if (module.api->cuda_hooks(hooks)) set_cuda_hooks(std::move(hooks));
    });
    return model;
}

}  // namespace artistry::models
