#pragma once
// libpng glue shared by the in-memory codec (codec_png.cpp) and the streaming reader and writer
// (stream_png.cpp).
//
// libpng reports errors by longjmp. Every libpng call is made from a small function here (c_*)
// that sets the jump point and holds no object with a destructor; the C++ side turns a false
// return into an Error. The I/O callbacks report failures through png_error (a longjmp too), so
// no C++ exception ever unwinds through libpng frames.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include <png.h>

#include "artistry/error.hpp"

namespace artistry::io {

struct PngCodec {
    png_structp png;
    png_infop info;
    std::FILE* file;                   // file I/O (read_file_data, write_file_data)
    std::span<const std::uint8_t> in;  // memory input (read_memory_data)
    std::size_t in_pos;
    std::vector<std::uint8_t>* out;  // memory output (write_memory_data)
    Status status;                   // what the C++ side throws
    bool truncated;                  // the data ended early
    char message[256];
};

// Error and warning handlers for png_create_*_struct, with the PngCodec as error pointer.
[[noreturn]] void png_on_error(png_structp png, png_const_charp message);
void png_on_warning(png_structp png, png_const_charp message);

// I/O callbacks, with the PngCodec as I/O pointer.
void read_file_data(png_structp png, png_bytep data, size_t length);
void write_file_data(png_structp png, png_bytep data, size_t length);
void read_memory_data(png_structp png, png_bytep data, size_t length);
void write_memory_data(png_structp png, png_bytep data, size_t length);
void flush_nothing(png_structp png);

// "truncated png: …", "corrupt png: …" or "<doing> png: …" for the error kept in p.
std::string describe_png_error(const PngCodec& p, const char* doing);

// ---- reading

struct PngHeader {
    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_bytep exif;
    png_uint_32 exif_size;
    int out_channels, out_depth;
    size_t row_bytes;
};

// Reads the chunks before the pixels through `read`; fills the stored layout and EXIF.
bool c_read_header(PngCodec* p, PngHeader* h, png_rw_ptr read);
// After the caller's png_set_* transforms (made inside `transforms`): the delivered layout.
bool c_update_info(PngCodec* p, PngHeader* h, void (*transforms)(PngCodec*, const PngHeader*));
bool c_read_rows(PngCodec* p, png_bytepp rows, png_uint_32 count);
bool c_read_image(PngCodec* p, png_bytepp rows);
bool c_read_end(PngCodec* p);

// Own a PngCodec's libpng state (the structs; a file, if any, belongs to the caller).
struct PngReadHolder {
    PngCodec p{};
    PngReadHolder() = default;
    PngReadHolder(const PngReadHolder&) = delete;
    PngReadHolder& operator=(const PngReadHolder&) = delete;
    ~PngReadHolder();
};

// ---- writing

struct PngWriteSettings {
    int level;           // zlib level 0..9
    int filters;         // PNG_FILTER_* mask; -1: libpng's default choice
    int strategy;        // zlib strategy; -1: libpng's default
    std::size_t buffer;  // IDAT chunk size; 0: libpng's default (8 KiB)
};

// 8-bit rows of color_type through `write`.
bool c_start_write(PngCodec* p, png_uint_32 width, png_uint_32 height, int color_type,
                   const PngWriteSettings& settings, png_rw_ptr write);
bool c_write_rows(PngCodec* p, png_bytepp rows, png_uint_32 count);
bool c_write_end(PngCodec* p);

struct PngWriteHolder {
    PngCodec p{};
    PngWriteHolder() = default;
    PngWriteHolder(const PngWriteHolder&) = delete;
    PngWriteHolder& operator=(const PngWriteHolder&) = delete;
    ~PngWriteHolder();
};

}  // namespace artistry::io
