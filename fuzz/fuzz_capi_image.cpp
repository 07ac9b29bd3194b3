// The C ABI's image descriptor: art_image_wrap and art_image_copy with hostile widths, heights,
// channel counts, element types and strides over a real buffer. The library must refuse what
// does not describe pixels (a status, never a crash) and, for what does, read only the bytes
// the descriptor promises; a descriptor promising more than the buffer holds is the caller's
// fault and is not sent.

#include <vector>

#include "artistry.h"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    artistry::fuzz::Bytes in(data, size);
    art_image_desc desc = ART_IMAGE_DESC_INIT;
    desc.width = in.take<std::int32_t>();
    desc.height = in.take<std::int32_t>();
    desc.channels = in.take<std::int32_t>();
    desc.elem_type = static_cast<art_elem_type>(in.take<std::int32_t>());
    desc.stride = in.take<std::uint32_t>();
    const auto copy = in.take<std::uint8_t>() % 2 == 1;
    const auto pixels = in.rest();
    std::vector<std::uint8_t> buffer(pixels.begin(), pixels.end());
    desc.data = buffer.empty() ? nullptr : buffer.data();
    // What the descriptor promises, computed without overflow; only sent when it would be a
    // caller's mistake not to have that many bytes if it were valid.
    const __int128 elem = desc.elem_type == ART_ELEM_F32 ? 4 : 1;
    const __int128 row = static_cast<__int128>(desc.width) * desc.channels * elem;
    const __int128 stride = desc.stride == 0 ? row : static_cast<__int128>(desc.stride);
    const bool shape_ok = desc.width > 0 && desc.height > 0 &&
                          (desc.channels == 1 || desc.channels == 3 || desc.channels == 4) &&
                          (desc.elem_type == ART_ELEM_U8 || desc.elem_type == ART_ELEM_F32) &&
                          stride >= row;
    if (shape_ok) {
        const __int128 promised = stride * (desc.height - 1) + row;
        if (promised > static_cast<__int128>(buffer.size())) return 0;
    }
    art_image* image = nullptr;
    const art_status status = copy ? art_image_copy(&image, &desc) : art_image_wrap(&image, &desc);
    if (status == ART_OK) {
        if (!shape_ok || image == nullptr) __builtin_trap();  // accepted what is not pixels
        art_image_desc back = ART_IMAGE_DESC_INIT;
        if (art_image_describe(&back, image) != ART_OK || back.width != desc.width ||
            back.height != desc.height || back.channels != desc.channels)
            __builtin_trap();
        art_image_free(image);
    } else if (image != nullptr) {
        __builtin_trap();  // a failure that left a handle
    }
    return 0;
}
