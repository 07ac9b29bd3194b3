/* artistry.h compiles alone as C99 (and as C++ in header_test.cpp). */
#include "artistry.h"

int main(void) {
    art_image_desc desc = ART_IMAGE_DESC_INIT;
    art_run_options options = ART_RUN_OPTIONS_INIT;
    art_engine_options engine = ART_ENGINE_OPTIONS_INIT;
    art_effect_info info = ART_EFFECT_INFO_INIT;
    art_param_info param = ART_PARAM_INFO_INIT;
    return (int)(desc.struct_size + options.struct_size + engine.struct_size + info.struct_size +
                 param.struct_size) == 0;
}
