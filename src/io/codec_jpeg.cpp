// JPEG in memory through libjpeg(-turbo): the decoder and encoder settings OpenCV 4.6 used
// (libjpeg's defaults), so pixels and files stay as they were.

#include <new>
#include <vector>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "io/codec_internal.hpp"
#include "io/jpeg_lib.hpp"

namespace artistry::io {

namespace {

// ---- decoding: the whole span is the source; asking for more means the data was cut short.

void source_init(j_decompress_ptr) {}
void source_term(j_decompress_ptr) {}
boolean source_fill(j_decompress_ptr cinfo) {
    jump_truncated(reinterpret_cast<j_common_ptr>(cinfo));
}

void source_skip(j_decompress_ptr cinfo, long count) {
    jpeg_source_mgr* src = cinfo->src;
    if (count <= 0) return;
    if (static_cast<std::size_t>(count) > src->bytes_in_buffer)
        jump_truncated(reinterpret_cast<j_common_ptr>(cinfo));
    src->next_input_byte += count;
    src->bytes_in_buffer -= static_cast<std::size_t>(count);
}

// ---- encoding: a growing vector as the destination.

struct VectorDest {
    jpeg_destination_mgr mgr;
    std::vector<std::uint8_t>* out;
};

bool grow(std::vector<std::uint8_t>& v, std::size_t size) noexcept {
    try {
        v.resize(size);
        return true;
    } catch (const std::bad_alloc&) {
        return false;
    }
}

void dest_init(j_compress_ptr cinfo) {
    auto* d = reinterpret_cast<VectorDest*>(cinfo->dest);
    if (!grow(*d->out, std::size_t{64} << 10))
        jump_out(reinterpret_cast<j_common_ptr>(cinfo), Status::out_of_memory, "out of memory");
    d->mgr.next_output_byte = d->out->data();
    d->mgr.free_in_buffer = d->out->size();
}

boolean dest_empty(j_compress_ptr cinfo) {
    auto* d = reinterpret_cast<VectorDest*>(cinfo->dest);
    const std::size_t used = d->out->size();  // libjpeg asks only when the buffer is full
    if (!grow(*d->out, used * 2))
        jump_out(reinterpret_cast<j_common_ptr>(cinfo), Status::out_of_memory, "out of memory");
    d->mgr.next_output_byte = d->out->data() + used;
    d->mgr.free_in_buffer = d->out->size() - used;
    return TRUE;
}

void dest_term(j_compress_ptr cinfo) {
    auto* d = reinterpret_cast<VectorDest*>(cinfo->dest);
    d->out->resize(d->out->size() - d->mgr.free_in_buffer);  // shrinks: never allocates
}

}  // namespace

Image decode_jpeg(Bytes bytes) {
    jpeg_source_mgr src{};
    src.next_input_byte = bytes.data();
    src.bytes_in_buffer = bytes.size();
    src.init_source = source_init;
    src.fill_input_buffer = source_fill;
    src.skip_input_data = source_skip;
    src.resync_to_restart = jpeg_resync_to_restart;
    src.term_source = source_term;

    DecoderHolder holder;
    JpegDecoder& d = holder.d;
    const auto fail = [&] { return Error(d.err.status, describe_jpeg_error(d.err, "decoding")); };
    if (!c_read_header(&d, &src)) throw fail();
    ImageInfo info;
    const bool cmyk = configure_jpeg_output(d.cinfo, info);
    if (!c_start(&d)) throw fail();

    Image image = Image::allocate(info.width, info.height, info.channels);
    if (!cmyk) {
        std::vector<JSAMPROW> rows(static_cast<std::size_t>(info.height));
        for (int y = 0; y < info.height; ++y) rows[static_cast<std::size_t>(y)] = image.row(y);
        if (!c_read(&d, rows.data(), static_cast<JDIMENSION>(info.height))) throw fail();
    } else {
        std::vector<JSAMPLE> line(static_cast<std::size_t>(info.width) * 4);
        JSAMPROW row = line.data();
        for (int y = 0; y < info.height; ++y) {
            if (!c_read(&d, &row, 1)) throw fail();
            cmyk_to_rgb(row, image.row(y), info.width);
        }
    }
    if (!c_finish(&d)) throw fail();
    return image;
}

std::vector<std::uint8_t> encode_jpeg(const Image& image, int quality) {
    if (image.width() > JPEG_MAX_DIMENSION || image.height() > JPEG_MAX_DIMENSION)
        throw Error(Status::unsupported,
                    fmt::format("JPEG cannot hold {}x{}: at most {} pixels a side", image.width(),
                                image.height(), JPEG_MAX_DIMENSION));
    std::vector<std::uint8_t> out;
    VectorDest dest{};
    dest.mgr.init_destination = dest_init;
    dest.mgr.empty_output_buffer = dest_empty;
    dest.mgr.term_destination = dest_term;
    dest.out = &out;

    EncoderHolder holder(Status::io_error);
    JpegEncoder& e = holder.e;
    const auto fail = [&] {
        return Error(e.err.status, fmt::format("cannot encode jpeg: {}", e.err.message));
    };
    const int components = image.channels() == 1 ? 1 : 3;
    if (!c_start_compress(&e, &dest.mgr, static_cast<JDIMENSION>(image.width()),
                          static_cast<JDIMENSION>(image.height()), components, quality))
        throw fail();
    std::vector<JSAMPLE> rgb(image.channels() == 4 ? static_cast<std::size_t>(image.width()) * 3
                                                   : 0);
    for (int y = 0; y < image.height(); ++y) {
        // libjpeg reads the rows and never writes them.
        JSAMPROW row = image.row(y);
        if (image.channels() == 4) {
            rgba_over_white(image.row(y), rgb.data(), image.width());
            row = rgb.data();
        }
        if (!c_write(&e, &row, 1)) throw fail();
    }
    if (!c_finish_compress(&e)) throw fail();
    return out;
}

}  // namespace artistry::io
