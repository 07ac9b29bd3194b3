#pragma once
// Internals of src/io shared between its files.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "artistry/io.hpp"
#include "util/atomic_file.hpp"

namespace artistry::io {

// EXIF orientation (1..8) from a TIFF-structured EXIF block ("II*\0" / "MM\0*"); 1 if absent.
int exif_orientation_from_tiff(std::span<const std::uint8_t> tiff);

// Rotates/flips pixels so that orientation becomes 1.
Image apply_orientation(const Image& image, int orientation);

// True when a JPEG stream has an end-of-image marker after its first scan (not truncated).
bool jpeg_has_end_marker(std::span<const std::uint8_t> bytes);

// Error(limit_exceeded) naming the limit and the option that raises it, when an image of this
// header in a file of file_bytes is over one of options' limits (pixels, per side, file size).
void check_limits(const ImageInfo& info, std::uint64_t file_bytes, const LoadOptions& options);
// The file-size limit alone, before a file is read.
void check_file_size(std::uint64_t file_bytes, const LoadOptions& options);

using util::read_file;
using util::write_file_atomic;

// "jpeg", "png", … from a file name's extension; Error(unsupported) otherwise.
std::string format_from_path(const std::string& path);

}  // namespace artistry::io
