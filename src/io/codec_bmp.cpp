// BMP in memory: uncompressed 1-, 4- and 8-bit palette, 24- and 32-bit images, bottom-up or
// top-down, delivered as OpenCV 4.6 delivered them (a gray palette gives one channel; 32-bit
// BI_RGB drops its fourth byte, 32-bit BI_BITFIELDS keeps it as alpha). Compressed BMPs (RLE,
// JPEG, PNG), 16-bit and OS/2 ones are refused. Written as OpenCV wrote them.

#include <array>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "io/codec_internal.hpp"

namespace artistry::io {

namespace {

std::uint32_t le16(Bytes b, std::size_t o) {
    return b[o] | (b[o + 1] << 8);
}
std::uint32_t le32(Bytes b, std::size_t o) {
    return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (std::uint32_t{b[o + 3]} << 24);
}

const char* compression_name(std::uint32_t c) {
    switch (c) {
        case 1:
            return "RLE8 compression";
        case 2:
            return "RLE4 compression";
        case 3:
            return "BI_BITFIELDS";
        case 4:
            return "embedded JPEG";
        case 5:
            return "embedded PNG";
        case 6:
            return "BI_ALPHABITFIELDS";
        default:
            return "an unknown compression";
    }
}

Error truncated(const std::string& what) {
    return Error(Status::decode_error, "truncated bmp: " + what);
}

struct Entry {
    std::uint8_t b, g, r;
};

// What the headers say about the pixels.
struct Layout {
    std::uint32_t header = 0;  // the info header's size
    int width = 0;
    int height = 0;
    bool bottom_up = true;
    unsigned bpp = 0;
    bool bitfields32 = false;  // 32-bit BI_BITFIELDS: the fourth byte is alpha
    std::uint32_t colours_used = 0;
    std::uint32_t data_offset = 0;
};

// The header's sizes and offsets, each checked for sense.
Layout read_header(Bytes b) {
    if (b.size() < 18) throw truncated("the file ends inside its header");
    Layout layout;
    layout.header = le32(b, 14);
    if (layout.header == 12)
        throw Error(Status::unsupported, "OS/2 bmp (12-byte header) is not supported");
    if (layout.header < 40)
        throw Error(Status::decode_error,
                    fmt::format("corrupt bmp: header size {}", layout.header));
    if (b.size() < 14 + std::size_t{layout.header})
        throw truncated("the file ends inside its header");
    const auto width = static_cast<std::int32_t>(le32(b, 18));
    const auto stored_height = static_cast<std::int32_t>(le32(b, 22));
    if (width <= 0 || stored_height == 0 || stored_height == INT32_MIN)
        throw Error(Status::decode_error,
                    fmt::format("corrupt bmp: size {}x{}", width, stored_height));
    layout.width = width;
    layout.bottom_up = stored_height > 0;
    layout.height = layout.bottom_up ? stored_height : -stored_height;
    layout.colours_used = le32(b, 46);
    layout.data_offset = le32(b, 10);
    return layout;
}

// Which layouts are read: BI_RGB, and BI_BITFIELDS 32-bit with the usual byte masks.
Layout read_layout(Bytes b) {
    Layout layout = read_header(b);
    layout.bpp = le16(b, 28);
    const unsigned bpp = layout.bpp;
    const std::uint32_t compression = le32(b, 30);
    constexpr std::size_t masks = 54;  // after a 40-byte header, or inside a longer one
    layout.bitfields32 = compression == 3 && bpp == 32 && b.size() >= masks + 12 &&
                         le32(b, masks) == 0x00FF0000 && le32(b, masks + 4) == 0x0000FF00 &&
                         le32(b, masks + 8) == 0x000000FF;
    if (compression != 0 && !layout.bitfields32)
        throw Error(Status::unsupported,
                    fmt::format("bmp with {} ({}-bit) is not supported; uncompressed "
                                "1-, 4-, 8-, 24- and 32-bit ones are",
                                compression_name(compression), bpp));
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 24 && bpp != 32)
        throw Error(Status::unsupported,
                    fmt::format("{}-bit bmp is not supported; 1-, 4-, 8-, 24- and 32-bit "
                                "ones are",
                                bpp));
    return layout;
}

struct Palette {
    std::array<Entry, 256> entries{};  // entries the file does not give stay black
    bool gray = true;                  // every entry the pixels can index is gray
};

Palette read_palette(Bytes b, const Layout& layout) {
    Palette palette;
    const unsigned bpp = layout.bpp;
    const std::uint32_t count = layout.colours_used == 0 ? 1u << bpp : layout.colours_used;
    if (count > 256)
        throw Error(Status::decode_error, fmt::format("corrupt bmp: {} palette colours", count));
    const std::size_t at = 14 + std::size_t{layout.header};
    if (b.size() < at + 4 * std::size_t{count}) throw truncated("the file ends inside its palette");
    for (std::uint32_t i = 0; i < count; ++i)
        palette.entries[i] = {b[at + 4 * i], b[at + 4 * i + 1], b[at + 4 * i + 2]};
    for (std::uint32_t i = 0; i < (1u << bpp); ++i) {
        const Entry& e = palette.entries[i];
        palette.gray = palette.gray && e.b == e.g && e.g == e.r;
    }
    return palette;
}

// Bytes per row (rows are padded to four bytes), once the file is known to hold every row.
std::size_t checked_stride(Bytes b, const Layout& layout) {
    const std::size_t stride = (static_cast<std::size_t>(layout.width) * layout.bpp + 31) / 32 * 4;
    const std::size_t need = stride * static_cast<std::size_t>(layout.height);
    if (layout.data_offset > b.size() || b.size() - layout.data_offset < need)
        throw truncated(fmt::format("the pixels need {} bytes from offset {}, the file has {}",
                                    need, layout.data_offset, b.size()));
    return stride;
}

void read_pixels(Bytes b, const Layout& layout, std::size_t stride, const Palette& palette,
                 Image& image) {
    const int width = layout.width, height = layout.height, channels = image.channels();
    const unsigned bpp = layout.bpp;
    for (int y = 0; y < height; ++y) {
        const std::uint8_t* s =
            b.data() + layout.data_offset +
            stride * static_cast<std::size_t>(layout.bottom_up ? height - 1 - y : y);
        std::uint8_t* d = image.row(y);
        for (int x = 0; x < width; ++x, d += channels) {
            if (bpp > 8) {
                const std::uint8_t* p = s + static_cast<std::size_t>(x) * (bpp / 8);
                d[0] = p[2], d[1] = p[1], d[2] = p[0];
                if (channels == 4) d[3] = p[3];
                continue;
            }
            const unsigned bit = static_cast<unsigned>(x) * bpp;
            const unsigned index = (s[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
            const Entry& e = palette.entries[index];
            if (channels == 1)
                d[0] = e.b;
            else
                d[0] = e.r, d[1] = e.g, d[2] = e.b;
        }
    }
}

}  // namespace

Image decode_bmp(Bytes b) {
    const Layout layout = read_layout(b);
    const Palette palette =
        layout.bpp <= 8 ? read_palette(b, layout) : Palette{.entries = {}, .gray = false};
    const int channels = palette.gray ? 1 : layout.bitfields32 ? 4 : 3;
    const std::size_t stride = checked_stride(b, layout);
    Image image = Image::allocate(layout.width, layout.height, channels);
    read_pixels(b, layout, stride, palette, image);
    return image;
}

std::vector<std::uint8_t> encode_bmp(const Image& image) {
    const int channels = image.channels();
    const std::size_t row =
        static_cast<std::size_t>(image.width()) * static_cast<std::size_t>(channels);
    const std::size_t stride = (row + 3) & ~std::size_t{3};
    const std::size_t palette = channels > 1 ? 0 : 1024;
    const std::size_t header = 14 + 40 + palette;
    const std::size_t total = stride * static_cast<std::size_t>(image.height()) + header;
    if (total > 0x7fffffff)
        throw Error(Status::unsupported,
                    fmt::format("bmp cannot hold {}x{}: the file would pass 2 GiB", image.width(),
                                image.height()));
    std::vector<std::uint8_t> out(total);
    std::uint8_t* p = out.data();
    const auto put16 = [&](std::uint32_t v) {
        *p++ = static_cast<std::uint8_t>(v), *p++ = static_cast<std::uint8_t>(v >> 8);
    };
    const auto put32 = [&](std::uint32_t v) { put16(v & 0xFFFF), put16(v >> 16); };
    *p++ = 'B', *p++ = 'M';
    put32(static_cast<std::uint32_t>(total));
    put32(0);
    put32(static_cast<std::uint32_t>(header));
    put32(40);
    put32(static_cast<std::uint32_t>(image.width()));
    put32(static_cast<std::uint32_t>(image.height()));  // positive: bottom-up rows
    put16(1);
    put16(static_cast<std::uint32_t>(channels * 8));
    for (int i = 0; i < 6; ++i) put32(0);  // BI_RGB, sizes and colour counts left to readers
    if (channels == 1)
        for (unsigned i = 0; i < 256; ++i)
            *p++ = static_cast<std::uint8_t>(i), *p++ = static_cast<std::uint8_t>(i),
            *p++ = static_cast<std::uint8_t>(i), *p++ = 0;
    for (int y = image.height() - 1; y >= 0; --y, p += stride) {
        const std::uint8_t* s = image.row(y);
        if (channels == 1) {
            std::memcpy(p, s, row);
            continue;
        }
        for (int x = 0; x < image.width(); ++x, s += channels) {
            std::uint8_t* d = p + static_cast<std::size_t>(x) * static_cast<std::size_t>(channels);
            d[0] = s[2], d[1] = s[1], d[2] = s[0];
            if (channels == 4) d[3] = s[3];
        }
    }
    return out;
}

}  // namespace artistry::io
