// Whole-image decoding and header probing, every format the library reads (JPEG, PNG, WebP,
// TIFF, BMP), with EXIF orientation, under a memory budget the first byte picks (allocation
// failures injected). Oracle: what decodes has the size its header promised.

#include "artistry/io.hpp"
#include "fuzz_support.hpp"

using namespace artistry;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Bytes in(data, size);
    const auto budget_bits = in.take<std::uint8_t>();
    const auto bytes = in.rest();
    std::optional<ImageInfo> info;
    try {
        info = probe_image(bytes);
    } catch (const Error&) {
    }
    const std::uint64_t budget =
        budget_bits < 8 ? std::uint64_t{1} << 30 : std::uint64_t{1} << (budget_bits % 24 + 8);
    fuzz::with_budget(budget, [&] {
        LoadOptions options;
        options.max_pixels = std::uint64_t{1} << 22;
        const Image image = decode_image(bytes, options);
        if (!info) __builtin_trap();  // decoded what the probe refused
        const bool turned = info->orientation >= 5;
        const int w = turned ? info->height : info->width;
        const int h = turned ? info->width : info->height;
        if (image.width() != w || image.height() != h) __builtin_trap();
    });
    return 0;
}
