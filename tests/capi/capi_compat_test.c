/* Callers built against the 0.1 header keep working with this library: they pass the 0.1
 * layouts of the options structs (smaller struct_size), and the fields added since take their
 * defaults. The old structs sit in buffers filled with 0xAB past their end, so a library that
 * read beyond struct_size would see garbage (a negative tile_size, a wild models_dir pointer)
 * and fail. Sizes no release shipped are refused, naming the struct and the sizes accepted.
 * usage: capi_compat_test DATA_DIR WORK_DIR. Compiled as C99. */
#include "check.h"

#include <stddef.h>
#include <stdint.h>

/* The 0.1 header's layouts, verbatim. */
typedef struct engine_options_0_1 {
    size_t struct_size;
    int32_t threads;
    int32_t max_parallel;
    int32_t use_environment;
} engine_options_0_1;

typedef struct run_options_0_1 {
    size_t struct_size;
    int32_t max_parallel;
    art_progress_fn progress;
    void* user_data;
} run_options_0_1;

/* Room for the newest struct, aligned for it, garbage after the old bytes. */
typedef union {
    art_engine_options options;
    unsigned char bytes[sizeof(art_engine_options) + 16];
} engine_buffer;
typedef union {
    art_run_options options;
    unsigned char bytes[sizeof(art_run_options) + 16];
} run_buffer;

static int events = 0;
static int count_events(const art_progress_event* e, void* user) {
    (void)e;
    ++*(int*)user;
    return 0;
}

static const art_engine_options* old_engine_options(engine_buffer* buffer, int32_t threads) {
    engine_options_0_1 old = {sizeof(engine_options_0_1), 0, 0, 0};
    old.threads = threads;
    memset(buffer->bytes, 0xAB, sizeof buffer->bytes);
    memcpy(buffer->bytes, &old, sizeof old);
    return &buffer->options;
}

static const art_run_options* old_run_options(run_buffer* buffer) {
    run_options_0_1 old = {sizeof(run_options_0_1), 1, NULL, NULL};
    old.progress = count_events;
    old.user_data = &events;
    memset(buffer->bytes, 0xAB, sizeof buffer->bytes);
    memcpy(buffer->bytes, &old, sizeof old);
    return &buffer->options;
}

int main(int argc, char** argv) {
    char input[1024], output[1024], sizes[64];
    engine_buffer eb;
    run_buffer rb;
    art_engine* engine = NULL;
    art_result* result = NULL;
    art_image* image = NULL;
    art_run_status status = ART_RUN_FAILED;
    art_engine_options new_eo = ART_ENGINE_OPTIONS_INIT;
    art_run_options new_ro = ART_RUN_OPTIONS_INIT;
    const char* effects[] = {"dither"};
    const char* nodes[] = {"dither"};
    const char* paths[1];
    int32_t threads = 0;
    art_graph* graph = NULL;

    if (argc != 3) {
        fprintf(stderr, "usage: capi_compat_test DATA_DIR WORK_DIR\n");
        return 2;
    }
    snprintf(input, sizeof input, "%s/fruits.jpg", argv[1]);
    snprintf(output, sizeof output, "%s/capi_compat_test.png", argv[2]);
    paths[0] = output;

    /* The 0.2 fields start after the 0.1 struct ends (docs/abi.md). */
    CHECK(offsetof(art_engine_options, models_dir) >= sizeof(engine_options_0_1));
    CHECK(offsetof(art_run_options, tile_size) >= sizeof(run_options_0_1));
    CHECK(sizeof(engine_options_0_1) < sizeof(art_engine_options));
    CHECK(sizeof(run_options_0_1) < sizeof(art_run_options));

    /* an engine from 0.1 options: its fields are read, models_dir and preload default */
    CHECK_OK(art_engine_create(&engine, old_engine_options(&eb, 3)));
    CHECK_OK(art_engine_threads(&threads, engine));
    CHECK(threads == 3);

    /* runs with 0.1 run options: in memory, asynchronous and from a file */
    CHECK_OK(art_image_load(&image, input));
    CHECK_OK(art_engine_run_effects(&result, engine, effects, 1, image, old_run_options(&rb)));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_OK && events > 0);
    art_result_free(result);
    result = NULL;
    CHECK_OK(art_graph_from_effects(&graph, effects, 1));
    events = 0;
    CHECK_OK(
        art_engine_run_file(&result, engine, graph, input, nodes, paths, 1, old_run_options(&rb)));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_OK && events > 0);
    art_result_free(result);
    result = NULL;
    art_image_free(image);
    image = NULL;
    CHECK_OK(art_image_load(&image, output)); /* written */
    remove(output);

    /* sizes no release shipped: refused, naming the struct, the size and the sizes known */
    new_ro.struct_size = sizeof(run_options_0_1) + 8;
    CHECK_FAILS(art_engine_run_effects(&result, engine, effects, 1, image, &new_ro),
                ART_INVALID_ARGUMENT, "art_run_options: struct_size");
    snprintf(sizes, sizeof sizes, "%u (the 0.1 header), %u (the 0.2 header)",
             (unsigned)sizeof(run_options_0_1), (unsigned)sizeof(art_run_options));
    CHECK(strstr(art_last_error_message(), sizes) != NULL);
    CHECK(strstr(art_last_error_message(), "ART_RUN_OPTIONS_INIT") != NULL);
    CHECK(result == NULL);
    new_ro.struct_size = sizeof(art_run_options) + 8;
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, nodes, paths, 1, &new_ro),
                ART_INVALID_ARGUMENT, "art_run_options");
    new_ro.struct_size = 0;
    CHECK_FAILS(art_engine_submit((art_run**)&result, engine, graph, image, &new_ro),
                ART_INVALID_ARGUMENT, "struct_size 0");
    art_engine_free(engine);
    engine = NULL;
    new_eo.struct_size = sizeof(engine_options_0_1) - 4;
    CHECK_FAILS(art_engine_create(&engine, &new_eo), ART_INVALID_ARGUMENT, "art_engine_options");
    snprintf(sizes, sizeof sizes, "%u (the 0.1 header), %u (the 0.2 header)",
             (unsigned)sizeof(engine_options_0_1), (unsigned)sizeof(art_engine_options));
    CHECK(strstr(art_last_error_message(), sizes) != NULL);
    CHECK(engine == NULL);

    art_graph_free(graph);
    art_image_free(image);
    return check_report("capi_compat_test");
}
