// The in-memory codecs (src/io/codec_*.cpp) against OpenCV's imgcodecs, which decode_image and
// encode_image used before: same pixels for every layout either reads, same bytes written,
// exact round trips for lossless formats, and clear errors for cut or damaged data.

#include <doctest/doctest.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/io.hpp"
#include "artistry/opencv.hpp"
#include "io/tiff_lib.hpp"
#include "test_support.hpp"

using namespace artistry;
using Bytes = std::vector<std::uint8_t>;

namespace {

// What decode_image returned when it was cv::imdecode(IMREAD_UNCHANGED) plus its conversions.
Image opencv_decode(const Bytes& bytes) {
    cv::Mat m = cv::imdecode(
        cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data())),
        cv::IMREAD_UNCHANGED);
    if (m.empty()) return {};
    if (m.depth() == CV_16U)
        m.convertTo(m, CV_8U, 1.0 / 257.0);
    else if (m.depth() == CV_64F)
        m.convertTo(m, CV_32F);
    cv::Mat rgb;
    if (m.channels() == 3)
        cv::cvtColor(m, rgb, cv::COLOR_BGR2RGB);
    else if (m.channels() == 4)
        cv::cvtColor(m, rgb, cv::COLOR_BGRA2RGBA);
    else
        rgb = m;
    return from_mat(rgb);
}

Image decode_raw(const Bytes& bytes) {
    LoadOptions raw;
    raw.apply_orientation = false;  // imdecode(IMREAD_UNCHANGED) never turned the pixels
    return decode_image(bytes, raw);
}

// decode_image gives what OpenCV gave, shape, type and every byte.
void check_same_as_opencv(const Bytes& bytes, const std::string& what) {
    CAPTURE(what);
    const Image ref = opencv_decode(bytes);
    REQUIRE_FALSE(ref.empty());
    const Image mine = decode_raw(bytes);
    CHECK(mine.width() == ref.width());
    CHECK(mine.height() == ref.height());
    CHECK(mine.channels() == ref.channels());
    CHECK(mine.type() == ref.type());
    CHECK(mine.same_pixels(ref));
}

Bytes opencv_encode(const std::string& ext, const Image& image,
                    const std::vector<int>& flags = {}) {
    cv::Mat m = as_mat(image), bgr;
    if (m.channels() == 3)
        cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    else if (m.channels() == 4)
        cv::cvtColor(m, bgr, cv::COLOR_RGBA2BGRA);
    else
        bgr = m;
    Bytes out;
    REQUIRE(cv::imencode(ext, bgr, out, flags));
    return out;
}

// Deterministic busy content: every value, edges in both directions.
std::uint8_t noise(unsigned x, unsigned y, unsigned c) {
    unsigned v = x * 73856093u ^ y * 19349663u ^ (c + 1) * 83492791u;
    v ^= v >> 13;
    return static_cast<std::uint8_t>(v * 2654435761u >> 24);
}

Image pattern(int w, int h, int channels, PixelType type = PixelType::u8) {
    Image img = Image::allocate(w, h, channels, type);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < channels; ++c) {
                const std::uint8_t v = (x + y) % 5 == 0
                                           ? noise(x, y, c)
                                           : static_cast<std::uint8_t>(x * 5 + y * 3 + c * 60);
                const auto i = static_cast<std::size_t>(x * channels + c);
                if (type == PixelType::f32)
                    img.row_as<float>(y)[i] = static_cast<float>(v) / 255.0f - 0.1f;
                else
                    img.row(y)[i] = c == 3 ? static_cast<std::uint8_t>(v | 1) : v;  // alpha never 0
            }
    return img;
}

// ---- writers for layouts OpenCV does not write

struct PngSpec {
    int width = 0, height = 0, color_type = PNG_COLOR_TYPE_RGB, bit_depth = 8;
    bool interlace = false;
    int palette_size = 0;  // PLTE entries (palette images)
    int trns = 0;          // palette: tRNS entries; gray/RGB: 1 for a transparent colour
};

void png_append(png_structp png, png_bytep data, size_t n) {
    auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
    out->insert(out->end(), data, data + n);
}

// The test's own libpng writer; rows are filled with noise of the right bit depth.
Bytes write_png(const PngSpec& s) {
    const int channels = s.color_type == PNG_COLOR_TYPE_GRAY         ? 1
                         : s.color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                         : s.color_type == PNG_COLOR_TYPE_PALETTE    ? 1
                         : s.color_type == PNG_COLOR_TYPE_RGB        ? 3
                                                                     : 4;
    const std::size_t row_bytes =
        (static_cast<std::size_t>(s.width) * channels * s.bit_depth + 7) / 8;
    std::vector<std::uint8_t> pixels(row_bytes * static_cast<std::size_t>(s.height));
    for (int y = 0; y < s.height; ++y)
        for (std::size_t i = 0; i < row_bytes; ++i)
            pixels[row_bytes * y + i] = noise(static_cast<unsigned>(i), y, 7);
    if (s.color_type == PNG_COLOR_TYPE_PALETTE && s.bit_depth == 8)  // indices within the palette
        for (auto& v : pixels) v = static_cast<std::uint8_t>(v % s.palette_size);
    std::vector<png_bytep> rows(static_cast<std::size_t>(s.height));
    for (int y = 0; y < s.height; ++y) rows[y] = pixels.data() + row_bytes * y;
    std::vector<png_color> palette(static_cast<std::size_t>(std::max(s.palette_size, 1)));
    for (int i = 0; i < s.palette_size; ++i)
        palette[i] = {noise(i, 1, 0), noise(i, 1, 1), noise(i, 1, 2)};
    std::vector<png_byte> alpha(static_cast<std::size_t>(std::max(s.trns, 1)));
    for (int i = 0; i < s.trns; ++i) alpha[i] = noise(i, 2, 3);
    png_color_16 colour{0, 40, 50, 60, 40};

    Bytes out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        FAIL("libpng refused the test image");
        return {};
    }
    png_set_write_fn(png, &out, png_append, nullptr);
    png_set_IHDR(png, info, s.width, s.height, s.bit_depth, s.color_type,
                 s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s.palette_size) png_set_PLTE(png, info, palette.data(), s.palette_size);
    if (s.trns && s.color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_tRNS(png, info, alpha.data(), s.trns, nullptr);
    else if (s.trns)
        png_set_tRNS(png, info, nullptr, 1, &colour);
    png_write_info(png, info);
    png_write_image(png, rows.data());
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return out;
}

struct TiffSpec {
    int width = 0, height = 0;
    std::uint16_t spp = 3, bps = 8, photometric = PHOTOMETRIC_RGB, format = SAMPLEFORMAT_UINT;
    std::uint16_t compression = COMPRESSION_NONE, orientation = ORIENTATION_TOPLEFT;
    std::uint16_t extra = 0;  // EXTRASAMPLE_* for the last sample, when there is one
    std::uint32_t tile = 0;   // tile size; 0: strips of rows_per_strip
    std::uint32_t rows_per_strip = 8;
    bool planes = false;  // PLANARCONFIG_SEPARATE
};

// The test's own libtiff writer (through the library's memory output); samples are noise,
// floats in 0..1.
Bytes write_tiff(const TiffSpec& s) {
    io::TiffMemoryOutput out;
    io::TiffMessages messages{};
    io::TiffHolder h;
    h.tif = io::open_tiff_writing(&out, &messages);
    REQUIRE(h.tif);
    TIFF* tif = h.tif;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, s.width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, s.height);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, s.spp);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, s.bps);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, s.photometric);
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, s.format);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, s.compression);
    TIFFSetField(tif, TIFFTAG_ORIENTATION, s.orientation);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, s.planes ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
    if (s.extra) TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, std::uint16_t{1}, &s.extra);
    if (s.compression == COMPRESSION_JPEG)
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    std::vector<std::uint16_t> map(s.photometric == PHOTOMETRIC_PALETTE ? 3u << s.bps : 0u);
    if (s.photometric == PHOTOMETRIC_PALETTE) {
        for (std::size_t i = 0; i < map.size(); ++i)
            map[i] = static_cast<std::uint16_t>(noise(static_cast<unsigned>(i), 3, 0) * 257);
        const std::size_t n = std::size_t{1} << s.bps;
        TIFFSetField(tif, TIFFTAG_COLORMAP, map.data(), map.data() + n, map.data() + 2 * n);
    }
    if (s.tile) {
        TIFFSetField(tif, TIFFTAG_TILEWIDTH, s.tile);
        TIFFSetField(tif, TIFFTAG_TILELENGTH, s.tile);
    } else {
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, s.rows_per_strip);
    }
    const std::size_t per_plane = s.planes ? 1 : s.spp;
    const std::size_t row_bytes = (static_cast<std::size_t>(s.width) * per_plane * s.bps + 7) / 8;
    const auto sample = [&](std::size_t i, int y, unsigned plane, std::uint8_t* d) {
        const std::uint8_t v = noise(static_cast<unsigned>(i), y, plane);
        if (s.format == SAMPLEFORMAT_IEEEFP && s.bps == 32) {
            const float f = static_cast<float>(v) / 255.0f;
            std::memcpy(d, &f, 4);
        } else if (s.format == SAMPLEFORMAT_IEEEFP) {
            const double f = static_cast<double>(v) / 255.0 + 1e-9;
            std::memcpy(d, &f, 8);
        } else if (s.bps == 16) {
            const auto w = static_cast<std::uint16_t>(v * 257 + (y & 0x7F));
            std::memcpy(d, &w, 2);
        } else {
            *d = v;
        }
    };
    const std::size_t bytes = std::max<std::size_t>(s.bps / 8, 1);
    const auto fill_row = [&](std::vector<std::uint8_t>& row, int y, unsigned plane) {
        if (s.bps < 8) {
            for (std::size_t i = 0; i < row_bytes; ++i)
                row[i] = noise(static_cast<unsigned>(i), y, plane);
            return;
        }
        for (std::size_t i = 0; i < row_bytes / bytes; ++i)
            sample(i, y, plane, row.data() + i * bytes);
    };
    std::vector<std::uint8_t> row(row_bytes);
    if (!s.tile) {
        for (unsigned plane = 0; plane < (s.planes ? s.spp : 1u); ++plane)
            for (int y = 0; y < s.height; ++y) {
                fill_row(row, y, plane);
                REQUIRE(TIFFWriteScanline(tif, row.data(), static_cast<std::uint32_t>(y),
                                          static_cast<std::uint16_t>(plane)) == 1);
            }
    } else {
        const std::size_t tile_row = s.tile * per_plane * bytes;
        std::vector<std::uint8_t> tile(tile_row * s.tile);
        for (std::uint32_t ty = 0; ty < static_cast<std::uint32_t>(s.height); ty += s.tile)
            for (std::uint32_t tx = 0; tx < static_cast<std::uint32_t>(s.width); tx += s.tile) {
                std::fill(tile.begin(), tile.end(), 0);
                for (std::uint32_t r = 0;
                     r < s.tile && ty + r < static_cast<std::uint32_t>(s.height); ++r) {
                    fill_row(row, static_cast<int>(ty + r), 0);
                    const std::size_t cols = std::min<std::size_t>(s.tile, s.width - tx);
                    std::memcpy(tile.data() + tile_row * r, row.data() + tx * per_plane * bytes,
                                cols * per_plane * bytes);
                }
                REQUIRE(TIFFWriteTile(tif, tile.data(), tx, ty, 0, 0) > 0);
            }
    }
    REQUIRE(TIFFWriteDirectory(tif));
    TIFFCleanup(h.tif);
    h.tif = nullptr;
    return std::move(out.bytes);
}

// A CMYK JPEG as Photoshop writes one (Adobe marker, inverted values).
Bytes write_cmyk_jpeg(int w, int h) {
    jpeg_compress_struct c{};
    jpeg_error_mgr err{};
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char* mem = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &mem, &size);
    c.image_width = static_cast<JDIMENSION>(w);
    c.image_height = static_cast<JDIMENSION>(h);
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK);
    jpeg_start_compress(&c, TRUE);
    std::vector<JSAMPLE> row(static_cast<std::size_t>(w) * 4);
    for (int y = 0; y < h; ++y) {
        for (std::size_t i = 0; i < row.size(); ++i) row[i] = static_cast<JSAMPLE>(i * 3 + y * 5);
        JSAMPROW p = row.data();
        jpeg_write_scanlines(&c, &p, 1);
    }
    jpeg_finish_compress(&c);
    Bytes out(mem, mem + size);
    jpeg_destroy_compress(&c);
    std::free(mem);
    return out;
}

void le16(Bytes& b, std::size_t o, unsigned v) {
    b[o] = static_cast<std::uint8_t>(v), b[o + 1] = static_cast<std::uint8_t>(v >> 8);
}
void le32(Bytes& b, std::size_t o, std::uint32_t v) {
    le16(b, o, v & 0xFFFF), le16(b, o + 2, v >> 16);
}

// A BMP with a BITMAPINFOHEADER: bpp 1, 4, 8 (palette of `colours`), 24 or 32; height < 0 for
// top-down rows; compression as stored (3 adds the usual BGR masks).
Bytes write_bmp(int w, int h, unsigned bpp, int colours = 0, std::uint32_t compression = 0,
                bool grey = false) {
    const std::size_t stride = (static_cast<std::size_t>(w) * bpp + 31) / 32 * 4;
    const std::size_t masks = compression == 3 ? 12 : 0;
    const std::size_t offset = 54 + masks + 4 * static_cast<std::size_t>(colours);
    const int rows = h < 0 ? -h : h;
    Bytes b(offset + stride * static_cast<std::size_t>(rows));
    b[0] = 'B', b[1] = 'M';
    le32(b, 2, static_cast<std::uint32_t>(b.size()));
    le32(b, 10, static_cast<std::uint32_t>(offset));
    le32(b, 14, 40);
    le32(b, 18, static_cast<std::uint32_t>(w));
    le32(b, 22, static_cast<std::uint32_t>(h));
    le16(b, 26, 1);
    le16(b, 28, bpp);
    le32(b, 30, compression);
    le32(b, 46, static_cast<std::uint32_t>(colours));
    if (compression == 3) le32(b, 54, 0x00FF0000), le32(b, 58, 0x0000FF00), le32(b, 62, 0x000000FF);
    for (int i = 0; i < colours; ++i) {
        const std::size_t p = 54 + masks + 4 * static_cast<std::size_t>(i);
        b[p] = noise(i, 0, 0), b[p + 1] = grey ? b[p] : noise(i, 0, 1),
        b[p + 2] = grey ? b[p] : noise(i, 0, 2);
    }
    for (std::size_t i = offset; i < b.size(); ++i) b[i] = noise(static_cast<unsigned>(i), 9, 9);
    return b;
}

bool mentions(const Error& e, const std::string& word) {
    return std::string(e.what()).find(word) != std::string::npos;
}

}  // namespace

TEST_CASE("photos decode to the same pixels as OpenCV's imdecode") {
    std::vector<std::string> paths;
    for (const char* name : {"baboon.jpg", "butterfly.jpg", "fruits.jpg", "messi5.jpg",
                             "squirrel_cls.jpg", "chicky_512.png"})
        paths.push_back(test::data_path(name));
    const std::filesystem::path shared = test::shared_fixture("fruits.jpg");
    if (!shared.empty())
        for (const auto& entry : std::filesystem::directory_iterator(shared.parent_path()))
            paths.push_back(entry.path().string());
    for (const auto& path : paths) check_same_as_opencv(test::file_bytes(path), path);
}

TEST_CASE("JPEG layouts decode as OpenCV decoded them") {
    check_same_as_opencv(opencv_encode(".jpg", pattern(67, 45, 3)), "RGB");
    check_same_as_opencv(opencv_encode(".jpg", pattern(67, 45, 1)), "gray");
    check_same_as_opencv(
        opencv_encode(".jpg", pattern(67, 45, 3), {cv::IMWRITE_JPEG_PROGRESSIVE, 1}),
        "progressive");
    check_same_as_opencv(
        opencv_encode(".jpg", pattern(67, 45, 3), {cv::IMWRITE_JPEG_RST_INTERVAL, 2}), "restarts");
    const Bytes cmyk = write_cmyk_jpeg(40, 24);
    check_same_as_opencv(cmyk, "CMYK (YCCK)");
    CHECK(decode_raw(cmyk).channels() == 3);
}

TEST_CASE(
    "PNG layouts decode as OpenCV decoded them: gray stays gray, alpha kept, 16-bit narrowed") {
    for (int ch : {1, 3, 4}) {
        const Image img = pattern(41, 19, ch);
        check_same_as_opencv(opencv_encode(".png", img), "8-bit, channels " + std::to_string(ch));
        cv::Mat wide;
        as_mat(img).convertTo(wide, CV_16U, 257.0);
        wide += cv::Scalar::all(100);  // values between the multiples of 257
        Bytes b;
        REQUIRE(cv::imencode(".png", wide, b));
        check_same_as_opencv(b, "16-bit, channels " + std::to_string(ch));
    }
    const auto spec = [](int type, int depth) {
        PngSpec s;
        s.width = 37, s.height = 21, s.color_type = type, s.bit_depth = depth;
        return s;
    };
    for (int depth : {1, 2, 4, 8}) {
        PngSpec s = spec(PNG_COLOR_TYPE_PALETTE, depth);
        s.palette_size = 1 << depth;
        check_same_as_opencv(write_png(s), "palette " + std::to_string(depth));
        s.trns = s.palette_size / 2 + 1;
        check_same_as_opencv(write_png(s), "palette with tRNS " + std::to_string(depth));
        check_same_as_opencv(write_png(spec(PNG_COLOR_TYPE_GRAY, depth)),
                             "gray " + std::to_string(depth));
    }
    CHECK(decode_raw(write_png([&] {
              PngSpec s = spec(PNG_COLOR_TYPE_PALETTE, 8);
              s.palette_size = 200;
              s.trns = 9;
              return s;
          }()))
              .channels() == 4);
    for (int depth : {8, 16}) {
        check_same_as_opencv(write_png(spec(PNG_COLOR_TYPE_GRAY_ALPHA, depth)),
                             "gray+alpha " + std::to_string(depth));
        PngSpec gray = spec(PNG_COLOR_TYPE_GRAY, depth), rgb = spec(PNG_COLOR_TYPE_RGB, depth);
        gray.trns = rgb.trns = 1;
        check_same_as_opencv(write_png(gray), "gray with tRNS " + std::to_string(depth));
        check_same_as_opencv(write_png(rgb), "RGB with tRNS " + std::to_string(depth));
        PngSpec laced = spec(PNG_COLOR_TYPE_RGB_ALPHA, depth);
        laced.interlace = true;
        check_same_as_opencv(write_png(laced), "interlaced RGBA " + std::to_string(depth));
    }
    CHECK(decode_raw(write_png(spec(PNG_COLOR_TYPE_GRAY_ALPHA, 8))).channels() == 4);
    CHECK(decode_raw(write_png([&] {
              PngSpec s = spec(PNG_COLOR_TYPE_GRAY, 8);
              s.trns = 1;
              return s;
          }()))
              .channels() == 1);
}

TEST_CASE("TIFF layouts decode as OpenCV decoded them; float stays f32") {
    const auto spec = [](std::uint16_t spp, std::uint16_t bps, std::uint16_t photometric) {
        TiffSpec s;
        s.width = 45, s.height = 29, s.spp = spp, s.bps = bps, s.photometric = photometric;
        return s;
    };
    for (std::uint16_t bps : {8, 16}) {
        const std::string b = std::to_string(bps) + "-bit ";
        check_same_as_opencv(write_tiff(spec(1, bps, PHOTOMETRIC_MINISBLACK)), b + "gray");
        check_same_as_opencv(write_tiff(spec(3, bps, PHOTOMETRIC_RGB)), b + "RGB");
        TiffSpec rgba = spec(4, bps, PHOTOMETRIC_RGB);
        rgba.extra = EXTRASAMPLE_ASSOCALPHA;
        check_same_as_opencv(write_tiff(rgba), b + "RGBA, associated alpha");
        rgba.extra = EXTRASAMPLE_UNASSALPHA;
        check_same_as_opencv(write_tiff(rgba), b + "RGBA, unassociated alpha");
        TiffSpec ga = spec(2, bps, PHOTOMETRIC_MINISBLACK);
        ga.extra = EXTRASAMPLE_UNASSALPHA;
        check_same_as_opencv(write_tiff(ga), b + "gray+alpha");
        TiffSpec tiled = spec(3, bps, PHOTOMETRIC_RGB);
        tiled.tile = 16;
        tiled.compression = COMPRESSION_ADOBE_DEFLATE;
        check_same_as_opencv(write_tiff(tiled), b + "tiled, deflate");
        TiffSpec lzw = spec(1, bps, PHOTOMETRIC_MINISBLACK);
        lzw.compression = COMPRESSION_LZW;
        lzw.rows_per_strip = 5;
        check_same_as_opencv(write_tiff(lzw), b + "LZW strips of 5 rows");
    }
    check_same_as_opencv(write_tiff(spec(1, 8, PHOTOMETRIC_MINISWHITE)), "MinIsWhite");
    check_same_as_opencv(write_tiff(spec(1, 1, PHOTOMETRIC_MINISBLACK)), "bi-level");
    check_same_as_opencv(write_tiff(spec(1, 8, PHOTOMETRIC_PALETTE)), "palette");
    TiffSpec planes = spec(3, 8, PHOTOMETRIC_RGB);
    planes.planes = true;
    check_same_as_opencv(write_tiff(planes), "separate planes");
    TiffSpec jpeg = spec(3, 8, PHOTOMETRIC_YCBCR);
    jpeg.compression = COMPRESSION_JPEG;
    jpeg.rows_per_strip = 16;
    check_same_as_opencv(write_tiff(jpeg), "JPEG YCbCr");
    TiffSpec cmyk = spec(4, 8, PHOTOMETRIC_SEPARATED);
    check_same_as_opencv(write_tiff(cmyk), "CMYK");
    for (std::uint16_t o = 2; o <= 8; ++o) {
        const std::string name = "orientation " + std::to_string(o);
        for (std::uint16_t bps : {8, 16, 32}) {
            TiffSpec turned = spec(3, bps, PHOTOMETRIC_RGB);
            turned.orientation = o;
            if (bps == 32) turned.format = SAMPLEFORMAT_IEEEFP;
            check_same_as_opencv(write_tiff(turned), std::to_string(bps) + "-bit, " + name);
        }
        // The decoder turns a TIFF by its orientation tag (libtiff's and OpenCV's way): loading
        // with orientation applied must not turn it a second time.
        for (std::uint16_t bps : {8, 16}) {
            TiffSpec turned = spec(3, bps, PHOTOMETRIC_RGB);
            turned.orientation = o;
            const Bytes file = write_tiff(turned);
            const Image shown = decode_image(file);
            CHECK(shown.same_pixels(decode_raw(file)));
            CHECK(shown.width() == (o >= 5 ? turned.height : turned.width));
        }
        // OpenCV could not read tiled files with an orientation; they decode as strips do.
        TiffSpec strips = spec(3, 8, PHOTOMETRIC_RGB);
        strips.orientation = o;
        strips.compression = COMPRESSION_ADOBE_DEFLATE;
        TiffSpec tiles = strips;
        tiles.tile = 16;
        CAPTURE(o);
        if (o == 2 || o == 3 || o == 6 || o == 7)  // libtiff would mirror each tile on its own
            CHECK(test::error_of([&] { decode_raw(write_tiff(tiles)); }).status() ==
                  Status::unsupported);
        else
            CHECK(decode_raw(write_tiff(tiles)).same_pixels(decode_raw(write_tiff(strips))));
    }
    for (std::uint16_t spp : {1, 3, 4}) {
        TiffSpec f = spec(spp, 32, spp == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
        f.format = SAMPLEFORMAT_IEEEFP;
        if (spp == 4) f.extra = EXTRASAMPLE_UNASSALPHA;
        const Bytes b = write_tiff(f);
        check_same_as_opencv(b, "float32, channels " + std::to_string(spp));
        CHECK(decode_raw(b).type() == PixelType::f32);
        f.bps = 64;
        if (spp == 1)
            check_same_as_opencv(write_tiff(f), "float64, gray");  // OpenCV read no 64-bit colour
        CHECK(decode_raw(write_tiff(f)).type() == PixelType::f32);
    }
}

TEST_CASE("WebP and BMP layouts decode as OpenCV decoded them") {
    for (int ch : {1, 3, 4}) {
        const Image img = pattern(50, 31, ch);
        check_same_as_opencv(opencv_encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 80}),
                             "lossy webp " + std::to_string(ch));
        check_same_as_opencv(opencv_encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 101}),
                             "lossless webp " + std::to_string(ch));
        check_same_as_opencv(opencv_encode(".bmp", img), "OpenCV's bmp " + std::to_string(ch));
    }
    check_same_as_opencv(write_bmp(29, 17, 24), "24-bit bottom-up");
    check_same_as_opencv(write_bmp(29, -17, 24), "24-bit top-down");
    check_same_as_opencv(write_bmp(29, 17, 32), "32-bit BI_RGB");
    check_same_as_opencv(write_bmp(29, -17, 32, 0, 3), "32-bit BI_BITFIELDS");
    CHECK(decode_raw(write_bmp(29, -17, 32, 0, 3)).channels() == 4);
    for (unsigned bpp : {1u, 4u, 8u}) {
        const int n = 1 << bpp;
        check_same_as_opencv(write_bmp(29, 17, bpp, n), "colour palette " + std::to_string(bpp));
        check_same_as_opencv(write_bmp(29, -17, bpp, n, 0, true),
                             "gray palette " + std::to_string(bpp));
        CHECK(decode_raw(write_bmp(29, -17, bpp, n, 0, true)).channels() == 1);
    }
    check_same_as_opencv(write_bmp(29, 17, 8, 100), "short palette");
}

TEST_CASE("encoding writes the bytes OpenCV's imencode wrote") {
    for (int ch : {1, 3, 4}) {
        CAPTURE(ch);
        const Image img = pattern(61, 37, ch);
        for (int q : {30, 92}) {
            SaveOptions o;
            o.jpeg_quality = q;
            o.webp_quality = q;
            if (ch != 4)
                CHECK(encode_image(img, "jpeg", o) ==
                      opencv_encode(".jpg", img, {cv::IMWRITE_JPEG_QUALITY, q}));
            CHECK(encode_image(img, "webp", o) ==
                  opencv_encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, q}));
        }
        SaveOptions lossless;
        lossless.webp_quality = 101;
        CHECK(encode_image(img, "webp", lossless) ==
              opencv_encode(".webp", img, {cv::IMWRITE_WEBP_QUALITY, 101}));
        for (int level : {0, 3, 9}) {
            SaveOptions o;
            o.png_compression = level;
            CHECK(encode_image(img, "png", o) ==
                  opencv_encode(".png", img, {cv::IMWRITE_PNG_COMPRESSION, level}));
        }
        CHECK(encode_image(img, "tiff") == opencv_encode(".tiff", img));
        CHECK(encode_image(img, "bmp") == opencv_encode(".bmp", img));
    }
    const Image big = test::load_data("baboon.jpg");
    CHECK(encode_image(big, "jpeg") == opencv_encode(".jpg", big, {cv::IMWRITE_JPEG_QUALITY, 92}));
    CHECK(encode_image(big, "png") == opencv_encode(".png", big, {cv::IMWRITE_PNG_COMPRESSION, 3}));
    for (int ch : {1, 4}) {
        const Image f = pattern(33, 20, ch, PixelType::f32);
        CHECK(encode_image(f, "tiff") == opencv_encode(".tiff", f));
    }
    // Float RGB is the exception: OpenCV wrote lossy LogLuv, which still reads as it did.
    const Image f = pattern(33, 20, 3, PixelType::f32);
    const Bytes logluv = opencv_encode(".tiff", f);
    check_same_as_opencv(logluv, "OpenCV's LogLuv float RGB");
    CHECK(decode_image(encode_image(f, "tiff")).same_pixels(f));
}

TEST_CASE("lossless formats round-trip exactly: gray, RGB, RGBA, float TIFF") {
    for (int ch : {1, 3, 4}) {
        CAPTURE(ch);
        const Image img = pattern(53, 27, ch);
        CHECK(decode_image(encode_image(img, "png")).same_pixels(img));
        CHECK(decode_image(encode_image(img, "tiff")).same_pixels(img));
        if (ch != 1) {
            SaveOptions lossless;
            lossless.webp_quality = 101;
            CHECK(decode_image(encode_image(img, "webp", lossless)).same_pixels(img));
        }
        if (ch != 4) CHECK(decode_image(encode_image(img, "bmp")).same_pixels(img));
        const Image f = pattern(53, 27, ch, PixelType::f32);
        CHECK(decode_image(encode_image(f, "tiff")).same_pixels(f));
    }
}

TEST_CASE("every cut of every format is a decode_error naming the format, never a crash") {
    SaveOptions lossless;
    lossless.webp_quality = 101;
    const Image img = pattern(70, 40, 3);
    const std::vector<std::pair<std::string, Bytes>> files = {
        {"jpeg", encode_image(img, "jpeg")},
        {"jpeg", opencv_encode(".jpg", img, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
        {"png", encode_image(img, "png")},
        {"png", write_png([] {
             PngSpec s;
             s.width = 40, s.height = 30, s.color_type = PNG_COLOR_TYPE_RGB, s.interlace = true;
             return s;
         }())},
        {"tiff", encode_image(img, "tiff")},
        {"tiff", write_tiff([] {
             TiffSpec s;
             s.width = 40, s.height = 30, s.bps = 16, s.tile = 16;
             return s;
         }())},
        {"webp", encode_image(img, "webp")},
        {"webp", encode_image(img, "webp", lossless)},
        {"bmp", encode_image(img, "bmp")},
    };
    for (const auto& [format, bytes] : files) {
        CAPTURE(format);
        REQUIRE(decode_image(bytes).width() > 0);
        for (std::size_t n = 16; n < bytes.size();
             n += std::max<std::size_t>(1, bytes.size() / 97)) {
            CAPTURE(n);
            const Error e = test::error_of(
                [&] { decode_image(Bytes(bytes.begin(), bytes.begin() + static_cast<long>(n))); });
            CHECK(e.status() == Status::decode_error);
            CHECK(mentions(e, format));
        }
    }
}

TEST_CASE("damaged data is a decode_error naming the format") {
    const Image img = pattern(64, 48, 3);
    const auto damaged = [](Bytes b, std::size_t at, std::size_t n) {
        for (std::size_t i = at; i < at + n && i < b.size(); ++i) b[i] ^= 0x5A;
        return b;
    };
    const auto expect = [](const Bytes& b, const std::string& format) {
        CAPTURE(format);
        const Error e = test::error_of([&] { decode_image(b); });
        CHECK(e.status() == Status::decode_error);
        CHECK(mentions(e, format));
    };
    Bytes jpg = encode_image(img, "jpeg");
    for (std::size_t i = 2; i + 4 < jpg.size(); ++i)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC4) {  // the first Huffman table's code counts
            std::fill(jpg.begin() + static_cast<long>(i) + 5,
                      jpg.begin() + static_cast<long>(i) + 21, 0xFF);
            break;
        }
    expect(jpg, "jpeg");
    const Bytes png = encode_image(img, "png");
    expect(damaged(png, png.size() / 2, 4), "png");  // IDAT's CRC no longer matches
    Bytes tiff = encode_image(img, "tiff");
    expect(damaged(tiff, 8, 64), "tiff");  // LZW data after the header
    Bytes webp = encode_image(img, "webp");
    expect(damaged(webp, 20, 16), "webp");  // the VP8 frame header
    Bytes bmp = encode_image(pattern(9, 5, 1), "bmp");
    le32(bmp, 46, 4000);  // more palette colours than 8 bits can index
    expect(bmp, "bmp");
}

TEST_CASE("unsupported variants are refused by name") {
    Error e = test::error_of([] { decode_image(write_bmp(16, 8, 8, 256, 1)); });
    CHECK(e.status() == Status::unsupported);
    CHECK(mentions(e, "RLE8"));
    e = test::error_of([] { decode_image(write_bmp(16, 8, 16)); });
    CHECK(e.status() == Status::unsupported);
    CHECK(mentions(e, "16-bit bmp"));
    TiffSpec twelve;
    twelve.width = 8, twelve.height = 8, twelve.spp = 1, twelve.bps = 12,
    twelve.photometric = PHOTOMETRIC_MINISBLACK;
    e = test::error_of([&] { decode_image(write_tiff(twelve)); });
    CHECK(e.status() == Status::unsupported);
    CHECK(mentions(e, "12-bit"));
}
