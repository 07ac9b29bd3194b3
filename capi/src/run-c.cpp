// Runs (sync and async), progress callbacks into C, cancellation, and results.

#include <algorithm>
#include <atomic>

#include <fmt/format.h>

#include "capi_internal.hpp"

using artistry::Error;
using artistry::Result;
using artistry::Status;
using namespace artistry::capi;

namespace artistry::capi {

art_run_options run_options_struct(const art_run_options* options) {
    const art_run_options defaults = ART_RUN_OPTIONS_INIT;
    return options == nullptr ? defaults : read_struct(options, defaults);
}

RunOptions run_options(const art_run_options* options) {
    RunOptions r;
    if (options == nullptr) return r;
    const art_run_options o = run_options_struct(options);
    if (o.max_parallel < 0)
        throw Error(Status::invalid_argument,
                    fmt::format("art_run_options: max_parallel {} must be >= 0", o.max_parallel));
    r.max_parallel = o.max_parallel;
    if (o.progress != nullptr) {
        auto cancel = std::make_shared<std::atomic<bool>>(false);
        r.cancel = cancel;
        r.progress = [fn = o.progress, user = o.user_data, cancel](const ProgressEvent& e) {
            art_progress_event c{};
            c.struct_size = sizeof(c);
            c.run_id = e.run_id;
            c.node = e.node.c_str();
            c.op = e.op.c_str();
            c.phase = static_cast<art_phase>(e.phase);
            c.units_done = e.units_done;
            c.units_total = e.units_total;
            c.fraction = e.fraction;
            c.eta_seconds = e.eta_seconds;
            c.rate_mps = e.rate_mps;
            c.message = e.message.c_str();
            if (fn(&c, user) != 0) cancel->store(true);
        };
    }
    return r;
}

art_result* make_result(Result result, const Graph& graph) {
    auto r = std::make_unique<art_result>();
    r->result = std::move(result);
    // Output order: the graph's, as the nodes list keeps spec order; only finished outputs.
    for (const auto& node : r->result.nodes)
        if (r->result.outputs.count(node.id) != 0) r->output_names.push_back(node.id);
    for (const auto& node : graph.nodes()) r->node_ids.push_back(node.id);
    return r.release();
}

}  // namespace artistry::capi

namespace {

const art_image& input_of(const art_image* input) {
    require(input, "input");
    if (input->image.empty()) throw Error(Status::invalid_argument, "input image is empty");
    return *input;
}

const Result& result_of_handle(const art_result* result) {
    require(result, "result");
    return result->result;
}

}  // namespace

extern "C" {

art_status art_engine_run(art_result** out, art_engine* engine, const art_graph* graph,
                          const art_image* input, const art_run_options* options) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(engine, "engine");
    require(graph, "graph");
    const auto& image = input_of(input);
    auto opts = run_options(options);
    *out = make_result(engine->engine.run(graph->graph, image.image, opts), graph->graph);
    ART_CATCH
}

art_status art_engine_run_effects(art_result** out, art_engine* engine, const char* const* effects,
                                  size_t count, const art_image* input,
                                  const art_run_options* options) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(engine, "engine");
    const auto& image = input_of(input);
    const auto graph = graph_from_effects(effects, count);
    auto opts = run_options(options);
    *out = make_result(engine->engine.run(graph, image.image, opts), graph);
    ART_CATCH
}

art_status art_engine_submit(art_run** out, art_engine* engine, const art_graph* graph,
                             const art_image* input, const art_run_options* options) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(engine, "engine");
    require(graph, "graph");
    const auto& image = input_of(input);
    *out = new art_run{engine->engine.submit(graph->graph, image.image, run_options(options)),
                       graph->graph};
    ART_CATCH
}

art_status art_run_wait(art_run* run, double timeout_seconds) {
    ART_TRY
    require(run, "run");
    if (timeout_seconds < 0) {
        run->handle.wait();
    } else if (!run->handle.wait_for(timeout_seconds)) {
        throw Error(Status::timeout, fmt::format("run {} still going after {} s", run->handle.id(),
                                                 timeout_seconds));
    }
    ART_CATCH
}

art_status art_run_done(int32_t* out, const art_run* run) {
    ART_TRY
    require(out, "out");
    require(run, "run");
    *out = run->handle.done() ? 1 : 0;
    ART_CATCH
}

art_status art_run_id(uint64_t* out, const art_run* run) {
    ART_TRY
    require(out, "out");
    require(run, "run");
    *out = run->handle.id();
    ART_CATCH
}

art_status art_run_cancel(art_run* run) {
    ART_TRY
    require(run, "run");
    run->handle.cancel();
    ART_CATCH
}

art_status art_run_result(art_result** out, art_run* run) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(run, "run");
    *out = make_result(run->handle.result(), run->graph);
    ART_CATCH
}

void art_run_free(art_run* run) {
    delete run;
}

art_status art_result_status(art_run_status* out, const art_result* result) {
    ART_TRY
    require(out, "out");
    *out = static_cast<art_run_status>(result_of_handle(result).status);
    ART_CATCH
}

art_status art_result_error(const char** out, const art_result* result) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    *out = result_of_handle(result).error.c_str();
    ART_CATCH
}

art_status art_result_wall_seconds(double* out, const art_result* result) {
    ART_TRY
    require(out, "out");
    *out = result_of_handle(result).wall_seconds;
    ART_CATCH
}

art_status art_result_output_count(size_t* out, const art_result* result) {
    ART_TRY
    require(out, "out");
    require(result, "result");
    *out = result->output_names.size();
    ART_CATCH
}

art_status art_result_output_name(const char** out, const art_result* result, size_t index) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(result, "result");
    if (index >= result->output_names.size())
        throw Error(Status::invalid_argument, fmt::format("output index {} out of range (count {})",
                                                          index, result->output_names.size()));
    *out = result->output_names[index].c_str();
    ART_CATCH
}

art_status art_result_output(art_image** out, const art_result* result, const char* node) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(node, "node");
    *out = new art_image{result_of_handle(result).output(node)};
    ART_CATCH
}

art_status art_result_data(const char** out, const art_result* result, const char* node) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(node, "node");
    const Result& r = result_of_handle(result);
    if (const auto it = r.data.find(node); it != r.data.end()) {
        *out = it->second.c_str();
    } else if (std::find(result->node_ids.begin(), result->node_ids.end(), node) !=
               result->node_ids.end()) {
        *out = "";  // finished without structured output, or did not finish
    } else {
        throw Error(Status::not_found, fmt::format("run {} has no node '{}'", r.run_id, node));
    }
    ART_CATCH
}

void art_result_free(art_result* result) {
    delete result;
}

}  // extern "C"
