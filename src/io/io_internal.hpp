#pragma once
// Internals of src/io shared between its files.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "artistry/io.hpp"

namespace artistry::io {

// EXIF orientation (1..8) from a TIFF-structured EXIF block ("II*\0" / "MM\0*"); 1 if absent.
int exif_orientation_from_tiff(std::span<const std::uint8_t> tiff);

// Rotates/flips pixels so that orientation becomes 1.
Image apply_orientation(const Image& image, int orientation);

// True when a JPEG stream has an end-of-image marker after its first scan (not truncated).
bool jpeg_has_end_marker(std::span<const std::uint8_t> bytes);

std::vector<std::uint8_t> read_file(const std::string& path);

// Writes bytes so that `path` appears whole or not at all: a temporary file in the same
// folder, flushed, then renamed over `path`.
void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes);

// "jpeg", "png", … from a file name's extension; Error(unsupported) otherwise.
std::string format_from_path(const std::string& path);

}  // namespace artistry::io
