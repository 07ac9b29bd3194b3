#pragma once
// Schema checks shared by the registry and the command-line parser.

#include <string>

#include "artistry/effect.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

// "an integer in [2, 256]", "one of a, b" …: what a parameter accepts, for messages and docs.
std::string describe_allowed(const ParamSpec& spec);

// Checks and converts one value against its spec; Error(invalid_argument) names effect and param.
ParamValue resolve_value(const std::string& effect, const ParamSpec& spec, const ParamValue& given);

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
