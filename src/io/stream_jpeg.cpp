// JPEG by scanlines through libjpeg(-turbo), from and to a file descriptor. The libjpeg calls
// and their error handling are shared with the in-memory codec (jpeg_lib.hpp); the source and
// destination here longjmp on failure too, so no C++ exception unwinds through libjpeg frames.

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "io/jpeg_lib.hpp"
#include "io/stream_internal.hpp"

namespace artistry::io {

namespace {

constexpr std::size_t jpeg_io_chunk = std::size_t{256} << 10;

// ---- reading

struct JpegSource {
    jpeg_source_mgr mgr;
    int fd;
    JOCTET* buffer;
    std::size_t size;
};

void source_init(j_decompress_ptr) {}
void source_term(j_decompress_ptr) {}

boolean source_fill(j_decompress_ptr cinfo) {
    auto* s = reinterpret_cast<JpegSource*>(cinfo->src);
    ssize_t n;
    do n = ::read(s->fd, s->buffer, s->size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        jump_out(reinterpret_cast<j_common_ptr>(cinfo), Status::io_error, std::strerror(errno));
    if (n == 0) jump_truncated(reinterpret_cast<j_common_ptr>(cinfo));
    s->mgr.next_input_byte = s->buffer;
    s->mgr.bytes_in_buffer = static_cast<std::size_t>(n);
    return TRUE;
}

void source_skip(j_decompress_ptr cinfo, long count) {
    auto* s = reinterpret_cast<JpegSource*>(cinfo->src);
    if (count <= 0) return;
    auto left = static_cast<std::size_t>(count);
    while (left > s->mgr.bytes_in_buffer) {
        left -= s->mgr.bytes_in_buffer;
        source_fill(cinfo);
    }
    s->mgr.next_input_byte += left;
    s->mgr.bytes_in_buffer -= left;
}

class JpegReader final : public ReaderBase {
  public:
    JpegReader(UniqueFd& fd, const std::string& path, const LoadOptions& options,
               const StreamReadOptions& stream)
        : ReaderBase(path), fd_(fd.release()), input_(jpeg_io_chunk) {
        src_.mgr.init_source = source_init;
        src_.mgr.fill_input_buffer = source_fill;
        src_.mgr.skip_input_data = source_skip;
        src_.mgr.resync_to_restart = jpeg_resync_to_restart;
        src_.mgr.term_source = source_term;
        src_.fd = fd_.get();
        src_.buffer = input_.data();
        src_.size = input_.size();
        if (!c_read_header(&d_, &src_.mgr)) throw codec_error();

        jpeg_decompress_struct& ci = d_.cinfo;
        cmyk_ = configure_jpeg_output(ci, info_);
        check_header(options);

        // A progressive (multi-scan) file is decoded into whole-image coefficient buffers.
        std::uint64_t whole = 0;
        if (jpeg_has_multiple_scans(&ci))
            for (int c = 0; c < ci.num_components; ++c)
                whole += std::uint64_t{ci.comp_info[c].width_in_blocks} *
                         ci.comp_info[c].height_in_blocks * DCTSIZE2 * sizeof(JCOEF);
        if (whole > stream.max_buffer_bytes)
            throw error(
                Status::unsupported,
                fmt::format("progressive JPEG needs {} MiB of whole-image buffers to decode, over "
                            "the streaming limit of {} MiB; re-encode it as baseline (jpegtran) "
                            "or raise max_buffer_bytes",
                            whole >> 20, stream.max_buffer_bytes >> 20));
        if (!c_start(&d_)) throw codec_error();
        // Input chunk, about three MCU rows of component and output rows, plus whole buffers.
        buffer_bytes_ = input_.size() + whole +
                        std::uint64_t{ci.output_width} *
                            static_cast<unsigned>(ci.num_components + info_.channels) *
                            static_cast<unsigned>(ci.max_v_samp_factor * DCTSIZE * 3);
    }

  private:
    Error codec_error() const {
        return error(d_.err.status, describe_jpeg_error(d_.err, "reading"));
    }

    void decode(const Image& dst) override {
        const int n = dst.height();
        if (!cmyk_) {
            if (rows_.size() < static_cast<std::size_t>(n))
                rows_.resize(static_cast<std::size_t>(n));
            for (int y = 0; y < n; ++y) rows_[static_cast<std::size_t>(y)] = dst.row(y);
            if (!c_read(&d_, rows_.data(), static_cast<JDIMENSION>(n))) throw codec_error();
        } else {
            constexpr int chunk = 16;
            const std::size_t stride = static_cast<std::size_t>(info_.width) * 4;
            if (cmyk_rows_.empty()) {
                cmyk_rows_.resize(stride * chunk);
                rows_.resize(chunk);
            }
            for (int y0 = 0; y0 < n; y0 += chunk) {
                const int m = std::min(chunk, n - y0);
                for (int i = 0; i < m; ++i)
                    rows_[static_cast<std::size_t>(i)] =
                        cmyk_rows_.data() + stride * static_cast<std::size_t>(i);
                if (!c_read(&d_, rows_.data(), static_cast<JDIMENSION>(m))) throw codec_error();
                for (int i = 0; i < m; ++i)
                    cmyk_to_rgb(rows_[static_cast<std::size_t>(i)], dst.row(y0 + i), info_.width);
            }
        }
        // The end marker is checked, as load_image checks it.
        if (rows_read() + n == info_.height && !c_finish(&d_)) throw codec_error();
    }

    UniqueFd fd_;
    std::vector<JOCTET> input_;
    JpegSource src_{};
    DecoderHolder holder_;
    JpegDecoder& d_ = holder_.d;
    bool cmyk_ = false;
    std::vector<JSAMPROW> rows_;
    std::vector<JSAMPLE> cmyk_rows_;
};

// ---- writing

struct JpegDest {
    jpeg_destination_mgr mgr;
    int fd;
    JOCTET* buffer;
    std::size_t size;
};

void write_all(j_compress_ptr cinfo, const JOCTET* data, std::size_t size) {
    const int fd = reinterpret_cast<JpegDest*>(cinfo->dest)->fd;
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            jump_out(reinterpret_cast<j_common_ptr>(cinfo), Status::io_error, std::strerror(errno));
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void dest_init(j_compress_ptr cinfo) {
    auto* d = reinterpret_cast<JpegDest*>(cinfo->dest);
    d->mgr.next_output_byte = d->buffer;
    d->mgr.free_in_buffer = d->size;
}

boolean dest_empty(j_compress_ptr cinfo) {
    auto* d = reinterpret_cast<JpegDest*>(cinfo->dest);
    write_all(cinfo, d->buffer, d->size);  // libjpeg asks only when the whole buffer is full
    dest_init(cinfo);
    return TRUE;
}

void dest_term(j_compress_ptr cinfo) {
    auto* d = reinterpret_cast<JpegDest*>(cinfo->dest);
    write_all(cinfo, d->buffer, d->size - d->mgr.free_in_buffer);
}

class JpegWriter final : public WriterBase {
  public:
    JpegWriter(const std::string& path, int width, int height, int channels,
               const SaveOptions& options)
        : WriterBase(path, width, height, channels), output_(jpeg_io_chunk) {
        dest_.mgr.init_destination = dest_init;
        dest_.mgr.empty_output_buffer = dest_empty;
        dest_.mgr.term_destination = dest_term;
        dest_.fd = out_.fd();
        dest_.buffer = output_.data();
        dest_.size = output_.size();
        if (!c_start_compress(&e_, &dest_.mgr, static_cast<JDIMENSION>(width),
                              static_cast<JDIMENSION>(height), channels == 1 ? 1 : 3,
                              std::clamp(options.jpeg_quality, 1, 100)))
            throw codec_error();
    }

  private:
    Error codec_error() const {
        return error(e_.err.status, fmt::format("writing jpeg: {}", e_.err.message));
    }

    void encode(const Image& band) override {
        const int n = band.height();
        if (channels_ != 4) {
            if (rows_.size() < static_cast<std::size_t>(n))
                rows_.resize(static_cast<std::size_t>(n));
            // libjpeg reads the rows and never writes them.
            for (int y = 0; y < n; ++y) rows_[static_cast<std::size_t>(y)] = band.row(y);
            if (!c_write(&e_, rows_.data(), static_cast<JDIMENSION>(n))) throw codec_error();
            return;
        }
        // No alpha in JPEG: composite over white, as save_image does.
        constexpr int chunk = 16;
        const std::size_t stride = static_cast<std::size_t>(width_) * 3;
        if (rgb_.empty()) {
            rgb_.resize(stride * chunk);
            rows_.resize(chunk);
        }
        for (int y0 = 0; y0 < n; y0 += chunk) {
            const int m = std::min(chunk, n - y0);
            for (int i = 0; i < m; ++i) {
                JSAMPLE* d = rgb_.data() + stride * static_cast<std::size_t>(i);
                rows_[static_cast<std::size_t>(i)] = d;
                rgba_over_white(band.row(y0 + i), d, width_);
            }
            if (!c_write(&e_, rows_.data(), static_cast<JDIMENSION>(m))) throw codec_error();
        }
    }

    void finish_encoding() override {
        if (!c_finish_compress(&e_)) throw codec_error();
    }

    std::vector<JOCTET> output_;
    JpegDest dest_{};
    EncoderHolder holder_{Status::internal};
    JpegEncoder& e_ = holder_.e;
    std::vector<JSAMPROW> rows_;
    std::vector<JSAMPLE> rgb_;
};

}  // namespace

std::unique_ptr<ImageReader> open_jpeg_reader(UniqueFd& fd, const std::string& path,
                                              const LoadOptions& options,
                                              const StreamReadOptions& stream) {
    return std::make_unique<JpegReader>(fd, path, options, stream);
}

std::unique_ptr<ImageWriter> create_jpeg_writer(const std::string& path, int width, int height,
                                                int channels, const SaveOptions& options) {
    if (width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)
        throw Error(Status::unsupported,
                    fmt::format("{}: JPEG cannot hold {}x{}: at most {} pixels a side", path, width,
                                height, JPEG_MAX_DIMENSION));
    return std::make_unique<JpegWriter>(path, width, height, channels, options);
}

}  // namespace artistry::io
