// What the streamed runs (run_tiled_file, run_tiled_rows) share when they read their input.

#include <algorithm>
#include <cstdint>

#include "tiling/pipeline.hpp"

namespace artistry::tiling {

LoadOptions streamed_load(const LoadOptions& load) {
    LoadOptions out = load;
    out.max_pixels = std::max<std::uint64_t>(out.max_pixels, std::uint64_t{1} << 40);
    out.max_file_bytes = std::max<std::uint64_t>(out.max_file_bytes, std::uint64_t{1} << 50);
    return out;
}

Image grey_to_rgb(const Image& grey) {
    Image out = Image::allocate(grey.width(), grey.height(), 3);
    for (int y = 0; y < grey.height(); ++y) {
        const std::uint8_t* p = grey.row(y);
        std::uint8_t* q = out.row(y);
        for (int x = 0; x < grey.width(); ++x, q += 3) q[0] = q[1] = q[2] = p[x];
    }
    return out;
}

}  // namespace artistry::tiling
