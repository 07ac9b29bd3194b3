#include "effects/builtin.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

const EffectRegistry& EffectRegistry::builtin() {
    static const EffectRegistry registry = [] {
        EffectRegistry r;
        effects::register_enhanced_bw(r);
        effects::register_pop_art(r);
        effects::register_retro_8bit(r);
        effects::register_dither(r);
        effects::register_color(r);
        effects::register_remove_background(r);
        effects::register_upscale(r);
        effects::register_detect_faces(r);
        return r;
    }();
    return registry;
}

Image apply_effect(const std::string& name, const Image& input, const ParamMap& params,
                   const EffectContext& context) {
    return apply_effect(EffectRegistry::builtin(), name, input, params, context);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
