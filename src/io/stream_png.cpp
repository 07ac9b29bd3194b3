// PNG by rows through libpng.
//
// libpng reports errors by longjmp. Every libpng call is made from a small function below (c_*)
// that sets the jump point and holds no object with a destructor; the C++ side turns a false
// return into an Error. The I/O callbacks report failures through png_error (a longjmp too),
// so no C++ exception ever unwinds through libpng frames.

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <vector>

#include <png.h>

#include <fmt/format.h>

#include "io/io_internal.hpp"
#include "io/stream_internal.hpp"

namespace artistry::io {

namespace {

struct PngCodec {
    png_structp png;
    png_infop info;
    std::FILE* file;
    Status status;   // what the C++ side throws
    bool truncated;  // the data ended early
    char message[256];
};

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
    auto* p = static_cast<PngCodec*>(png_get_error_ptr(png));
    std::snprintf(p->message, sizeof p->message, "%s", message);
    png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

[[noreturn]] void fail_io(png_structp png, Status status, const char* message) {
    static_cast<PngCodec*>(png_get_error_ptr(png))->status = status;
    png_error(png, message);
}

void read_data(png_structp png, png_bytep data, size_t length) {
    auto* p = static_cast<PngCodec*>(png_get_io_ptr(png));
    if (std::fread(data, 1, length, p->file) == length) return;
    if (std::ferror(p->file)) fail_io(png, Status::io_error, std::strerror(errno));
    p->truncated = true;
    fail_io(png, Status::decode_error, "the file ends before the image data does");
}

void write_data(png_structp png, png_bytep data, size_t length) {
    auto* p = static_cast<PngCodec*>(png_get_io_ptr(png));
    if (std::fwrite(data, 1, length, p->file) != length) fail_io(png, Status::io_error, std::strerror(errno));
}

void flush_data(png_structp) {}  // the file is flushed once, when it is committed

// ---- reading

struct PngHeader {
    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_bytep exif;
    png_uint_32 exif_size;
    int out_channels, out_depth;
    size_t row_bytes;
};

bool c_read_header(PngCodec* p, PngHeader* h) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_set_read_fn(p->png, p, read_data);
    png_read_info(p->png, p->info);
    png_get_IHDR(p->png, p->info, &h->width, &h->height, &h->bit_depth, &h->color_type, &h->interlace, nullptr,
                 nullptr);
    h->exif = nullptr;
    h->exif_size = 0;
#ifdef PNG_eXIf_SUPPORTED
    png_get_eXIf_1(p->png, p->info, &h->exif_size, &h->exif);  // only when it precedes the pixels
#endif
    return true;
}

// Palette → RGB(A), low bit depths → 8, tRNS → alpha, gray+alpha → RGBA (as load_image).
bool c_set_transforms(PngCodec* p, PngHeader* h) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    const bool trns = png_get_valid(p->png, p->info, PNG_INFO_tRNS) != 0;
    if (h->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p->png);
    if (h->color_type == PNG_COLOR_TYPE_GRAY && h->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(p->png);
    if (trns) png_set_tRNS_to_alpha(p->png);
    if (h->color_type == PNG_COLOR_TYPE_GRAY_ALPHA || (h->color_type == PNG_COLOR_TYPE_GRAY && trns))
        png_set_gray_to_rgb(p->png);
    if (h->interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(p->png);
    png_read_update_info(p->png, p->info);
    h->out_channels = png_get_channels(p->png, p->info);
    h->out_depth = png_get_bit_depth(p->png, p->info);
    h->row_bytes = png_get_rowbytes(p->png, p->info);
    return true;
}

bool c_read_rows(PngCodec* p, png_bytepp rows, png_uint_32 count) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_read_rows(p->png, rows, nullptr, count);
    return true;
}

bool c_read_image(PngCodec* p, png_bytepp rows) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_read_image(p->png, rows);
    return true;
}

bool c_read_end(PngCodec* p) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_read_end(p->png, nullptr);
    return true;
}

struct ReadHolder {
    PngCodec p{};
    std::unique_ptr<char[]> buffer;
    ReadHolder() = default;
    ReadHolder(const ReadHolder&) = delete;
    ReadHolder& operator=(const ReadHolder&) = delete;
    ~ReadHolder() {
        if (p.png) png_destroy_read_struct(&p.png, p.info ? &p.info : nullptr, nullptr);
        if (p.file) std::fclose(p.file);
    }
};

class PngReader final : public ReaderBase {
public:
    PngReader(UniqueFd& fd, const std::string& path, const LoadOptions& options, const StreamReadOptions& stream)
        : ReaderBase(path) {
        PngCodec& p = h_.p;
        p.file = ::fdopen(fd.get(), "rb");
        if (!p.file) throw error(Status::io_error, std::strerror(errno));
        fd.release();
        h_.buffer = std::make_unique<char[]>(stream_io_buffer);
        std::setvbuf(p.file, h_.buffer.get(), _IOFBF, stream_io_buffer);
        p.status = Status::decode_error;
        p.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &p, on_error, on_warning);
        if (p.png) p.info = png_create_info_struct(p.png);
        if (!p.png || !p.info) throw error(Status::out_of_memory, "cannot allocate the png decoder");
        if (!c_read_header(&p, &hd_)) throw codec_error();

        info_.format = "png";
        info_.width = static_cast<int>(std::min<png_uint_32>(hd_.width, 0x7fffffff));
        info_.height = static_cast<int>(std::min<png_uint_32>(hd_.height, 0x7fffffff));
        if (hd_.exif) info_.orientation = exif_orientation_from_tiff({hd_.exif, hd_.exif_size});
        if (!c_set_transforms(&p, &hd_)) throw codec_error();
        info_.channels = hd_.out_channels;
        if (hd_.out_channels != 1 && hd_.out_channels != 3 && hd_.out_channels != 4)
            throw error(Status::unsupported, fmt::format("png decodes to {} channels", hd_.out_channels));
        check_header(options);

        buffer_bytes_ = stream_io_buffer + 2 * hd_.row_bytes + (std::size_t{64} << 10);  // + zlib window
        if (hd_.interlace != PNG_INTERLACE_NONE) {
            // Interlaced rows arrive in seven passes over the whole image: decode it whole.
            const std::uint64_t whole = std::uint64_t{hd_.row_bytes} * hd_.height;
            if (whole > stream.max_buffer_bytes)
                throw error(Status::unsupported,
                            fmt::format("interlaced PNG cannot be decoded row by row, and decoding it "
                                        "whole needs {} MiB, over the streaming limit of {} MiB; save "
                                        "it non-interlaced or raise max_buffer_bytes",
                                        whole >> 20, stream.max_buffer_bytes >> 20));
            whole_.resize(static_cast<std::size_t>(whole));
            buffer_bytes_ += whole;
        }
    }

private:
    Error codec_error() const {
        const char* what = h_.p.truncated                         ? "truncated png"
                           : h_.p.status == Status::decode_error ? "corrupt png"
                                                                 : "reading png";
        return error(h_.p.status, fmt::format("{}: {}", what, h_.p.message));
    }

    void decode(const Image& dst) override {
        const int n = dst.height();
        const int y_first = rows_read();
        if (!whole_.empty() && y_first == 0) {
            std::vector<png_bytep> all(hd_.height);
            for (png_uint_32 y = 0; y < hd_.height; ++y) all[y] = whole_.data() + hd_.row_bytes * y;
            if (!c_read_image(&h_.p, all.data())) throw codec_error();
        }
        if (!whole_.empty()) {
            for (int y = 0; y < n; ++y) deliver(whole_.data() + hd_.row_bytes * static_cast<std::size_t>(y_first + y), dst.row(y));
        } else if (hd_.out_depth == 8) {
            if (rows_.size() < static_cast<std::size_t>(n)) rows_.resize(static_cast<std::size_t>(n));
            for (int y = 0; y < n; ++y) rows_[static_cast<std::size_t>(y)] = dst.row(y);
            if (!c_read_rows(&h_.p, rows_.data(), static_cast<png_uint_32>(n))) throw codec_error();
        } else {
            constexpr int chunk = 16;
            if (wide_.empty()) {
                wide_.resize(hd_.row_bytes * chunk);
                rows_.resize(chunk);
            }
            for (int y0 = 0; y0 < n; y0 += chunk) {
                const int m = std::min(chunk, n - y0);
                for (int i = 0; i < m; ++i) rows_[static_cast<std::size_t>(i)] = wide_.data() + hd_.row_bytes * static_cast<std::size_t>(i);
                if (!c_read_rows(&h_.p, rows_.data(), static_cast<png_uint_32>(m))) throw codec_error();
                for (int i = 0; i < m; ++i) deliver(rows_[static_cast<std::size_t>(i)], dst.row(y0 + i));
            }
        }
        // The rest of the file, to its end chunk, is checked as load_image checks it.
        if (y_first + n == info_.height) {
            if (!c_read_end(&h_.p)) throw codec_error();
            std::vector<std::uint8_t>().swap(whole_);
        }
    }

    // One decoded row (8- or 16-bit big-endian samples) to 8-bit.
    void deliver(const std::uint8_t* s, std::uint8_t* d) const {
        const std::size_t n = static_cast<std::size_t>(info_.width) * static_cast<std::size_t>(info_.channels);
        if (hd_.out_depth == 8) {
            std::memcpy(d, s, n);
            return;
        }
        for (std::size_t i = 0; i < n; ++i, s += 2) d[i] = narrow16((unsigned{s[0]} << 8) | s[1]);
    }

    ReadHolder h_;
    PngHeader hd_{};
    std::vector<png_bytep> rows_;
    std::vector<std::uint8_t> wide_;   // 16-bit rows before narrowing
    std::vector<std::uint8_t> whole_;  // an interlaced image, decoded whole
};

// ---- writing

bool c_start_write(PngCodec* p, png_uint_32 width, png_uint_32 height, int color_type, int level, int filters) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_set_write_fn(p->png, p, write_data, flush_data);
    png_set_IHDR(p->png, p->info, width, height, 8, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(p->png, level);
    png_set_filter(p->png, PNG_FILTER_TYPE_BASE, filters);
    png_set_compression_buffer_size(p->png, std::size_t{256} << 10);  // fewer, larger IDAT chunks
    png_write_info(p->png, p->info);
    return true;
}

bool c_write_rows(PngCodec* p, png_bytepp rows, png_uint_32 count) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_write_rows(p->png, rows, count);
    return true;
}

bool c_write_end(PngCodec* p) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_write_end(p->png, p->info);
    return true;
}

struct WriteHolder {
    PngCodec p{};
    WriteHolder() = default;
    WriteHolder(const WriteHolder&) = delete;
    WriteHolder& operator=(const WriteHolder&) = delete;
    ~WriteHolder() {
        if (p.png) png_destroy_write_struct(&p.png, p.info ? &p.info : nullptr);
    }
};

int png_filters(const std::string& path, const std::string& name) {
    if (name == "sub") return PNG_FILTER_SUB;
    if (name == "none") return PNG_FILTER_NONE;
    if (name == "up") return PNG_FILTER_UP;
    if (name == "paeth") return PNG_FILTER_PAETH;
    if (name == "all") return PNG_ALL_FILTERS;
    throw Error(Status::invalid_argument,
                fmt::format("{}: unknown png_filter '{}' (sub, none, up, paeth, all)", path, name));
}

class PngWriter final : public WriterBase {
public:
    PngWriter(const std::string& path, int width, int height, int channels, const SaveOptions& options,
              const StreamWriteOptions& stream)
        : WriterBase(path, width, height, channels) {
        const int filters = png_filters(path, stream.png_filter);
        PngCodec& p = h_.p;
        p.file = out_.stream();
        p.status = Status::internal;
        p.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &p, on_error, on_warning);
        if (p.png) p.info = png_create_info_struct(p.png);
        if (!p.png || !p.info) throw error(Status::out_of_memory, "cannot allocate the png encoder");
        const int type = channels == 1 ? PNG_COLOR_TYPE_GRAY : channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
        if (!c_start_write(&p, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), type,
                           std::clamp(options.png_compression, 0, 9), filters))
            throw codec_error();
    }

private:
    Error codec_error() const { return error(h_.p.status, fmt::format("writing png: {}", h_.p.message)); }

    void encode(const Image& band) override {
        const int n = band.height();
        if (rows_.size() < static_cast<std::size_t>(n)) rows_.resize(static_cast<std::size_t>(n));
        // libpng copies each row before filtering it; the band is never written.
        for (int y = 0; y < n; ++y) rows_[static_cast<std::size_t>(y)] = band.row(y);
        if (!c_write_rows(&h_.p, rows_.data(), static_cast<png_uint_32>(n))) throw codec_error();
    }

    void finish_encoding() override {
        if (!c_write_end(&h_.p)) throw codec_error();
    }

    WriteHolder h_;
    std::vector<png_bytep> rows_;
};

}  // namespace

std::unique_ptr<ImageReader> open_png_reader(UniqueFd& fd, const std::string& path, const LoadOptions& options,
                                             const StreamReadOptions& stream) {
    return std::make_unique<PngReader>(fd, path, options, stream);
}

std::unique_ptr<ImageWriter> create_png_writer(const std::string& path, int width, int height, int channels,
                                               const SaveOptions& options, const StreamWriteOptions& stream) {
    return std::make_unique<PngWriter>(path, width, height, channels, options, stream);
}

}  // namespace artistry::io
