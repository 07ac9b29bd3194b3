// What every streamed writer shares: the call checks and the all-or-nothing output file
// (io/atomic_output.hpp).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "io/io_internal.hpp"
#include "io/stream_internal.hpp"

namespace artistry::io {

WriterBase::WriterBase(const std::string& path, int width, int height, int channels)
    : out_(path), width_(width), height_(height), channels_(channels) {}

Error WriterBase::error(Status status, const std::string& message) const {
    return Error(status, fmt::format("{}: {}", out_.path(), message));
}

void WriterBase::write_rows(const Image& band) {
    latch_.check();
    if (finished_) throw error(Status::invalid_argument, "write_rows after finish");
    if (band.empty() || band.width() != width_ || band.channels() != channels_)
        throw error(Status::invalid_argument,
                    fmt::format("write_rows needs a band {} wide with {} channels, got {}x{}x{}",
                                width_, channels_, band.width(), band.height(), band.channels()));
    if (band.height() > height_ - rows_)
        throw error(Status::invalid_argument,
                    fmt::format("write_rows gives {} rows but only {} of {} are left",
                                band.height(), height_ - rows_, height_));
    latch_.run([&] { encode(band.type() == PixelType::u8 ? band : to_u8(band)); }, out_.path(),
               "encoding");
    rows_ += band.height();
}

Image WriterBase::to_u8(const Image& band) {
    // f32 in 0..1 to u8 as save_image does (round half to even, saturate).
    if (scratch_.height() < band.height())
        scratch_ = Image::allocate(width_, band.height(), channels_);
    const Image u8 = scratch_.view({0, 0, width_, band.height()});
    const std::size_t n = static_cast<std::size_t>(width_) * static_cast<std::size_t>(channels_);
    for (int y = 0; y < band.height(); ++y) {
        const float* s = band.row_as<float>(y);
        std::uint8_t* d = u8.row(y);
        for (std::size_t i = 0; i < n; ++i) {
            const float v = std::nearbyint(s[i] * 255.0f);  // NaN ends as 0
            d[i] = v > 0.0f ? (v < 255.0f ? static_cast<std::uint8_t>(v) : std::uint8_t{255})
                            : std::uint8_t{0};
        }
    }
    return u8;
}

void WriterBase::finish() {
    latch_.check();
    if (finished_) return;
    if (rows_ != height_)
        throw error(
            Status::invalid_argument,
            fmt::format("finish after {} of {} rows; the file is not written", rows_, height_));
    latch_.run(
        [&] {
            finish_encoding();
            out_.commit();
        },
        out_.path(), "finishing");
    finished_ = true;
}

}  // namespace artistry::io

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

std::unique_ptr<ImageWriter> ImageWriter::create(const std::string& path, int width, int height,
                                                 int channels, const SaveOptions& options,
                                                 const StreamWriteOptions& stream) {
    const std::string format = io::format_from_path(path);
    if (width <= 0 || height <= 0)
        throw Error(Status::invalid_argument,
                    fmt::format("{}: invalid image size {}x{}", path, width, height));
    if (channels != 1 && channels != 3 && channels != 4)
        throw Error(Status::invalid_argument,
                    fmt::format("{}: {} channels; streamed files have 1, 3 or 4", path, channels));
    if (format == "jpeg") return io::create_jpeg_writer(path, width, height, channels, options);
    if (format == "png")
        return io::create_png_writer(path, width, height, channels, options, stream);
    if (format == "tiff")
        return io::create_tiff_writer(path, width, height, channels, options, stream);
    throw Error(
        Status::unsupported,
        fmt::format(
            "{}: {} files cannot be written by band (JPEG, PNG and TIFF can); use save_image", path,
            format));
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
