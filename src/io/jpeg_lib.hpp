#pragma once
// libjpeg(-turbo) glue shared by the in-memory codec (codec_jpeg.cpp) and the streaming reader
// and writer (stream_jpeg.cpp).
//
// libjpeg reports errors by longjmp. Every libjpeg call is made from a small function here
// (c_*) that sets the jump point and holds no object with a destructor, so a longjmp never
// skips a destructor; the C++ side turns a false return into an Error. Sources and
// destinations report failures with jump_out, never by throwing through libjpeg frames.

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <string>

#include <jpeglib.h>

#include "artistry/error.hpp"
#include "artistry/io.hpp"

namespace artistry::io {

struct JpegErr {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    Status status;   // what the C++ side throws
    bool truncated;  // the data ended early
    char message[JMSG_LENGTH_MAX + 128];
};

// Jumps back to the running c_* function with this status and message.
[[noreturn]] void jump_out(j_common_ptr cinfo, Status status, const char* message);
// The data ended before the image did: a truncated file.
[[noreturn]] void jump_truncated(j_common_ptr cinfo);

// "truncated jpeg: …", "corrupt jpeg: …" or "<doing> jpeg: …" for the error kept in e.
std::string describe_jpeg_error(const JpegErr& e, const char* doing);

// ---- decoding

struct JpegDecoder {
    jpeg_decompress_struct cinfo;
    JpegErr err;
};

// Owns a JpegDecoder's libjpeg state; errors default to decode_error.
struct DecoderHolder {
    JpegDecoder d{};
    DecoderHolder();
    DecoderHolder(const DecoderHolder&) = delete;
    DecoderHolder& operator=(const DecoderHolder&) = delete;
    ~DecoderHolder();
};

// Creates the decompressor on `src`, keeps APP1 (EXIF) markers and reads the header.
bool c_read_header(JpegDecoder* d, jpeg_source_mgr* src);
bool c_start(JpegDecoder* d);
bool c_read(JpegDecoder* d, JSAMPARRAY rows, JDIMENSION count);
bool c_finish(JpegDecoder* d);

// After c_read_header: format, size, EXIF orientation and delivered channels (gray 1, else 3),
// and the output colour space to match. Returns true for CMYK/YCCK data, which libjpeg
// delivers as 4-channel CMYK rows for cmyk_to_rgb.
bool configure_jpeg_output(jpeg_decompress_struct& cinfo, ImageInfo& info);

// Adobe CMYK as stored by Photoshop (inverted) to RGB, with OpenCV's integer formula.
void cmyk_to_rgb(const JSAMPLE* cmyk, std::uint8_t* rgb, int width);

// ---- encoding

struct JpegEncoder {
    jpeg_compress_struct cinfo;
    JpegErr err;
};

// Owns a JpegEncoder's libjpeg state; errors carry `status`.
struct EncoderHolder {
    JpegEncoder e{};
    explicit EncoderHolder(Status status);
    EncoderHolder(const EncoderHolder&) = delete;
    EncoderHolder& operator=(const EncoderHolder&) = delete;
    ~EncoderHolder();
};

// Baseline, 4:2:0, JDCT_ISLOW, standard Huffman tables: libjpeg's defaults, as OpenCV writes.
// components is 1 (gray) or 3 (RGB).
bool c_start_compress(JpegEncoder* e, jpeg_destination_mgr* dest, JDIMENSION width,
                      JDIMENSION height, int components, int quality);
bool c_write(JpegEncoder* e, JSAMPARRAY rows, JDIMENSION count);
bool c_finish_compress(JpegEncoder* e);

// JPEG has no alpha: one RGBA row composited over white, so cut-outs look as they do on a page.
void rgba_over_white(const std::uint8_t* rgba, std::uint8_t* rgb, int width);

}  // namespace artistry::io
