#include "effects/builtin.hpp"
namespace artistry::effects { void register_dither(EffectRegistry&) {} }
