// The streaming JPEG, PNG and TIFF readers, band by band (band heights from the input), from an
// in-memory file. Oracle: a reader that finishes has delivered exactly its header's rows.

#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "artistry/stream.hpp"
#include "fuzz_support.hpp"

using namespace artistry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Bytes in(data, size);
    const auto band_bits = in.take<std::uint8_t>();
    const auto bytes = in.rest();
    const int fd = memfd_create("fuzz-stream", 0);
    if (fd < 0) return 0;
    if (!bytes.empty() && write(fd, bytes.data(), bytes.size()) != ssize_t(bytes.size())) {
        close(fd);
        return 0;
    }
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        LoadOptions options;
        options.max_pixels = std::uint64_t{1} << 22;
        options.apply_orientation = false;
        StreamReadOptions stream;
        stream.max_buffer_bytes = std::uint64_t{64} << 20;
        auto reader = ImageReader::open(path, options, stream);
        const int height = reader->info().height;
        const int band = 1 + band_bits % 64;
        while (reader->rows_read() < height) {
            const Image rows = reader->read_band(std::min(band, height - reader->rows_read()));
            if (rows.width() != reader->info().width) __builtin_trap();
        }
        if (reader->rows_read() != height) __builtin_trap();
    } catch (const Error&) {
    }
    close(fd);
    return 0;
}
