#pragma once
// Internals of the streaming readers and writers (src/io/stream_*.cpp): the shared bases that
// validate calls, latch errors and own the output file, and the per-format factories.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "artistry/error.hpp"
#include "artistry/stream.hpp"
#include "util/atomic_file.hpp"

namespace artistry::io {

// stdio buffer for streamed files: large, so the kernel sees few big reads and writes.
inline constexpr std::size_t stream_io_buffer = std::size_t{1} << 20;

// 16-bit sample to 8-bit, rounded to nearest: the same as load_image's convertTo(1/257).
inline std::uint8_t narrow16(unsigned v) {
    return static_cast<std::uint8_t>((v + 128) / 257);
}

// Closes a file descriptor when it goes out of scope.
class UniqueFd {
  public:
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd();
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    int get() const noexcept { return fd_; }
    int release() noexcept {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

// Remembers the first error of a reader or writer, so that every later call repeats it.
class ErrorLatch {
  public:
    void check() const {
        if (failed_) throw Error(status_, message_);
    }
    // Runs f; an Error (or bad_alloc, as out_of_memory) it throws is kept and rethrown.
    template <class F>
    void run(F&& f, const std::string& path, const char* doing) {
        try {
            f();
        } catch (const Error& e) {
            keep(e.status(), e.what());
            throw;
        } catch (const std::bad_alloc&) {
            keep(Status::out_of_memory, path + ": out of memory while " + doing);
            check();
        }
    }

  private:
    void keep(Status status, std::string message) {
        failed_ = true;
        status_ = status;
        message_ = std::move(message);
    }
    bool failed_ = false;
    Status status_ = Status::ok;
    std::string message_;
};

// Shared part of every reader: call checks, row count, error latching.
class ReaderBase : public ImageReader {
  public:
    const ImageInfo& info() const noexcept final { return info_; }
    int rows_read() const noexcept final { return rows_; }
    void read_rows(const Image& dst) final;
    Image read_band(int rows) final;
    std::uint64_t buffer_bytes() const noexcept final { return buffer_bytes_; }

  protected:
    explicit ReaderBase(std::string path) : path_(std::move(path)) {}
    // Decodes the next dst.height() rows; dst is checked: u8, info_.width, info_.channels.
    virtual void decode(const Image& dst) = 0;

    // Error whose message starts with the path.
    Error error(Status status, const std::string& message) const;
    // Pixel limit and orientation checks, once info_ is known.
    void check_header(const LoadOptions& options) const;

    std::string path_;
    ImageInfo info_;
    std::uint64_t buffer_bytes_ = 0;

  private:
    int rows_ = 0;
    ErrorLatch latch_;
};

// Shared part of every writer: call checks, f32 conversion, row count, error latching, and
// the temporary output file.
class WriterBase : public ImageWriter {
  public:
    int width() const noexcept final { return width_; }
    int height() const noexcept final { return height_; }
    int channels() const noexcept final { return channels_; }
    int rows_written() const noexcept final { return rows_; }
    void write_rows(const Image& band) final;
    void finish() final;

  protected:
    WriterBase(const std::string& path, int width, int height, int channels);
    // Encodes the next band.height() rows; band is u8, width_ wide, channels_.
    virtual void encode(const Image& band) = 0;
    // Completes the codec's stream (trailer, directory); the base then commits the file.
    virtual void finish_encoding() = 0;

    Error error(Status status, const std::string& message) const;

    util::AtomicOutput out_;
    int width_;
    int height_;
    int channels_;

  private:
    Image to_u8(const Image& band);  // a view of scratch_

    int rows_ = 0;
    bool finished_ = false;
    ErrorLatch latch_;
    Image scratch_;  // f32 bands converted to u8
};

// Per-format factories. A reader takes fd (an open, readable file) over once it is constructed.
std::unique_ptr<ImageReader> open_jpeg_reader(UniqueFd& fd, const std::string& path,
                                              const LoadOptions& options,
                                              const StreamReadOptions& stream);
std::unique_ptr<ImageReader> open_png_reader(UniqueFd& fd, const std::string& path,
                                             const LoadOptions& options,
                                             const StreamReadOptions& stream);
std::unique_ptr<ImageReader> open_tiff_reader(UniqueFd& fd, const std::string& path,
                                              const LoadOptions& options,
                                              const StreamReadOptions& stream);

std::unique_ptr<ImageWriter> create_jpeg_writer(const std::string& path, int width, int height,
                                                int channels, const SaveOptions& options);
std::unique_ptr<ImageWriter> create_png_writer(const std::string& path, int width, int height,
                                               int channels, const SaveOptions& options,
                                               const StreamWriteOptions& stream);
std::unique_ptr<ImageWriter> create_tiff_writer(const std::string& path, int width, int height,
                                                int channels, const SaveOptions& options,
                                                const StreamWriteOptions& stream);

}  // namespace artistry::io
