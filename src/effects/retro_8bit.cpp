#include "effects/builtin.hpp"
namespace artistry::effects { void register_retro_8bit(EffectRegistry&) {} }
