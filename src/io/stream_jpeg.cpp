// JPEG by scanlines through libjpeg(-turbo).
//
// libjpeg reports errors by longjmp. Every libjpeg call is made from a small function below
// (c_*) that sets the jump point and holds no object with a destructor, so a longjmp never
// skips a destructor; the C++ side turns a false return into an Error. No C++ exception ever
// unwinds through libjpeg frames: the callbacks (source, destination) longjmp too.

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <span>
#include <unistd.h>
#include <vector>

#include <jpeglib.h>
#include <jerror.h>

#include <fmt/format.h>

#include "io/io_internal.hpp"
#include "io/stream_internal.hpp"

namespace artistry::io {

namespace {

constexpr std::size_t jpeg_io_chunk = std::size_t{256} << 10;

struct JpegErr {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    Status status;   // what the C++ side throws
    bool truncated;  // the data ended early
    char message[JMSG_LENGTH_MAX + 128];
};

[[noreturn]] void jump_out(j_common_ptr cinfo, Status status, const char* message) {
    auto* e = reinterpret_cast<JpegErr*>(cinfo->err);
    e->status = status;
    std::snprintf(e->message, sizeof e->message, "%s", message);
    std::longjmp(e->jump, 1);
}

[[noreturn]] void on_error(j_common_ptr cinfo) {
    auto* e = reinterpret_cast<JpegErr*>(cinfo->err);
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    const bool oom = cinfo->err->msg_code == JERR_OUT_OF_MEMORY;
    jump_out(cinfo, oom ? Status::out_of_memory : e->status, text);
}

void on_message(j_common_ptr cinfo, int level) {
    // libjpeg only warns when the data ends early and then fills the rest with grey; that is
    // a truncated file. Other warnings are recoverable corruption, tolerated as load_image does.
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        reinterpret_cast<JpegErr*>(cinfo->err)->truncated = true;
        jump_out(cinfo, Status::decode_error, "the file ends before the image data does");
    }
    if (level < 0) ++cinfo->err->num_warnings;
}

void no_output(j_common_ptr) {}

void init_errors(JpegErr& e, Status status) {
    jpeg_std_error(&e.mgr);
    e.mgr.error_exit = on_error;
    e.mgr.emit_message = on_message;
    e.mgr.output_message = no_output;
    e.status = status;
    e.truncated = false;
    e.message[0] = '\0';
}

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
    if (n < 0) jump_out(reinterpret_cast<j_common_ptr>(cinfo), Status::io_error, std::strerror(errno));
    if (n == 0) {
        reinterpret_cast<JpegErr*>(cinfo->err)->truncated = true;
        jump_out(reinterpret_cast<j_common_ptr>(cinfo), Status::decode_error,
                 "the file ends before the image data does");
    }
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

struct JpegDecoder {
    jpeg_decompress_struct cinfo;
    JpegErr err;
    JpegSource src;
};

// Owns a JpegDecoder's libjpeg state (the C functions take the plain struct inside).
struct DecoderHolder {
    JpegDecoder d{};
    DecoderHolder() = default;
    DecoderHolder(const DecoderHolder&) = delete;
    DecoderHolder& operator=(const DecoderHolder&) = delete;
    ~DecoderHolder() { jpeg_destroy_decompress(&d.cinfo); }
};

bool c_read_header(JpegDecoder* d) {
    if (setjmp(d->err.jump)) return false;
    jpeg_create_decompress(&d->cinfo);
    d->cinfo.src = &d->src.mgr;
    jpeg_save_markers(&d->cinfo, JPEG_APP0 + 1, 0xFFFF);  // EXIF, for the orientation
    jpeg_read_header(&d->cinfo, TRUE);
    return true;
}

bool c_start(JpegDecoder* d) {
    if (setjmp(d->err.jump)) return false;
    jpeg_start_decompress(&d->cinfo);
    return true;
}

bool c_read(JpegDecoder* d, JSAMPARRAY rows, JDIMENSION count) {
    if (setjmp(d->err.jump)) return false;
    for (JDIMENSION done = 0; done < count;) done += jpeg_read_scanlines(&d->cinfo, rows + done, count - done);
    return true;
}

bool c_finish(JpegDecoder* d) {
    if (setjmp(d->err.jump)) return false;
    jpeg_finish_decompress(&d->cinfo);
    return true;
}

// Adobe CMYK as stored by Photoshop (inverted), to RGB with load_image's formula.
void cmyk_to_rgb(const JSAMPLE* s, std::uint8_t* d, int width) {
    for (int x = 0; x < width; ++x, s += 4, d += 3) {
        const int k = s[3];
        for (int c = 0; c < 3; ++c) d[c] = static_cast<std::uint8_t>(k - (((255 - s[c]) * k) >> 8));
    }
}

class JpegReader final : public ReaderBase {
public:
    JpegReader(UniqueFd& fd, const std::string& path, const LoadOptions& options, const StreamReadOptions& stream)
        : ReaderBase(path), fd_(fd.release()), input_(jpeg_io_chunk) {
        d_.cinfo.err = &d_.err.mgr;
        init_errors(d_.err, Status::decode_error);
        d_.src.mgr.init_source = source_init;
        d_.src.mgr.fill_input_buffer = source_fill;
        d_.src.mgr.skip_input_data = source_skip;
        d_.src.mgr.resync_to_restart = jpeg_resync_to_restart;
        d_.src.mgr.term_source = source_term;
        d_.src.fd = fd_.get();
        d_.src.buffer = input_.data();
        d_.src.size = input_.size();
        if (!c_read_header(&d_)) throw codec_error();

        jpeg_decompress_struct& ci = d_.cinfo;
        info_.format = "jpeg";
        info_.width = static_cast<int>(ci.image_width);
        info_.height = static_cast<int>(ci.image_height);
        for (jpeg_saved_marker_ptr m = ci.marker_list; m; m = m->next)
            if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && std::memcmp(m->data, "Exif\0\0", 6) == 0)
                info_.orientation = exif_orientation_from_tiff({m->data + 6, m->data_length - 6});
        switch (ci.jpeg_color_space) {
            case JCS_GRAYSCALE: ci.out_color_space = JCS_GRAYSCALE; info_.channels = 1; break;
            case JCS_CMYK:
            case JCS_YCCK: ci.out_color_space = JCS_CMYK; info_.channels = 3; cmyk_ = true; break;
            default: ci.out_color_space = JCS_RGB; info_.channels = 3; break;
        }
        check_header(options);

        // A progressive (multi-scan) file is decoded into whole-image coefficient buffers.
        std::uint64_t whole = 0;
        if (jpeg_has_multiple_scans(&ci))
            for (int c = 0; c < ci.num_components; ++c)
                whole += std::uint64_t{ci.comp_info[c].width_in_blocks} * ci.comp_info[c].height_in_blocks *
                         DCTSIZE2 * sizeof(JCOEF);
        if (whole > stream.max_buffer_bytes)
            throw error(Status::unsupported,
                        fmt::format("progressive JPEG needs {} MiB of whole-image buffers to decode, over "
                                    "the streaming limit of {} MiB; re-encode it as baseline (jpegtran) "
                                    "or raise max_buffer_bytes",
                                    whole >> 20, stream.max_buffer_bytes >> 20));
        if (!c_start(&d_)) throw codec_error();
        // Input chunk, about three MCU rows of component and output rows, plus whole buffers.
        buffer_bytes_ = input_.size() + whole +
                        std::uint64_t{ci.output_width} * static_cast<unsigned>(ci.num_components + info_.channels) *
                            static_cast<unsigned>(ci.max_v_samp_factor * DCTSIZE * 3);
    }

private:
    Error codec_error() const {
        const char* what = d_.err.truncated                         ? "truncated jpeg"
                           : d_.err.status == Status::decode_error ? "corrupt jpeg"
                                                                   : "reading jpeg";
        return error(d_.err.status, fmt::format("{}: {}", what, d_.err.message));
    }

    void decode(const Image& dst) override {
        const int n = dst.height();
        if (!cmyk_) {
            if (rows_.size() < static_cast<std::size_t>(n)) rows_.resize(static_cast<std::size_t>(n));
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
                for (int i = 0; i < m; ++i) rows_[static_cast<std::size_t>(i)] = cmyk_rows_.data() + stride * static_cast<std::size_t>(i);
                if (!c_read(&d_, rows_.data(), static_cast<JDIMENSION>(m))) throw codec_error();
                for (int i = 0; i < m; ++i) cmyk_to_rgb(rows_[static_cast<std::size_t>(i)], dst.row(y0 + i), info_.width);
            }
        }
        // The end marker is checked, as load_image checks it.
        if (rows_read() + n == info_.height && !c_finish(&d_)) throw codec_error();
    }

    UniqueFd fd_;
    std::vector<JOCTET> input_;
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
        if (n <= 0) jump_out(reinterpret_cast<j_common_ptr>(cinfo), Status::io_error, std::strerror(errno));
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

struct JpegEncoder {
    jpeg_compress_struct cinfo;
    JpegErr err;
    JpegDest dest;
};

struct EncoderHolder {
    JpegEncoder e{};
    EncoderHolder() = default;
    EncoderHolder(const EncoderHolder&) = delete;
    EncoderHolder& operator=(const EncoderHolder&) = delete;
    ~EncoderHolder() { jpeg_destroy_compress(&e.cinfo); }
};

bool c_start_compress(JpegEncoder* e, JDIMENSION width, JDIMENSION height, int components, int quality) {
    if (setjmp(e->err.jump)) return false;
    jpeg_create_compress(&e->cinfo);
    e->cinfo.dest = &e->dest.mgr;
    e->cinfo.image_width = width;
    e->cinfo.image_height = height;
    e->cinfo.input_components = components;
    e->cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&e->cinfo);  // baseline, 4:2:0, JDCT_ISLOW, no optimised tables: as save_image
    jpeg_set_quality(&e->cinfo, quality, TRUE);
    jpeg_start_compress(&e->cinfo, TRUE);
    return true;
}

bool c_write(JpegEncoder* e, JSAMPARRAY rows, JDIMENSION count) {
    if (setjmp(e->err.jump)) return false;
    for (JDIMENSION done = 0; done < count;) done += jpeg_write_scanlines(&e->cinfo, rows + done, count - done);
    return true;
}

bool c_finish_compress(JpegEncoder* e) {
    if (setjmp(e->err.jump)) return false;
    jpeg_finish_compress(&e->cinfo);
    return true;
}

class JpegWriter final : public WriterBase {
public:
    JpegWriter(const std::string& path, int width, int height, int channels, const SaveOptions& options)
        : WriterBase(path, width, height, channels), output_(jpeg_io_chunk) {
        e_.cinfo.err = &e_.err.mgr;
        init_errors(e_.err, Status::internal);
        e_.dest.mgr.init_destination = dest_init;
        e_.dest.mgr.empty_output_buffer = dest_empty;
        e_.dest.mgr.term_destination = dest_term;
        e_.dest.fd = out_.fd();
        e_.dest.buffer = output_.data();
        e_.dest.size = output_.size();
        if (!c_start_compress(&e_, static_cast<JDIMENSION>(width), static_cast<JDIMENSION>(height),
                              channels == 1 ? 1 : 3, std::clamp(options.jpeg_quality, 1, 100)))
            throw codec_error();
    }

private:
    Error codec_error() const { return error(e_.err.status, fmt::format("writing jpeg: {}", e_.err.message)); }

    void encode(const Image& band) override {
        const int n = band.height();
        if (channels_ != 4) {
            if (rows_.size() < static_cast<std::size_t>(n)) rows_.resize(static_cast<std::size_t>(n));
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
                const std::uint8_t* s = band.row(y0 + i);
                JSAMPLE* d = rgb_.data() + stride * static_cast<std::size_t>(i);
                rows_[static_cast<std::size_t>(i)] = d;
                for (int x = 0; x < width_; ++x, s += 4, d += 3) {
                    const int a = s[3];
                    for (int c = 0; c < 3; ++c)
                        d[c] = static_cast<JSAMPLE>((s[c] * a + 255 * (255 - a) + 127) / 255);
                }
            }
            if (!c_write(&e_, rows_.data(), static_cast<JDIMENSION>(m))) throw codec_error();
        }
    }

    void finish_encoding() override {
        if (!c_finish_compress(&e_)) throw codec_error();
    }

    std::vector<JOCTET> output_;
    EncoderHolder holder_;
    JpegEncoder& e_ = holder_.e;
    std::vector<JSAMPROW> rows_;
    std::vector<JSAMPLE> rgb_;
};

}  // namespace

std::unique_ptr<ImageReader> open_jpeg_reader(UniqueFd& fd, const std::string& path, const LoadOptions& options,
                                              const StreamReadOptions& stream) {
    return std::make_unique<JpegReader>(fd, path, options, stream);
}

std::unique_ptr<ImageWriter> create_jpeg_writer(const std::string& path, int width, int height, int channels,
                                                const SaveOptions& options) {
    if (width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION)
        throw Error(Status::unsupported, fmt::format("{}: JPEG cannot hold {}x{}: at most {} pixels a side",
                                                     path, width, height, JPEG_MAX_DIMENSION));
    return std::make_unique<JpegWriter>(path, width, height, channels, options);
}

}  // namespace artistry::io
