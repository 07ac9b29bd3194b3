#pragma once
// Each effect family registers itself (effects.def lists them); builtin.cpp calls them all.

#include "artistry/effect.hpp"

namespace artistry::effects {

#define ARTISTRY_BUILTIN_EFFECT(register_fn) void register_fn(EffectRegistry& registry);
#include "effects/effects.def"
#undef ARTISTRY_BUILTIN_EFFECT

}  // namespace artistry::effects
