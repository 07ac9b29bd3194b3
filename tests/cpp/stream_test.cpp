#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <png.h>
#include <tiffio.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
// jpeglib.h needs FILE and size_t first.
#include <jpeglib.h>

#include "artistry/error.hpp"
#include "artistry/io.hpp"
#include "artistry/opencv.hpp"
#include "artistry/stream.hpp"
#include "test_support.hpp"

using namespace artistry;
namespace fs = std::filesystem;

using test::file_bytes;
using test::write_bytes;

namespace {

// The whole file read through the streaming reader in bands of `band` rows, each band written
// into a view with a stride wider than its rows (the destination sits inside a wider image).
Image stream_read(const std::string& path, int band, const LoadOptions& options = {},
                  const StreamReadOptions& stream = {}) {
    auto reader = ImageReader::open(path, options, stream);
    const ImageInfo& info = reader->info();
    Image wide = Image::allocate(info.width + 3, info.height, info.channels);
    for (int y = 0; y < info.height; y += band) {
        const int n = std::min(band, info.height - y);
        reader->read_rows(wide.view({2, y, info.width, n}));
    }
    CHECK(reader->rows_read() == info.height);
    return wide.view({2, 0, info.width, info.height}).clone();
}

void stream_write(const Image& img, const std::string& path, int band,
                  const SaveOptions& options = {}, const StreamWriteOptions& stream = {}) {
    auto writer =
        ImageWriter::create(path, img.width(), img.height(), img.channels(), options, stream);
    for (int y = 0; y < img.height(); y += band)
        writer->write_rows(img.view({0, y, img.width(), std::min(band, img.height() - y)}));
    writer->finish();
}

Image pattern(int w, int h, int channels) {
    Image img = Image::allocate(w, h, channels);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < channels; ++c)
                img.row(y)[x * channels + c] =
                    static_cast<std::uint8_t>((x * 7 + y * 3 + c * 50 + ((x * y) >> 5)) & 255);
    return img;
}

// A photo with the requested channel count: gray from its first channel, alpha a gradient.
Image photo(int channels) {
    const Image rgb = test::load_data("butterfly.jpg");
    Image out = Image::allocate(rgb.width(), rgb.height(), channels);
    for (int y = 0; y < rgb.height(); ++y)
        for (int x = 0; x < rgb.width(); ++x)
            for (int c = 0; c < channels; ++c)
                out.row(y)[x * channels + c] =
                    c < 3 ? rgb.row(y)[x * 3 + c] : static_cast<std::uint8_t>((x + y) & 255);
    return out;
}

double psnr(const Image& a, const Image& b) {
    REQUIRE(a.width() == b.width());
    REQUIRE(a.height() == b.height());
    REQUIRE(a.channels() == b.channels());
    double se = 0;
    const std::size_t n = a.row_bytes();
    for (int y = 0; y < a.height(); ++y)
        for (std::size_t i = 0; i < n; ++i) {
            const double d = double(a.row(y)[i]) - double(b.row(y)[i]);
            se += d * d;
        }
    const double mse = se / (double(n) * a.height());
    return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

std::size_t files_in(const fs::path& dir) {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir), fs::directory_iterator{}));
}

// Peak resident memory (VmHWM) in KiB, after resetting the peak to the current size.
long status_kib(const char* key) {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
    return -1;
}
bool reset_peak() {
    std::ofstream f("/proc/self/clear_refs");
    f << "5";
    f.flush();
    return bool(f);
}

// A small uncompressed gray TIFF with its directory before the pixels (libtiff puts it after),
// so that cutting the file short loses pixels, not the header. Strips of 8 rows or 16×16 tiles.
std::vector<std::uint8_t> handmade_tiff(const Image& gray, bool tiled) {
    const std::uint32_t w = static_cast<std::uint32_t>(gray.width()),
                        h = static_cast<std::uint32_t>(gray.height());
    const std::uint32_t cw = tiled ? 16 : w, ch = tiled ? 16 : 8;
    const std::uint32_t across = (w + cw - 1) / cw, down = (h + ch - 1) / ch,
                        chunks = across * down;
    std::vector<std::uint8_t> b = {'I', 'I', 42, 0};
    const auto u16 = [&](std::uint32_t v) {
        b.push_back(v & 255);
        b.push_back((v >> 8) & 255);
    };
    const auto u32 = [&](std::uint32_t v) {
        u16(v & 0xFFFF);
        u16(v >> 16);
    };
    const std::uint32_t entries = 10, ifd = 8, arrays = ifd + 2 + entries * 12 + 4;
    const std::uint32_t data = arrays + chunks * 8, chunk_bytes = cw * ch;
    u32(ifd);
    u16(entries);
    const auto entry = [&](std::uint32_t tag, std::uint32_t type, std::uint32_t count,
                           std::uint32_t value) {
        u16(tag);
        u16(type);
        u32(count);
        if (type == 3 && count == 1) {
            u16(value);
            u16(0);
        } else
            u32(value);
    };
    entry(256, 4, 1, w);
    entry(257, 4, 1, h);
    entry(258, 3, 1, 8);
    entry(259, 3, 1, 1);
    entry(262, 3, 1, 1);
    entry(277, 3, 1, 1);
    if (tiled) {
        entry(322, 4, 1, cw);
        entry(323, 4, 1, ch);
        entry(324, 4, chunks, arrays);
        entry(325, 4, chunks, arrays + chunks * 4);
    } else {
        entry(273, 4, chunks, arrays);
        entry(278, 4, 1, ch);
        entry(279, 4, chunks, arrays + chunks * 4);
        entry(284, 3, 1, 1);
    }
    u32(0);
    for (std::uint32_t i = 0; i < chunks; ++i) u32(data + i * chunk_bytes);
    for (std::uint32_t i = 0; i < chunks; ++i) u32(chunk_bytes);
    REQUIRE(b.size() == data);
    for (std::uint32_t ty = 0; ty < down; ++ty)
        for (std::uint32_t tx = 0; tx < across; ++tx)
            for (std::uint32_t r = 0; r < ch; ++r)
                for (std::uint32_t c = 0; c < cw; ++c) {
                    const std::uint32_t x = tx * cw + c, y = ty * ch + r;
                    b.push_back(x < w && y < h ? gray.row(static_cast<int>(y))[x] : 0);
                }
    return b;
}

// An interlaced (Adam7) RGB PNG, which OpenCV cannot write.
bool write_interlaced_png(const char* path, const Image& rgb) {
    std::FILE* f = std::fopen(path, "wb");
    if (!f) return false;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        std::fclose(f);
        return false;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, static_cast<png_uint_32>(rgb.width()),
                 static_cast<png_uint_32>(rgb.height()), 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    const int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; ++p)
        for (int y = 0; y < rgb.height(); ++y) png_write_row(png, rgb.row(y));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return std::fclose(f) == 0;
}

// PNG through libpng's simplified API: palette, gray+alpha and 16-bit files.
void write_simple_png(const std::string& path, png_uint_32 format, const void* pixels, int w, int h,
                      const void* colormap = nullptr, int colormap_entries = 0) {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(w);
    image.height = static_cast<png_uint_32>(h);
    image.format = format;
    image.colormap_entries = static_cast<png_uint_32>(colormap_entries);
    REQUIRE(png_image_write_to_file(&image, path.c_str(), 0, pixels, 0, colormap) != 0);
}

// A CMYK JPEG (Adobe, inverted, as Photoshop writes them), which OpenCV cannot write.
std::vector<std::uint8_t> cmyk_jpeg(const Image& rgb) {
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char* mem = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &mem, &size);
    c.image_width = static_cast<JDIMENSION>(rgb.width());
    c.image_height = static_cast<JDIMENSION>(rgb.height());
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    std::vector<JSAMPLE> row(static_cast<std::size_t>(rgb.width()) * 4);
    for (int y = 0; y < rgb.height(); ++y) {
        for (int x = 0; x < rgb.width(); ++x) {
            const std::uint8_t* p = rgb.row(y) + x * 3;
            const std::uint8_t k = std::max({p[0], p[1], p[2]});
            for (int i = 0; i < 3; ++i)
                row[static_cast<std::size_t>(x * 4 + i)] =
                    k ? static_cast<JSAMPLE>(p[i] * 255 / k) : 0;
            row[static_cast<std::size_t>(x * 4 + 3)] = k;
        }
        JSAMPROW r = row.data();
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    std::vector<std::uint8_t> out(mem, mem + size);
    jpeg_destroy_compress(&c);
    std::free(mem);
    return out;
}

// A TIFF from `samples` (8-bit, spp per pixel) with the given photometric interpretation.
void write_tiff(const std::string& path, const std::vector<std::uint8_t>& samples, int w, int h,
                int spp, std::uint16_t photometric, std::vector<std::uint16_t> colormap = {},
                std::uint32_t rows_per_strip = 16) {
    TIFF* t = TIFFOpen(path.c_str(), "w");
    REQUIRE(t != nullptr);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(w));
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(h));
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(spp));
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, std::uint16_t{8});
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photometric);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rows_per_strip);
    if (spp == 2) {
        const std::uint16_t extra = EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(t, TIFFTAG_EXTRASAMPLES, std::uint16_t{1}, &extra);
    }
    if (!colormap.empty())
        TIFFSetField(t, TIFFTAG_COLORMAP, colormap.data(), colormap.data() + 256,
                     colormap.data() + 512);
    std::vector<std::uint8_t> row(static_cast<std::size_t>(w * spp));
    bool ok = true;
    for (int y = 0; y < h; ++y) {
        std::memcpy(row.data(), samples.data() + static_cast<std::size_t>(y) * row.size(),
                    row.size());
        ok = ok && TIFFWriteScanline(t, row.data(), static_cast<std::uint32_t>(y), 0) == 1;
    }
    TIFFClose(t);
    REQUIRE(ok);
}

}  // namespace

TEST_CASE("CMYK JPEG, and palette, gray+alpha and MinIsWhite TIFF are converted as stated") {
    test::TempDir dir;
    const Image rgb = photo(3);
    const int w = rgb.width(), h = rgb.height();
    // CMYK → RGB with load_image's formula.
    write_bytes(dir.file("cmyk.jpg"), cmyk_jpeg(rgb));
    const Image cmyk = stream_read(dir.file("cmyk.jpg"), 9);
    CHECK(cmyk.channels() == 3);
    CHECK(cmyk.same_pixels(load_image(dir.file("cmyk.jpg"))));
    CHECK(psnr(cmyk, rgb) > 25.0);

    std::vector<std::uint8_t> index, ga, white;
    Image want_pal = Image::allocate(w, h, 3), want_ga = Image::allocate(w, h, 4),
          want_gray = Image::allocate(w, h, 1);
    std::vector<std::uint16_t> colormap(768);
    for (int i = 0; i < 256; ++i) {  // 16-bit entries v * 257 narrow back to v exactly
        colormap[static_cast<std::size_t>(i)] = static_cast<std::uint16_t>(i * 257);
        colormap[static_cast<std::size_t>(256 + i)] = static_cast<std::uint16_t>((255 - i) * 257);
        colormap[static_cast<std::size_t>(512 + i)] =
            static_cast<std::uint16_t>(((i * 7) & 255) * 257);
    }
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::uint8_t g = rgb.row(y)[x * 3 + 1], a = static_cast<std::uint8_t>(x ^ y);
            index.push_back(g);
            ga.push_back(g);
            ga.push_back(a);
            white.push_back(g);
            std::uint8_t* p = want_pal.row(y) + x * 3;
            p[0] = g;
            p[1] = static_cast<std::uint8_t>(255 - g);
            p[2] = static_cast<std::uint8_t>((g * 7) & 255);
            std::uint8_t* q = want_ga.row(y) + x * 4;
            q[0] = q[1] = q[2] = g;
            q[3] = a;
            want_gray.row(y)[x] = static_cast<std::uint8_t>(255 - g);
        }
    write_tiff(dir.file("pal.tif"), index, w, h, 1, PHOTOMETRIC_PALETTE, colormap);
    write_tiff(dir.file("ga.tif"), ga, w, h, 2, PHOTOMETRIC_MINISBLACK);
    write_tiff(dir.file("white.tif"), white, w, h, 1, PHOTOMETRIC_MINISWHITE);
    CHECK(stream_read(dir.file("pal.tif"), 10).same_pixels(want_pal));
    CHECK(stream_read(dir.file("ga.tif"), 10).same_pixels(want_ga));
    CHECK(stream_read(dir.file("white.tif"), 10).same_pixels(want_gray));
}

TEST_CASE("streamed JPEG pixels equal load_image's, for every test photo") {
    // Both go through the same libjpeg-turbo with the same settings: identical, not close.
    for (const char* name :
         {"baboon.jpg", "butterfly.jpg", "fruits.jpg", "messi5.jpg", "squirrel_cls.jpg"}) {
        CAPTURE(name);
        const Image whole = test::load_data(name);
        auto reader = ImageReader::open(test::data_path(name));
        CHECK(reader->info().format == "jpeg");
        CHECK(reader->info().width == whole.width());
        CHECK(reader->info().height == whole.height());
        CHECK(reader->info().channels == 3);
        CHECK(reader->read_band(whole.height()).same_pixels(whole));
    }
}

TEST_CASE("streamed PNG and TIFF pixels equal load_image's") {
    test::TempDir dir;
    const Image chicky = test::load_data("chicky_512.png");
    CHECK(chicky.channels() == 4);
    CHECK(stream_read(test::data_path("chicky_512.png"), 64).same_pixels(chicky));

    // TIFFs written by OpenCV (libtiff, strips) for 1, 3 and 4 channels.
    for (int ch : {1, 3, 4}) {
        CAPTURE(ch);
        const std::string path = dir.file("cv" + std::to_string(ch) + ".tif");
        save_image(photo(ch), path);
        const Image whole = load_image(path);
        CHECK(whole.same_pixels(photo(ch)));
        CHECK(stream_read(path, 64).same_pixels(whole));
    }
}

TEST_CASE("reading in bands of 1, 7 and 64 rows gives the same pixels as one band") {
    test::TempDir dir;
    std::vector<std::string> paths = {test::data_path("fruits.jpg"),
                                      test::data_path("chicky_512.png")};
    StreamWriteOptions tiled, strips;
    tiled.tiff_tile = 64;  // 512×480: several rows of tiles, the last one partial
    strips.tiff_tile = 0;
    stream_write(photo(3), dir.file("tiled.tif"), 100, {}, tiled);
    stream_write(photo(3), dir.file("strips.tif"), 100, {}, strips);
    paths.push_back(dir.file("tiled.tif"));
    paths.push_back(dir.file("strips.tif"));
    for (const auto& path : paths) {
        CAPTURE(path);
        const Image one =
            ImageReader::open(path)->read_band(ImageReader::open(path)->info().height);
        for (int band : {1, 7, 64}) {
            CAPTURE(band);
            CHECK(stream_read(path, band).same_pixels(one));
        }
    }
}

TEST_CASE("PNG and TIFF written by band read back exactly, by both readers") {
    test::TempDir dir;
    struct Case {
        const char* name;
        StreamWriteOptions options;
    };
    std::vector<Case> cases;
    cases.push_back({"png", {}});
    for (const char* comp : {"deflate", "lzw", "zstd", "none"}) {
        StreamWriteOptions t;
        t.tiff_compression = comp;
        t.tiff_tile = 64;
        cases.push_back({"tif", t});
        t.tiff_tile = 0;
        cases.push_back({"tif", t});
    }
    StreamWriteOptions all_filters;
    all_filters.png_filter = "all";
    cases.push_back({"png", all_filters});
    int i = 0;
    for (const auto& c : cases) {
        for (int ch : {1, 3, 4}) {
            for (const Image& src : {photo(ch), pattern(301, 211, ch)}) {
                CAPTURE(c.name);
                CAPTURE(c.options.tiff_compression);
                CAPTURE(c.options.tiff_tile);
                CAPTURE(ch);
                const std::string path = dir.file(fmt::format("w{}.{}", i++, c.name));
                stream_write(src, path, 37, {}, c.options);
                CHECK(stream_read(path, 50).same_pixels(src));
                // And by OpenCV, an independent decoder, except where it can't: zstd, and RGBA
                // TIFF, whose declared unassociated alpha its RGBA path premultiplies.
                const bool opencv_reads =
                    c.options.tiff_compression != "zstd" && (ch != 4 || c.name[0] == 'p');
                if (opencv_reads) CHECK(load_image(path).same_pixels(src));
            }
        }
    }
}

TEST_CASE("JPEG written by band: the same file as save_image, close to the source") {
    test::TempDir dir;
    for (int ch : {1, 3, 4}) {
        CAPTURE(ch);
        const Image src = photo(ch);
        SaveOptions q;
        q.jpeg_quality = 90;
        stream_write(src, dir.file("s.jpg"), 16, q);
        save_image(src, dir.file("w.jpg"), q);
        // Same libjpeg, same settings (baseline, 4:2:0, quality, JFIF): same bytes.
        CHECK(file_bytes(dir.file("s.jpg")) == file_bytes(dir.file("w.jpg")));
        const Image back = stream_read(dir.file("s.jpg"), 16);
        CHECK(back.channels() == (ch == 1 ? 1 : 3));
        if (ch != 4) CHECK(psnr(back, src) > 30.0);
    }
    // JPEG inside TIFF (YCbCr, tiled and strips), read back through the same reader.
    for (int tile : {0, 64}) {
        StreamWriteOptions t;
        t.tiff_compression = "jpeg";
        t.tiff_tile = tile;
        const Image src = photo(3);
        stream_write(src, dir.file("j.tif"), 33, {}, t);
        CHECK(psnr(stream_read(dir.file("j.tif"), 20), src) > 30.0);
    }
}

TEST_CASE("16-bit, palette, gray+alpha and progressive files decode as load_image does") {
    test::TempDir dir;
    const Image rgb = photo(3);
    const int w = rgb.width(), h = rgb.height();
    // 16-bit PNG and TIFF (OpenCV writes them): narrowed with load_image's rounding.
    cv::Mat m16(h, w, CV_16UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w * 3; ++x)
            m16.ptr<std::uint16_t>(y)[x] = static_cast<std::uint16_t>(
                std::clamp(rgb.row(y)[x] * 257 + (x * 131 + y * 17) % 257 - 128, 0, 65535));
    for (const char* ext : {"png", "tif"}) {
        CAPTURE(ext);
        const std::string path = dir.file(std::string("d16.") + ext);
        REQUIRE(cv::imwrite(path, m16));
        const Image whole = load_image(path);
        CHECK(stream_read(path, 29).same_pixels(whole));
    }
    // Palette PNG → RGB, gray+alpha PNG → RGBA.
    std::vector<std::uint8_t> index(static_cast<std::size_t>(w) * h), colormap(256 * 3),
        ga(static_cast<std::size_t>(w) * h * 2);
    for (int i = 0; i < 256; ++i) {
        colormap[i * 3] = static_cast<std::uint8_t>(i);
        colormap[i * 3 + 1] = static_cast<std::uint8_t>(255 - i);
        colormap[i * 3 + 2] = static_cast<std::uint8_t>(i * 7);
    }
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const std::size_t i = static_cast<std::size_t>(y) * w + x;
            index[i] = rgb.row(y)[x * 3 + 1];
            ga[i * 2] = rgb.row(y)[x * 3];
            ga[i * 2 + 1] = static_cast<std::uint8_t>(x + y);
        }
    write_simple_png(dir.file("pal.png"), PNG_FORMAT_RGB_COLORMAP, index.data(), w, h,
                     colormap.data(), 256);
    write_simple_png(dir.file("ga.png"), PNG_FORMAT_GA, ga.data(), w, h);
    for (const char* name : {"pal.png", "ga.png"}) {
        CAPTURE(name);
        const Image whole = load_image(dir.file(name));
        const Image streamed = stream_read(dir.file(name), 13);
        CHECK(streamed.channels() == (std::string(name) == "pal.png" ? 3 : 4));
        CHECK(streamed.same_pixels(whole));
    }
    // Progressive JPEG: decoded with whole-image buffers (counted), refused under a small limit.
    const std::string prog = dir.file("prog.jpg");
    cv::Mat bgr;
    cv::cvtColor(as_mat(rgb), bgr, cv::COLOR_RGB2BGR);
    REQUIRE(cv::imwrite(prog, bgr, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
    CHECK(stream_read(prog, 10).same_pixels(load_image(prog)));
    CHECK(ImageReader::open(prog)->buffer_bytes() > static_cast<std::uint64_t>(w) * h * 2);
    CHECK(ImageReader::open(test::data_path("fruits.jpg"))->buffer_bytes() < std::uint64_t{2}
                                                                                 << 20);
    StreamReadOptions tight;
    tight.max_buffer_bytes = 100'000;
    const Error e = test::error_of([&] { ImageReader::open(prog, {}, tight); });
    CHECK(e.status() == Status::unsupported);
    CHECK(std::string(e.what()).find("progressive") != std::string::npos);
}

TEST_CASE("an interlaced PNG is decoded whole under the buffer limit and refused over it") {
    test::TempDir dir;
    const Image rgb = photo(3);
    const std::string path = dir.file("adam7.png");
    REQUIRE(write_interlaced_png(path.c_str(), rgb));
    CHECK(stream_read(path, 7).same_pixels(rgb));
    CHECK(ImageReader::open(path)->buffer_bytes() >= rgb.byte_size());
    StreamReadOptions tight;
    tight.max_buffer_bytes = rgb.byte_size() - 1;
    const Error e = test::error_of([&] { ImageReader::open(path, {}, tight); });
    CHECK(e.status() == Status::unsupported);
    CHECK(std::string(e.what()).find("interlaced") != std::string::npos);
}

TEST_CASE("a file truncated mid-stream fails in read_rows with decode_error naming the file") {
    test::TempDir dir;
    const Image gray = photo(1);
    std::vector<std::pair<std::string, std::vector<std::uint8_t>>> files;
    const auto jpeg = file_bytes(test::data_path("fruits.jpg"));
    files.push_back(
        {"cut.jpg", {jpeg.begin(), jpeg.begin() + static_cast<long>(jpeg.size() * 6 / 10)}});
    const auto png = file_bytes(test::data_path("chicky_512.png"));
    files.push_back(
        {"cut.png", {png.begin(), png.begin() + static_cast<long>(png.size() * 6 / 10)}});
    for (bool tiled : {false, true}) {
        const auto tif = handmade_tiff(gray, tiled);
        write_bytes(dir.file("whole.tif"), tif);
        CHECK(
            stream_read(dir.file("whole.tif"), 5).same_pixels(gray));  // the handmade file is right
        files.push_back({tiled ? "cut_tiled.tif" : "cut_strips.tif",
                         {tif.begin(), tif.begin() + static_cast<long>(tif.size() * 6 / 10)}});
    }
    for (const auto& [name, bytes] : files) {
        CAPTURE(name);
        const std::string path = dir.file(name);
        write_bytes(path, bytes);
        auto reader = ImageReader::open(path);  // the header is intact
        const ImageInfo info = reader->info();
        // The streaming pipeline: the writer is destroyed by the error, leaving no file.
        const std::string out = dir.file("out.png");
        const Error e = test::error_of([&] {
            auto writer = ImageWriter::create(out, info.width, info.height, info.channels);
            for (int y = 0; y < info.height; y += 16) {
                const Image band = reader->read_band(std::min(16, info.height - y));
                writer->write_rows(band);
            }
            writer->finish();
        });
        CHECK(e.status() == Status::decode_error);
        CHECK(std::string(e.what()).find(path) != std::string::npos);
        CHECK(std::string(e.what()).find("truncated") != std::string::npos);
        CHECK(reader->rows_read() > 0);  // it failed mid-stream, not at the start
        CHECK(reader->rows_read() < info.height);
        CHECK_FALSE(fs::exists(out));
        // The reader stays failed.
        CHECK(test::error_of([&] { reader->read_band(1); }).status() == Status::decode_error);
    }
    CHECK(files_in(dir.path) == files.size() + 1);  // the inputs and whole.tif: no temp files
}

TEST_CASE("a writer destroyed before finish leaves no file and does not touch an existing one") {
    test::TempDir dir;
    const Image img = pattern(64, 48, 3);
    for (const char* ext : {"jpg", "png", "tif"}) {
        CAPTURE(ext);
        const std::string fresh = dir.file(std::string("fresh.") + ext);
        {
            auto w = ImageWriter::create(fresh, 64, 48, 3);
            w->write_rows(img.view({0, 0, 64, 20}));
        }
        CHECK_FALSE(fs::exists(fresh));
        const std::string old = dir.file(std::string("old.") + ext);
        write_bytes(old, {'k', 'e', 'e', 'p'});
        {
            auto w = ImageWriter::create(old, 64, 48, 3);
            w->write_rows(img);  // all rows, but no finish()
        }
        CHECK(file_bytes(old) == std::vector<std::uint8_t>{'k', 'e', 'e', 'p'});
        // Fewer rows than declared: finish refuses and nothing appears.
        const std::string shortf = dir.file(std::string("short.") + ext);
        {
            auto w = ImageWriter::create(shortf, 64, 48, 3);
            w->write_rows(img.view({0, 0, 64, 47}));
            const Error e = test::error_of([&] { w->finish(); });
            CHECK(e.status() == Status::invalid_argument);
            CHECK(std::string(e.what()).find("47 of 48") != std::string::npos);
        }
        CHECK_FALSE(fs::exists(shortf));
    }
    CHECK(files_in(dir.path) == 3);  // the three old.* files, no temp files
}

TEST_CASE("BigTIFF is written when asked, and automatically only past 4 GiB") {
    test::TempDir dir;
    const Image src = pattern(300, 200, 4);
    StreamWriteOptions big;
    big.tiff_bigtiff = BigTiff::always;
    for (int tile : {0, 32}) {
        big.tiff_tile = tile;
        stream_write(src, dir.file("big.tif"), 64, {}, big);
        const auto bytes = file_bytes(dir.file("big.tif"));
        REQUIRE(bytes.size() > 16);
        CHECK(bytes[0] == 'I');
        CHECK(bytes[2] == 43);  // BigTIFF version
        CHECK(bytes[4] == 8);   // 8-byte offsets
        CHECK(stream_read(dir.file("big.tif"), 64).same_pixels(src));
    }
    stream_write(src, dir.file("classic.tif"), 64);
    CHECK(file_bytes(dir.file("classic.tif"))[2] == 42);
}

TEST_CASE("orientation, pixel limit, bad calls and foreign files give clear errors") {
    test::TempDir dir;
    // A JPEG with EXIF orientation 6: the APP1 segment goes right after SOI.
    auto jpeg = file_bytes(test::data_path("fruits.jpg"));
    const std::vector<std::uint8_t> app1 = {
        0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I',
        42,   0,    8,    0,    0,   0,                            // TIFF header
        1,    0,                                                   // one entry
        0x12, 0x01, 3,    0,    1,   0,   0,   0,   6, 0, 0,   0,  // orientation 6
        0,    0,    0,    0};
    jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
    write_bytes(dir.file("rot.jpg"), jpeg);
    Error e = test::error_of([&] { ImageReader::open(dir.file("rot.jpg")); });
    CHECK(e.status() == Status::unsupported);
    CHECK(std::string(e.what()).find("orientation 6") != std::string::npos);
    LoadOptions as_stored;
    as_stored.apply_orientation = false;
    CHECK(ImageReader::open(dir.file("rot.jpg"), as_stored)->info().orientation == 6);
    CHECK(stream_read(dir.file("rot.jpg"), 32, as_stored)
              .same_pixels(load_image(dir.file("rot.jpg"), as_stored)));

    LoadOptions small;
    small.max_pixels = 1000;
    e = test::error_of([&] { ImageReader::open(test::data_path("chicky_512.png"), small); });
    CHECK(e.status() == Status::limit_exceeded);

    auto reader = ImageReader::open(test::data_path("fruits.jpg"));
    e = test::error_of([&] { reader->read_rows(Image::allocate(100, 4, 3)); });
    CHECK(e.status() == Status::invalid_argument);
    e = test::error_of([&] { reader->read_rows(Image::allocate(512, 4, 1)); });
    CHECK(e.status() == Status::invalid_argument);
    e = test::error_of([&] { reader->read_band(481); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(reader->rows_read() == 0);

    e = test::error_of([&] { ImageReader::open(dir.file("missing.png")); });
    CHECK(e.status() == Status::not_found);
    save_image(pattern(8, 8, 3), dir.file("x.webp"));
    e = test::error_of([&] { ImageReader::open(dir.file("x.webp")); });
    CHECK(e.status() == Status::unsupported);
    e = test::error_of([&] { ImageWriter::create(dir.file("x.bmp"), 8, 8, 3); });
    CHECK(e.status() == Status::unsupported);
    StreamWriteOptions bad;
    bad.tiff_tile = 100;
    e = test::error_of([&] { ImageWriter::create(dir.file("x.tif"), 8, 8, 3, {}, bad); });
    CHECK(e.status() == Status::invalid_argument);
    auto writer = ImageWriter::create(dir.file("y.png"), 8, 8, 3);
    e = test::error_of([&] { writer->write_rows(pattern(8, 9, 3)); });
    CHECK(e.status() == Status::invalid_argument);
    e = test::error_of([&] { writer->write_rows(pattern(8, 2, 4)); });
    CHECK(e.status() == Status::invalid_argument);
    // rot.jpg and x.webp: y.png's unfinished file has no name until it is complete (O_TMPFILE)
    CHECK(files_in(dir.path) == 2);
}

TEST_CASE("f32 bands are written as save_image converts them") {
    test::TempDir dir;
    Image f = Image::allocate(40, 30, 3, PixelType::f32);
    for (int y = 0; y < 30; ++y)
        for (int x = 0; x < 120; ++x)
            f.row_as<float>(y)[x] = static_cast<float>((x * 31 + y * 7) % 300) / 270.0f - 0.05f;
    stream_write(f, dir.file("f.png"), 7);
    save_image(f, dir.file("g.png"));
    CHECK(load_image(dir.file("f.png")).same_pixels(load_image(dir.file("g.png"))));
}

TEST_CASE("a 20000x20000 image streams to TIFF and PNG and back in bounded memory") {
    // 400 MP of gray, never whole in memory; peak RSS growth is bounded by 64 MiB
    // (the image alone would be 381 MiB).
    test::TempDir dir;
    constexpr int w = 20000, h = 20000, band = 256;
    // A gradient with 4 bits of noise: compresses about as hard as a photo.
    const auto value = [](int x, int y) {
        const auto noise = (static_cast<std::uint32_t>(x) * 2654435761u ^
                            static_cast<std::uint32_t>(y) * 40503u) >>
                           28;
        return static_cast<std::uint8_t>((x / 97 + y / 89 + noise) & 255);
    };
    Image buf = Image::allocate(w, band, 1);
    REQUIRE(reset_peak());
    const long base = status_kib("VmRSS:");
    StreamWriteOptions tiff;
    SaveOptions fast;
    fast.png_compression = 1;
    for (const char* name : {"big.tif", "big.png"}) {
        CAPTURE(name);
        const auto t0 = std::chrono::steady_clock::now();
        auto writer = ImageWriter::create(dir.file(name), w, h, 1, fast, tiff);
        for (int y = 0; y < h; y += band) {
            const int n = std::min(band, h - y);
            for (int r = 0; r < n; ++r)
                for (int x = 0; x < w; ++x) buf.row(r)[x] = value(x, y + r);
            writer->write_rows(buf.view({0, 0, w, n}));
        }
        writer->finish();
        const auto t1 = std::chrono::steady_clock::now();
        auto reader = ImageReader::open(dir.file(name), {std::uint64_t{1} << 32, true});
        bool same = true;
        for (int y = 0; y < h; y += band) {
            const int n = std::min(band, h - y);
            reader->read_rows(buf.view({0, 0, w, n}));
            for (int r = 0; r < n && same; r += 97)
                for (int x = 0; x < w; x += 13) same = same && buf.row(r)[x] == value(x, y + r);
        }
        const auto t2 = std::chrono::steady_clock::now();
        CHECK(same);
        MESSAGE(std::string(name) << ": write " << std::chrono::duration<double>(t1 - t0).count()
                                  << " s, read " << std::chrono::duration<double>(t2 - t1).count()
                                  << " s, file " << fs::file_size(dir.file(name)) / (1 << 20)
                                  << " MiB");
        fs::remove(dir.file(name));
    }
    const long growth = status_kib("VmHWM:") - base;
    MESSAGE("peak RSS growth " << growth / 1024 << " MiB");
#ifndef __SANITIZE_ADDRESS__  // AddressSanitizer keeps freed memory in quarantine
    CHECK(growth < 64 * 1024);
#endif
}

TEST_CASE("a TIFF stored as one huge strip is read row by row") {
    test::TempDir dir;
    const Image src = pattern(3000, 2000, 3);  // one deflate strip of 17 MiB decoded
    std::vector<std::uint8_t> samples(src.byte_size());
    for (int y = 0; y < src.height(); ++y)
        std::memcpy(samples.data() + y * src.row_bytes(), src.row(y), src.row_bytes());
    write_tiff(dir.file("one.tif"), samples, src.width(), src.height(), 3, PHOTOMETRIC_RGB, {},
               2000);
    CHECK(ImageReader::open(dir.file("one.tif"))->buffer_bytes() < std::uint64_t{1} << 20);
    CHECK(stream_read(dir.file("one.tif"), 77).same_pixels(src));
}
