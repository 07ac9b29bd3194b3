// bench/concurrency: 8 concurrent runs of the five-effect graph (remove_background, then
// enhanced_bw, pop_art, retro_8bit, dither, color) on a 12 MP photo, under a CPU memory budget
// of half what the 8 runs need together, against an unbounded budget. Each run reserves its
// estimated footprint from the MemoryManager before it starts and releases it when done (a
// stand-in for the per-node reservations the executor will make once the manager is wired in).
// Usage: bench_concurrency [--runs N] [--photo PATH]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <opencv2/imgproc.hpp>

#include "artistry/engine.hpp"
#include "artistry/io.hpp"
#include "artistry/memory.hpp"
#include "artistry/opencv.hpp"

using namespace artistry;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

const char* const effects[] = {"enhanced_bw", "pop_art", "retro_8bit", "dither", "color"};

Graph five_effect_graph() {
    Graph::Builder b;
    b.node("cut", "remove_background");
    for (const char* op : effects) b.node(op, op, {"cut"}).output(op);
    return b.build();
}

// The run's footprint: each node's own estimate plus its RGBA output, and the input.
std::uint64_t run_estimate(const Graph& graph, const Image& input) {
    std::uint64_t bytes = input.byte_size();
    for (const NodeSpec& n : graph.nodes()) {
        const EffectInfo& info = graph.registry().get(n.op);
        bytes += info.plan(graph.params(n.id), input.width(), input.height(), {}).memory_bytes;
        bytes += input.pixel_count() * 4;
    }
    return bytes;
}

double max_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;
}

struct Outcome {
    double wall = 0;
    int ok = 0;
    MemoryStats memory;
    double rss_mb = 0;
};

Outcome run_all(Engine& engine, const Graph& graph, const Image& photo, int runs,
                std::uint64_t need, std::uint64_t budget) {
    MemoryOptions mo;
    mo.use_environment = false;
    mo.devices = {{Device::cpu(), Budget{budget, 0}, budget}};
    mo.pressure_threshold = 1.0;
    MemoryManager memory(mo);
    std::atomic<int> ok{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < runs; ++i) {
        threads.emplace_back([&] {
            const Reservation r = memory.reserve(Device::cpu(), need, std::chrono::minutes(30));
            if (engine.run(graph, photo).ok()) ++ok;
        });
    }
    for (auto& t : threads) t.join();
    Outcome o;
    o.wall = std::chrono::duration<double>(Clock::now() - t0).count();
    o.ok = ok.load();
    o.memory = memory.stats(Device::cpu());
    o.rss_mb = max_rss_mb();
    return o;
}

}  // namespace

// Runs one configuration in a child process, so each reports its own peak RSS.
int run_child(const std::string& mode, const std::vector<std::string>& passthrough) {
    std::string cmd = "'";
    cmd += fs::read_symlink("/proc/self/exe").string();
    cmd += "' --mode ";
    cmd += mode;
    for (const auto& a : passthrough) {
        cmd += " '";
        cmd += a;
        cmd += "'";
    }
    std::fflush(stdout);
    return std::system(cmd.c_str());
}

int main(int argc, char** argv) {
    int runs = 8;
    std::string photo_path, mode;
    std::vector<std::string> passthrough;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
            passthrough.insert(passthrough.end(), {a, argv[i]});
        } else if (a == "--photo" && i + 1 < argc) {
            photo_path = argv[++i];
            passthrough.insert(passthrough.end(), {a, argv[i]});
        } else if (a == "--mode" && i + 1 < argc) {
            mode = argv[++i];
        } else {
            std::fprintf(stderr, "usage: bench_concurrency [--runs N] [--photo PATH]\n");
            return 2;
        }
    }
    if (photo_path.empty()) {
        const fs::path source(ARTISTRY_BENCH_SOURCE_DIR);
        const fs::path shared =
            source / ".." / "shared" / "fixtures" / "images" / "bythewater_1920.jpg";
        photo_path = fs::exists(shared) ? shared.string()
                                        : (source / "tests/data/squirrel_cls.jpg").string();
    }
    const Image small = load_image(photo_path);
    cv::Mat big;
    cv::resize(as_mat(small), big, cv::Size(4000, 3000), 0, 0, cv::INTER_CUBIC);
    const Image photo = from_mat(big);
    const Graph graph = five_effect_graph();
    const std::uint64_t need = run_estimate(graph, photo);
    const std::uint64_t bounded = need * static_cast<std::uint64_t>(runs) / 2;
    const std::uint64_t unbounded = need * static_cast<std::uint64_t>(runs) * 4;

    if (mode.empty()) {
        std::printf(
            "# bench/concurrency\n\n%d concurrent runs of remove_background → %s, %s, %s, "
            "%s, %s on %s upscaled to %dx%d (%.1f MP). Estimated footprint per run %s "
            "(effect estimates + RGBA outputs + input); each configuration in its own "
            "process.\n\n",
            runs, effects[0], effects[1], effects[2], effects[3], effects[4],
            fs::path(photo_path).filename().c_str(), photo.width(), photo.height(),
            static_cast<double>(photo.pixel_count()) / 1e6, format_bytes(need).c_str());
        std::printf(
            "| budget | finished | peak reserved | ≤ budget | waits | wall s | runs/min | "
            "max RSS |\n|---|---|---|---|---|---|---|---|\n");
        const int a = run_child("bounded", passthrough);
        const int b = run_child("unbounded", passthrough);
        return a == 0 && b == 0 ? 0 : 1;
    }
    EngineOptions eo;
    eo.use_environment = false;
    eo.cache_options.enabled = false;  // measure the effects, not cache hits
    Engine engine(eo);
    const bool half = mode == "bounded";
    const std::uint64_t budget = half ? bounded : unbounded;
    const Outcome o = run_all(engine, graph, photo, runs, need, budget);
    std::printf(
        "| %s (%s), %d threads | %d/%d | %s | %s | %llu | %.1f | %.2f | %.0f MB |\n",
        half ? "half of the need" : "unbounded", format_bytes(budget).c_str(), engine.threads(),
        o.ok, runs, format_bytes(o.memory.peak).c_str(), o.memory.peak <= budget ? "yes" : "**NO**",
        static_cast<unsigned long long>(o.memory.waits), o.wall, 60.0 * runs / o.wall, o.rss_mb);
    return o.ok == runs && o.memory.peak <= budget ? 0 : 1;
}
