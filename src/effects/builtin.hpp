#pragma once
// Each effect family registers itself here; builtin.cpp calls them all.

#include "artistry/effect.hpp"

namespace artistry::effects {

void register_dither(EffectRegistry& registry);
void register_retro_8bit(EffectRegistry& registry);
void register_enhanced_bw(EffectRegistry& registry);
void register_color(EffectRegistry& registry);
void register_pop_art(EffectRegistry& registry);
void register_remove_background(EffectRegistry& registry);
void register_upscale(EffectRegistry& registry);
void register_detect_faces(EffectRegistry& registry);

}  // namespace artistry::effects
