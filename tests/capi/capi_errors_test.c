/* Every function with NULL pointers, bad sizes and unknown struct versions: an error status
 * and a message, never a crash. Compiled as C. */
#include "check.h"

static int never_called(const art_progress_event* e, void* user) {
    (void)e;
    (void)user;
    return 0;
}

int main(void) {
    unsigned char pixels[4 * 4 * 3] = {0};
    art_image_desc desc = ART_IMAGE_DESC_INIT;
    art_image_desc bad_desc;
    art_image* image = NULL;
    art_image* out_image = NULL;
    art_graph* graph = NULL;
    art_engine* engine = NULL;
    art_result* result = NULL;
    art_run* run = NULL;
    const char* text = NULL;
    char* owned = NULL;
    size_t count = 0;
    int32_t i32 = 0;
    uint64_t u64 = 0;
    double d = 0;
    art_run_status run_status = 0;
    art_effect_info info = ART_EFFECT_INFO_INIT;
    art_param_info param = ART_PARAM_INFO_INIT;
    art_engine_options engine_options = ART_ENGINE_OPTIONS_INIT;
    art_run_options run_options = ART_RUN_OPTIONS_INIT;
    const char* effects[] = {"dither"};
    const char* null_effects[] = {NULL};

    CHECK(art_last_error_message() != NULL);
    CHECK(strcmp(art_status_name(ART_NOT_FOUND), "not_found") == 0);
    CHECK(strcmp(art_status_name(99), "unknown") == 0);
    CHECK(strcmp(art_status_name(ART_INTERNAL), "internal") == 0);
    CHECK(strcmp(art_status_name(ART_INTERNAL + 1), "unknown") == 0);
    CHECK(strcmp(art_status_name(-1), "unknown") == 0);
    art_string_free(NULL);

    /* images */
    desc.data = pixels;
    desc.width = 4;
    desc.height = 4;
    desc.channels = 3;
    CHECK_FAILS(art_image_new(NULL, 4, 4, 3, ART_ELEM_U8), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_image_new(&image, 0, 4, 3, ART_ELEM_U8), ART_INVALID_ARGUMENT, "positive");
    CHECK(image == NULL);
    CHECK_FAILS(art_image_new(&image, 4, 4, 2, ART_ELEM_U8), ART_INVALID_ARGUMENT, "channels");
    CHECK_FAILS(art_image_new(&image, 4, 4, 3, 7), ART_INVALID_ARGUMENT, "elem_type");
    CHECK_FAILS(art_image_wrap(NULL, &desc), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_image_wrap(&image, NULL), ART_INVALID_ARGUMENT, "desc");
    bad_desc = desc;
    bad_desc.struct_size = sizeof(art_image_desc) + 8;
    CHECK_FAILS(art_image_wrap(&image, &bad_desc), ART_INVALID_ARGUMENT, "struct_size");
    CHECK_FAILS(art_image_copy(&image, &bad_desc), ART_INVALID_ARGUMENT, "struct_size");
    bad_desc = desc;
    bad_desc.data = NULL;
    CHECK_FAILS(art_image_wrap(&image, &bad_desc), ART_INVALID_ARGUMENT, "data");
    bad_desc = desc;
    bad_desc.stride = 5;
    CHECK_FAILS(art_image_wrap(&image, &bad_desc), ART_INVALID_ARGUMENT, "stride");
    bad_desc = desc;
    bad_desc.height = -3;
    CHECK_FAILS(art_image_copy(&image, &bad_desc), ART_INVALID_ARGUMENT, "positive");
    CHECK_FAILS(art_image_load(NULL, "x.png"), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_image_load(&image, NULL), ART_INVALID_ARGUMENT, "path");
    CHECK(art_image_load(&image, "/nonexistent/artistry.png") != ART_OK);
    CHECK(art_last_error_message()[0] != '\0');
    CHECK(image == NULL);
    CHECK_FAILS(art_image_save(NULL, "x.png"), ART_INVALID_ARGUMENT, "image");
    CHECK_FAILS(art_image_describe(NULL, image), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_image_describe(&bad_desc, NULL), ART_INVALID_ARGUMENT, "image");
    bad_desc.struct_size = 3;
    CHECK_FAILS(art_image_describe(&bad_desc, NULL), ART_INVALID_ARGUMENT, "struct_size");
    art_image_free(NULL);

    /* effects */
    CHECK_FAILS(art_effect_count(NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_effect_name(NULL, 0), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_effect_name(&text, 100000), ART_INVALID_ARGUMENT, "range");
    CHECK_FAILS(art_effect_describe(NULL, "dither"), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_effect_describe(&info, NULL), ART_INVALID_ARGUMENT, "effect");
    CHECK_FAILS(art_effect_describe(&info, "no_such_effect"), ART_NOT_FOUND, "no_such_effect");
    info.struct_size = 1;
    CHECK_FAILS(art_effect_describe(&info, "dither"), ART_INVALID_ARGUMENT, "struct_size");
    CHECK_FAILS(art_effect_param(NULL, "dither", 0), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_effect_param(&param, "dither", 100000), ART_INVALID_ARGUMENT, "range");
    CHECK_FAILS(art_effect_param(&param, "nope", 0), ART_NOT_FOUND, "nope");
    param.struct_size = 0;
    CHECK_FAILS(art_effect_param(&param, "dither", 0), ART_INVALID_ARGUMENT, "struct_size");

    /* graphs */
    CHECK_FAILS(art_graph_from_json(NULL, "{}"), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_graph_from_json(&graph, NULL), ART_INVALID_ARGUMENT, "json");
    CHECK_FAILS(art_graph_from_json(&graph, "{\"nodes\": ["), ART_INVALID_ARGUMENT, "");
    CHECK_FAILS(art_graph_from_json(&graph, "{\"nodes\": [{\"id\": \"a\", \"op\": \"warp\"}]}"),
                ART_INVALID_ARGUMENT, "warp");
    CHECK(graph == NULL);
    CHECK_FAILS(art_graph_from_effects(NULL, effects, 1), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_graph_from_effects(&graph, NULL, 1), ART_INVALID_ARGUMENT, "effects");
    CHECK_FAILS(art_graph_from_effects(&graph, effects, 0), ART_INVALID_ARGUMENT, "empty");
    CHECK_FAILS(art_graph_from_effects(&graph, null_effects, 1), ART_INVALID_ARGUMENT, "NULL");
    CHECK_FAILS(art_graph_to_json(&owned, NULL), ART_INVALID_ARGUMENT, "graph");
    CHECK_FAILS(art_graph_to_json(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_graph_output_count(&count, NULL), ART_INVALID_ARGUMENT, "graph");
    CHECK_FAILS(art_graph_output_count(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_graph_output_name(&text, NULL, 0), ART_INVALID_ARGUMENT, "graph");
    CHECK_FAILS(art_graph_output_name(NULL, NULL, 0), ART_INVALID_ARGUMENT, "out");
    art_graph_free(NULL);

    /* engines */
    CHECK_FAILS(art_engine_create(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    engine_options.struct_size = sizeof(engine_options) * 2;
    CHECK_FAILS(art_engine_create(&engine, &engine_options), ART_INVALID_ARGUMENT, "struct_size");
    engine_options.struct_size = sizeof(engine_options);
    engine_options.threads = -1;
    CHECK_FAILS(art_engine_create(&engine, &engine_options), ART_INVALID_ARGUMENT, "threads");
    CHECK(engine == NULL);
    CHECK_FAILS(art_engine_threads(&i32, NULL), ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_threads(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_engine_metrics_text(&owned, NULL), ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_metrics_text(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_engine_cancel(NULL, 1), ART_INVALID_ARGUMENT, "engine");
    art_engine_free(NULL);

    /* runs against a real engine and image, with bad arguments */
    engine_options.threads = 2;
    CHECK_OK(art_engine_create(&engine, &engine_options));
    CHECK_OK(art_image_wrap(&image, &desc));
    CHECK_OK(art_graph_from_effects(&graph, effects, 1));
    CHECK_FAILS(art_engine_cancel(engine, 123456789), ART_NOT_FOUND, "123456789");
    CHECK_FAILS(art_engine_run(NULL, engine, graph, image, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_engine_run(&result, NULL, graph, image, NULL), ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_run(&result, engine, NULL, image, NULL), ART_INVALID_ARGUMENT, "graph");
    CHECK_FAILS(art_engine_run(&result, engine, graph, NULL, NULL), ART_INVALID_ARGUMENT, "input");
    run_options.struct_size = 4;
    CHECK_FAILS(art_engine_run(&result, engine, graph, image, &run_options), ART_INVALID_ARGUMENT,
                "struct_size");
    run_options.struct_size = sizeof(run_options);
    run_options.max_parallel = -2;
    run_options.progress = never_called;
    CHECK_FAILS(art_engine_run(&result, engine, graph, image, &run_options), ART_INVALID_ARGUMENT,
                "max_parallel");
    CHECK(result == NULL);
    CHECK_FAILS(art_engine_run_effects(&result, engine, NULL, 1, image, NULL), ART_INVALID_ARGUMENT,
                "effects");
    CHECK_FAILS(art_engine_run_effects(&result, engine, effects, 1, NULL, NULL),
                ART_INVALID_ARGUMENT, "input");
    CHECK_FAILS(art_engine_run_effects(NULL, engine, effects, 1, image, NULL), ART_INVALID_ARGUMENT,
                "out");
    CHECK_FAILS(art_engine_run_effects(&result, NULL, effects, 1, image, NULL),
                ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_submit(NULL, engine, graph, image, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_engine_submit(&run, NULL, graph, image, NULL), ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_submit(&run, engine, NULL, image, NULL), ART_INVALID_ARGUMENT, "graph");
    CHECK_FAILS(art_engine_submit(&run, engine, graph, NULL, NULL), ART_INVALID_ARGUMENT, "input");
    CHECK_FAILS(art_engine_submit(&run, engine, graph, image, &run_options), ART_INVALID_ARGUMENT,
                "max_parallel");
    CHECK(run == NULL);
    CHECK_FAILS(art_run_wait(NULL, 1.0), ART_INVALID_ARGUMENT, "run");
    CHECK_FAILS(art_run_done(&i32, NULL), ART_INVALID_ARGUMENT, "run");
    CHECK_FAILS(art_run_done(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_run_id(&u64, NULL), ART_INVALID_ARGUMENT, "run");
    CHECK_FAILS(art_run_id(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_run_cancel(NULL), ART_INVALID_ARGUMENT, "run");
    CHECK_FAILS(art_run_result(&result, NULL), ART_INVALID_ARGUMENT, "run");
    CHECK_FAILS(art_run_result(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    art_run_free(NULL);

    /* results */
    CHECK_FAILS(art_result_status(&run_status, NULL), ART_INVALID_ARGUMENT, "result");
    CHECK_FAILS(art_result_status(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_result_error(&text, NULL), ART_INVALID_ARGUMENT, "result");
    CHECK_FAILS(art_result_error(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_result_wall_seconds(&d, NULL), ART_INVALID_ARGUMENT, "result");
    CHECK_FAILS(art_result_wall_seconds(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_result_output_count(&count, NULL), ART_INVALID_ARGUMENT, "result");
    CHECK_FAILS(art_result_output_count(NULL, NULL), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_result_output_name(&text, NULL, 0), ART_INVALID_ARGUMENT, "result");
    CHECK_FAILS(art_result_output_name(NULL, NULL, 0), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_result_output(&out_image, NULL, "x"), ART_INVALID_ARGUMENT, "result");
    CHECK_FAILS(art_result_output(NULL, NULL, "x"), ART_INVALID_ARGUMENT, "out");
    art_result_free(NULL);
    CHECK(out_image == NULL);

    /* a success clears the previous message */
    CHECK_OK(art_effect_count(&count));
    CHECK(art_last_error_message()[0] == '\0');

    art_graph_free(graph);
    art_image_free(image);
    art_engine_free(engine);
    return check_report("capi_errors_test");
}
