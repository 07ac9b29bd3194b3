// EXIF orientation: read from the TIFF-structured block, applied by rotating/flipping.

#include <opencv2/core.hpp>

#include "artistry/opencv.hpp"
#include "io/io_internal.hpp"

namespace artistry::io {

namespace {

struct Reader {
    std::span<const std::uint8_t> b;
    bool little = true;
    bool has(std::size_t off, std::size_t n) const {
        return off <= b.size() && n <= b.size() - off;
    }
    std::uint32_t u16(std::size_t o) const {
        return little ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
    }
    std::uint32_t u32(std::size_t o) const {
        return little ? b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (std::uint32_t(b[o + 3]) << 24)
                      : (std::uint32_t(b[o]) << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    }
};

}  // namespace

int exif_orientation_from_tiff(std::span<const std::uint8_t> tiff) {
    Reader r{tiff};
    if (!r.has(0, 8)) return 1;
    if (tiff[0] == 'I' && tiff[1] == 'I')
        r.little = true;
    else if (tiff[0] == 'M' && tiff[1] == 'M')
        r.little = false;
    else
        return 1;
    if (r.u16(2) != 42) return 1;
    const std::size_t ifd = r.u32(4);
    if (!r.has(ifd, 2)) return 1;
    const std::size_t count = r.u16(ifd);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t e = ifd + 2 + i * 12;
        if (!r.has(e, 12)) return 1;
        if (r.u16(e) == 0x0112) {
            const int v = static_cast<int>(r.u16(e + 8));
            return (v >= 1 && v <= 8) ? v : 1;
        }
    }
    return 1;
}

Image apply_orientation(const Image& image, int orientation) {
    if (orientation <= 1 || orientation > 8) return image;
    const cv::Mat src = as_mat(image);
    cv::Mat dst;
    switch (orientation) {
        case 2:
            cv::flip(src, dst, 1);
            break;
        case 3:
            cv::rotate(src, dst, cv::ROTATE_180);
            break;
        case 4:
            cv::flip(src, dst, 0);
            break;
        case 5:
            cv::transpose(src, dst);
            break;
        case 6:
            cv::rotate(src, dst, cv::ROTATE_90_CLOCKWISE);
            break;
        case 7:
            cv::transpose(src, dst);
            cv::rotate(dst, dst, cv::ROTATE_180);
            break;
        case 8:
            cv::rotate(src, dst, cv::ROTATE_90_COUNTERCLOCKWISE);
            break;
        default:
            return image;
    }
    return from_mat(dst);
}

}  // namespace artistry::io
