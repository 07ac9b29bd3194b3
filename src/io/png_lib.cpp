// libpng glue shared by the in-memory codec and the streaming reader and writer.

#include "io/png_lib.hpp"

#include <cerrno>
#include <cstring>
#include <new>

#include <fmt/format.h>

namespace artistry::io {

namespace {

[[noreturn]] void fail_io(png_structp png, Status status, const char* message) {
    static_cast<PngCodec*>(png_get_error_ptr(png))->status = status;
    png_error(png, message);
}

[[noreturn]] void fail_truncated(png_structp png) {
    static_cast<PngCodec*>(png_get_error_ptr(png))->truncated = true;
    fail_io(png, Status::decode_error, "the data ends before the image does");
}

}  // namespace

void png_on_error(png_structp png, png_const_charp message) {
    auto* p = static_cast<PngCodec*>(png_get_error_ptr(png));
    std::snprintf(p->message, sizeof p->message, "%s", message);
    png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}

void read_file_data(png_structp png, png_bytep data, size_t length) {
    auto* p = static_cast<PngCodec*>(png_get_io_ptr(png));
    if (std::fread(data, 1, length, p->file) == length) return;
    if (std::ferror(p->file)) fail_io(png, Status::io_error, std::strerror(errno));
    fail_truncated(png);
}

void write_file_data(png_structp png, png_bytep data, size_t length) {
    auto* p = static_cast<PngCodec*>(png_get_io_ptr(png));
    if (std::fwrite(data, 1, length, p->file) != length)
        fail_io(png, Status::io_error, std::strerror(errno));
}

void read_memory_data(png_structp png, png_bytep data, size_t length) {
    auto* p = static_cast<PngCodec*>(png_get_io_ptr(png));
    if (length > p->in.size() - p->in_pos) fail_truncated(png);
    std::memcpy(data, p->in.data() + p->in_pos, length);
    p->in_pos += length;
}

namespace {

bool append(std::vector<std::uint8_t>& out, const png_bytep data, size_t length) noexcept {
    try {
        out.insert(out.end(), data, data + length);
        return true;
    } catch (const std::bad_alloc&) {
        return false;
    }
}

}  // namespace

void write_memory_data(png_structp png, png_bytep data, size_t length) {
    auto* p = static_cast<PngCodec*>(png_get_io_ptr(png));
    if (!append(*p->out, data, length)) fail_io(png, Status::out_of_memory, "out of memory");
}

void flush_nothing(png_structp) {}

std::string describe_png_error(const PngCodec& p, const char* doing) {
    const char* what = p.truncated                        ? "truncated"
                       : p.status == Status::decode_error ? "corrupt"
                                                          : doing;
    return fmt::format("{} png: {}", what, p.message);
}

// ---- reading

bool c_read_header(PngCodec* p, PngHeader* h, png_rw_ptr read) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_set_read_fn(p->png, p, read);
    png_read_info(p->png, p->info);
    png_get_IHDR(p->png, p->info, &h->width, &h->height, &h->bit_depth, &h->color_type,
                 &h->interlace, nullptr, nullptr);
    h->exif = nullptr;
    h->exif_size = 0;
#ifdef PNG_eXIf_SUPPORTED
    png_get_eXIf_1(p->png, p->info, &h->exif_size, &h->exif);  // only when it precedes the pixels
#endif
    return true;
}

bool c_update_info(PngCodec* p, PngHeader* h, void (*transforms)(PngCodec*, const PngHeader*)) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    transforms(p, h);
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

PngReadHolder::~PngReadHolder() {
    if (p.png) png_destroy_read_struct(&p.png, p.info ? &p.info : nullptr, nullptr);
}

// ---- writing

bool c_start_write(PngCodec* p, png_uint_32 width, png_uint_32 height, int color_type,
                   const PngWriteSettings& settings, png_rw_ptr write) {
    if (setjmp(png_jmpbuf(p->png))) return false;
    png_set_write_fn(p->png, p, write, flush_nothing);
    png_set_IHDR(p->png, p->info, width, height, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(p->png, settings.level);
    if (settings.filters >= 0) png_set_filter(p->png, PNG_FILTER_TYPE_BASE, settings.filters);
    if (settings.strategy >= 0) png_set_compression_strategy(p->png, settings.strategy);
    if (settings.buffer > 0) png_set_compression_buffer_size(p->png, settings.buffer);
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

PngWriteHolder::~PngWriteHolder() {
    if (p.png) png_destroy_write_struct(&p.png, p.info ? &p.info : nullptr);
}

}  // namespace artistry::io
