// A large image streamed file to file: memory stays bounded by the band, not the image, and the
// output equals the whole-image path on the parts that can be checked whole. The input is made
// by streaming too, so the image never exists whole in this process. Every run checks 10000×10000
// (100 MP); the 30000×30000 (900 MP) case runs on demand (see it below).

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/stream.hpp"
#include "artistry/tiling.hpp"
#include "pattern_file.hpp"
#include "test_support.hpp"

using namespace artistry;

namespace {

std::uint64_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmHWM:") {
            std::uint64_t kib = 0;
            status >> kib;
            return kib << 10;
        }
        std::getline(status, key);
    }
    return 0;
}

using support::write_pattern;

Image whole(const EffectChain& chain, Image img, const EffectContext& ctx = {}) {
    const auto& reg = EffectRegistry::builtin();
    for (const auto& s : chain)
        img = apply_effect(reg.get(s.effect), img, reg.resolve(s.effect, s.params), ctx);
    return img;
}

// Rows [y0, y0 + rows) of a file, read by streaming.
Image read_rows(const std::string& path, int y0, int rows) {
    LoadOptions load;
    load.max_pixels = std::uint64_t{1} << 40;
    auto reader = ImageReader::open(path, load);
    const int w = reader->info().width;
    for (int y = 0; y < y0; y += 256) reader->read_band(std::min(256, y0 - y));
    Image band = reader->read_band(rows);
    REQUIRE(band.width() == w);
    return band;
}

// enhanced_bw → Floyd–Steinberg, streamed from a generated w×h JPEG to PNG under `budget`:
// the run's plan stays in the budget with no whole-image stage; returns the peak RSS after it.
struct StreamedRun {
    std::string in, out;
    EffectChain chain;
    TileOptions options;
    std::uint64_t peak = 0;
};
StreamedRun stream_bw_dither(const test::TempDir& dir, int w, int h, std::uint64_t budget) {
    StreamedRun r{dir.file("in.jpg"),
                  dir.file("out.png"),
                  {{"enhanced_bw", {{"clahe", false}, {"contrast", 0.2}}},
                   {"dither", {{"method", std::string("floyd_steinberg")}}}},
                  {}};
    write_pattern(r.in, w, h);  // streamed: the image never exists whole
    r.options.memory_budget_bytes = budget;
    r.options.save.png_compression = 1;
    const TiledRunStats stats = run_tiled_file(r.chain, r.in, r.out, r.options);
    r.peak = peak_rss_bytes();
    MESSAGE("tile rows " << stats.tile_size << ", planned " << (stats.planned_bytes >> 20)
                         << " MiB, peak RSS " << (r.peak >> 20) << " MiB");
    CHECK(stats.planned_bytes <= budget);
    CHECK_FALSE(stats.whole_image_stage);
    return r;
}

}  // namespace

TEST_CASE("100 MP file through enhanced_bw → dither in bounded memory, equal to whole") {
    test::TempDir dir;
    const int w = 10000, h = 10000;
    const StreamedRun run = stream_bw_dither(dir, w, h, std::uint64_t{192} << 20);
    const std::string &in = run.in, &out = run.out;
    const EffectChain& chain = run.chain;
    const TileOptions& o = run.options;
    const std::uint64_t peak = run.peak;
    // Stated bound: 384 MiB for a 100 MP image whose RGB pixels alone take 286 MiB (×2 for
    // in and out): the planned working set (192 MiB) plus as much again for code, codec state
    // and allocator slack (measured: about 205 MiB).
#if defined(__SANITIZE_ADDRESS__)
    // ASan's quarantine and shadow memory inflate RSS: the bound is checked by the release run
    // of this same test (scripts/test runs both).
    (void)peak;
#else
    CHECK(peak < (std::uint64_t{384} << 20));
#endif

    // Error diffusion only looks down and right: the top strip of the whole-image run is the
    // whole-image run of the top strip.
    const int strip = 300;
    const Image top_in = read_rows(in, 0, strip);
    CHECK(read_rows(out, 0, strip).same_pixels(whole(chain, top_in)));

    // A point chain: any crop, with its origin, equals the same crop of the output.
    const EffectChain point = {{"enhanced_bw", {{"clahe", false}, {"grain", 0.4}}},
                               {"dither", {{"method", std::string("bayer8")}}}};
    const std::string out2 = dir.file("out2.png");
    run_tiled_file(point, in, out2, o);
    const int y0 = 6007, rows = 333;
    const Image crop_in = read_rows(in, y0, rows);
    EffectContext ctx;
    ctx.origin_y = y0;
    ctx.full_width = w;
    ctx.full_height = h;
    CHECK(read_rows(out2, y0, rows).same_pixels(whole(point, crop_in, ctx)));
}

TEST_CASE("a truncated input fails clearly and leaves no output") {
    test::TempDir dir;
    const std::string in = dir.file("in.jpg"), out = dir.file("out.png");
    write_pattern(in, 3000, 3000);
    std::filesystem::resize_file(in, std::filesystem::file_size(in) / 2);
    const EffectChain chain = {{"enhanced_bw", {{"clahe", false}}}, {"dither", {}}};
    TileOptions o;
    o.tile_size = 64;
    const Error e = test::error_of([&] { run_tiled_file(chain, in, out, o); });
    CHECK(e.status() == Status::decode_error);
    CHECK(std::string(e.what()).find("in.jpg") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    int files = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path))
        ++files;
    CHECK(files == 1);  // the input only: no temporary left behind
}

TEST_CASE("an effect that needs the whole image over the budget is refused, naming it") {
    test::TempDir dir;
    const std::string in = dir.file("in.jpg"), out = dir.file("out.jpg");
    write_pattern(in, 2000, 1500);
    // A global effect with no streamed pass: the mean colour of the whole image.
    EffectRegistry registry;
    EffectInfo mean;
    mean.name = "mean_colour";
    mean.describe = [](const Params&, int, int, const EffectContext&) {
        EffectPlan plan;
        plan.footprint = {Footprint::Kind::global, 0};
        return plan;
    };
    mean.render = [](const Image& img, const Params&, const EffectContext&) {
        std::uint64_t sum[3] = {0, 0, 0};
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x)
                for (int c = 0; c < 3; ++c) sum[c] += img.row(y)[x * img.channels() + c];
        Image outp = Image::allocate(img.width(), img.height(), 3);
        for (int y = 0; y < img.height(); ++y)
            for (int x = 0; x < img.width(); ++x)
                for (int c = 0; c < 3; ++c)
                    outp.row(y)[x * 3 + c] = static_cast<std::uint8_t>(sum[c] / img.pixel_count());
        return outp;
    };
    registry.add(mean);
    TileOptions o;
    o.registry = &registry;
    o.memory_budget_bytes = std::uint64_t{4} << 20;
    const Error e = test::error_of([&] { run_tiled_file({{"mean_colour", {}}}, in, out, o); });
    CHECK(e.status() == Status::unsupported);
    CHECK(std::string(e.what()).find("mean_colour") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    // Within the budget it runs whole and equals the whole-image path.
    o.memory_budget_bytes = std::uint64_t{512} << 20;
    const std::string png = dir.file("out.png");
    CHECK(run_tiled_file({{"mean_colour", {}}}, in, png, o).whole_image_stage);
    CHECK(load_image(png).same_pixels(mean.render(load_image(in), {}, {})));
}

TEST_CASE("pop_art and adaptive palettes stream under a budget far below the image") {
    test::TempDir dir;
    const std::string in = dir.file("in.jpg");
    write_pattern(in, 3000, 2000);  // 18 MB of RGB pixels
    TileOptions o;
    o.memory_budget_bytes = std::uint64_t{12} << 20;
    const Image whole_in = load_image(in);
    for (const EffectChain& chain :
         {EffectChain{{"pop_art", {{"rows", std::int64_t{3}}, {"cols", std::int64_t{3}}}}},
          EffectChain{{"dither", {{"palette", std::string("adaptive")}}}},
          EffectChain{
              {"retro_8bit",
               {{"palette", std::string("adaptive")}, {"dither", std::string("atkinson")}}}}}) {
        const std::string png = dir.file("out.png");
        const TiledRunStats stats = run_tiled_file(chain, in, png, o);
        INFO(chain.front().effect);
        CHECK_FALSE(stats.whole_image_stage);
        CHECK(stats.planned_bytes <= o.memory_budget_bytes);
        CHECK(load_image(png).same_pixels(whole(chain, whole_in)));
    }
}

// 900 MP: skipped in the plain run (and so under the sanitizers); ctest runs it in release
// builds as large_image_900mp_test (about 45 s on 2 cores, 315 MiB peak RSS measured).
TEST_CASE("900 MP file through enhanced_bw → dither to PNG under 512 MiB peak RSS" *
          doctest::skip()) {
    test::TempDir dir;
    const int w = 30000, h = 30000;
    const StreamedRun run = stream_bw_dither(dir, w, h, std::uint64_t{256} << 20);
    const std::string &in = run.in, &out = run.out;
    const EffectChain& chain = run.chain;
    const std::uint64_t peak = run.peak;
    // Stated bound: 512 MiB for an image whose RGB pixels take 2.5 GiB: the 256 MiB working
    // set plus as much again for code, codec state and allocator slack.
    CHECK(peak < (std::uint64_t{512} << 20));

    // The whole output decodes, row for row; its top strip equals the whole-image run of the
    // input's top strip (error diffusion only carries down and along).
    const int strip = 300;
    LoadOptions load;
    load.max_pixels = std::uint64_t{1} << 40;
    auto reader = ImageReader::open(out, load);
    REQUIRE(reader->info().width == w);
    REQUIRE(reader->info().height == h);
    Image top;
    int rows = 0;
    while (rows < h) {
        const Image band = reader->read_band(std::min(1024, h - rows));
        if (rows == 0) top = band.view({0, 0, w, strip}).clone();
        rows += band.height();
    }
    CHECK(rows == h);
    CHECK(top.same_pixels(whole(chain, read_rows(in, 0, strip))));
}
