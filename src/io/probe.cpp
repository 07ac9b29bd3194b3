// Header-only probing: format, size, channels and orientation without decoding pixels, so
// that a decompression bomb is refused before anything is allocated.

#include <cstdint>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "io/io_internal.hpp"

namespace {

using Bytes = std::span<const std::uint8_t>;

std::uint32_t be16(Bytes b, std::size_t o) {
    return (b[o] << 8) | b[o + 1];
}
std::uint32_t be32(Bytes b, std::size_t o) {
    return (std::uint32_t(b[o]) << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
}
std::uint32_t le16(Bytes b, std::size_t o) {
    return b[o] | (b[o + 1] << 8);
}
std::uint32_t le24(Bytes b, std::size_t o) {
    return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16);
}
std::uint32_t le32(Bytes b, std::size_t o) {
    return le24(b, o) | (std::uint32_t(b[o + 3]) << 24);
}

}  // namespace

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

Error truncated(const char* format) {
    return Error(Status::decode_error, fmt::format("truncated or corrupt {} header", format));
}

ImageInfo probe_png(Bytes b) {
    if (b.size() < 33 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) throw truncated("png");
    ImageInfo info{"png", static_cast<int>(be32(b, 16)), static_cast<int>(be32(b, 20)), 0, 1};
    switch (b[25]) {
        case 0:
            info.channels = 1;
            break;
        case 2:
        case 3:
            info.channels = 3;
            break;
        case 4:
        case 6:
            info.channels = 4;
            break;
        default:
            throw Error(Status::decode_error, "png header has an unknown colour type");
    }
    // Orientation lives in an eXIf chunk, which must come before the image data.
    std::size_t o = 8;
    while (o + 12 <= b.size()) {
        const std::size_t len = be32(b, o);
        if (std::memcmp(b.data() + o + 4, "IDAT", 4) == 0) break;
        if (std::memcmp(b.data() + o + 4, "eXIf", 4) == 0 && o + 8 + len <= b.size()) {
            info.orientation = io::exif_orientation_from_tiff(b.subspan(o + 8, len));
            break;
        }
        if (len > b.size()) break;
        o += 12 + len;
    }
    return info;
}

ImageInfo probe_jpeg(Bytes b) {
    ImageInfo info{"jpeg", 0, 0, 0, 1};
    std::size_t o = 2;
    while (o + 4 <= b.size()) {
        if (b[o] != 0xFF) throw Error(Status::decode_error, "corrupt jpeg: bad marker");
        const std::uint8_t marker = b[o + 1];
        if (marker == 0xFF) {
            ++o;
            continue;
        }  // fill byte
        if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
            o += 2;
            continue;
        }
        const std::size_t len = be16(b, o + 2);
        if (len < 2) throw Error(Status::decode_error, "corrupt jpeg: bad segment length");
        if (marker == 0xE1 && o + 4 + len - 2 <= b.size() && len >= 8 &&
            std::memcmp(b.data() + o + 4, "Exif\0\0", 6) == 0) {
            info.orientation = io::exif_orientation_from_tiff(b.subspan(o + 10, len - 8));
        }
        const bool sof =
            marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (sof) {
            if (o + 10 > b.size()) throw truncated("jpeg");
            info.height = static_cast<int>(be16(b, o + 5));
            info.width = static_cast<int>(be16(b, o + 7));
            info.channels = b[o + 9] == 1 ? 1 : 3;
            return info;
        }
        if (marker == 0xDA || marker == 0xD9) break;
        o += 2 + len;
    }
    throw truncated("jpeg");
}

ImageInfo probe_webp(Bytes b) {
    if (b.size() < 30) throw truncated("webp");
    ImageInfo info{"webp", 0, 0, 3, 1};
    if (std::memcmp(b.data() + 12, "VP8 ", 4) == 0) {
        info.width = static_cast<int>(le16(b, 26) & 0x3FFF);
        info.height = static_cast<int>(le16(b, 28) & 0x3FFF);
    } else if (std::memcmp(b.data() + 12, "VP8L", 4) == 0) {
        const std::uint32_t bits = le32(b, 21);
        info.width = static_cast<int>((bits & 0x3FFF) + 1);
        info.height = static_cast<int>(((bits >> 14) & 0x3FFF) + 1);
        info.channels = (bits >> 28) & 1 ? 4 : 3;
    } else if (std::memcmp(b.data() + 12, "VP8X", 4) == 0) {
        info.channels = (b[20] & 0x10) ? 4 : 3;
        info.width = static_cast<int>(le24(b, 24) + 1);
        info.height = static_cast<int>(le24(b, 27) + 1);
        // EXIF chunk, if any, follows; look for it.
        std::size_t o = 12;
        while (o + 8 <= b.size()) {
            const std::size_t len = le32(b, o + 4);
            if (std::memcmp(b.data() + o, "EXIF", 4) == 0 && o + 8 + len <= b.size()) {
                auto exif = b.subspan(o + 8, len);
                if (exif.size() > 6 && std::memcmp(exif.data(), "Exif\0\0", 6) == 0)
                    exif = exif.subspan(6);
                info.orientation = io::exif_orientation_from_tiff(exif);
                break;
            }
            if (len > b.size()) break;
            o += 8 + len + (len & 1);
        }
    } else {
        throw Error(Status::decode_error, "webp file has an unknown bitstream chunk");
    }
    return info;
}

ImageInfo probe_tiff(Bytes b) {
    const bool little = b[0] == 'I';
    const auto u16 = [&](std::size_t o) { return little ? le16(b, o) : be16(b, o); };
    const auto u32 = [&](std::size_t o) { return little ? le32(b, o) : be32(b, o); };
    if (u16(2) != 42)
        throw Error(Status::unsupported, "BigTIFF is read by the streaming reader only");
    ImageInfo info{"tiff", 0, 0, 1, 1};
    const std::size_t ifd = u32(4);
    if (ifd + 2 > b.size()) throw truncated("tiff");
    const std::size_t count = u16(ifd);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t e = ifd + 2 + i * 12;
        if (e + 12 > b.size()) throw truncated("tiff");
        const std::uint32_t tag = u16(e), type = u16(e + 2);
        const std::uint32_t value = type == 3 ? u16(e + 8) : u32(e + 8);
        if (tag == 256)
            info.width = static_cast<int>(value);
        else if (tag == 257)
            info.height = static_cast<int>(value);
        else if (tag == 277)
            info.channels = static_cast<int>(value);
        else if (tag == 274 && value >= 1 && value <= 8)
            info.orientation = static_cast<int>(value);
    }
    if (info.width <= 0 || info.height <= 0) throw truncated("tiff");
    return info;
}

ImageInfo probe_bmp(Bytes b) {
    if (b.size() < 30) throw truncated("bmp");
    // Signed 32-bit fields; a negative height means top-down rows. INT32_MIN has no positive
    // counterpart and a width must be positive: both are corrupt headers.
    const std::int64_t w = static_cast<std::int32_t>(le32(b, 18));
    const std::int64_t h = static_cast<std::int32_t>(le32(b, 22));
    const std::int64_t rows = h < 0 ? -h : h;
    if (w <= 0 || rows == 0 || rows > std::numeric_limits<std::int32_t>::max())
        throw Error(Status::decode_error, fmt::format("bmp has an invalid size {}x{}", w, h));
    const int bpp = static_cast<int>(le16(b, 28));
    return {"bmp", static_cast<int>(w), static_cast<int>(rows), bpp == 32 ? 4 : (bpp == 8 ? 1 : 3),
            1};
}

}  // namespace

ImageInfo probe_image(std::span<const std::uint8_t> b) {
    if (b.empty()) throw Error(Status::decode_error, "empty file (0 bytes)");
    ImageInfo info;
    if (b.size() >= 8 && std::memcmp(b.data(), "\x89PNG\r\n\x1a\n", 8) == 0)
        info = probe_png(b);
    else if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        info = probe_jpeg(b);
    else if (b.size() >= 12 && std::memcmp(b.data(), "RIFF", 4) == 0 &&
             std::memcmp(b.data() + 8, "WEBP", 4) == 0)
        info = probe_webp(b);
    else if (b.size() >= 8 &&
             (std::memcmp(b.data(), "II", 2) == 0 || std::memcmp(b.data(), "MM", 2) == 0))
        info = probe_tiff(b);
    else if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M')
        info = probe_bmp(b);
    else
        throw Error(Status::decode_error, "not a supported image (JPEG, PNG, WebP, TIFF or BMP)");
    if (info.width <= 0 || info.height <= 0)
        throw Error(Status::decode_error, fmt::format("{} header gives an invalid size {}x{}",
                                                      info.format, info.width, info.height));
    return info;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry

namespace artistry::io {

bool jpeg_has_end_marker(std::span<const std::uint8_t> b) {
    // Skip header segments to the first scan; inside entropy-coded data 0xFF is always
    // followed by 0x00 or a restart marker, so an 0xFF 0xD9 after it is the real end.
    std::size_t o = 2;
    while (o + 4 <= b.size()) {
        if (b[o] != 0xFF) return false;
        const std::uint8_t marker = b[o + 1];
        if (marker == 0xFF) {
            ++o;
            continue;
        }
        if (marker == 0xDA) break;
        o += 2 + be16(b, o + 2);
    }
    for (std::size_t i = b.size(); i-- > o + 1;)
        if (b[i - 1] == 0xFF && b[i] == 0xD9) return true;
    return false;
}

}  // namespace artistry::io
