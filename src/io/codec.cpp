// decode_image and encode_image: checks shared by every format, then the format's own codec
// (codec_<format>.cpp), on libjpeg-turbo, libpng, libtiff and libwebp rather than OpenCV's
// imgcodecs, whose GDAL, HDF5, OpenEXR … dependencies every process would otherwise load.

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <fmt/format.h>
#include <opencv2/core.hpp>

#include "artistry/error.hpp"
#include "artistry/io.hpp"
#include "artistry/opencv.hpp"
#include "io/codec_internal.hpp"
#include "io/io_internal.hpp"

namespace artistry::io {

void check_file_size(std::uint64_t file_bytes, const LoadOptions& options) {
    if (file_bytes > options.max_file_bytes)
        throw Error(Status::limit_exceeded,
                    fmt::format("file is {:.1f} MiB, over the file-size limit of {:.1f} MiB; raise "
                                "max_file_bytes to read it",
                                static_cast<double>(file_bytes) / (1 << 20),
                                static_cast<double>(options.max_file_bytes) / (1 << 20)));
}

void check_limits(const ImageInfo& info, std::uint64_t file_bytes, const LoadOptions& options) {
    check_file_size(file_bytes, options);
    const std::uint64_t pixels =
        static_cast<std::uint64_t>(info.width) * static_cast<std::uint64_t>(info.height);
    if (pixels > options.max_pixels)
        throw Error(
            Status::limit_exceeded,
            fmt::format("{} image is {}x{} ({:.1f} MP), over the limit of {:.1f} MP; raise "
                        "max_pixels to read it",
                        info.format, info.width, info.height, static_cast<double>(pixels) / 1e6,
                        static_cast<double>(options.max_pixels) / 1e6));
    const int side = std::max(info.width, info.height);
    if (side > options.max_dimension)
        throw Error(Status::limit_exceeded,
                    fmt::format("{} image is {}x{}, its {} of {} over the limit of {} pixels per "
                                "side; raise max_dimension to read it",
                                info.format, info.width, info.height,
                                info.width >= info.height ? "width" : "height", side,
                                options.max_dimension));
}

}  // namespace artistry::io

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

Image decode_image(std::span<const std::uint8_t> bytes, const LoadOptions& options) {
    io::check_file_size(bytes.size(), options);
    const ImageInfo info = probe_image(bytes);
    io::check_limits(info, bytes.size(), options);
    if (info.format == "jpeg" && !io::jpeg_has_end_marker(bytes))
        throw Error(Status::decode_error,
                    "truncated jpeg: the image data ends before its end marker");

    Image image;
    if (info.format == "jpeg")
        image = io::decode_jpeg(bytes);
    else if (info.format == "png")
        image = io::decode_png(bytes);
    else if (info.format == "tiff")
        image = io::decode_tiff(bytes, info);
    else if (info.format == "webp")
        image = io::decode_webp(bytes);
    else
        image = io::decode_bmp(bytes);
    // The TIFF decoder has already turned the pixels by the orientation tag, as libtiff's RGBA
    // reader does (and OpenCV did): once is enough.
    if (options.apply_orientation && info.format != "tiff")
        image = io::apply_orientation(image, info.orientation);
    return image;
}

Image load_image(const std::string& path, const LoadOptions& options) {
    try {
        // A file over the limit is refused before it is read into memory.
        std::error_code ec;
        const auto size = std::filesystem::file_size(path, ec);
        if (!ec) io::check_file_size(size, options);
    } catch (const Error& e) {
        throw Error(e.status(), fmt::format("{}: {}", path, e.what()));
    }
    const auto bytes = io::read_file(path);
    try {
        return decode_image(bytes, options);
    } catch (const Error& e) {
        throw Error(e.status(), fmt::format("{}: {}", path, e.what()));
    }
}

void write_file(const std::string& path, std::span<const std::uint8_t> bytes) {
    io::write_file_atomic(path, bytes);
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
    if (format == "tiff") return io::encode_tiff(image);  // f32 is kept
    Image u8 = image;
    if (image.type() == PixelType::f32) {
        // 0..1 to 0..255, rounded half to even and saturated, as before.
        cv::Mat m;
        as_mat(image).convertTo(m, CV_8U, 255.0);
        u8 = from_mat(m);
    }
    if (format == "jpeg") return io::encode_jpeg(u8, std::clamp(options.jpeg_quality, 1, 100));
    if (format == "png") return io::encode_png(u8, std::clamp(options.png_compression, 0, 9));
    if (format == "webp") return io::encode_webp(u8, std::clamp(options.webp_quality, 1, 101));
    if (format == "bmp") return io::encode_bmp(u8);
    throw Error(Status::unsupported,
                fmt::format("unknown output format '{}' (jpeg, png, webp, tiff, bmp)", format));
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
                                "(.jpg, .png, .webp, .tif, .bmp)",
                                path));
    std::string ext = path.substr(dot + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (ext == "jpg" || ext == "jpeg") return "jpeg";
    if (ext == "png" || ext == "webp" || ext == "bmp") return ext;
    if (ext == "tif" || ext == "tiff") return "tiff";
    throw Error(Status::unsupported,
                fmt::format("'{}': unknown image extension '.{}' (.jpg, .png, .webp, .tif, .bmp)",
                            path, ext));
}

}  // namespace artistry::io
