// EXIF orientation from a TIFF-structured block. Oracle: always 1..8.

#include "fuzz_support.hpp"
#include "io/io_internal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int orientation = artistry::io::exif_orientation_from_tiff({data, size});
    if (orientation < 1 || orientation > 8) __builtin_trap();
    return 0;
}
