// bench/effects: every effect on a 12 MP photo (median ms, MP/s), and Floyd–Steinberg dither
// on a 4096×2304 grey image side by side with ImageMagick, in one run.
//
// Usage: bench_effects [--reps N] [--cli PATH/TO/artistry] [--photo PATH]

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/artistry.hpp"
#include "artistry/opencv.hpp"

using namespace artistry;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const auto n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

template <class F>
double time_ms(F&& f) {
    const auto t0 = Clock::now();
    f();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

Image upscale(const Image& src, int w, int h) {
    cv::Mat out;
    cv::resize(as_mat(src), out, {w, h}, 0, 0, cv::INTER_CUBIC);
    return from_mat(out);
}

struct Case {
    std::string label;
    std::string effect;
    ParamMap params;
};

struct Options {
    int reps = 5;
    std::string cli;    // the artistry CLI, for the end-to-end comparison (optional)
    std::string photo;  // default: the shared fixture photo, else a test image
};

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--reps" && i + 1 < argc)
            o.reps = std::max(1, std::atoi(argv[++i]));
        else if (a == "--cli" && i + 1 < argc)
            o.cli = argv[++i];
        else if (a == "--photo" && i + 1 < argc)
            o.photo = argv[++i];
    }
    if (o.photo.empty()) {
        const fs::path shared = fs::path(ARTISTRY_BENCH_SOURCE_DIR) / ".." / "shared" / "fixtures" /
                                "images" / "bythewater_1920.jpg";
        o.photo =
            fs::exists(shared)
                ? shared.string()
                : (fs::path(ARTISTRY_BENCH_SOURCE_DIR) / "tests/data/squirrel_cls.jpg").string();
    }
    return o;
}

// Every effect's median time on the photo, one warm-up run first.
void effects_table(const Image& photo12, int reps) {
    const double mp = photo12.pixel_count() / 1e6;
    const std::vector<Case> cases = {
        {"enhanced_bw (defaults)", "enhanced_bw", {}},
        {"enhanced_bw, no CLAHE, no grain", "enhanced_bw", {{"clahe", false}, {"grain", 0.0}}},
        {"pop_art (defaults)", "pop_art", {}},
        {"pop_art + halftone", "pop_art", {{"halftone", true}}},
        {"retro_8bit (defaults)", "retro_8bit", {}},
        {"retro_8bit adaptive 16 + FS",
         "retro_8bit",
         {{"palette", std::string("adaptive")}, {"dither", std::string("floyd_steinberg")}}},
        {"dither FS, bw",
         "dither",
         {{"method", std::string("floyd_steinberg")}, {"palette", std::string("bw")}}},
        {"dither bayer8, bw",
         "dither",
         {{"method", std::string("bayer8")}, {"palette", std::string("bw")}}},
        {"dither FS, pico8",
         "dither",
         {{"method", std::string("floyd_steinberg")}, {"palette", std::string("pico8")}}},
        {"color (defaults)", "color", {}},
        {"color preset vintage", "color", {{"preset", std::string("vintage")}}},
        {"remove_background (classical)", "remove_background", {}},
    };
    fmt::print("| effect | median ms | MP/s |\n|---|---:|---:|\n");
    const auto& registry = EffectRegistry::builtin();
    for (const auto& c : cases) {
        if (!registry.find(c.effect)) continue;
        try {
            registry.resolve(c.effect, c.params);
        } catch (const Error& e) {
            fmt::print("| {} | skipped: {} | |\n", c.label, e.what());
            continue;
        }
        apply_effect(c.effect, photo12, c.params);  // warm-up (tables, masks, thread pool)
        std::vector<double> ms;
        for (int r = 0; r < reps; ++r)
            ms.push_back(time_ms([&] { apply_effect(c.effect, photo12, c.params); }));
        const double m = median(ms);
        fmt::print("| {} | {:.1f} | {:.1f} |\n", c.label, m, mp / (m / 1000));
    }
}

// Floyd–Steinberg to black and white on a 4096×2304 grey image vs ImageMagick: the kernel in
// memory, and (with the CLI) PNG in to PNG out.
void dither_vs_imagemagick(const Image& photo12, int reps, const std::string& cli) {
    cv::Mat grey;
    cv::cvtColor(as_mat(upscale(photo12, 4096, 2304)), grey, cv::COLOR_RGB2GRAY);
    const Image grey_img = from_mat(grey);
    const double grey_mp = grey_img.pixel_count() / 1e6;
    const ParamMap fs_bw = {{"method", std::string("floyd_steinberg")},
                            {"palette", std::string("bw")},
                            {"serpentine", false}};
    fmt::print("\n# Floyd–Steinberg, black/white, 4096x2304 grey ({:.1f} MP)\n\n", grey_mp);
    if (!EffectRegistry::builtin().find("dither")) return;
    std::vector<double> kernel;
    apply_effect("dither", grey_img, fs_bw);
    for (int r = 0; r < reps; ++r)
        kernel.push_back(time_ms([&] { apply_effect("dither", grey_img, fs_bw); }));

    const fs::path tmp = fs::temp_directory_path() / fmt::format("artistry-bench-{}", ::getpid());
    fs::create_directories(tmp);
    const std::string in = (tmp / "grey.png").string();
    SaveOptions fast_png;
    fast_png.png_compression = 1;
    save_image(grey_img, in, fast_png);
    const std::string im_full =
        fmt::format("convert '{}' -colorspace Gray -dither FloydSteinberg -monochrome '{}'", in,
                    (tmp / "im.png").string());
    const std::string im_decode_only = fmt::format("convert '{}' -colorspace Gray null:", in);
    const std::string im_no_encode =
        fmt::format("convert '{}' -colorspace Gray -dither FloydSteinberg -monochrome null:", in);
    const std::string ours_full =
        cli.empty()
            ? ""
            : fmt::format(
                  "'{}' run '{}' -e dither -p dither.method=floyd_steinberg -p dither.palette=bw "
                  "-p dither.serpentine=false -o '{}' --format png --quiet",
                  cli, in, (tmp / "ours").string());
    std::vector<double> im, im_dec, im_noenc, ours;
    for (int r = 0; r < reps; ++r) {  // alternate the tools so drift hits both alike
        im.push_back(time_ms([&] { (void)std::system(im_full.c_str()); }));
        im_dec.push_back(time_ms([&] { (void)std::system(im_decode_only.c_str()); }));
        im_noenc.push_back(time_ms([&] { (void)std::system(im_no_encode.c_str()); }));
        if (!ours_full.empty())
            ours.push_back(time_ms([&] { (void)std::system(ours_full.c_str()); }));
    }
    const double k = median(kernel);
    const double im_kernel = std::max(1.0, median(im_noenc) - median(im_dec));
    fmt::print("| measurement | median ms | MP/s |\n|---|---:|---:|\n");
    fmt::print("| artistry dither kernel (in memory) | {:.1f} | {:.1f} |\n", k,
               grey_mp / (k / 1000));
    fmt::print(
        "| ImageMagick dither (decode+dither, no encode) − (decode only) | {:.1f} | {:.1f} |\n",
        im_kernel, grey_mp / (im_kernel / 1000));
    if (!ours.empty())
        fmt::print("| artistry CLI, PNG in → PNG out | {:.1f} | {:.1f} |\n", median(ours),
                   grey_mp / (median(ours) / 1000));
    fmt::print("| ImageMagick convert, PNG in → PNG out | {:.1f} | {:.1f} |\n", median(im),
               grey_mp / (median(im) / 1000));
    fmt::print("\nkernel ratio (ImageMagick / artistry): {:.1f}x\n", im_kernel / k);
    if (!ours.empty())
        fmt::print("end-to-end ratio (ImageMagick / artistry CLI): {:.2f}x\n",
                   median(im) / median(ours));
    fs::remove_all(tmp);
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    const Image photo12 = upscale(load_image(o.photo), 4000, 3000);
    const double mp = photo12.pixel_count() / 1e6;
    fmt::print("# bench/effects — {} upscaled to {}x{} ({:.1f} MP), {} reps, median\n\n",
               fs::path(o.photo).filename().string(), photo12.width(), photo12.height(), mp,
               o.reps);
    effects_table(photo12, o.reps);
    dither_vs_imagemagick(photo12, o.reps, o.cli);
    return 0;
}
