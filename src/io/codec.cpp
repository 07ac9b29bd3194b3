// Decoding and encoding through OpenCV's imgcodecs; RGB(A) outside, BGR(A) only inside.

#include <algorithm>
#include <cctype>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/io.hpp"
#include "artistry/opencv.hpp"
#include "io/io_internal.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

cv::Mat to_rgb_order(const cv::Mat& m) {
    cv::Mat out;
    if (m.channels() == 3) cv::cvtColor(m, out, cv::COLOR_BGR2RGB);
    else if (m.channels() == 4) cv::cvtColor(m, out, cv::COLOR_BGRA2RGBA);
    else if (m.channels() == 2) cv::cvtColor(m, out, cv::COLOR_GRAY2RGB);  // not produced in practice
    else out = m;
    return out;
}

}  // namespace

Image decode_image(std::span<const std::uint8_t> bytes, const LoadOptions& options) {
    const ImageInfo info = probe_image(bytes);
    const std::uint64_t pixels = static_cast<std::uint64_t>(info.width) * info.height;
    if (pixels > options.max_pixels)
        throw Error(Status::limit_exceeded,
                    fmt::format("{} image is {}x{} ({:.1f} MP), over the limit of {:.1f} MP; raise "
                                "max_pixels to read it",
                                info.format, info.width, info.height, pixels / 1e6,
                                options.max_pixels / 1e6));
    if (info.format == "jpeg" && !io::jpeg_has_end_marker(bytes))
        throw Error(Status::decode_error, "truncated jpeg: the image data ends before its end marker");

    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data()));
    cv::Mat m;
    try {
        m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
        throw Error(Status::decode_error, fmt::format("cannot decode {} data: {}", info.format, e.what()));
    }
    if (m.empty())
        throw Error(Status::decode_error,
                    fmt::format("cannot decode {} data: truncated or corrupt", info.format));
    if (m.depth() == CV_16U) m.convertTo(m, CV_8U, 1.0 / 257.0);
    else if (m.depth() == CV_64F || m.depth() == CV_16F) m.convertTo(m, CV_32F);
    else if (m.depth() != CV_8U && m.depth() != CV_32F)
        throw Error(Status::unsupported, fmt::format("{} pixel depth is not supported", info.format));
    Image image = from_mat(to_rgb_order(m));
    if (options.apply_orientation) image = io::apply_orientation(image, info.orientation);
    return image;
}

Image load_image(const std::string& path, const LoadOptions& options) {
    const auto bytes = io::read_file(path);
    try {
        return decode_image(bytes, options);
    } catch (const Error& e) {
        throw Error(e.status(), fmt::format("{}: {}", path, e.what()));
    }
}

ImageInfo probe_image_file(const std::string& path) {
    // Headers, EXIF included, sit in the first part of the file.
    auto bytes = io::read_file(path);
    try {
        return probe_image(bytes);
    } catch (const Error& e) {
        throw Error(e.status(), fmt::format("{}: {}", path, e.what()));
    }
}

std::vector<std::uint8_t> encode_image(const Image& image, const std::string& format,
                                       const SaveOptions& options) {
    if (image.empty()) throw Error(Status::invalid_argument, "cannot encode an empty image");
    cv::Mat m = as_mat(image);
    const bool keep_float = format == "tiff" && image.type() == PixelType::f32;
    if (image.type() == PixelType::f32 && !keep_float) m.convertTo(m, CV_8U, 255.0);
    if (format == "jpeg" && m.channels() == 4) {
        // JPEG has no alpha: composite over white so cut-outs look as they do on a page.
        cv::Mat rgb(m.rows, m.cols, CV_8UC3);
        for (int y = 0; y < m.rows; ++y) {
            const auto* s = m.ptr<std::uint8_t>(y);
            auto* d = rgb.ptr<std::uint8_t>(y);
            for (int x = 0; x < m.cols; ++x, s += 4, d += 3) {
                const int a = s[3];
                for (int c = 0; c < 3; ++c) d[c] = static_cast<std::uint8_t>((s[c] * a + 255 * (255 - a) + 127) / 255);
            }
        }
        m = rgb;
    }
    cv::Mat bgr;
    if (m.channels() == 3) cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
    else if (m.channels() == 4) cv::cvtColor(m, bgr, cv::COLOR_RGBA2BGRA);
    else bgr = m;

    std::vector<int> flags;
    std::string ext;
    if (format == "jpeg") {
        ext = ".jpg";
        flags = {cv::IMWRITE_JPEG_QUALITY, std::clamp(options.jpeg_quality, 1, 100)};
    } else if (format == "png") {
        ext = ".png";
        flags = {cv::IMWRITE_PNG_COMPRESSION, std::clamp(options.png_compression, 0, 9)};
    } else if (format == "webp") {
        ext = ".webp";
        flags = {cv::IMWRITE_WEBP_QUALITY, std::clamp(options.webp_quality, 1, 101)};
    } else if (format == "tiff") {
        ext = ".tiff";
    } else if (format == "bmp") {
        ext = ".bmp";
    } else {
        throw Error(Status::unsupported,
                    fmt::format("unknown output format '{}' (jpeg, png, webp, tiff, bmp)", format));
    }
    std::vector<std::uint8_t> out;
    try {
        if (!cv::imencode(ext, bgr, out, flags))
            throw Error(Status::io_error, fmt::format("cannot encode {}", format));
    } catch (const cv::Exception& e) {
        throw Error(Status::io_error, fmt::format("cannot encode {}: {}", format, e.what()));
    }
    return out;
}

void save_image(const Image& image, const std::string& path, const SaveOptions& options) {
    const auto bytes = encode_image(image, io::format_from_path(path), options);
    io::write_file_atomic(path, bytes);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry

namespace artistry::io {

std::string format_from_path(const std::string& path) {
    const auto dot = path.find_last_of('.');
    const auto slash = path.find_last_of('/');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
        throw Error(Status::unsupported,
                    fmt::format("'{}' has no file extension to choose a format "
                                "(.jpg, .png, .webp, .tif, .bmp)", path));
    std::string ext = path.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == "jpg" || ext == "jpeg") return "jpeg";
    if (ext == "png" || ext == "webp" || ext == "bmp") return ext;
    if (ext == "tif" || ext == "tiff") return "tiff";
    throw Error(Status::unsupported,
                fmt::format("'{}': unknown image extension '.{}' (.jpg, .png, .webp, .tif, .bmp)", path, ext));
}

}  // namespace artistry::io
