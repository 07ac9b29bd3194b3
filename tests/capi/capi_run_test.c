/* Ownership round trips, runs (sync, async, effect lists, JSON graphs), progress, cancel,
 * schemas. Under ASan/LeakSanitizer every handle must come back. Compiled as C. */
#include "check.h"

#include <stdint.h>

typedef struct {
    int events;
    int last_seen;
    double last_fraction;
    int monotonic;
    int cancel_after; /* > 0: ask to cancel at this event */
} progress_log;

static int on_progress(const art_progress_event* e, void* user) {
    progress_log* log = (progress_log*)user;
    if (e->struct_size < sizeof(art_progress_event)) return 0;
    ++log->events;
    if (e->fraction < log->last_fraction) log->monotonic = 0;
    log->last_fraction = e->fraction;
    if (e->node[0] == '\0') log->last_seen = 1;
    return log->cancel_after > 0 && log->events >= log->cancel_after;
}

static void fill(unsigned char* p, int w, int h, int c, size_t stride) {
    int x, y, k;
    for (y = 0; y < h; ++y)
        for (x = 0; x < w; ++x)
            for (k = 0; k < c; ++k)
                p[(size_t)y * stride + (size_t)(x * c + k)] =
                    (unsigned char)((x * 7 + y * 3 + k * 50) & 255);
}

static void test_versions(void) {
    CHECK(art_abi_version() == ART_ABI_VERSION);
    CHECK(strncmp(art_version(), "0.", 2) == 0);
}

static void test_image_round_trip(void) {
    enum { W = 5, H = 3, C = 3, STRIDE = 20 };
    unsigned char buf[STRIDE * H];
    art_image_desc in = ART_IMAGE_DESC_INIT, out = ART_IMAGE_DESC_INIT;
    art_image *view = NULL, *copy = NULL, *fresh = NULL;
    fill(buf, W, H, C, STRIDE);
    in.data = buf;
    in.width = W;
    in.height = H;
    in.channels = C;
    in.stride = STRIDE;

    CHECK_OK(art_image_wrap(&view, &in));
    CHECK_OK(art_image_describe(&out, view));
    CHECK(out.data == (void*)buf); /* zero-copy */
    CHECK(out.stride == STRIDE && out.width == W && out.height == H && out.channels == C);
    CHECK(out.elem_type == ART_ELEM_U8);

    CHECK_OK(art_image_copy(&copy, &in));
    CHECK_OK(art_image_describe(&out, copy));
    CHECK(out.data != (void*)buf);
    CHECK(out.stride == (size_t)(W * C));
    CHECK(memcmp(out.data, buf, W * C) == 0);
    CHECK(memcmp((unsigned char*)out.data + out.stride * 2, buf + STRIDE * 2, W * C) == 0);

    CHECK_OK(art_image_new(&fresh, 8, 2, 4, ART_ELEM_F32));
    CHECK_OK(art_image_describe(&out, fresh));
    CHECK(out.elem_type == ART_ELEM_F32 && out.stride == 8 * 4 * sizeof(float));
    CHECK(((float*)out.data)[5] == 0.0f);

    art_image_free(view);
    art_image_free(copy);
    art_image_free(fresh);
}

static void test_schema(void) {
    size_t n = 0, i, found_dither = 0;
    const char* name = NULL;
    art_effect_info info = ART_EFFECT_INFO_INIT;
    art_param_info param = ART_PARAM_INFO_INIT;
    CHECK_OK(art_effect_count(&n));
    CHECK(n >= 6);
    for (i = 0; i < n; ++i) {
        CHECK_OK(art_effect_name(&name, i));
        if (strcmp(name, "dither") == 0) found_dither = 1;
    }
    CHECK(found_dither);
    CHECK_OK(art_effect_describe(&info, "dither"));
    CHECK(strcmp(info.name, "dither") == 0 && info.version >= 1 && info.param_count > 0);
    CHECK(info.summary[0] != '\0');
    for (i = 0; i < info.param_count; ++i) {
        CHECK_OK(art_effect_param(&param, "dither", i));
        CHECK(param.name != NULL && param.help != NULL && param.default_text != NULL);
        if (strcmp(param.name, "method") == 0) {
            CHECK(param.type == ART_PARAM_CHOICE && strcmp(param.type_name, "choice") == 0);
            CHECK(strcmp(param.default_text, "floyd_steinberg") == 0);
            CHECK(param.choice_count > 3 && strcmp(param.choices[0], "floyd_steinberg") == 0);
        }
        if (strcmp(param.name, "levels") == 0) {
            CHECK(param.type == ART_PARAM_INT && param.min == 2 && param.max == 256);
            CHECK(strcmp(param.default_text, "4") == 0);
        }
        if (strcmp(param.name, "serpentine") == 0) CHECK(strcmp(param.default_text, "true") == 0);
    }
}

static void test_runs(void) {
    enum { W = 64, H = 48, C = 3 };
    static unsigned char buf[W * H * C];
    art_image_desc in = ART_IMAGE_DESC_INIT, out = ART_IMAGE_DESC_INIT;
    art_engine_options eo = ART_ENGINE_OPTIONS_INIT;
    art_run_options ro = ART_RUN_OPTIONS_INIT;
    art_engine* engine = NULL;
    art_image *input = NULL, *output = NULL, *missing = (art_image*)1;
    art_graph* graph = NULL;
    art_result* result = NULL;
    art_run* run = NULL;
    art_run_status status = ART_RUN_FAILED;
    const char* effects[] = {"dither", "pop_art"};
    const char* name = NULL;
    const char* error = NULL;
    char* json = NULL;
    char* metrics = NULL;
    size_t count = 0;
    int32_t done = 0, threads = 0;
    uint64_t id = 0;
    double wall = -1;
    progress_log log = {0, 0, 0.0, 1, 0};

    fill(buf, W, H, C, W * C);
    in.data = buf;
    in.width = W;
    in.height = H;
    in.channels = C;
    eo.threads = 2;
    eo.use_environment = 0;
    CHECK_OK(art_engine_create(&engine, &eo));
    CHECK_OK(art_engine_threads(&threads, engine));
    CHECK(threads == 2);
    CHECK_OK(art_image_wrap(&input, &in));

    /* effect list, synchronous, with progress */
    ro.progress = on_progress;
    ro.user_data = &log;
    CHECK_OK(art_engine_run_effects(&result, engine, effects, 2, input, &ro));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_OK);
    CHECK_OK(art_result_error(&error, result));
    CHECK(error[0] == '\0');
    CHECK_OK(art_result_wall_seconds(&wall, result));
    CHECK(wall >= 0);
    CHECK_OK(art_result_output_count(&count, result));
    CHECK(count == 2);
    CHECK_OK(art_result_output_name(&name, result, 0));
    CHECK(strcmp(name, "dither") == 0);
    CHECK_OK(art_result_output(&output, result, "pop_art"));
    CHECK_FAILS(art_result_output(&missing, result, "nope"), ART_NOT_FOUND, "nope");
    CHECK(missing == NULL);
    CHECK(log.events > 0 && log.last_seen && log.monotonic && log.last_fraction == 1.0);
    art_result_free(result); /* the output handle outlives its result */
    CHECK_OK(art_image_describe(&out, output));
    CHECK(out.width == W && out.height == H && out.channels == C && out.data != (void*)buf);
    art_image_free(output);
    output = NULL;

    /* JSON graph, asynchronous */
    CHECK_OK(art_graph_from_json(
        &graph,
        "{\"nodes\": [{\"id\": \"d\", \"op\": \"dither\", \"params\": {\"palette\": \"grey\"}},"
        " {\"id\": \"c\", \"op\": \"color\", \"in\": [\"d\"]}], \"outputs\": [\"c\"]}"));
    CHECK_OK(art_graph_output_count(&count, graph));
    CHECK(count == 1);
    CHECK_OK(art_graph_output_name(&name, graph, 0));
    CHECK(strcmp(name, "c") == 0);
    CHECK_OK(art_graph_to_json(&json, graph));
    CHECK(strstr(json, "\"grey\"") != NULL);
    art_string_free(json);
    CHECK_OK(art_engine_submit(&run, engine, graph, input, NULL));
    art_graph_free(graph); /* the run keeps what it needs */
    CHECK_OK(art_run_id(&id, run));
    CHECK_OK(art_run_wait(run, -1));
    CHECK_OK(art_run_done(&done, run));
    CHECK(done == 1);
    CHECK_OK(art_run_cancel(run)); /* no effect once done */
    CHECK_OK(art_run_result(&result, run));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_OK);
    CHECK_OK(art_result_output(&output, result, "c"));
    art_result_free(result);
    art_run_free(run);
    art_image_free(output);

    /* cancel from the progress callback: the run ends cancelled, no leak */
    log.events = 0;
    log.cancel_after = 1;
    log.last_fraction = 0;
    CHECK_OK(art_engine_run_effects(&result, engine, effects, 2, input, &ro));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_CANCELLED || status == ART_RUN_OK);
    art_result_free(result);

    /* a run handle dropped before its run ends */
    CHECK_OK(art_graph_from_effects(&graph, effects, 2));
    CHECK_OK(art_engine_submit(&run, engine, graph, input, NULL));
    CHECK_OK(art_run_cancel(run));
    CHECK_OK(art_run_wait(run, 30.0));
    art_run_free(run);
    art_graph_free(graph);

    CHECK_OK(art_engine_metrics_text(&metrics, engine));
    CHECK(strstr(metrics, "artistry_runs_total") != NULL);
    art_string_free(metrics);

    art_image_free(input);
    art_engine_free(engine);
}

static void test_load_save(const char* dir) {
    char path[1024];
    art_image *image = NULL, *back = NULL;
    art_image_desc a = ART_IMAGE_DESC_INIT, b = ART_IMAGE_DESC_INIT;
    int y;
    CHECK_OK(art_image_new(&image, 9, 7, 3, ART_ELEM_U8));
    CHECK_OK(art_image_describe(&a, image));
    fill((unsigned char*)a.data, 9, 7, 3, a.stride);
    snprintf(path, sizeof path, "%s/capi_run_test.png", dir);
    CHECK_OK(art_image_save(image, path));
    CHECK_OK(art_image_load(&back, path));
    CHECK_OK(art_image_describe(&b, back));
    CHECK(b.width == 9 && b.height == 7 && b.channels == 3);
    for (y = 0; y < 7 && b.data != NULL; ++y)
        CHECK(memcmp((unsigned char*)a.data + a.stride * (size_t)y,
                     (unsigned char*)b.data + b.stride * (size_t)y, 27) == 0);
    remove(path);
    art_image_free(image);
    art_image_free(back);
}

/* Structured output: remove_background says which method it used; other nodes have none. */
static void test_result_data(void) {
    enum { W = 64, H = 48, C = 3 };
    static unsigned char buf[W * H * C];
    art_image_desc in = ART_IMAGE_DESC_INIT;
    art_engine_options eo = ART_ENGINE_OPTIONS_INIT;
    art_engine* engine = NULL;
    art_image* input = NULL;
    art_graph* graph = NULL;
    art_result* result = NULL;
    const char* data = NULL;

    fill(buf, W, H, C, W * C);
    in.data = buf;
    in.width = W;
    in.height = H;
    in.channels = C;
    eo.use_environment = 0;
    CHECK_OK(art_engine_create(&engine, &eo));
    CHECK_OK(art_image_wrap(&input, &in));
    CHECK_OK(art_graph_from_json(
        &graph,
        "{\"nodes\": [{\"id\": \"cut\", \"op\": \"remove_background\","
        " \"params\": {\"model\": \"classical\"}},"
        " {\"id\": \"d\", \"op\": \"dither\", \"in\": [\"cut\"]}], \"outputs\": [\"d\"]}"));
    CHECK_OK(art_engine_run(&result, engine, graph, input, NULL));
    CHECK_OK(art_result_data(&data, result, "cut"));
    CHECK(data != NULL && strcmp(data, "{\"method\":\"classical\"}") == 0);
    CHECK_OK(art_result_data(&data, result, "d"));
    CHECK(data != NULL && data[0] == '\0');
    CHECK_FAILS(art_result_data(&data, result, "nope"), ART_NOT_FOUND, "nope");
    CHECK(data == NULL);
    CHECK_FAILS(art_result_data(&data, NULL, "cut"), ART_INVALID_ARGUMENT, "result");
    art_result_free(result);
    art_graph_free(graph);
    art_image_free(input);
    art_engine_free(engine);
}

int main(int argc, char** argv) {
    test_versions();
    test_result_data();
    test_image_round_trip();
    test_schema();
    test_runs();
    test_load_save(argc > 1 ? argv[1] : ".");
    return check_report("capi_run_test");
}
