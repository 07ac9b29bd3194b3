#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "artistry/error.hpp"
#include "artistry/image.hpp"

using namespace artistry;

TEST_CASE("allocated images are zeroed, owned and contiguous") {
    const Image img = Image::allocate(7, 5, 3);
    CHECK(img.storage() == Storage::owned);
    CHECK(img.contiguous());
    CHECK(img.byte_size() == 7u * 5u * 3u);
    for (int y = 0; y < 5; ++y)
        for (std::size_t x = 0; x < img.row_bytes(); ++x) CHECK(img.row(y)[x] == 0);
}

TEST_CASE("a view shares pixels with its parent") {
    Image img = Image::allocate(10, 10, 4);
    Image v = img.view({2, 3, 4, 5});
    CHECK(v.width() == 4);
    CHECK(v.height() == 5);
    CHECK(v.stride() == img.stride());
    v.row(0)[0] = 42;
    CHECK(img.row(3)[2 * 4] == 42);
    // The parent handle going away does not free the pixels the view still uses.
    img = Image();
    CHECK(v.row(0)[0] == 42);
}

TEST_CASE("clone is independent and compact") {
    Image img = Image::allocate(6, 4, 1);
    img.row(1)[1] = 9;
    const Image v = img.view({1, 1, 3, 2});
    Image c = v.clone();
    CHECK(c.contiguous());
    CHECK(c.same_pixels(v));
    c.row(0)[0] = 1;
    CHECK(img.row(1)[1] == 9);
}

TEST_CASE("wrap views a caller buffer with its stride") {
    std::vector<std::uint8_t> buf(32 * 4, 7);
    const Image img = Image::wrap(buf.data(), 5, 4, 3, PixelType::u8, 32);
    CHECK(img.storage() == Storage::external);
    CHECK(img.data() == buf.data());
    CHECK(img.row(2) == buf.data() + 64);
    CHECK_THROWS_AS(Image::wrap(buf.data(), 20, 4, 3, PixelType::u8, 32), Error);
    CHECK_THROWS_AS(Image::wrap(nullptr, 2, 2, 3, PixelType::u8, 6), Error);
}

TEST_CASE("bad shapes are refused with the reason") {
    try {
        Image::allocate(0, 5, 3);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.status() == Status::invalid_argument);
        CHECK(std::string(e.what()).find("0x5") != std::string::npos);
    }
    CHECK_THROWS_WITH_AS(Image::allocate(4, 4, 2), "image channels must be 1, 3 or 4, got 2",
                         Error);
    const Image img = Image::allocate(4, 4, 3);
    CHECK_THROWS_AS(img.view({2, 2, 3, 1}), Error);
}

TEST_CASE("f32 images use four bytes per channel") {
    const Image img = Image::allocate(3, 2, 4, PixelType::f32);
    CHECK(img.pixel_bytes() == 16);
    CHECK(img.row_bytes() == 48);
}
