/* Soak through the C ABI: 200 runs submitted at once over three engines (mixed graphs, images
 * of many sizes), a quarter cancelled while others run, every handle freed in a shuffled
 * order. Each run must end ok or cancelled, and its outputs have the input's size. Run in the
 * release build, under ASan + UBSan and under TSan. */

#include <stdint.h>

#include "check.h"

#define RUNS 200
#define ENGINES 3

static uint32_t rng_state = 2026u;
static uint32_t next_random(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

int main(void) {
    art_engine* engines[ENGINES];
    art_engine_options options = ART_ENGINE_OPTIONS_INIT;
    options.threads = 2;
    options.use_environment = 0;
    for (int e = 0; e < ENGINES; ++e) CHECK_OK(art_engine_create(&engines[e], &options));

    const char* singles[] = {"dither", "pop_art", "retro_8bit", "enhanced_bw", "color"};
    art_graph* graphs[4];
    CHECK_OK(art_graph_from_effects(&graphs[0], singles, 1));
    CHECK_OK(art_graph_from_effects(&graphs[1], singles + 1, 2));
    CHECK_OK(art_graph_from_effects(&graphs[2], singles, 5));
    CHECK_OK(art_graph_from_json(&graphs[3],
                                 "{\"nodes\": [{\"id\": \"bw\", \"op\": \"enhanced_bw\"},"
                                 " {\"id\": \"d\", \"op\": \"dither\", \"in\": [\"bw\"]}]}"));

    art_run* runs[RUNS];
    int32_t widths[RUNS], heights[RUNS];
    for (int i = 0; i < RUNS; ++i) {
        widths[i] = 32 + (int32_t)(next_random() % 900);
        heights[i] = 32 + (int32_t)(next_random() % 700);
        art_image* image = NULL;
        CHECK_OK(art_image_new(&image, widths[i], heights[i], i % 7 == 0 ? 4 : 3, ART_ELEM_U8));
        CHECK_OK(art_engine_submit(&runs[i], engines[i % ENGINES], graphs[i % 4], image, NULL));
        art_image_free(image); /* the run holds its input */
        if (i > 8 && next_random() % 4 == 0) CHECK_OK(art_run_cancel(runs[next_random() % i]));
    }

    int ok = 0, cancelled = 0;
    int order[RUNS];
    for (int i = 0; i < RUNS; ++i) order[i] = i;
    for (int i = RUNS - 1; i > 0; --i) {
        const int j = (int)(next_random() % (uint32_t)(i + 1));
        const int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < RUNS; ++k) {
        const int i = order[k];
        art_result* result = NULL;
        CHECK_OK(art_run_result(&result, runs[i]));
        art_run_status status = ART_RUN_FAILED;
        CHECK_OK(art_result_status(&status, result));
        CHECK(status == ART_RUN_OK || status == ART_RUN_CANCELLED);
        if (status == ART_RUN_OK) {
            ++ok;
            size_t count = 0;
            CHECK_OK(art_result_output_count(&count, result));
            for (size_t o = 0; o < count; ++o) {
                const char* name = NULL;
                art_image* out = NULL;
                CHECK_OK(art_result_output_name(&name, result, o));
                CHECK_OK(art_result_output(&out, result, name));
                art_image_desc desc = ART_IMAGE_DESC_INIT;
                CHECK_OK(art_image_describe(&desc, out));
                CHECK(desc.width == widths[i] && desc.height == heights[i]);
                art_image_free(out);
            }
        } else if (status == ART_RUN_CANCELLED) {
            ++cancelled;
        }
        art_result_free(result);
        art_run_free(runs[i]);
    }
    CHECK(ok + cancelled == RUNS);
    CHECK(ok > 0);
    printf("capi_soak_test: %d runs, %d ok, %d cancelled\n", RUNS, ok, cancelled);

    for (int g = 0; g < 4; ++g) art_graph_free(graphs[g]);
    for (int e = 0; e < ENGINES; ++e) art_engine_free(engines[e]);
    return check_report("capi_soak_test");
}
