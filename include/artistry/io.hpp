#pragma once
// Reading and writing image files (JPEG, PNG, WebP, TIFF, BMP).

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "artistry/image.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

// Default limits (decompression-bomb guards): larger images are refused from their header or
// their file size, before any pixel buffer is made. Whole-image and streamed reads check the
// same three limits; the streamed path of run_tiled_file lifts the pixel and file-size limits
// (its memory is bounded by the band) and keeps the per-side one.
inline constexpr std::uint64_t default_max_pixels = 256'000'000;
inline constexpr int default_max_dimension = 1 << 18;  // 262,144 pixels per side
inline constexpr std::uint64_t default_max_file_bytes = std::uint64_t{4} << 30;

struct ImageInfo {
    std::string format;  // "jpeg", "png", "webp", "tiff", "bmp"
    int width = 0;
    int height = 0;
    int channels = 0;     // as stored (1, 3, 4); 0 when the header does not say
    int orientation = 1;  // EXIF orientation 1..8 (1: as stored)
};

struct LoadOptions {
    std::uint64_t max_pixels = default_max_pixels;
    // Rotate/flip by the EXIF orientation tag. TIFF pixels come turned by their orientation
    // tag either way (as libtiff delivers them).
    bool apply_orientation = true;
    // Added after the fields above so that their positional initialisation keeps its meaning.
    int max_dimension = default_max_dimension;  // width and height each
    std::uint64_t max_file_bytes = default_max_file_bytes;
};

struct SaveOptions {
    int jpeg_quality = 92;    // 1..100
    int png_compression = 3;  // 0..9
    int webp_quality = 92;    // 1..100; 101 = lossless
};

// Reads only the header. Error(decode_error) when it is not a supported image.
ImageInfo probe_image(std::span<const std::uint8_t> bytes);
ImageInfo probe_image_file(const std::string& path);

Image decode_image(std::span<const std::uint8_t> bytes, const LoadOptions& options = {});
Image load_image(const std::string& path, const LoadOptions& options = {});

// Format from the extension. The file appears whole or not at all (temp name, then rename).
// JPEG has no alpha: RGBA is composited over white.
void save_image(const Image& image, const std::string& path, const SaveOptions& options = {});
std::vector<std::uint8_t> encode_image(const Image& image, const std::string& format,
                                       const SaveOptions& options = {});

// Writes bytes (an encoded image, say) so that `path` appears whole or not at all, as save_image
// does: an unnamed file in the folder, linked in once complete. Error(io_error) naming the path.
void write_file(const std::string& path, std::span<const std::uint8_t> bytes);

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
