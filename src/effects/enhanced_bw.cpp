#include "effects/builtin.hpp"
namespace artistry::effects { void register_enhanced_bw(EffectRegistry&) {} }
