#pragma once
// A procedural photo-like image (rings, gradients, hash noise) written by streaming in bands, so
// images larger than memory can be made: large_image_test and bench/large (support/ holds what
// the test suites and the benchmarks share; it is not part of the library).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include <tbb/parallel_for.h>

#include "artistry/stream.hpp"

namespace artistry::support {

inline void write_pattern(const std::string& path, int w, int h, int jpeg_quality = 90) {
    auto writer = ImageWriter::create(path, w, h, 3, SaveOptions{jpeg_quality, 1, 92});
    constexpr int band = 256;
    for (int y0 = 0; y0 < h; y0 += band) {
        Image img = Image::allocate(w, std::min(band, h - y0), 3);
        // Rows in parallel: a 900 MP image is written in a test's time.
        tbb::parallel_for(0, img.height(), [&](int y) {
            std::uint8_t* p = img.row(y);
            const int ay = y0 + y;
            for (int x = 0; x < w; ++x, p += 3) {
                const std::uint32_t n = (static_cast<std::uint32_t>(x) * 73856093u) ^
                                        (static_cast<std::uint32_t>(ay) * 19349663u);
                const int noise = static_cast<int>((n * 2654435761u) >> 28) - 8;
                const double r = std::hypot(x - w / 2.0, ay - h / 2.0);
                const int v = static_cast<int>(128 + 100 * std::sin(r / 97.0)) + noise;
                p[0] = static_cast<std::uint8_t>(std::clamp(v + x * 60 / w, 0, 255));
                p[1] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
                p[2] = static_cast<std::uint8_t>(std::clamp(255 * ay / h + noise, 0, 255));
            }
        });
        writer->write_rows(img);
    }
    writer->finish();
}

}  // namespace artistry::support
