// PNG in memory through libpng, expanded as OpenCV 4.6 expanded it for IMREAD_UNCHANGED:
// palette → RGB, tRNS → alpha only where the image has no alpha channel of its own and is not
// gray, gray+alpha → RGBA, gray (tRNS ignored) → one channel, 16-bit → 8-bit.

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "io/codec_internal.hpp"
#include "io/png_lib.hpp"
#include "io/stream_internal.hpp"

namespace artistry::io {

namespace {

// Channels OpenCV delivered: 4 with an alpha channel or an RGB/palette tRNS, else 1 or 3.
int delivered_channels(PngCodec* p, const PngHeader* h) {
    switch (h->color_type) {
        case PNG_COLOR_TYPE_RGB:
        case PNG_COLOR_TYPE_PALETTE: {
            png_bytep trans = nullptr;
            int num_trans = 0;
            png_color_16p values = nullptr;
            png_get_tRNS(p->png, p->info, &trans, &num_trans, &values);
            return num_trans > 0 ? 4 : 3;
        }
        case PNG_COLOR_TYPE_GRAY_ALPHA:
        case PNG_COLOR_TYPE_RGB_ALPHA:
            return 4;
        default:
            return 1;
    }
}

void opencv_transforms(PngCodec* p, const PngHeader* h) {
    if (delivered_channels(p, h) < 4)
        png_set_strip_alpha(p->png);
    else
        png_set_tRNS_to_alpha(p->png);
    if (h->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p->png);
    const bool colour = (h->color_type & PNG_COLOR_MASK_COLOR) != 0;
    if (!colour && h->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(p->png);
    if (!colour && h->color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(p->png);
    png_set_interlace_handling(p->png);
}

}  // namespace

Image decode_png(Bytes bytes) {
    PngReadHolder holder;
    PngCodec& p = holder.p;
    p.in = bytes;
    p.status = Status::decode_error;
    p.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &p, png_on_error, png_on_warning);
    if (p.png) p.info = png_create_info_struct(p.png);
    if (!p.png || !p.info) throw Error(Status::out_of_memory, "cannot allocate the png decoder");
    const auto fail = [&] { return Error(p.status, describe_png_error(p, "decoding")); };

    PngHeader h{};
    if (!c_read_header(&p, &h, read_memory_data)) throw fail();
    const int channels = delivered_channels(&p, &h);
    if (!c_update_info(&p, &h, opencv_transforms)) throw fail();
    if (h.out_channels != channels || (h.out_depth != 8 && h.out_depth != 16))
        throw Error(Status::unsupported,
                    fmt::format("png with colour type {} and bit depth {} decodes to {} "
                                "channels of {} bits, which is not supported",
                                h.color_type, h.bit_depth, h.out_channels, h.out_depth));

    Image image = Image::allocate(static_cast<int>(h.width), static_cast<int>(h.height), channels);
    std::vector<png_bytep> rows(h.height);
    std::vector<std::uint8_t> wide;  // 16-bit big-endian samples before narrowing
    if (h.out_depth == 16) wide.resize(h.row_bytes * h.height);
    for (png_uint_32 y = 0; y < h.height; ++y)
        rows[y] = h.out_depth == 8 ? image.row(static_cast<int>(y)) : wide.data() + h.row_bytes * y;
    if (!c_read_image(&p, rows.data()) || !c_read_end(&p)) throw fail();
    if (h.out_depth == 16) {
        const std::size_t n =
            static_cast<std::size_t>(h.width) * static_cast<std::size_t>(channels);
        for (png_uint_32 y = 0; y < h.height; ++y) {
            const std::uint8_t* s = rows[y];
            std::uint8_t* d = image.row(static_cast<int>(y));
            for (std::size_t i = 0; i < n; ++i, s += 2)
                d[i] = narrow16((unsigned{s[0]} << 8) | s[1]);
        }
    }
    return image;
}

std::vector<std::uint8_t> encode_png(const Image& image, int level) {
    std::vector<std::uint8_t> out;
    PngWriteHolder holder;
    PngCodec& p = holder.p;
    p.out = &out;
    p.status = Status::io_error;
    p.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &p, png_on_error, png_on_warning);
    if (p.png) p.info = png_create_info_struct(p.png);
    if (!p.png || !p.info) throw Error(Status::out_of_memory, "cannot allocate the png encoder");
    const auto fail = [&] {
        return Error(p.status, fmt::format("cannot encode png: {}", p.message));
    };

    const int type = image.channels() == 1   ? PNG_COLOR_TYPE_GRAY
                     : image.channels() == 3 ? PNG_COLOR_TYPE_RGB
                                             : PNG_COLOR_TYPE_RGBA;
    // As OpenCV with IMWRITE_PNG_COMPRESSION: libpng's filters and chunk size, default strategy.
    const PngWriteSettings settings{level, -1, 0 /* Z_DEFAULT_STRATEGY */, 0};
    if (!c_start_write(&p, static_cast<png_uint_32>(image.width()),
                       static_cast<png_uint_32>(image.height()), type, settings, write_memory_data))
        throw fail();
    // libpng copies each row before filtering it; the image is never written.
    std::vector<png_bytep> rows(static_cast<std::size_t>(image.height()));
    for (int y = 0; y < image.height(); ++y) rows[static_cast<std::size_t>(y)] = image.row(y);
    if (!c_write_rows(&p, rows.data(), static_cast<png_uint_32>(image.height())) ||
        !c_write_end(&p))
        throw fail();
    return out;
}

}  // namespace artistry::io
