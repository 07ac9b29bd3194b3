#pragma once
// The in-memory codecs behind decode_image and encode_image (src/io/codec_*.cpp), one per format.
//
// Decoders return the layout OpenCV's imdecode(IMREAD_UNCHANGED) gave before them, in RGB(A)
// order: gray stays one channel, alpha is kept, 16-bit samples are narrowed to 8 (round(v/257))
// and float TIFF stays f32; EXIF orientation is left to the caller. They throw
// Error(decode_error) for truncated or corrupt data and Error(unsupported) for variants they do
// not read, each message naming the format.

#include <cstdint>
#include <span>
#include <vector>

#include "artistry/image.hpp"
#include "artistry/io.hpp"

namespace artistry::io {

using Bytes = std::span<const std::uint8_t>;

Image decode_jpeg(Bytes bytes);
Image decode_png(Bytes bytes);
// `probed`: the size probe_image read (checked against the pixel limit); libtiff must agree.
Image decode_tiff(Bytes bytes, const ImageInfo& probed);
Image decode_webp(Bytes bytes);
Image decode_bmp(Bytes bytes);

// Encoders take gray, RGB or RGBA u8 pixels (f32 too for TIFF) and write what OpenCV's imencode
// wrote for the same settings.
std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality);  // RGBA over white
std::vector<std::uint8_t> encode_png(const Image& image, int level);
std::vector<std::uint8_t> encode_tiff(const Image& image);
std::vector<std::uint8_t> encode_webp(const Image& image, int quality);  // 101: lossless
std::vector<std::uint8_t> encode_bmp(const Image& image);  // alpha is dropped on reading

}  // namespace artistry::io
