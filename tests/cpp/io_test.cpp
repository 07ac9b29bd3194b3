#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "artistry/error.hpp"
#include "artistry/io.hpp"
#include "test_support.hpp"

using namespace artistry;
namespace fs = std::filesystem;

using test::file_bytes;
using test::write_bytes;

namespace {

Image gradient(int w, int h, int channels) {
    Image img = Image::allocate(w, h, channels);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < channels; ++c)
                img.row(y)[x * channels + c] = static_cast<std::uint8_t>(
                    c == 3 ? 255 - ((x + y) & 127)  // WebP may rewrite colour under alpha 0
                           : (x * 7 + y * 3 + c * 50) & 255);
    return img;
}

}  // namespace

TEST_CASE("a real JPEG loads as RGB in the right orientation and order") {
    const Image img = test::load_data("fruits.jpg");
    CHECK(img.width() == 512);
    CHECK(img.height() == 480);
    CHECK(img.channels() == 3);
    // fruits.jpg: the top-left region is a dark red-brown table edge? Check channel order on the
    // whole image instead: the photo is dominated by warm tones, so mean R > mean B.
    double r = 0, b = 0;
    for (int y = 0; y < img.height(); ++y)
        for (int x = 0; x < img.width(); ++x) {
            r += img.row(y)[x * 3];
            b += img.row(y)[x * 3 + 2];
        }
    CHECK(r > b);
}

TEST_CASE("lossless formats round-trip exactly, alpha kept") {
    test::TempDir dir;
    for (const std::string ext : {"png", "tiff", "bmp", "webp"}) {
        CAPTURE(ext);
        const int ch = ext == "bmp" ? 3 : 4;
        const Image img = gradient(37, 23, ch);
        const std::string path = dir.file("g." + ext);
        SaveOptions opt;
        opt.webp_quality = 101;  // lossless
        save_image(img, path, opt);
        const Image back = load_image(path);
        CHECK(back.channels() == ch);
        CHECK(back.same_pixels(img));
    }
    const Image gray = gradient(16, 9, 1);
    save_image(gray, dir.file("gray.png"));
    CHECK(load_image(dir.file("gray.png")).same_pixels(gray));
}

TEST_CASE("JPEG quality is honoured and RGBA is composited over white") {
    test::TempDir dir;
    const Image img = test::load_data("baboon.jpg");
    SaveOptions lo, hi;
    lo.jpeg_quality = 30;
    hi.jpeg_quality = 95;
    CHECK(encode_image(img, "jpeg", lo).size() < encode_image(img, "jpeg", hi).size());
    Image clear = Image::allocate(8, 8, 4);  // all transparent black
    save_image(clear, dir.file("clear.jpg"));
    const Image back = load_image(dir.file("clear.jpg"));
    CHECK(back.channels() == 3);
    CHECK(back.row(4)[12] >= 250);
}

TEST_CASE("EXIF orientation is applied") {
    test::TempDir dir;
    // A 4x2 JPEG with an APP1 Exif segment saying orientation 6 (rotate 90° clockwise).
    const Image img = gradient(64, 32, 3);
    auto jpg = encode_image(img, "jpeg");
    const std::uint8_t exif[] = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0,    0,
                                 'M',  'M',  0x00, 0x2A, 0,   0,   0,   8,  // TIFF header, IFD at 8
                                 0x00, 0x01,                                // one entry
                                 0x01, 0x12, 0x00, 0x03, 0,   0,   0,   1,   0x00, 0x06,
                                 0,    0,    0,    0,    0,   0};
    jpg.insert(jpg.begin() + 2, std::begin(exif), std::end(exif));
    write_bytes(dir.file("rot.jpg"), jpg);
    CHECK(probe_image_file(dir.file("rot.jpg")).orientation == 6);
    const Image back = load_image(dir.file("rot.jpg"));
    CHECK(back.width() == 32);
    CHECK(back.height() == 64);
    LoadOptions raw;
    raw.apply_orientation = false;
    CHECK(load_image(dir.file("rot.jpg"), raw).width() == 64);
}

TEST_CASE("a decompression bomb is refused from its header, before allocation") {
    // A valid PNG signature and IHDR that claims 100000 x 100000 RGBA.
    std::vector<std::uint8_t> png = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1a, '\n', 0,    0,    0,
                                     13,   'I',  'H', 'D', 'R',  0x00, 0x01, 0x86, 0xA0, 0x00, 0x01,
                                     0x86, 0xA0, 8,   6,   0,    0,    0,    0,    0,    0,    0};
    const Error e = test::error_of([&] { decode_image(png); });
    CHECK(e.status() == Status::limit_exceeded);
    CHECK(std::string(e.what()).find("100000x100000") != std::string::npos);
    CHECK(std::string(e.what()).find("256.0 MP") != std::string::npos);
    LoadOptions small;
    small.max_pixels = 1000;
    CHECK(test::error_of([&] { test::load_data("fruits.jpg"); }).status() == Status::ok);
    CHECK(test::error_of([&] { load_image(test::data_path("fruits.jpg"), small); }).status() ==
          Status::limit_exceeded);
}

TEST_CASE("truncated, empty, missing and foreign files give clear errors") {
    test::TempDir dir;
    const auto jpg = file_bytes(test::data_path("fruits.jpg"));
    write_bytes(dir.file("cut.jpg"),
                {jpg.begin(), jpg.begin() + static_cast<long>(jpg.size() / 2)});
    Error e = test::error_of([&] { load_image(dir.file("cut.jpg")); });
    CHECK(e.status() == Status::decode_error);
    CHECK(std::string(e.what()).find("truncated") != std::string::npos);

    const auto png = file_bytes(test::data_path("chicky_512.png"));
    write_bytes(dir.file("cut.png"),
                {png.begin(), png.begin() + static_cast<long>(png.size() / 2)});
    CHECK(test::error_of([&] { load_image(dir.file("cut.png")); }).status() ==
          Status::decode_error);

    write_bytes(dir.file("empty.png"), {});
    e = test::error_of([&] { load_image(dir.file("empty.png")); });
    CHECK(e.status() == Status::decode_error);
    CHECK(std::string(e.what()).find("empty file") != std::string::npos);

    write_bytes(dir.file("notes.jpg"), {'h', 'e', 'l', 'l', 'o'});
    e = test::error_of([&] { load_image(dir.file("notes.jpg")); });
    CHECK(std::string(e.what()).find("not a supported image") != std::string::npos);

    e = test::error_of([&] { load_image(dir.file("missing.jpg")); });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()).find("missing.jpg") != std::string::npos);
}

TEST_CASE("saving never leaves a half-written file and never clobbers on failure") {
    test::TempDir dir;
    const Image img = gradient(8, 8, 3);
    save_image(img, dir.file("keep.png"));
    const auto before = file_bytes(dir.file("keep.png"));
    CHECK_THROWS_AS(save_image(Image(), dir.file("keep.png")), Error);
    CHECK(file_bytes(dir.file("keep.png")) == before);
    CHECK_THROWS_AS(save_image(img, dir.file("x.unknown")), Error);
    CHECK_THROWS_AS(save_image(img, dir.file("nodir/x.png")), Error);
    for (const auto& entry : fs::directory_iterator(dir.path))
        CHECK(entry.path().filename().string().find(".tmp-") == std::string::npos);
}
