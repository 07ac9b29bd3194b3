// bench/large: the 151 MP case (a photo upscaled to 16384×9216 JPEG) through enhanced_bw
// (neutral, no CLAHE, no grain) JPEG → JPEG, side by side with `vips colourspace in out b-w`,
// alternating, medians of wall time and peak RSS (wait4 rusage of each child process); and,
// with --900, the 30000×30000 (900 MP) enhanced_bw → dither → PNG case once.
//
//   bench_large [--reps N] [--budget-mib M] [--900] [--dir DIR]
//   bench_large --run CHAIN IN OUT BUDGET_MIB    (internal: one streamed run, as a child)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artistry/io.hpp"
#include "artistry/stream.hpp"
#include "artistry/tiling.hpp"
#include "pattern_file.hpp"

extern char** environ;
using namespace artistry;

namespace {

struct Sample {
    double wall_s = 0;
    double rss_mib = 0;
};

Sample spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid = 0;
    if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
        std::fprintf(stderr, "cannot start %s\n", argv[0]);
        std::exit(2);
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "%s failed\n", args[0].c_str());
        std::exit(2);
    }
    return {wall, static_cast<double>(ru.ru_maxrss) / 1024.0};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The photo upscaled (bilinear) to w × h, written by bands: never whole in memory.
void make_upscaled(const std::string& photo, const std::string& out, int w, int h) {
    const Image src = load_image(photo);
    const int sw = src.width(), sh = src.height(), sc = src.channels();
    auto writer = ImageWriter::create(out, w, h, 3, SaveOptions{90, 1, 92});
    constexpr int band = 256;
    std::vector<int> x0(static_cast<std::size_t>(w));
    std::vector<float> fx(static_cast<std::size_t>(w));
    for (int x = 0; x < w; ++x) {
        const float sx = std::max(0.f, (x + 0.5f) * sw / w - 0.5f);
        x0[static_cast<std::size_t>(x)] = std::min(static_cast<int>(sx), sw - 2);
        fx[static_cast<std::size_t>(x)] = sx - static_cast<float>(x0[static_cast<std::size_t>(x)]);
    }
    for (int y0 = 0; y0 < h; y0 += band) {
        Image img = Image::allocate(w, std::min(band, h - y0), 3);
        for (int y = 0; y < img.height(); ++y) {
            const float sy = std::max(0.f, (y0 + y + 0.5f) * sh / h - 0.5f);
            const int r = std::min(static_cast<int>(sy), sh - 2);
            const float fy = sy - static_cast<float>(r);
            const std::uint8_t *a = src.row(r), *b = src.row(r + 1);
            std::uint8_t* q = img.row(y);
            for (int x = 0; x < w; ++x, q += 3) {
                const auto i = static_cast<std::size_t>(x0[static_cast<std::size_t>(x)]) * sc;
                const float f = fx[static_cast<std::size_t>(x)];
                for (int c = 0; c < 3; ++c) {
                    const int cc = sc >= 3 ? c : 0;
                    const float top = a[i + cc] + f * (a[i + sc + cc] - a[i + cc]);
                    const float bot = b[i + cc] + f * (b[i + sc + cc] - b[i + cc]);
                    q[c] = static_cast<std::uint8_t>(top + fy * (bot - top) + 0.5f);
                }
            }
        }
        writer->write_rows(img);
    }
    writer->finish();
}

int run_child(const std::string& chain_name, const std::string& in, const std::string& out,
              int budget_mib) {
    EffectChain chain = {
        {"enhanced_bw", {{"filter", std::string("neutral")}, {"clahe", false}, {"grain", 0.0}}}};
    if (chain_name == "bw_dither") chain.push_back({"dither", {}});
    TileOptions o;
    o.memory_budget_bytes = static_cast<std::uint64_t>(budget_mib) << 20;
    o.save.png_compression = 1;
    o.save.jpeg_quality = 75;  // vips' default Q
    const auto stats = run_tiled_file(chain, in, out, o);
    std::fprintf(stderr, "tile rows %d, planned %llu MiB\n", stats.tile_size,
                 static_cast<unsigned long long>(stats.planned_bytes >> 20));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        std::vector<std::string> args(argv + 1, argv + argc);
        if (args.size() == 5 && args[0] == "--run")
            return run_child(args[1], args[2], args[3], std::stoi(args[4]));
        int reps = 5, budget = 64;
        bool big = false;
        std::string dir = std::filesystem::temp_directory_path() / "artistry-bench-large";
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (args[i] == "--reps" && i + 1 < args.size())
                reps = std::stoi(args[++i]);
            else if (args[i] == "--budget-mib" && i + 1 < args.size())
                budget = std::stoi(args[++i]);
            else if (args[i] == "--900")
                big = true;
            else if (args[i] == "--dir" && i + 1 < args.size())
                dir = args[++i];
        }
        std::filesystem::create_directories(dir);
        const std::string self = std::filesystem::canonical("/proc/self/exe").string();
        std::string photo = std::string(ARTISTRY_BENCH_SOURCE_DIR) +
                            "/../shared/fixtures/images/bythewater_1920.jpg";
        if (!std::filesystem::exists(photo))
            photo = std::string(ARTISTRY_BENCH_SOURCE_DIR) + "/tests/data/fruits.jpg";
        const std::string in = dir + "/in_16384x9216.jpg";
        if (!std::filesystem::exists(in)) make_upscaled(photo, in, 16384, 9216);

        std::vector<double> ow, orss, vw, vrss;
        for (int r = 0; r < reps; ++r) {
            const Sample a =
                spawn({self, "--run", "bw", in, dir + "/ours.jpg", std::to_string(budget)});
            const Sample b = spawn({"vips", "colourspace", in, dir + "/vips.jpg", "b-w"});
            ow.push_back(a.wall_s), orss.push_back(a.rss_mib);
            vw.push_back(b.wall_s), vrss.push_back(b.rss_mib);
        }
        std::printf(
            "\n151 MP (16384x9216 JPEG from %s), enhanced_bw neutral, no CLAHE, no grain, "
            "JPEG->JPEG; %d alternating reps, medians; our budget %d MiB\n\n",
            std::filesystem::path(photo).filename().c_str(), reps, budget);
        std::printf("| tool | wall s | peak RSS MiB |\n|---|---:|---:|\n");
        std::printf("| artistry run_tiled_file | %.2f | %.0f |\n", median(ow), median(orss));
        std::printf("| vips colourspace b-w | %.2f | %.0f |\n", median(vw), median(vrss));
        std::printf("| ratio artistry / vips | %.2fx | %.2fx |\n", median(ow) / median(vw),
                    median(orss) / median(vrss));

        if (big) {
            const std::string in900 = dir + "/in_30000x30000.jpg";
            if (!std::filesystem::exists(in900)) support::write_pattern(in900, 30000, 30000, 85);
            const Sample s = spawn({self, "--run", "bw_dither", in900, dir + "/out900.png", "256"});
            std::printf(
                "\n900 MP (30000x30000 JPEG, procedural), enhanced_bw -> floyd_steinberg "
                "-> PNG, budget 256 MiB: wall %.1f s, peak RSS %.0f MiB\n",
                s.wall_s, s.rss_mib);
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_large: %s\n", e.what());
        return 1;
    }
}
