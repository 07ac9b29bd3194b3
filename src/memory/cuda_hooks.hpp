#pragma once
// The CUDA hooks as installed now (a copy, so a call never races set_cuda_hooks).

#include "artistry/memory.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace memory {

CudaHooks cuda_hooks();

}  // namespace memory
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
