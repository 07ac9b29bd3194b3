#include "effects/builtin.hpp"
namespace artistry::effects { void register_pop_art(EffectRegistry&) {} }
