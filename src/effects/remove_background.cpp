#include "effects/builtin.hpp"
namespace artistry::effects { void register_remove_background(EffectRegistry&) {} }
