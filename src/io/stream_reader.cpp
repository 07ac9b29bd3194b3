// Opening a file for streamed reading: format sniffing, and the checks every reader shares.

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "io/io_internal.hpp"
#include "io/stream_internal.hpp"

namespace artistry::io {

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
}

Error ReaderBase::error(Status status, const std::string& message) const {
    return Error(status, fmt::format("{}: {}", path_, message));
}

void ReaderBase::check_header(const LoadOptions& options) const {
    std::error_code ec;
    const auto file_bytes = std::filesystem::file_size(path_, ec);
    try {
        io::check_limits(info_, ec ? 0 : file_bytes, options);
    } catch (const Error& e) {
        throw error(e.status(), e.what());
    }
    if (options.apply_orientation && info_.orientation != 1)
        throw error(
            Status::unsupported,
            fmt::format("EXIF orientation {} cannot be applied while streaming rows top to "
                        "bottom; read it with load_image, or open it with apply_orientation "
                        "= false and turn the result afterwards",
                        info_.orientation));
}

void ReaderBase::read_rows(const Image& dst) {
    latch_.check();
    if (dst.empty() || dst.type() != PixelType::u8 || dst.width() != info_.width ||
        dst.channels() != info_.channels)
        throw error(
            Status::invalid_argument,
            fmt::format("read_rows needs a u8 band {} wide with {} channels, got {}x{}x{} {}",
                        info_.width, info_.channels, dst.width(), dst.height(), dst.channels(),
                        pixel_type_name(dst.type())));
    if (dst.height() > info_.height - rows_)
        throw error(Status::invalid_argument,
                    fmt::format("read_rows asks for {} rows but only {} of {} are left",
                                dst.height(), info_.height - rows_, info_.height));
    latch_.run([&] { decode(dst); }, path_, "decoding");
    rows_ += dst.height();
}

Image ReaderBase::read_band(int rows) {
    Image band = Image::allocate(info_.width, rows, info_.channels);
    read_rows(band);
    return band;
}

}  // namespace artistry::io

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

std::unique_ptr<ImageReader> ImageReader::open(const std::string& path, const LoadOptions& options,
                                               const StreamReadOptions& stream) {
    io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        const int err = errno;
        throw Error(err == ENOENT ? Status::not_found : Status::io_error,
                    fmt::format("cannot open '{}': {}", path, std::strerror(err)));
    }
    unsigned char m[12] = {};
    ssize_t n;
    do n = ::pread(fd.get(), m, sizeof m, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        const int err = errno;
        throw Error(Status::io_error,
                    fmt::format("cannot read '{}': {}", path, std::strerror(err)));
    }
    if (n >= 3 && m[0] == 0xFF && m[1] == 0xD8 && m[2] == 0xFF)
        return io::open_jpeg_reader(fd, path, options, stream);
    if (n >= 8 && std::memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0)
        return io::open_png_reader(fd, path, options, stream);
    if (n >= 4 && (std::memcmp(m, "II*\0", 4) == 0 || std::memcmp(m, "MM\0*", 4) == 0 ||
                   std::memcmp(m, "II+\0", 4) == 0 || std::memcmp(m, "MM\0+", 4) == 0))
        return io::open_tiff_reader(fd, path, options, stream);
    const bool webp =
        n >= 12 && std::memcmp(m, "RIFF", 4) == 0 && std::memcmp(m + 8, "WEBP", 4) == 0;
    const bool bmp = n >= 2 && m[0] == 'B' && m[1] == 'M';
    if (webp || bmp)
        throw Error(Status::unsupported,
                    fmt::format("{}: {} files cannot be streamed (JPEG, PNG and TIFF can); read it "
                                "with load_image",
                                path, webp ? "WebP" : "BMP"));
    throw Error(Status::decode_error,
                fmt::format("{}: {}", path,
                            n == 0 ? "empty file (0 bytes)" : "not a JPEG, PNG or TIFF file"));
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
