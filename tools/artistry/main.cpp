// The `artistry` command-line tool: run effects on photos, list effects, describe the build.

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "artistry/artistry.hpp"
#include "artistry/engine.hpp"
#include "artistry/graph.hpp"
#include "artistry/models.hpp"
#include "effects_command.hpp"
#include "models_command.hpp"
#include "progress_bar.hpp"

namespace fs = std::filesystem;
using namespace artistry;

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, sep);)
        if (!item.empty()) out.push_back(item);
    return out;
}

// ---- artistry run ---------------------------------------------------------------------------

struct RunArgs {
    std::vector<std::string> images;
    std::string effects = "all";
    std::string graph_file;
    std::string out_dir = "out";
    std::vector<std::string> params;
    bool contact_sheet = false;
    bool cut = false;
    std::string format = "auto";
    int quality = 92;
    int max_parallel = 0;
    std::uint64_t max_megapixels = default_max_pixels / 1'000'000;
    int max_dimension = default_max_dimension;
    std::uint64_t max_file_mb = default_max_file_bytes >> 20;
    bool quiet = false;
    bool no_cache = false;
    std::string cache_tiers;          // "memory,disk,redis" subset or "none"; empty: the defaults
    int tile = 0;                     // > 0: stream in bands of this many rows
    std::string data_file;            // structured outputs (detections, method used) as JSON
    std::vector<std::string> points;  // --point X,Y: the prompt of the one segment node
    std::vector<std::string> boxes;   // --box X,Y,W,H
};

// An effect whose `model` parameter names, by default, a model that is not installed cannot
// run here: `-e all` leaves it out rather than fail ("auto" choices fall back by themselves).
std::string missing_model(const EffectRegistry& registry, const EffectInfo& e, ModelStore& store) {
    EffectContext ctx;
    ctx.models = &store;
    for (const auto& name : e.plan(registry.resolve(e.name, {}), 0, 0, ctx).models)
        if (!store.has(name)) return name;
    return {};
}

// Lossless where pixels are crisp (the effect's OutputFormat), transparent or a matte; JPEG
// for photographic looks.
std::string output_extension(const std::string& format, int channels, const EffectInfo& effect) {
    if (format != "auto") return format == "jpeg" ? "jpg" : format;
    if (channels != 3 || effect.output_format == OutputFormat::lossless) return "png";
    return "jpg";
}

// The same choice before a streamed run, from the input and the output's chain: alpha comes
// from an RGBA input or from remove_background anywhere in the chain.
std::string streamed_extension(const std::string& format, const FilePlan& plan,
                               const std::string& id) {
    const EffectChain& chain = plan.chains.at(id);
    const bool alpha =
        plan.channels == 4 || std::any_of(chain.begin(), chain.end(), [](const ChainStep& s) {
            return s.effect == "remove_background";
        });
    return output_extension(format, alpha ? 4 : 3,
                            EffectRegistry::builtin().get(chain.back().effect));
}

bool streamable_format(const std::string& format) {
    return format == "auto" || format == "png" || format == "jpeg" || format == "jpg" ||
           format == "tiff";
}

std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

// --point and --box: the `points` and `boxes` of the one effect of the run that takes prompts.
void add_prompts(const RunArgs& args, const EffectRegistry& registry,
                 const std::vector<std::string>& effects, std::map<std::string, ParamMap>& params) {
    if (args.points.empty() && args.boxes.empty()) return;
    std::vector<std::string> prompted;
    for (const auto& e : effects)
        if (registry.get(e).find_param("points") != nullptr) prompted.push_back(e);
    if (prompted.size() != 1)
        throw Error(Status::invalid_argument,
                    fmt::format("--point and --box prompt one segment effect; -e {} has {}",
                                args.effects, prompted.empty() ? "none" : join(prompted, ", ")));
    const EffectInfo& effect = registry.get(prompted.front());
    if (!args.points.empty())
        params[effect.name]["points"] = parse_param_text(effect, "points", join(args.points, ";"));
    if (!args.boxes.empty())
        params[effect.name]["boxes"] = parse_param_text(effect, "boxes", join(args.boxes, ";"));
}

// The graph `-e` describes: every effect reads the input, or with --cut one shared
// remove_background node that every other effect reads.
Graph graph_from_effects(const RunArgs& args, const EffectRegistry& registry, ModelStore& models) {
    std::vector<std::string> effects =
        args.effects == "all" ? registry.names() : split(args.effects, ',');
    if (args.effects == "all")
        effects.erase(std::remove_if(effects.begin(), effects.end(),
                                     [&](const std::string& e) {
                                         if (!registry.get(e).standalone) return true;
                                         const std::string model =
                                             missing_model(registry, registry.get(e), models);
                                         if (!model.empty() && !args.quiet)
                                             fmt::print(
                                                 stderr,
                                                 "artistry: note: -e all leaves out {}: model '{}' "
                                                 "is not installed (see `artistry models`)\n",
                                                 e, model);
                                         return !model.empty();
                                     }),
                      effects.end());
    if (effects.empty())
        throw Error(Status::invalid_argument, "no effect given (-e EFFECT[,EFFECT...])");
    for (const auto& e : effects) registry.get(e);  // unknown effect → error before any work
    std::map<std::string, ParamMap> params;
    for (const auto& item : args.params) {
        const auto dot = item.find('.');
        const auto eq = item.find('=');
        if (dot == std::string::npos || eq == std::string::npos || dot > eq)
            throw Error(Status::invalid_argument,
                        fmt::format("-p '{}': expected effect.param=value", item));
        const std::string effect = item.substr(0, dot);
        const std::string name = item.substr(dot + 1, eq - dot - 1);
        const bool used = std::find(effects.begin(), effects.end(), effect) != effects.end() ||
                          (args.cut && effect == "remove_background");
        if (!used)
            throw Error(Status::invalid_argument,
                        fmt::format("-p '{}': effect '{}' is not being run (-e {})", item, effect,
                                    args.effects));
        params[effect][name] = parse_param_text(registry.get(effect), name, item.substr(eq + 1));
    }
    add_prompts(args, registry, effects, params);
    return Graph::from_effects(effects, params, args.cut, registry);
}

// The engine a run asks for: the cache on or off, and which of its tiers.
EngineOptions engine_options(const RunArgs& args) {
    EngineOptions options;
    if (args.no_cache) options.cache_options.enabled = false;
    if (!args.cache_tiers.empty()) set_cache_tiers(options.cache_options, args.cache_tiers);
    return options;
}

// The graph to run: a spec from --graph, or the one -e, -p and --cut describe.
Graph run_graph(const RunArgs& args, Engine& engine) {
    const EffectRegistry& registry = engine.registry();
    if (!args.graph_file.empty() && (!args.params.empty() || args.cut || args.effects != "all" ||
                                     !args.points.empty() || !args.boxes.empty()))
        throw Error(Status::invalid_argument,
                    "--graph takes its effects and parameters from the spec; "
                    "drop -e, -p, --cut, --point and --box");
    return args.graph_file.empty() ? graph_from_effects(args, registry, engine.models())
                                   : Graph::from_json_file(args.graph_file, registry);
}

void check_tile_options(const RunArgs& args) {
    if (args.tile > 0 && !streamable_format(args.format))
        throw Error(Status::invalid_argument,
                    fmt::format("--tile streams the image, and streaming writes JPEG, PNG or TIFF: "
                                "use --format auto, png, jpeg or tiff, not {}",
                                args.format));
    if (args.tile > 0 && args.contact_sheet)
        throw Error(Status::invalid_argument,
                    "--contact-sheet needs the whole images in memory: drop it or --tile");
}

void create_out_dir(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(Status::io_error, fmt::format("cannot create '{}': {}", dir, ec.message()));
}

// What a run has produced, said once every image is done.
struct RunReport {
    std::vector<std::string> written;
    std::vector<std::string> notes;  // after a file's name in the "wrote" lines
    std::vector<std::string> failures;
    nlohmann::json data = nlohmann::json::object();  // image → node → its structured output

    void wrote(const std::string& file, std::string note = {}) {
        written.push_back(file);
        notes.push_back(std::move(note));
    }
};

// What every image of a run shares.
struct RunSetup {
    const RunArgs& args;
    Engine& engine;
    const Graph& graph;
    LoadOptions load;
    SaveOptions save;
};

std::string output_file(const RunArgs& args, const std::string& stem, const std::string& id,
                        const std::string& extension) {
    return (fs::path(args.out_dir) / fmt::format("{}_{}.{}", stem, id, extension)).string();
}

// A streamed image stays within --max-megapixels unless --tile asks, and is written in a
// format the streaming encoders know.
void check_streamed(const RunSetup& run, const std::string& path, const FilePlan& plan) {
    const RunArgs& args = run.args;
    const std::uint64_t pixels =
        static_cast<std::uint64_t>(plan.width) * static_cast<std::uint64_t>(plan.height);
    if (args.tile == 0 && pixels > run.load.max_pixels)
        throw Error(Status::limit_exceeded,
                    fmt::format("{}: {}x{} ({:.1f} MP) is over the limit of {} MP; raise "
                                "--max-megapixels, or stream it with --tile SIZE",
                                path, plan.width, plan.height, static_cast<double>(pixels) / 1e6,
                                args.max_megapixels));
    if (!streamable_format(args.format))
        throw Error(Status::unsupported,
                    fmt::format("{}: {}x{} is streamed (over the streaming threshold of {}), "
                                "and streaming writes JPEG, PNG or TIFF: use --format auto, "
                                "png, jpeg or tiff, not {}",
                                path, plan.width, plan.height, format_bytes(plan.threshold_bytes),
                                args.format));
}

// Large inputs (or --tile) stream band by band through Engine::run_file: memory stays
// bounded by the band; no contact sheet then (the images are never whole).
void run_streamed(const RunSetup& run, const std::string& path, const FilePlan& plan,
                  FileRunOptions file_options, RunReport& report) {
    check_streamed(run, path, plan);
    const RunArgs& args = run.args;
    const std::string stem = fs::path(path).stem().string();
    std::map<std::string, std::string> files;
    for (const auto& id : run.graph.outputs())
        files[id] = output_file(args, stem, id, streamed_extension(args.format, plan, id));
    file_options.force_streaming = true;  // as planned
    const FileRunResult result = run.engine.run_file(run.graph, path, files, file_options);
    for (const auto& [id, json] : result.result.data)
        report.data[path][id] = nlohmann::json::parse(json);
    for (const auto& id : run.graph.outputs()) {
        const auto it = result.written.find(id);
        if (it == result.written.end()) continue;
        const auto stats = result.tiled.find(id);
        report.wrote(it->second, stats == result.tiled.end()
                                     ? std::string()
                                     : fmt::format(" (streamed: {} bands of {} rows)",
                                                   stats->second.bands, stats->second.tile_size));
    }
    if (args.contact_sheet && !args.quiet)
        fmt::print(stderr, "artistry: note: no contact sheet for {}: it was streamed\n", path);
}

void write_contact_sheet(const RunSetup& run, const std::string& stem,
                         const std::vector<Image>& images, const std::vector<std::string>& labels,
                         RunReport& report) {
    const std::string name = run.args.images.size() == 1
                                 ? "contact_sheet.jpg"
                                 : fmt::format("{}_contact_sheet.jpg", stem);
    const std::string file = (fs::path(run.args.out_dir) / name).string();
    save_image(make_contact_sheet(images, labels), file, run.save);
    report.wrote(file);
}

// The whole image in memory: each output written, then the contact sheet if asked for.
void run_in_memory(const RunSetup& run, const std::string& path, const RunOptions& options,
                   RunReport& report) {
    const std::string stem = fs::path(path).stem().string();
    const Image input = load_image(path, run.load);
    const Result result = run.engine.run(run.graph, input, options);
    for (const auto& [id, json] : result.data) report.data[path][id] = nlohmann::json::parse(json);

    std::vector<Image> sheet_images{input};
    std::vector<std::string> sheet_labels{"original"};
    for (const auto& id : run.graph.outputs()) {
        const auto it = result.outputs.find(id);
        if (it == result.outputs.end()) continue;
        const std::string file =
            output_file(run.args, stem, id,
                        output_extension(run.args.format, it->second.channels(),
                                         EffectRegistry::builtin().get(run.graph.node(id).op)));
        // The streaming encoders for JPEG, PNG and TIFF: the bytes a streamed run writes.
        save_run_output(it->second, file, run.save);
        report.wrote(file);
        sheet_images.push_back(it->second);
        sheet_labels.push_back(id);
    }
    for (const auto& node : result.nodes)
        if (node.status == NodeStatus::failed && node.cause.empty())
            report.failures.push_back(fmt::format("{}: node '{}': {}", path, node.id, node.error));
    if (result.status == RunStatus::cancelled) throw Error(Status::cancelled, "cancelled");

    if (run.args.contact_sheet && sheet_images.size() > 1)
        write_contact_sheet(run, stem, sheet_images, sheet_labels, report);
}

// One image: streamed when the engine's plan says so, else whole.
void run_image(const RunSetup& run, const std::string& path, const RunOptions& options,
               RunReport& report) {
    FileRunOptions file_options;
    file_options.tile_size = run.args.tile;
    file_options.load = run.load;
    file_options.save = run.save;
    file_options.run = options;
    const FilePlan plan = run.engine.plan_file(run.graph, path, file_options);
    if (plan.stream)
        run_streamed(run, path, plan, file_options, report);
    else
        run_in_memory(run, path, options, report);
}

void write_data_file(const std::string& file, RunReport& report) {
    std::ofstream out(file);
    out << report.data.dump(2) << "\n";
    if (!out) throw Error(Status::io_error, fmt::format("cannot write '{}'", file));
    report.wrote(file);
}

// The "wrote" lines, then the failed nodes as the one error line: independent outputs were
// still written.
void finish_report(const RunArgs& args, const RunReport& report) {
    if (!args.quiet)
        for (std::size_t k = 0; k < report.written.size(); ++k)
            fmt::print("wrote {}{}\n", report.written[k], report.notes[k]);
    if (!report.failures.empty())
        throw Error(Status::internal, fmt::format("{}", fmt::join(report.failures, "; ")));
}

int run_command(const RunArgs& args) {
    Engine engine(engine_options(args));
    const Graph graph = run_graph(args, engine);
    check_tile_options(args);
    create_out_dir(args.out_dir);

    RunSetup run{args, engine, graph, {}, {}};
    run.load.max_pixels = args.max_megapixels * 1'000'000;
    run.load.max_dimension = args.max_dimension;
    run.load.max_file_bytes = args.max_file_mb << 20;
    run.save.jpeg_quality = run.save.webp_quality = args.quality;

    cli::ProgressBar bar(!args.quiet && ::isatty(STDERR_FILENO));
    RunReport report;
    const double images = static_cast<double>(args.images.size());
    for (std::size_t i = 0; i < args.images.size(); ++i) {
        const std::string& path = args.images[i];
        const std::string stem = fs::path(path).stem().string();
        RunOptions options;
        options.max_parallel = args.max_parallel;
        options.progress = [&](const ProgressEvent& ev) {
            bar.update((static_cast<double>(i) + ev.fraction) / images, ev.eta_seconds,
                       ev.node.empty() ? stem : fmt::format("{}: {}", stem, ev.node));
        };
        run_image(run, path, options, report);
    }
    bar.finish();
    if (!args.data_file.empty()) write_data_file(args.data_file, report);
    finish_report(args, report);
    return 0;
}

int graph_command(const std::string& spec, bool validate) {
    const Graph graph = Graph::from_json_file(spec);
    if (validate) {
        fmt::print("{}: valid, {} nodes, outputs: {}\n", spec, graph.nodes().size(),
                   fmt::join(graph.outputs(), ", "));
    } else {
        fmt::print("{}\n", graph.to_json(2));
    }
    return 0;
}

void print_info() {
    fmt::print("artistry {}\n", version());
    fmt::print("build: {}\n", build_info());
    fmt::print("devices:\n  cpu: {} hardware threads\n", std::thread::hardware_concurrency());
    fmt::print("  cuda: not available in this build\n");
    fmt::print("effects: {}\n", fmt::join(EffectRegistry::builtin().names(), ", "));
    fmt::print("formats: jpeg, png, webp, tiff, bmp (read and write)\n");
}

CLI::App* add_run_command(CLI::App& app, RunArgs& args) {
    auto* run = app.add_subcommand("run", "Apply effects to images and write the results");
    run->add_option("images", args.images, "Input images")->required()->check(CLI::ExistingFile);
    run->add_option("-e,--effects", args.effects,
                    "Comma-separated effects, or 'all' (see `artistry effects`)")
        ->capture_default_str();
    run->add_option("--graph", args.graph_file, "Run a graph spec (JSON) instead of -e")
        ->check(CLI::ExistingFile);
    run->add_option("-j,--max-parallel", args.max_parallel,
                    "Effects run at once (0: the engine's default, PARALLEL_BATCH_SIZE)")
        ->check(CLI::Range(0, 256));
    run->add_option("-o,--out", args.out_dir, "Output folder (created if missing)")
        ->capture_default_str();
    run->add_option("-p,--param", args.params, "Effect parameter, effect.param=value (repeatable)");
    run->add_flag("--contact-sheet", args.contact_sheet,
                  "Also write contact_sheet.jpg: the input and each result, labelled");
    run->add_flag("--cut", args.cut,
                  "Remove the background once and apply the other effects to the cut-out (ISNet's "
                  "matte when installed, see `artistry models`; else the classical one)");
    run->add_option("--format", args.format, "Output format: auto, png, jpeg, webp, tiff, bmp")
        ->check(CLI::IsMember({"auto", "png", "jpeg", "jpg", "webp", "tiff", "bmp"}))
        ->capture_default_str();
    run->add_option("-q,--quality", args.quality, "JPEG/WebP quality")
        ->check(CLI::Range(1, 100))
        ->capture_default_str();
    run->add_option("--max-megapixels", args.max_megapixels,
                    "Refuse larger inputs (decompression-bomb guard); --tile lifts it (the "
                    "stream is bounded by the band)")
        ->capture_default_str();
    run->add_option("--max-dimension", args.max_dimension,
                    "Refuse inputs wider or taller than this many pixels, streamed or not")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    run->add_option("--max-file-mb", args.max_file_mb,
                    "Refuse input files larger than this many MiB before reading them; --tile "
                    "lifts it")
        ->capture_default_str();
    run->add_option(
           "--tile", args.tile,
           "Stream each image in bands of SIZE rows (memory bounded by the band; JPEG, PNG "
           "or TIFF in and out; no contact sheet). Without it, inputs over a quarter of the "
           "memory budget (ARTISTRY_MEMORY_BUDGET) are streamed in bands sized for speed (the "
           "CPU caches and cores), the budget only bounding them")
        ->check(CLI::Range(1, 1 << 20));
    run->add_option("--data", args.data_file,
                    "Write the nodes' structured outputs (faces and objects found, the matting "
                    "method used, the segment's prompts and mask scores) to this JSON file: "
                    "{image: {node: data}}");
    run->add_option("--point", args.points,
                    "X,Y in image pixels: a foreground point for the segment effect (repeatable; "
                    "-e segment)");
    run->add_option("--box", args.boxes,
                    "X,Y,W,H in image pixels: a box around the object for the segment effect "
                    "(repeatable: one mask each, joined)");
    run->add_flag("--quiet", args.quiet, "No progress output");
    run->add_flag("--no-cache", args.no_cache,
                  "Compute every node; by default results are cached by content "
                  "(ARTISTRY_CACHE, ARTISTRY_CACHE_DIR, ARTISTRY_REDIS_URL)");
    run->add_option("--cache-tiers", args.cache_tiers,
                    "Cache tiers to use: a list of memory, disk, redis (redis needs "
                    "ARTISTRY_REDIS_URL), or none; default: memory,disk and redis when a URL is "
                    "set (ARTISTRY_CACHE_TIERS)");
    return run;
}

CLI::App* add_models_command(CLI::App& app, bool& json) {
    auto* models = app.add_subcommand(
        "models", "List installed models: name, task, backend, size, license, loaded");
    models->add_flag("--json", json, "Print them as JSON");
    return models;
}

struct GraphArgs {
    std::string spec;
    bool validate = false;
};

CLI::App* add_graph_command(CLI::App& app, GraphArgs& args) {
    auto* graph = app.add_subcommand("graph", "Check a graph spec, or print it normalised");
    graph->add_option("spec", args.spec, "Graph spec (JSON)")->required();
    graph->add_flag("--validate", args.validate, "Only say whether it is valid");
    return graph;
}

}  // namespace

int main(int argc, char** argv) {
    // A run frees and reallocates large buffers (bands, model activations) over and over: keep
    // them in the heap rather than return them to the kernel and fault them in again, which
    // cost a model run a third of its time. Environment settings (MALLOC_*_) still win.
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 64 << 20);
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 512 << 20);
    CLI::App app{"artistry: image effects from the command line"};
    app.require_subcommand(1);
    app.set_version_flag("--version", std::string(version()));
    RunArgs run_args;
    cli::EffectsArgs effects_args;
    bool models_json = false;
    GraphArgs graph_args;
    auto* run = add_run_command(app, run_args);
    auto* effects = cli::add_effects_command(app, effects_args);
    auto* info = app.add_subcommand("info", "Version, devices and build options");
    auto* models = add_models_command(app, models_json);
    auto* graph = add_graph_command(app, graph_args);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        if (run->parsed()) return run_command(run_args);
        if (effects->parsed()) cli::effects_command(effects_args);
        if (info->parsed()) print_info();
        if (models->parsed()) return cli::models_command(models_json);
        if (graph->parsed()) return graph_command(graph_args.spec, graph_args.validate);
    } catch (const Error& e) {
        fmt::print(stderr, "artistry: error: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "artistry: error: {}\n", e.what());
        return 1;
    }
    return 0;
}
