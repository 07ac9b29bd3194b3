// bench/models: the installed models through the library, side by side with a peer.
//  1. ISNet at 1024²: median inference latency through ModelStore, alternating blocks with the
//     same ONNX file in onnxruntime-node (bench/models_ort.js), same thread count; the ratio.
//  2. remove_background (model=isnet) end to end on a 12 MP photo: wall and peak RSS (a child
//     process each, so the peak is that run's alone).
//  3. upscale 4× of a 2 MP photo: wall and peak RSS, tiled (tile=256) and whole (tile=0), and
//     whether their bytes differ.
//
//   bench_models [--reps N] [--threads T] [--ort DIR] [--skip-ort] [--json FILE]
//                [--isnet NAME] [--only-isnet]   (isnet-ts: the TorchScript conversion)
//   bench_models --child cutout|upscale-tiled|upscale-whole IN OUT   (internal)

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "artistry/effect.hpp"
#include "artistry/io.hpp"
#include "artistry/models.hpp"
#include "artistry/opencv.hpp"

extern char** environ;
using namespace artistry;
namespace fs = std::filesystem;

namespace {

struct Child {
    double wall_s = 0;
    double rss_mib = 0;
    std::string out;  // stdout
};

// Runs a command, captures its stdout, measures wall time and the child's peak RSS.
Child spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int pipefd[2];
    if (pipe(pipefd) != 0) std::exit(2);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&actions, pipefd[0]);
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = 0;
    if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
        std::fprintf(stderr, "bench_models: cannot start %s\n", argv[0]);
        std::exit(2);
    }
    posix_spawn_file_actions_destroy(&actions);
    close(pipefd[1]);
    Child c;
    char buf[4096];
    for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) c.out.append(buf, n);
    close(pipefd[0]);
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    c.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    c.rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "bench_models: %s failed\n", args[0].c_str());
        std::exit(2);
    }
    return c;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

template <class F>
double time_ms(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

Image resized(const Image& src, int w, int h) {
    cv::Mat out;
    cv::resize(as_mat(src), out, {w, h}, 0, 0, cv::INTER_CUBIC);
    return from_mat(out);
}

fs::path fixture(const char* name) {
    return fs::path(ARTISTRY_BENCH_SOURCE_DIR) / ".." / "shared" / "fixtures" / "images" / name;
}

int child(const std::string& what, const std::string& in, const std::string& out) {
    const Image input = load_image(in);
    Image result;
    if (what == "cutout")
        result = apply_effect("remove_background", input, {{"model", std::string("isnet")}});
    else if (what == "upscale-tiled")
        result = apply_effect("upscale", input,
                              {{"scale", std::int64_t{4}}, {"tile", std::int64_t{256}}});
    else if (what == "upscale-whole")
        result =
            apply_effect("upscale", input, {{"scale", std::int64_t{4}}, {"tile", std::int64_t{0}}});
    else
        return 2;
    save_image(result, out);
    return 0;
}

fs::path default_ort_dir() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    const fs::path cache = xdg && *xdg ? fs::path(xdg) : fs::path(home ? home : "/tmp") / ".cache";
    return cache / "artistry" / "fetch" / "node" / "node_modules" / "onnxruntime-node";
}

struct Options {
    int reps = 5;
    int threads = 2;
    bool skip_ort = false;
    bool only_isnet = false;
    std::string isnet_name = "isnet";  // or isnet-ts: the same network through LibTorch
    fs::path ort_dir = default_ort_dir();
    fs::path json_path = fs::path(ARTISTRY_BENCH_SOURCE_DIR) / "bench" / "results" / "models.json";
};

// False (after saying which) on an argument it does not know.
bool parse_options(const std::vector<std::string>& args, Options& o) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--reps" && i + 1 < args.size())
            o.reps = std::stoi(args[++i]);
        else if (args[i] == "--threads" && i + 1 < args.size())
            o.threads = std::stoi(args[++i]);
        else if (args[i] == "--ort" && i + 1 < args.size())
            o.ort_dir = args[++i];
        else if (args[i] == "--json" && i + 1 < args.size())
            o.json_path = args[++i];
        else if (args[i] == "--skip-ort")
            o.skip_ort = true;
        else if (args[i] == "--isnet" && i + 1 < args.size())
            o.isnet_name = args[++i];
        else if (args[i] == "--only-isnet")
            o.only_isnet = true;
        else {
            std::fprintf(stderr, "bench_models: unknown argument '%s'\n", args[i].c_str());
            return false;
        }
    }
    return true;
}

// 1. ISNet latency, library vs onnxruntime-node, alternating blocks.
nlohmann::json isnet_latency(ModelStore& store, const ModelSpec& isnet_spec,
                             const ModelSpec& isnet_onnx, const Options& o) {
    Tensor input({1, 3, 1024, 1024});
    for (std::size_t i = 0; i < input.values.size(); ++i)
        input.values[i] = static_cast<float>(i % 4099) / 4099.0f - 0.5f;
    double load_ms = 0;
    std::shared_ptr<const Model> isnet;
    load_ms = time_ms([&] { isnet = store.get(o.isnet_name); });
    isnet->run({input});  // warm-up
    std::vector<double> lib_ms, ort_ms;
    double ort_load_ms = 0;
    const int blocks = 3;
    for (int b = 0; b < blocks; ++b) {
        for (int r = 0; r < o.reps; ++r) lib_ms.push_back(time_ms([&] { isnet->run({input}); }));
        if (o.skip_ort) continue;
        const Child c =
            spawn({"node", fs::path(ARTISTRY_BENCH_SOURCE_DIR) / "bench" / "models_ort.js",
                   o.ort_dir.string(), isnet_onnx.file.string(), "input", "1,3,1024,1024",
                   std::to_string(o.reps), std::to_string(o.threads)});
        const auto j = nlohmann::json::parse(c.out);
        ort_load_ms = j["load_ms"].get<double>();
        for (double v : j["ms"]) ort_ms.push_back(v);
    }
    const double lib_med = median(lib_ms), ort_med = median(ort_ms);
    std::printf("ISNet 1024², %d threads: library (%s as %s, %s) %.0f ms (load %.0f ms)", o.threads,
                o.isnet_name.c_str(), isnet_spec.name.c_str(),
                model_backend_name(isnet_spec.backend), lib_med, load_ms);
    if (!o.skip_ort)
        std::printf(", onnxruntime-node %.0f ms (load %.0f ms), ratio %.2f×", ort_med, ort_load_ms,
                    lib_med / ort_med);
    std::printf("\n");
    return {{"model", o.isnet_name},
            {"form", isnet_spec.name},
            {"backend", model_backend_name(isnet_spec.backend)},
            {"library_ms", lib_med},
            {"library_load_ms", load_ms},
            {"ort_ms", ort_med},
            {"ort_load_ms", ort_load_ms},
            {"ratio", o.skip_ort ? 0.0 : lib_med / ort_med}};
}

// 2. remove_background with ISNet on the 12 MP photo, three child runs.
nlohmann::json cutout_runs(const std::string& self, const fs::path& tmp) {
    std::vector<double> cut_wall, cut_rss;
    for (int r = 0; r < 3; ++r) {
        const Child c = spawn({self, "--child", "cutout", tmp / "photo12.png", tmp / "cut.png"});
        cut_wall.push_back(c.wall_s);
        cut_rss.push_back(c.rss_mib);
    }
    std::printf(
        "remove_background isnet, 12 MP: %.2f s, peak RSS %.0f MiB (median of 3, load included)\n",
        median(cut_wall), median(cut_rss));
    return {{"wall_s", median(cut_wall)}, {"rss_mib", median(cut_rss)}};
}

// 3. upscale 4× of the 2 MP photo, tiled and whole, and how far apart their bytes are.
nlohmann::json upscale_runs(const std::string& self, const fs::path& tmp) {
    nlohmann::json up;
    for (const char* mode : {"upscale-tiled", "upscale-whole"}) {
        const Child c =
            spawn({self, "--child", mode, tmp / "photo2.png", tmp / (std::string(mode) + ".png")});
        std::printf("upscale 4×, 2 MP → 33 MP, %s: %.1f s, peak RSS %.0f MiB\n", mode, c.wall_s,
                    c.rss_mib);
        up[mode] = {{"wall_s", c.wall_s}, {"rss_mib", c.rss_mib}};
    }
    const Image tiled = load_image(tmp / "upscale-tiled.png");
    const Image whole = load_image(tmp / "upscale-whole.png");
    cv::Mat diff;
    cv::absdiff(as_mat(tiled), as_mat(whole), diff);
    double max_diff = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &max_diff);
    std::printf("upscale tiled vs whole: max difference %.0f per channel\n", max_diff);
    up["tiled_vs_whole_max_diff"] = max_diff;
    return up;
}

void write_report(const fs::path& json_path, const nlohmann::json& report) {
    fs::create_directories(json_path.parent_path());
    std::FILE* f = std::fopen(json_path.c_str(), "w");
    if (f) {
        std::fprintf(f, "%s\n", report.dump(2).c_str());
        std::fclose(f);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 4 && args[0] == "--child") return child(args[1], args[2], args[3]);
    Options o;
    if (!parse_options(args, o)) return 2;

    ModelStoreOptions store_options;
    store_options.intra_op_threads = o.threads;
    ModelStore store(store_options);
    const auto isnet_spec = store.find(o.isnet_name);  // "isnet": the form the store prefers
    std::optional<ModelSpec> isnet_onnx;               // the peer always runs the ONNX file
    for (auto& spec : store.available())
        if (spec.name == "isnet") isnet_onnx = spec;
    if (!isnet_spec || !isnet_onnx) {
        std::fprintf(
            stderr, "bench_models: isnet (and %s) not installed in %s (run scripts/fetch-models)\n",
            o.isnet_name.c_str(), store.dir().c_str());
        return 2;
    }
    nlohmann::json report;
    report["threads"] = o.threads;
    report["reps"] = o.reps;
    report["isnet"] = isnet_latency(store, *isnet_spec, *isnet_onnx, o);
    store.trim(~std::uint64_t{0});
    if (o.only_isnet) {
        std::printf("%s\n", report.dump().c_str());
        return 0;
    }

    // 2 and 3 in child processes: each peak RSS is that run's alone.
    const fs::path tmp =
        fs::temp_directory_path() / fmt::format("artistry-bench-models-{}", getpid());
    fs::create_directories(tmp);
    const Image photo = load_image(fixture("bythewater_1920.jpg"));
    save_image(resized(photo, 4000, 3000), tmp / "photo12.png");
    save_image(resized(photo, 1920, 1080), tmp / "photo2.png");
    const std::string self = fs::canonical("/proc/self/exe");
    report["cutout_12mp"] = cutout_runs(self, tmp);
    report["upscale_4x_2mp"] = upscale_runs(self, tmp);

    fs::remove_all(tmp);
    write_report(o.json_path, report);
    return 0;
}
