// WebP in memory through libwebp, as OpenCV 4.6 used it: RGBA when the file has alpha, else RGB;
// lossy at a quality, or lossless above 100; gray written as RGB.

#include <cstring>
#include <memory>

#include <webp/decode.h>
#include <webp/encode.h>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "io/codec_internal.hpp"

namespace artistry::io {

namespace {

const char* status_text(VP8StatusCode code) {
    switch (code) {
        case VP8_STATUS_OUT_OF_MEMORY:
            return "out of memory";
        case VP8_STATUS_INVALID_PARAM:
            return "invalid parameter";
        case VP8_STATUS_BITSTREAM_ERROR:
            return "bitstream error";
        case VP8_STATUS_UNSUPPORTED_FEATURE:
            return "unsupported feature";
        case VP8_STATUS_SUSPENDED:
            return "suspended";
        case VP8_STATUS_USER_ABORT:
            return "aborted";
        case VP8_STATUS_NOT_ENOUGH_DATA:
            return "the data ends before the image does";
        default:
            return "ok";
    }
}

}  // namespace

Image decode_webp(Bytes bytes) {
    WebPBitstreamFeatures features;
    const VP8StatusCode code = WebPGetFeatures(bytes.data(), bytes.size(), &features);
    if (code != VP8_STATUS_OK)
        throw Error(
            code == VP8_STATUS_OUT_OF_MEMORY ? Status::out_of_memory : Status::decode_error,
            fmt::format("{} webp: {}", code == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated" : "corrupt",
                        status_text(code)));
    if (features.has_animation) throw Error(Status::unsupported, "animated webp is not supported");
    const int channels = features.has_alpha ? 4 : 3;
    Image image = Image::allocate(features.width, features.height, channels);
    const auto size = image.stride() * static_cast<std::size_t>(image.height());
    const auto stride = static_cast<int>(image.stride());
    const std::uint8_t* done =
        channels == 4 ? WebPDecodeRGBAInto(bytes.data(), bytes.size(), image.data(), size, stride)
                      : WebPDecodeRGBInto(bytes.data(), bytes.size(), image.data(), size, stride);
    if (!done) {
        // The RIFF header gives the file's length: fewer bytes than that is a cut-short file.
        const std::uint64_t riff =
            8 + (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (std::uint64_t{bytes[7]} << 24));
        if (riff > bytes.size())
            throw Error(
                Status::decode_error,
                fmt::format("truncated webp: the file has {} of its {} bytes", bytes.size(), riff));
        throw Error(Status::decode_error, "corrupt webp: the image data does not decode");
    }
    return image;
}

std::vector<std::uint8_t> encode_webp(const Image& image, int quality) {
    Image rgb = image;
    if (image.channels() == 1) {
        rgb = Image::allocate(image.width(), image.height(), 3);
        for (int y = 0; y < image.height(); ++y) {
            const std::uint8_t* s = image.row(y);
            std::uint8_t* d = rgb.row(y);
            for (int x = 0; x < image.width(); ++x, d += 3) d[0] = d[1] = d[2] = s[x];
        }
    }
    const int w = rgb.width(), h = rgb.height(), stride = static_cast<int>(rgb.stride());
    const bool alpha = rgb.channels() == 4;
    std::uint8_t* out = nullptr;
    std::size_t size;
    if (quality > 100)
        size = alpha ? WebPEncodeLosslessRGBA(rgb.data(), w, h, stride, &out)
                     : WebPEncodeLosslessRGB(rgb.data(), w, h, stride, &out);
    else
        size = alpha ? WebPEncodeRGBA(rgb.data(), w, h, stride, static_cast<float>(quality), &out)
                     : WebPEncodeRGB(rgb.data(), w, h, stride, static_cast<float>(quality), &out);
    const std::unique_ptr<std::uint8_t, void (*)(void*)> owned(out, WebPFree);
    if (size == 0)
        throw Error(Status::io_error,
                    fmt::format("cannot encode webp: libwebp refused {}x{}{}", w, h,
                                w > WEBP_MAX_DIMENSION || h > WEBP_MAX_DIMENSION
                                    ? fmt::format(" (at most {} pixels a side)", WEBP_MAX_DIMENSION)
                                    : std::string()));
    return {out, out + size};
}

}  // namespace artistry::io
