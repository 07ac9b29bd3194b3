#pragma once
// The TorchScript backend lives in its own shared module, libartistry_torch.so, so that the
// core (and every process that only dithers) never loads LibTorch. The core dlopens the module
// on the first TorchScript load (torch_loader.cpp) and calls it through this table.
//
// Core and module are built from one tree by one compiler, so C++ types cross the boundary; the
// table's `build` text must equal the core's, so a module from another build is refused rather
// than trusted.

#include <cstdint>
#include <memory>
#include <vector>

#include "artistry/models.hpp"
#include "artistry/version.hpp"

namespace artistry::models {

// Bumped whenever TorchModuleApi or the types it passes change.
inline constexpr std::uint32_t torch_module_abi = 1;

struct TorchModuleApi {
    std::uint32_t abi;  // torch_module_abi
    const char* build;  // torch_module_build of the module's tree
    // Loads a TorchScript archive (bytes already checked against the spec). Throws Error.
    std::shared_ptr<Model> (*load)(const ModelSpec& spec, const std::vector<std::uint8_t>& bytes,
                                   Device device, int threads);
    // Fills the memory manager's CUDA hooks when LibTorch sees CUDA devices; false otherwise.
    bool (*cuda_hooks)(CudaHooks& hooks);
};

#define ARTISTRY_TORCH_STR2(x) #x
#define ARTISTRY_TORCH_STR(x) ARTISTRY_TORCH_STR2(x)
// "<version>/<abi namespace>/<compiler>": the same text in the core and a module of its build.
inline constexpr const char* torch_module_build =
    ARTISTRY_VERSION_STRING "/" ARTISTRY_TORCH_STR(ARTISTRY_ABI_NAMESPACE) "/" __VERSION__;
#undef ARTISTRY_TORCH_STR
#undef ARTISTRY_TORCH_STR2

// The module's file name, and the symbol it exports (extern "C", returning the table).
inline constexpr const char* torch_module_file = "libartistry_torch.so";
inline constexpr const char* torch_module_symbol = "artistry_torch_module";

}  // namespace artistry::models
