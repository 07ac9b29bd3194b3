/* The 0.2 additions from C: file-to-file runs (in memory and streamed) and an engine's models
 * (listing with none installed, listing a manifest, preloading, errors).
 * usage: capi_files_models_test DATA_DIR TINY_MODELS_DIR WORK_DIR. Compiled as C99 (POSIX). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char work_dir[1024];

static int mkdir_for_test(const char* path) {
    return mkdir(path, 0700);
}

static void path_in(char* out, size_t size, const char* dir, const char* name) {
    const int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= size) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
}

static int file_exists(const char* path) {
    FILE* f = fopen(path, "rb");
    if (f == NULL) return 0;
    fclose(f);
    return 1;
}

static void write_file(const char* path, const char* text) {
    FILE* f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    fputs(text, f);
    fclose(f);
}

/* Pixels of two images are equal (same size, channels, rows). */
static int same_pixels(const char* a_path, const char* b_path) {
    art_image *a = NULL, *b = NULL;
    art_image_desc da = ART_IMAGE_DESC_INIT, db = ART_IMAGE_DESC_INIT;
    int same = 0, y;
    if (art_image_load(&a, a_path) == ART_OK && art_image_load(&b, b_path) == ART_OK &&
        art_image_describe(&da, a) == ART_OK && art_image_describe(&db, b) == ART_OK &&
        da.width == db.width && da.height == db.height && da.channels == db.channels) {
        same = 1;
        for (y = 0; y < da.height && same; ++y)
            same = memcmp((unsigned char*)da.data + da.stride * (size_t)y,
                          (unsigned char*)db.data + db.stride * (size_t)y,
                          (size_t)da.width * (size_t)da.channels) == 0;
    }
    art_image_free(a);
    art_image_free(b);
    return same;
}

typedef struct {
    int events;
    double last_fraction;
    int ended;
} file_progress;

static int on_file_progress(const art_progress_event* e, void* user) {
    file_progress* p = (file_progress*)user;
    ++p->events;
    p->last_fraction = e->fraction;
    if (e->node[0] == '\0' && e->phase == ART_PHASE_DONE) p->ended = 1;
    return 0;
}

static void test_run_file(art_engine* engine, const char* data_dir) {
    char input[1024], whole_bw[1024], whole_pop[1024], band_bw[1024], band_pop[1024];
    char cut_out[1024], bad_out[1024];
    const char* effects[] = {"enhanced_bw", "pop_art"};
    const char* nodes[2] = {"enhanced_bw", "pop_art"};
    const char* paths[2];
    const char* twice[2] = {"enhanced_bw", "enhanced_bw"};
    const char* null_node[1] = {NULL};
    const char* other[1] = {"nope"};
    const char* data = NULL;
    art_graph *graph = NULL, *cut_graph = NULL, *chain_graph = NULL;
    art_result* result = NULL;
    art_run_status status = ART_RUN_FAILED;
    art_run_options ro = ART_RUN_OPTIONS_INIT;
    art_image* image = NULL;
    art_image_desc desc = ART_IMAGE_DESC_INIT;
    file_progress progress = {0, 0.0, 0};
    size_t count = 99;

    path_in(input, sizeof input, data_dir, "butterfly.jpg");
    path_in(whole_bw, sizeof whole_bw, work_dir, "whole_bw.png");
    path_in(whole_pop, sizeof whole_pop, work_dir, "whole_pop.png");
    path_in(band_bw, sizeof band_bw, work_dir, "band_bw.png");
    path_in(band_pop, sizeof band_pop, work_dir, "band_pop.jpg");
    path_in(cut_out, sizeof cut_out, work_dir, "cut.png");
    path_in(bad_out, sizeof bad_out, work_dir, "bad.webp");
    CHECK_OK(art_graph_from_effects(&graph, effects, 2));

    /* a small input runs in memory: both files written, the images kept in the result */
    paths[0] = whole_bw;
    paths[1] = whole_pop;
    CHECK_OK(art_engine_run_file(&result, engine, graph, input, nodes, paths, 2, NULL));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_OK);
    CHECK_OK(art_result_output_count(&count, result));
    CHECK(count == 2);
    art_result_free(result);
    result = NULL;
    CHECK(file_exists(whole_bw) && file_exists(whole_pop));
    CHECK_OK(art_image_load(&image, whole_bw));
    CHECK_OK(art_image_describe(&desc, image));
    CHECK(desc.width == 493 && desc.height == 356);
    art_image_free(image);

    /* tile_size forces streaming: 37-row bands, progress per band, the same pixels */
    paths[0] = band_bw;
    paths[1] = band_pop;
    ro.tile_size = 37;
    ro.progress = on_file_progress;
    ro.user_data = &progress;
    CHECK_OK(art_engine_run_file(&result, engine, graph, input, nodes, paths, 2, &ro));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_OK);
    CHECK_OK(art_result_output_count(&count, result));
    CHECK(count == 0); /* streamed: the outputs are in the files only */
    CHECK_OK(art_result_data(&data, result, "enhanced_bw"));
    CHECK(data != NULL && data[0] == '\0');
    art_result_free(result);
    result = NULL;
    CHECK(progress.events > 2 && progress.ended && progress.last_fraction == 1.0);
    CHECK(same_pixels(whole_bw, band_bw));
    CHECK_OK(art_image_load(&image, band_pop));
    CHECK_OK(art_image_describe(&desc, image));
    CHECK(desc.width == 493 && desc.height == 356 && desc.channels == 3);
    art_image_free(image);

    /* one output of two; structured data of an in-memory file run */
    CHECK_OK(art_graph_from_json(&cut_graph,
                                 "{\"nodes\": [{\"id\": \"cut\", \"op\": \"remove_background\","
                                 " \"params\": {\"model\": \"classical\"}},"
                                 " {\"id\": \"d\", \"op\": \"dither\", \"in\": [\"cut\"]}], "
                                 "\"outputs\": [\"cut\", \"d\"]}"));
    nodes[0] = "cut";
    paths[0] = cut_out;
    CHECK_OK(art_engine_run_file(&result, engine, cut_graph, input, nodes, paths, 1, NULL));
    CHECK_OK(art_result_data(&data, result, "cut"));
    CHECK(data != NULL && strcmp(data, "{\"method\":\"classical\"}") == 0);
    art_result_free(result);
    result = NULL;
    CHECK(file_exists(cut_out));

    /* streamed: a node that is no requested output is still known to art_result_data.
     * (remove_background with model=classical does not stream yet: "gave no analyzer".) */
    CHECK_OK(art_graph_from_json(
        &chain_graph,
        "{\"nodes\": [{\"id\": \"bw\", \"op\": \"enhanced_bw\"},"
        " {\"id\": \"d\", \"op\": \"dither\", \"in\": [\"bw\"]}], \"outputs\": [\"d\"]}"));
    nodes[0] = "d";
    ro.tile_size = 41;
    ro.progress = NULL;
    CHECK_OK(art_engine_run_file(&result, engine, chain_graph, input, nodes, paths, 1, &ro));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_OK);
    CHECK_OK(art_result_data(&data, result, "bw"));
    CHECK(data != NULL && data[0] == '\0');
    CHECK_OK(art_result_data(&data, result, "d"));
    CHECK(data != NULL && data[0] == '\0');
    CHECK_FAILS(art_result_data(&data, result, "nope"), ART_NOT_FOUND, "nope");
    art_result_free(result);
    result = NULL;
    ro.tile_size = 0;

    /* bad arguments: clear errors, nothing written, *out stays NULL */
    result = (art_result*)1;
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, other, paths, 1, NULL),
                ART_INVALID_ARGUMENT, "'nope' is not an output");
    CHECK(result == NULL);
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, twice, paths, 2, NULL),
                ART_INVALID_ARGUMENT, "named twice");
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, null_node, paths, 1, NULL),
                ART_INVALID_ARGUMENT, "output_nodes[0] is NULL");
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, NULL, paths, 1, NULL),
                ART_INVALID_ARGUMENT, "output_nodes");
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, nodes, NULL, 1, NULL),
                ART_INVALID_ARGUMENT, "output_paths");
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, nodes, paths, 0, NULL),
                ART_INVALID_ARGUMENT, "output_count");
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, NULL, nodes, paths, 1, NULL),
                ART_INVALID_ARGUMENT, "input_path");
    CHECK_FAILS(art_engine_run_file(&result, engine, NULL, input, nodes, paths, 1, NULL),
                ART_INVALID_ARGUMENT, "graph");
    CHECK_FAILS(art_engine_run_file(&result, NULL, graph, input, nodes, paths, 1, NULL),
                ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_run_file(NULL, engine, graph, input, nodes, paths, 1, NULL),
                ART_INVALID_ARGUMENT, "out");
    nodes[0] = "enhanced_bw";
    ro.tile_size = -3;
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, nodes, paths, 1, &ro),
                ART_INVALID_ARGUMENT, "tile_size -3");
    ro.tile_size = 0;
    ro.force_streaming = 1;
    paths[0] = bad_out;
    CHECK_FAILS(art_engine_run_file(&result, engine, graph, input, nodes, paths, 1, &ro),
                ART_UNSUPPORTED, ".webp");
    CHECK(!file_exists(bad_out));
    ro.force_streaming = 0;
    path_in(input, sizeof input, data_dir, "no_such_image.jpg");
    paths[0] = whole_bw;
    CHECK(art_engine_run_file(&result, engine, graph, input, nodes, paths, 1, NULL) != ART_OK);
    CHECK(strstr(art_last_error_message(), "no_such_image.jpg") != NULL);
    CHECK(result == NULL);

    remove(whole_bw);
    remove(whole_pop);
    remove(band_bw);
    remove(band_pop);
    remove(cut_out);
    art_graph_free(graph);
    art_graph_free(cut_graph);
    art_graph_free(chain_graph);
}

/* The process's shared store reads ARTISTRY_MODELS_DIR: an empty folder means no models. */
/* A segment node prompted by a detection node, and a composite of two inputs, through the C
 * ABI: without the models the run fails naming the model and how to install it. */
static void test_segment_without_models(art_engine* engine) {
    art_graph* graph = NULL;
    art_image* image = NULL;
    art_result* result = NULL;
    art_run_status status = ART_RUN_OK;
    const char* error = NULL;
    CHECK_OK(art_graph_from_json(
        &graph,
        "{\"nodes\": [{\"id\": \"det\", \"op\": \"detect_objects\"},"
        " {\"id\": \"dog\", \"op\": \"segment\", \"in\": [\"det\"],"
        "  \"params\": {\"from\": \"det\", \"label\": \"dog\"}},"
        " {\"id\": \"bw\", \"op\": \"enhanced_bw\"},"
        " {\"id\": \"splash\", \"op\": \"composite\", \"in\": [\"dog\", \"bw\"]}]}"));
    CHECK_OK(art_image_new(&image, 64, 48, 3, ART_ELEM_U8));
    CHECK_OK(art_engine_run(&result, engine, graph, image, NULL));
    CHECK_OK(art_result_status(&status, result));
    CHECK(status == ART_RUN_FAILED);
    CHECK_OK(art_result_error(&error, result));
    CHECK(strstr(error, "node 'det'") != NULL && strstr(error, "centernet") != NULL &&
          strstr(error, "scripts/fetch-models") != NULL);
    art_result_free(result);
    art_graph_free(graph);
    /* A composite of one input is refused when the graph is made. */
    CHECK_FAILS(
        art_graph_from_json(&graph, "{\"nodes\": [{\"id\": \"c\", \"op\": \"composite\"}]}"),
        ART_INVALID_ARGUMENT, "takes 2 to 3 inputs");
    art_image_free(image);
}

static void test_no_models(art_engine* engine) {
    art_model_list* list = NULL;
    art_model_info info = ART_MODEL_INFO_INIT;
    size_t count = 99;
    CHECK_OK(art_engine_list_models(&list, engine));
    CHECK_OK(art_model_list_count(&count, list));
    CHECK(count == 0);
    CHECK_FAILS(art_model_list_info(&info, list, 0), ART_INVALID_ARGUMENT, "out of range");
    art_model_list_free(list);
    CHECK_FAILS(art_engine_preload_model(engine, "no-such-model"), ART_NOT_FOUND, "no-such-model");
    CHECK(strstr(art_last_error_message(), "available: none") != NULL);
    CHECK_FAILS(art_engine_preload_model(engine, NULL), ART_INVALID_ARGUMENT, "name");
    CHECK_FAILS(art_engine_preload_model(engine, ""), ART_INVALID_ARGUMENT, "empty");
    CHECK_FAILS(art_engine_preload_model(NULL, "x"), ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_list_models(&list, NULL), ART_INVALID_ARGUMENT, "engine");
    CHECK_FAILS(art_engine_list_models(NULL, engine), ART_INVALID_ARGUMENT, "out");
    CHECK_FAILS(art_model_list_count(&count, NULL), ART_INVALID_ARGUMENT, "list");
    art_model_list_free(NULL);
    test_segment_without_models(engine);
}

/* An engine with its own models folder: a manifest with a real tiny ONNX model and a broken
 * one. Listing, preloading, the loaded flag, bad entries, bad info struct sizes. */
static void test_models_dir(const char* tiny_dir) {
    char dir[1024], manifest[4096], path[1024];
    art_engine_options eo = ART_ENGINE_OPTIONS_INIT;
    art_engine* engine = NULL;
    art_model_list* list = NULL;
    art_model_info info = ART_MODEL_INFO_INIT;
    size_t count = 0;

    path_in(dir, sizeof dir, work_dir, "models");
    CHECK(mkdir_for_test(dir) == 0);
    snprintf(manifest, sizeof manifest,
             "{\"models\": ["
             "{\"name\": \"affine\", \"task\": \"test\", \"backend\": \"onnx\","
             " \"file\": \"%s/affine.onnx\","
             " \"inputs\": [{\"name\": \"x\", \"shape\": [1, 4]}],"
             " \"outputs\": [{\"name\": \"sq\", \"shape\": [1, 4]}, {\"name\": \"y\", \"shape\": "
             "[1, 4]}]},"
             "{\"name\": \"broken\", \"task\": \"matting\", \"backend\": \"onnx\","
             " \"file\": \"broken.onnx\", \"bytes\": 11}]}",
             tiny_dir);
    path_in(path, sizeof path, dir, "manifest.json");
    write_file(path, manifest);
    path_in(path, sizeof path, dir, "broken.onnx");
    write_file(path, "not a model");

    eo.use_environment = 0;
    eo.models_dir = dir;
    CHECK_OK(art_engine_create(&engine, &eo));
    CHECK_OK(art_engine_list_models(&list, engine));
    CHECK_OK(art_model_list_count(&count, list));
    CHECK(count == 2);
    CHECK_OK(art_model_list_info(&info, list, 0));
    CHECK(strcmp(info.name, "affine") == 0 && strcmp(info.task, "test") == 0);
    CHECK(strcmp(info.backend, "onnx") == 0 && info.loaded == 0 && info.bytes > 100);
    CHECK_OK(art_model_list_info(&info, list, 1));
    CHECK(strcmp(info.name, "broken") == 0 && strcmp(info.task, "matting") == 0);
    CHECK(info.bytes == 11 && info.loaded == 0);
    info.struct_size = sizeof info + 8;
    CHECK_FAILS(art_model_list_info(&info, list, 0), ART_INVALID_ARGUMENT, "art_model_info");
    info.struct_size = sizeof info;
    art_model_list_free(list);

    CHECK_OK(art_engine_preload_model(engine, "affine"));
    CHECK(art_engine_preload_model(engine, "broken") != ART_OK);
    CHECK(strstr(art_last_error_message(), "broken") != NULL);
    CHECK_FAILS(art_engine_preload_model(engine, "missing"), ART_NOT_FOUND, "affine, broken");

    CHECK_OK(art_engine_list_models(&list, engine));
    CHECK_OK(art_model_list_info(&info, list, 0));
    CHECK(strcmp(info.name, "affine") == 0 && info.loaded == 1);
    CHECK_OK(art_model_list_info(&info, list, 1));
    CHECK(info.loaded == 0);
    art_model_list_free(list);
    art_engine_free(engine);

    /* preload at creation: a known name works, an unknown one fails the creation */
    eo.preload = "affine";
    CHECK_OK(art_engine_create(&engine, &eo));
    CHECK_OK(art_engine_list_models(&list, engine));
    CHECK_OK(art_model_list_info(&info, list, 0));
    CHECK(info.loaded == 1);
    art_model_list_free(list);
    art_engine_free(engine);
    engine = NULL;
    eo.preload = "affine, nope";
    CHECK_FAILS(art_engine_create(&engine, &eo), ART_NOT_FOUND, "nope");
    CHECK(engine == NULL);
    eo.preload = " , ";
    CHECK_FAILS(art_engine_create(&engine, &eo), ART_INVALID_ARGUMENT, "preload");
    eo.preload = NULL;
    eo.models_dir = "";
    CHECK_FAILS(art_engine_create(&engine, &eo), ART_INVALID_ARGUMENT, "models_dir");

    path_in(path, sizeof path, dir, "manifest.json");
    remove(path);
    path_in(path, sizeof path, dir, "broken.onnx");
    remove(path);
}

int main(int argc, char** argv) {
    char models_dir[1100];
    art_engine_options eo = ART_ENGINE_OPTIONS_INIT;
    art_engine* engine = NULL;
    if (argc != 4) {
        fprintf(stderr, "usage: capi_files_models_test DATA_DIR TINY_MODELS_DIR WORK_DIR\n");
        return 2;
    }
    /* A fresh empty folder as the process's models folder, set before any engine exists. */
    snprintf(work_dir, sizeof work_dir, "%s/capi_files_models_XXXXXX", argv[3]);
    if (mkdtemp(work_dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    path_in(models_dir, sizeof models_dir, work_dir, "empty_models");
    CHECK(mkdir_for_test(models_dir) == 0);
    CHECK(setenv("ARTISTRY_MODELS_DIR", models_dir, 1) == 0);
    unsetenv("ARTISTRY_PRELOAD");

    eo.threads = 2;
    CHECK_OK(art_engine_create(&engine, &eo));
    test_no_models(engine);
    test_run_file(engine, argv[1]);
    art_engine_free(engine);
    test_models_dir(argv[2]);

    rmdir(models_dir);
    {
        char path[1100];
        path_in(path, sizeof path, work_dir, "models");
        rmdir(path);
    }
    rmdir(work_dir);
    return check_report("capi_files_models_test");
}
