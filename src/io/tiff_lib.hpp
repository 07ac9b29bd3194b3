#pragma once
// libtiff glue shared by the in-memory codec (codec_tiff.cpp) and the streaming reader and
// writer (stream_tiff.cpp).
//
// libtiff reports errors through handlers and return codes: each handle gets its own handler
// (TIFFOpenOptions) that keeps the last message beside the TIFF handle, and every call's return
// code is checked.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <tiffio.h>

namespace artistry::io {

struct TiffMessages {
    char error[512];
};

// Opens fd through libtiff with these message handlers.
TIFF* open_tiff(int fd, const std::string& name, const char* mode, TiffMessages* messages);

// Bytes in memory, read by libtiff (TIFFClientOpen); no memory mapping.
struct TiffMemoryInput {
    std::span<const std::uint8_t> bytes;
    std::uint64_t pos = 0;
};
TIFF* open_tiff_reading(TiffMemoryInput* input, TiffMessages* messages);

// A growing buffer libtiff writes a file into. failed: an allocation failed.
struct TiffMemoryOutput {
    std::vector<std::uint8_t> bytes;
    std::uint64_t pos = 0;
    bool failed = false;
};
TIFF* open_tiff_writing(TiffMemoryOutput* output, TiffMessages* messages);

// A TIFF handle that frees libtiff's state but leaves the descriptor or buffer to its owner.
struct TiffHolder {
    TIFF* tif = nullptr;
    TiffHolder() = default;
    TiffHolder(const TiffHolder&) = delete;
    TiffHolder& operator=(const TiffHolder&) = delete;
    ~TiffHolder() {
        if (tif) TIFFCleanup(tif);
    }
};

}  // namespace artistry::io
