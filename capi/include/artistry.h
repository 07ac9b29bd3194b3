/*
 * artistry.h — the stable C ABI of the artistry image-effects engine (C99).
 *
 * Conventions (docs/abi.md has the stability promise):
 *   - Every fallible call returns art_status (ART_OK = 0, else the same codes as the C++
 *     artistry::Status); art_last_error_message() then says why, for this thread.
 *   - Out-parameters come first. Handles are opaque; whatever art_X_create / _new / _load /
 *     ... hands out is freed with the matching art_X_free, which accepts NULL.
 *   - Options structs begin with `size_t struct_size`; initialise them with their _INIT
 *     macro. The library accepts the size of every release's header (0.1 and later: a caller
 *     built against an older header keeps working, the fields it lacks take their defaults)
 *     and rejects any other (ART_INVALID_ARGUMENT naming the struct and the sizes accepted).
 *   - Strings returned as `const char*` are owned by the library and live as long as the
 *     handle they came from (or the process, where that is said). `char**` outputs are the
 *     caller's, freed with art_string_free.
 *   - Thread safety: functions are safe to call from any thread. A handle may be used from
 *     several threads at once only where its function says "thread-safe"; an engine is.
 */
#ifndef ARTISTRY_H
#define ARTISTRY_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define ART_API
#else
#define ART_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ---------------------------------------------------------------------- */

#define ART_VERSION_MAJOR 0
#define ART_VERSION_MINOR 2
#define ART_VERSION_PATCH 0
/* Raised only when a change breaks existing callers (see docs/abi.md). Minor versions only
 * add: 0.2 added art_engine_run_file, the model functions and the fields marked "0.2". */
#define ART_ABI_VERSION 1

/* The library's version text ("0.1.0"); static storage. Thread-safe. */
ART_API const char* art_version(void);
/* ART_ABI_VERSION of the library actually loaded; compare with the header's. Thread-safe. */
ART_API uint32_t art_abi_version(void);

/* ---- status and errors -------------------------------------------------------------- */

typedef int32_t art_status;
enum {
    ART_OK = 0,
    ART_INVALID_ARGUMENT = 1, /* a parameter, spec, option or NULL pointer is wrong */
    ART_NOT_FOUND = 2,        /* a file, effect, node or output that does not exist */
    ART_IO_ERROR = 3,
    ART_DECODE_ERROR = 4,
    ART_UNSUPPORTED = 5,
    ART_LIMIT_EXCEEDED = 6,
    ART_OUT_OF_MEMORY = 7,
    ART_CANCELLED = 8,
    ART_TIMEOUT = 9,
    ART_INTERNAL = 10
};

/* Message of the last failed call on this thread ("" after a successful one); never NULL.
 * Valid until the next art_* call on this thread. Thread-safe (thread-local). */
ART_API const char* art_last_error_message(void);
/* Status of the last call on this thread. Thread-safe (thread-local). */
ART_API art_status art_last_error_status(void);
/* Stable short name of a status ("invalid_argument"; "unknown" otherwise); static storage. */
ART_API const char* art_status_name(art_status status);
/* Frees a string the library returned through a char** out-parameter; NULL is fine. */
ART_API void art_string_free(char* text);

/* ---- images ------------------------------------------------------------------------- */

typedef int32_t art_elem_type;
enum { ART_ELEM_U8 = 0, ART_ELEM_F32 = 1 };

/* Pixels as a plain descriptor: interleaved gray (1), RGB (3) or RGBA (4) channels. */
typedef struct art_image_desc {
    size_t struct_size; /* sizeof(art_image_desc) */
    void* data;         /* first pixel of the first row */
    int32_t width;
    int32_t height;
    int32_t channels; /* 1, 3 or 4 */
    art_elem_type elem_type;
    size_t stride; /* bytes from one row to the next; 0: packed rows */
} art_image_desc;
#define ART_IMAGE_DESC_INIT \
    { sizeof(art_image_desc), NULL, 0, 0, 0, ART_ELEM_U8, 0 }

typedef struct art_image art_image;

/* A new zero-filled image owned by the library. Free with art_image_free. */
ART_API art_status art_image_new(art_image** out, int32_t width, int32_t height, int32_t channels,
                                 art_elem_type elem_type);
/* ZERO-COPY: a view of the caller's pixels. The caller keeps desc->data alive and unchanged
 * until art_image_free(*out) AND every run given this image has finished. */
ART_API art_status art_image_wrap(art_image** out, const art_image_desc* desc);
/* A library-owned copy of the caller's pixels; the buffer may be freed on return. */
ART_API art_status art_image_copy(art_image** out, const art_image_desc* desc);
/* Decodes a file (JPEG, PNG, WebP, TIFF, BMP; EXIF orientation applied). */
ART_API art_status art_image_load(art_image** out, const char* path);
/* Encodes to a file; the format comes from the extension. Does not take ownership. */
ART_API art_status art_image_save(const art_image* image, const char* path);
/* Fills *out (set out->struct_size first) with the image's pixels. out->data stays valid
 * until art_image_free(image). Reading the same image from several threads is safe. */
ART_API art_status art_image_describe(art_image_desc* out, const art_image* image);
/* Releases the handle; pixels shared with a result or a running run stay alive there. */
ART_API void art_image_free(art_image* image);

/* ---- effects and their parameter schemas -------------------------------------------- */

typedef int32_t art_param_type;
enum {
    ART_PARAM_BOOL = 0,
    ART_PARAM_INT = 1,
    ART_PARAM_FLOAT = 2,
    ART_PARAM_CHOICE = 3,
    ART_PARAM_TEXT = 4
};

typedef struct art_effect_info {
    size_t struct_size; /* set by the caller: sizeof(art_effect_info) */
    const char* name;
    int32_t version;
    const char* summary; /* one line */
    size_t param_count;
} art_effect_info;
#define ART_EFFECT_INFO_INIT \
    { sizeof(art_effect_info), NULL, 0, NULL, 0 }

typedef struct art_param_info {
    size_t struct_size; /* set by the caller: sizeof(art_param_info) */
    const char* name;
    art_param_type type;
    const char* type_name;    /* "bool", "int", "float", "choice", "string" */
    const char* default_text; /* the default as text ("2", "true", "nes") */
    double min;               /* int and float: inclusive range */
    double max;
    size_t choice_count; /* choice: the allowed values */
    const char* const* choices;
    const char* help; /* one line */
} art_param_info;
#define ART_PARAM_INFO_INIT \
    { sizeof(art_param_info), NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL }

/* Strings and arrays returned below live for the whole process. All are thread-safe. */
ART_API art_status art_effect_count(size_t* out);
/* Effect names in sorted order; index < art_effect_count. */
ART_API art_status art_effect_name(const char** out, size_t index);
ART_API art_status art_effect_describe(art_effect_info* out, const char* effect);
/* Parameter `index` (< param_count) of an effect, in schema order. */
ART_API art_status art_effect_param(art_param_info* out, const char* effect, size_t index);

/* ---- graphs ------------------------------------------------------------------------- */

typedef struct art_graph art_graph;

/* Parses and validates a graph spec (JSON, see DESIGN.md); errors name node and problem. */
ART_API art_status art_graph_from_json(art_graph** out, const char* json);
/* Every named effect reads the run's input with default parameters; each is an output whose
 * node id is the effect name. */
ART_API art_status art_graph_from_effects(art_graph** out, const char* const* effects,
                                          size_t count);
/* The normalised spec as JSON; the caller frees *out with art_string_free. */
ART_API art_status art_graph_to_json(char** out, const art_graph* graph);
ART_API art_status art_graph_output_count(size_t* out, const art_graph* graph);
/* Output node id; valid until art_graph_free(graph). */
ART_API art_status art_graph_output_name(const char** out, const art_graph* graph, size_t index);
/* A graph is immutable: reading it and running it from several threads is safe. */
ART_API void art_graph_free(art_graph* graph);

/* ---- engine ------------------------------------------------------------------------- */

typedef struct art_engine art_engine;

typedef struct art_engine_options {
    size_t struct_size;      /* sizeof(art_engine_options) */
    int32_t threads;         /* worker threads; 0: ARTISTRY_THREADS, else one per core */
    int32_t max_parallel;    /* default nodes in flight per run; 0: from the environment */
    int32_t use_environment; /* nonzero: read ARTISTRY_* and the old backend's variables */
    /* 0.2: models (see "models" below). */
    const char* models_dir; /* NULL: the process's shared store (ARTISTRY_MODELS_DIR, else
                               ~/.local/share/artistry/models); else this engine's own store
                               reading the manifest.json in this folder. Copied. */
    const char* preload;    /* comma-separated model names loaded when the engine is made
                               (errors fail art_engine_create), "all" for every installed
                               one; NULL: ARTISTRY_PRELOAD when use_environment. Copied. */
} art_engine_options;
#define ART_ENGINE_OPTIONS_INIT \
    { sizeof(art_engine_options), 0, 0, 1, NULL, NULL }

/* options may be NULL (defaults). Free with art_engine_free. */
ART_API art_status art_engine_create(art_engine** out, const art_engine_options* options);
/* Cancels the runs still going and waits for them. Do not call while another thread uses the
 * engine; art_run handles outlive it (their runs end cancelled). */
ART_API void art_engine_free(art_engine* engine);
/* Worker thread count. Thread-safe. */
ART_API art_status art_engine_threads(int32_t* out, const art_engine* engine);
/* Prometheus text exposition; the caller frees *out with art_string_free. Thread-safe. */
ART_API art_status art_engine_metrics_text(char** out, const art_engine* engine);
/* Cancels a run by id; ART_NOT_FOUND when no such run is going. Thread-safe. */
ART_API art_status art_engine_cancel(art_engine* engine, uint64_t run_id);

/* ---- runs and results --------------------------------------------------------------- */

typedef struct art_run art_run;
typedef struct art_result art_result;

typedef int32_t art_phase;
enum {
    ART_PHASE_QUEUED = 0,
    ART_PHASE_RUNNING = 1,
    ART_PHASE_DONE = 2,
    ART_PHASE_CACHED = 3,
    ART_PHASE_FAILED = 4,
    ART_PHASE_CANCELLED = 5
};

typedef struct art_progress_event {
    size_t struct_size; /* set by the library; fields may be added at the end */
    uint64_t run_id;
    const char* node; /* "" in the run's last event */
    const char* op;
    art_phase phase;
    int64_t units_done;
    int64_t units_total; /* 0: the effect has not said */
    double fraction;     /* whole run, [0, 1], never decreases; the last event is 1.0 */
    double eta_seconds;
    double rate_mps;     /* megapixels per second */
    const char* message; /* failed / cancelled: why */
} art_progress_event;

/* Called on engine threads, one event at a time per run, in order. The event and its
 * strings are valid only during the call. Return nonzero to cancel the run. Keep it short;
 * do not wait for the run or free the engine from inside it. */
typedef int (*art_progress_fn)(const art_progress_event* event, void* user_data);

typedef struct art_run_options {
    size_t struct_size;       /* sizeof(art_run_options) */
    int32_t max_parallel;     /* nodes of this run in flight at once; 0: the engine's default */
    art_progress_fn progress; /* may be NULL */
    void* user_data;          /* passed to progress; must stay valid until the run ends */
    /* 0.2: file runs (art_engine_run_file) only; the other runs ignore them. */
    int32_t tile_size;            /* rows per streamed band; > 0 also forces streaming; 0: the
                                     engine's choice within the memory budget */
    int32_t force_streaming;      /* nonzero: stream whatever the input's size */
    uint64_t memory_budget_bytes; /* the budget a file run plans for; 0: what the engine's
                                     memory manager has free */
} art_run_options;
#define ART_RUN_OPTIONS_INIT \
    { sizeof(art_run_options), 0, NULL, NULL, 0, 0, 0 }

typedef int32_t art_run_status;
enum { ART_RUN_OK = 0, ART_RUN_PARTIAL = 1, ART_RUN_FAILED = 2, ART_RUN_CANCELLED = 3 };

/* Runs a graph on an image and waits. Node failures come back in the result (its status and
 * error); only bad arguments fail the call. The input is shared, not copied: a wrapped
 * image's buffer must stay alive until this returns. options may be NULL. Thread-safe per
 * engine (many runs at once). Free *out with art_result_free. */
ART_API art_status art_engine_run(art_result** out, art_engine* engine, const art_graph* graph,
                                  const art_image* input, const art_run_options* options);
/* As art_engine_run on art_graph_from_effects(effects, count). */
ART_API art_status art_engine_run_effects(art_result** out, art_engine* engine,
                                          const char* const* effects, size_t count,
                                          const art_image* input, const art_run_options* options);
/* Starts a run and returns at once. A wrapped input's buffer must stay alive until the run
 * has finished (art_run_wait). The graph and image handles may be freed at once. Free *out
 * with art_run_free (the run goes on without its handle). */
ART_API art_status art_engine_submit(art_run** out, art_engine* engine, const art_graph* graph,
                                     const art_image* input, const art_run_options* options);
/* Waits until the run ends: ART_OK, or ART_TIMEOUT after timeout_seconds (< 0: no limit).
 * Thread-safe. */
ART_API art_status art_run_wait(art_run* run, double timeout_seconds);
/* *out = 1 when the run has ended, else 0. Thread-safe. */
ART_API art_status art_run_done(int32_t* out, const art_run* run);
ART_API art_status art_run_id(uint64_t* out, const art_run* run);
/* Asks the run to stop at its next row band; no effect once it ended. Thread-safe. */
ART_API art_status art_run_cancel(art_run* run);
/* Waits, then returns the result; free *out with art_result_free. */
ART_API art_status art_run_result(art_result** out, art_run* run);
ART_API void art_run_free(art_run* run);

/* Result accessors: strings live until art_result_free(result). Read-only, thread-safe. */
ART_API art_status art_result_status(art_run_status* out, const art_result* result);
/* The first failure ("node 'x': ..."), "" when none. */
ART_API art_status art_result_error(const char** out, const art_result* result);
ART_API art_status art_result_wall_seconds(double* out, const art_result* result);
/* The outputs that finished, in the order of the graph's nodes. */
ART_API art_status art_result_output_count(size_t* out, const art_result* result);
ART_API art_status art_result_output_name(const char** out, const art_result* result, size_t index);
/* A new image handle sharing the output's pixels (no copy); free it with art_image_free,
 * before or after the result. ART_NOT_FOUND names the node's error when it did not finish. */
ART_API art_status art_result_output(art_image** out, const art_result* result, const char* node);
/* A node's structured output as JSON text (detect_faces: the faces found; remove_background:
 * the method used), "" when it finished without one or did not finish; output or not. The
 * string lives until art_result_free(result). ART_NOT_FOUND: the graph has no such node. */
ART_API art_status art_result_data(const char** out, const art_result* result, const char* node);
ART_API void art_result_free(art_result* result);

/* ---- file runs (0.2) ---------------------------------------------------------------- */

/* Runs a graph on an image file and writes outputs to files: output_nodes[i] (an output of
 * the graph) goes to output_paths[i] (format from the extension), for i < output_count.
 * Large inputs, or options->tile_size / force_streaming, are streamed band by band (JPEG,
 * PNG and TIFF outputs; memory bounded by the band); others are loaded and run in memory.
 * As art_engine_run, node failures of an in-memory run come back in the result (status
 * ART_RUN_PARTIAL / FAILED; a failed output is not written); a failed streamed run fails
 * the call. The result holds every node's structured data (art_result_data) and, after an
 * in-memory run, the images written; a streamed run holds none. options may be NULL.
 * Thread-safe per engine. Free *out with art_result_free. */
ART_API art_status art_engine_run_file(art_result** out, art_engine* engine, const art_graph* graph,
                                       const char* input_path, const char* const* output_nodes,
                                       const char* const* output_paths, size_t output_count,
                                       const art_run_options* options);

/* ---- models (0.2) ------------------------------------------------------------------- */

typedef struct art_model_list art_model_list;

typedef struct art_model_info {
    size_t struct_size;  /* set by the caller: sizeof(art_model_info) */
    const char* name;    /* "isnet", "blazeface-front", ... */
    const char* task;    /* "matting", "upscale", "face_detection", ... */
    const char* backend; /* "onnx" or "torchscript" */
    int32_t loaded;      /* 1: in memory when the list was made, else 0 */
    uint64_t bytes;      /* the model file's size; 0 when neither the manifest nor the
                            file says */
} art_model_info;
#define ART_MODEL_INFO_INIT \
    { sizeof(art_model_info), NULL, NULL, NULL, 0, 0 }

/* The models the engine's store has (installed, from its manifest), sorted by name, as they
 * are now. None installed: an empty list, not an error; an unreadable manifest:
 * ART_DECODE_ERROR naming it. Thread-safe. Free *out with art_model_list_free. */
ART_API art_status art_engine_list_models(art_model_list** out, const art_engine* engine);
ART_API art_status art_model_list_count(size_t* out, const art_model_list* list);
/* Entry `index` (< count); its strings live until art_model_list_free(list). */
ART_API art_status art_model_list_info(art_model_info* out, const art_model_list* list,
                                       size_t index);
ART_API void art_model_list_free(art_model_list* list);
/* Loads a model now (it stays loaded until memory pressure drops it), so that the first run
 * needing it does not pay for the load; "all" loads every installed model. ART_NOT_FOUND
 * names the model and the folder searched; a corrupt file: ART_DECODE_ERROR. Thread-safe. */
ART_API art_status art_engine_preload_model(art_engine* engine, const char* name);

#ifdef __cplusplus
}
#endif

#endif /* ARTISTRY_H */
