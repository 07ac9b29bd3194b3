#pragma once
// The artistry C++ API.

#include "artistry/compose.hpp"
#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/image.hpp"
#include "artistry/io.hpp"
#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

const char* version() noexcept;     // "0.1.0"
const char* build_info() noexcept;  // compiler, build type, optional features

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
