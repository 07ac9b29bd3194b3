// libjpeg(-turbo) glue shared by the in-memory codec and the streaming reader and writer.

#include "io/jpeg_lib.hpp"

#include <cstring>

#include <jerror.h>

#include <fmt/format.h>

#include "io/io_internal.hpp"

namespace artistry::io {

namespace {

[[noreturn]] void on_error(j_common_ptr cinfo) {
    auto* e = reinterpret_cast<JpegErr*>(cinfo->err);
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    const bool oom = cinfo->err->msg_code == JERR_OUT_OF_MEMORY;
    jump_out(cinfo, oom ? Status::out_of_memory : e->status, text);
}

void on_message(j_common_ptr cinfo, int level) {
    // libjpeg only warns when the data ends early and then fills the rest with grey; that is
    // a truncated file. Other warnings are recoverable corruption, tolerated as OpenCV does.
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) jump_truncated(cinfo);
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

}  // namespace

void jump_out(j_common_ptr cinfo, Status status, const char* message) {
    auto* e = reinterpret_cast<JpegErr*>(cinfo->err);
    e->status = status;
    std::snprintf(e->message, sizeof e->message, "%s", message);
    std::longjmp(e->jump, 1);
}

void jump_truncated(j_common_ptr cinfo) {
    reinterpret_cast<JpegErr*>(cinfo->err)->truncated = true;
    jump_out(cinfo, Status::decode_error, "the data ends before the image does");
}

std::string describe_jpeg_error(const JpegErr& e, const char* doing) {
    const char* what = e.truncated                        ? "truncated"
                       : e.status == Status::decode_error ? "corrupt"
                                                          : doing;
    return fmt::format("{} jpeg: {}", what, e.message);
}

// ---- decoding

DecoderHolder::DecoderHolder() {
    d.cinfo.err = &d.err.mgr;
    init_errors(d.err, Status::decode_error);
}

DecoderHolder::~DecoderHolder() {
    jpeg_destroy_decompress(&d.cinfo);
}

bool c_read_header(JpegDecoder* d, jpeg_source_mgr* src) {
    if (setjmp(d->err.jump)) return false;
    jpeg_create_decompress(&d->cinfo);
    d->cinfo.src = src;
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
    for (JDIMENSION done = 0; done < count;)
        done += jpeg_read_scanlines(&d->cinfo, rows + done, count - done);
    return true;
}

bool c_finish(JpegDecoder* d) {
    if (setjmp(d->err.jump)) return false;
    jpeg_finish_decompress(&d->cinfo);
    return true;
}

bool configure_jpeg_output(jpeg_decompress_struct& ci, ImageInfo& info) {
    info.format = "jpeg";
    info.width = static_cast<int>(ci.image_width);
    info.height = static_cast<int>(ci.image_height);
    for (jpeg_saved_marker_ptr m = ci.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 &&
            std::memcmp(m->data, "Exif\0\0", 6) == 0)
            info.orientation = exif_orientation_from_tiff({m->data + 6, m->data_length - 6});
    // libjpeg's defaults otherwise (JDCT_ISLOW, fancy upsampling), which OpenCV keeps too.
    switch (ci.jpeg_color_space) {
        case JCS_GRAYSCALE:
            ci.out_color_space = JCS_GRAYSCALE;
            info.channels = 1;
            return false;
        case JCS_CMYK:
        case JCS_YCCK:
            ci.out_color_space = JCS_CMYK;
            info.channels = 3;
            return true;
        default:
            ci.out_color_space = JCS_RGB;
            info.channels = 3;
            return false;
    }
}

void cmyk_to_rgb(const JSAMPLE* s, std::uint8_t* d, int width) {
    for (int x = 0; x < width; ++x, s += 4, d += 3) {
        const int k = s[3];
        for (int c = 0; c < 3; ++c) d[c] = static_cast<std::uint8_t>(k - (((255 - s[c]) * k) >> 8));
    }
}

// ---- encoding

EncoderHolder::EncoderHolder(Status status) {
    e.cinfo.err = &e.err.mgr;
    init_errors(e.err, status);
}

EncoderHolder::~EncoderHolder() {
    jpeg_destroy_compress(&e.cinfo);
}

bool c_start_compress(JpegEncoder* e, jpeg_destination_mgr* dest, JDIMENSION width,
                      JDIMENSION height, int components, int quality) {
    if (setjmp(e->err.jump)) return false;
    jpeg_create_compress(&e->cinfo);
    e->cinfo.dest = dest;
    e->cinfo.image_width = width;
    e->cinfo.image_height = height;
    e->cinfo.input_components = components;
    e->cinfo.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&e->cinfo);
    jpeg_set_quality(&e->cinfo, quality, TRUE);
    jpeg_start_compress(&e->cinfo, TRUE);
    return true;
}

bool c_write(JpegEncoder* e, JSAMPARRAY rows, JDIMENSION count) {
    if (setjmp(e->err.jump)) return false;
    for (JDIMENSION done = 0; done < count;)
        done += jpeg_write_scanlines(&e->cinfo, rows + done, count - done);
    return true;
}

bool c_finish_compress(JpegEncoder* e) {
    if (setjmp(e->err.jump)) return false;
    jpeg_finish_compress(&e->cinfo);
    return true;
}

void rgba_over_white(const std::uint8_t* s, std::uint8_t* d, int width) {
    for (int x = 0; x < width; ++x, s += 4, d += 3) {
        const int a = s[3];
        for (int c = 0; c < 3; ++c)
            d[c] = static_cast<std::uint8_t>((s[c] * a + 255 * (255 - a) + 127) / 255);
    }
}

}  // namespace artistry::io
