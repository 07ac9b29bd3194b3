/* Runs two effects on a photo through the C ABI and saves them.
 * usage: effects INPUT OUTDIR */
#include <stdio.h>

#include "artistry.h"

static int fail(const char* what) {
    fprintf(stderr, "%s: %s\n", what, art_last_error_message());
    return 1;
}

static int on_progress(const art_progress_event* e, void* user) {
    (void)user;
    if (e->node[0] == '\0') printf("progress: done (%.0f%%)\n", e->fraction * 100);
    return 0;
}

int main(int argc, char** argv) {
    const char* effects[] = {"dither", "pop_art"};
    art_engine* engine = NULL;
    art_image* input = NULL;
    art_result* result = NULL;
    art_run_options options = ART_RUN_OPTIONS_INIT;
    size_t i, count = 0;
    char path[4096];
    if (argc != 3) return fprintf(stderr, "usage: effects INPUT OUTDIR\n"), 2;
    printf("artistry %s (ABI %u)\n", art_version(), (unsigned)art_abi_version());
    if (art_engine_create(&engine, NULL) != ART_OK) return fail("engine");
    if (art_image_load(&input, argv[1]) != ART_OK) return fail(argv[1]);
    options.progress = on_progress;
    if (art_engine_run_effects(&result, engine, effects, 2, input, &options) != ART_OK)
        return fail("run");
    art_result_output_count(&count, result);
    for (i = 0; i < count; ++i) {
        const char* name = NULL;
        art_image* out = NULL;
        art_image_desc desc = ART_IMAGE_DESC_INIT;
        art_result_output_name(&name, result, i);
        if (art_result_output(&out, result, name) != ART_OK) return fail(name);
        art_image_describe(&desc, out);
        snprintf(path, sizeof path, "%s/c_%s.png", argv[2], name);
        if (art_image_save(out, path) != ART_OK) return fail(path);
        printf("%s: %dx%dx%d -> %s\n", name, desc.width, desc.height, desc.channels, path);
        art_image_free(out);
    }
    art_result_free(result);
    art_image_free(input);
    art_engine_free(engine);
    return 0;
}
