// PNG by rows through libpng, from and to a file. The libpng calls, their error handling and the
// file callbacks are shared with the in-memory codec (png_lib.hpp).

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "io/io_internal.hpp"
#include "io/png_lib.hpp"
#include "io/stream_internal.hpp"

namespace artistry::io {

namespace {

// ---- reading

// Palette → RGB(A), low bit depths → 8, tRNS → alpha, gray+alpha → RGBA.
void stream_transforms(PngCodec* p, const PngHeader* h) {
    const bool trns = png_get_valid(p->png, p->info, PNG_INFO_tRNS) != 0;
    if (h->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p->png);
    if (h->color_type == PNG_COLOR_TYPE_GRAY && h->bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(p->png);
    if (trns) png_set_tRNS_to_alpha(p->png);
    if (h->color_type == PNG_COLOR_TYPE_GRAY_ALPHA ||
        (h->color_type == PNG_COLOR_TYPE_GRAY && trns))
        png_set_gray_to_rgb(p->png);
    if (h->interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(p->png);
}

// The libpng structs and the file.
struct ReadHolder {
    PngReadHolder h;
    PngCodec& p = h.p;
    std::unique_ptr<char[]> buffer;  // the file's stdio buffer, freed after the file is closed
    ReadHolder() = default;
    ReadHolder(const ReadHolder&) = delete;
    ReadHolder& operator=(const ReadHolder&) = delete;
    ~ReadHolder() {
        if (p.file) std::fclose(p.file);
    }
};

class PngReader final : public ReaderBase {
  public:
    PngReader(UniqueFd& fd, const std::string& path, const LoadOptions& options,
              const StreamReadOptions& stream)
        : ReaderBase(path) {
        PngCodec& p = h_.p;
        p.file = ::fdopen(fd.get(), "rb");
        if (!p.file) throw error(Status::io_error, std::strerror(errno));
        fd.release();
        h_.buffer = std::make_unique<char[]>(stream_io_buffer);
        std::setvbuf(p.file, h_.buffer.get(), _IOFBF, stream_io_buffer);
        p.status = Status::decode_error;
        p.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &p, png_on_error, png_on_warning);
        if (p.png) p.info = png_create_info_struct(p.png);
        if (!p.png || !p.info)
            throw error(Status::out_of_memory, "cannot allocate the png decoder");
        if (!c_read_header(&p, &hd_, read_file_data)) throw codec_error();

        info_.format = "png";
        info_.width = static_cast<int>(std::min<png_uint_32>(hd_.width, 0x7fffffff));
        info_.height = static_cast<int>(std::min<png_uint_32>(hd_.height, 0x7fffffff));
        if (hd_.exif) info_.orientation = exif_orientation_from_tiff({hd_.exif, hd_.exif_size});
        if (!c_update_info(&p, &hd_, stream_transforms)) throw codec_error();
        info_.channels = hd_.out_channels;
        if (hd_.out_channels != 1 && hd_.out_channels != 3 && hd_.out_channels != 4)
            throw error(Status::unsupported,
                        fmt::format("png decodes to {} channels", hd_.out_channels));
        check_header(options);

        buffer_bytes_ =
            stream_io_buffer + 2 * hd_.row_bytes + (std::size_t{64} << 10);  // + zlib window
        if (hd_.interlace != PNG_INTERLACE_NONE) {
            // Interlaced rows arrive in seven passes over the whole image: decode it whole.
            const std::uint64_t whole = std::uint64_t{hd_.row_bytes} * hd_.height;
            if (whole > stream.max_buffer_bytes)
                throw error(
                    Status::unsupported,
                    fmt::format("interlaced PNG cannot be decoded row by row, and decoding it "
                                "whole needs {} MiB, over the streaming limit of {} MiB; save "
                                "it non-interlaced or raise max_buffer_bytes",
                                whole >> 20, stream.max_buffer_bytes >> 20));
            whole_.resize(static_cast<std::size_t>(whole));
            buffer_bytes_ += whole;
        }
    }

  private:
    Error codec_error() const { return error(h_.p.status, describe_png_error(h_.p, "reading")); }

    void decode(const Image& dst) override {
        const int n = dst.height();
        const int y_first = rows_read();
        if (!whole_.empty() && y_first == 0) {
            std::vector<png_bytep> all(hd_.height);
            for (png_uint_32 y = 0; y < hd_.height; ++y) all[y] = whole_.data() + hd_.row_bytes * y;
            if (!c_read_image(&h_.p, all.data())) throw codec_error();
        }
        if (!whole_.empty()) {
            for (int y = 0; y < n; ++y)
                deliver(whole_.data() + hd_.row_bytes * static_cast<std::size_t>(y_first + y),
                        dst.row(y));
        } else if (hd_.out_depth == 8) {
            if (rows_.size() < static_cast<std::size_t>(n))
                rows_.resize(static_cast<std::size_t>(n));
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
                for (int i = 0; i < m; ++i)
                    rows_[static_cast<std::size_t>(i)] =
                        wide_.data() + hd_.row_bytes * static_cast<std::size_t>(i);
                if (!c_read_rows(&h_.p, rows_.data(), static_cast<png_uint_32>(m)))
                    throw codec_error();
                for (int i = 0; i < m; ++i)
                    deliver(rows_[static_cast<std::size_t>(i)], dst.row(y0 + i));
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
        const std::size_t n =
            static_cast<std::size_t>(info_.width) * static_cast<std::size_t>(info_.channels);
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
    PngWriter(const std::string& path, int width, int height, int channels,
              const SaveOptions& options, const StreamWriteOptions& stream)
        : WriterBase(path, width, height, channels) {
        const int filters = png_filters(path, stream.png_filter);
        PngCodec& p = h_.p;
        p.file = out_.stream();
        p.status = Status::internal;
        p.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &p, png_on_error, png_on_warning);
        if (p.png) p.info = png_create_info_struct(p.png);
        if (!p.png || !p.info)
            throw error(Status::out_of_memory, "cannot allocate the png encoder");
        const int type = channels == 1   ? PNG_COLOR_TYPE_GRAY
                         : channels == 3 ? PNG_COLOR_TYPE_RGB
                                         : PNG_COLOR_TYPE_RGBA;
        // libpng's default zlib strategy; fewer, larger IDAT chunks.
        const PngWriteSettings settings{std::clamp(options.png_compression, 0, 9), filters, -1,
                                        std::size_t{256} << 10};
        if (!c_start_write(&p, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height),
                           type, settings, write_file_data))
            throw codec_error();
    }

  private:
    Error codec_error() const {
        return error(h_.p.status, fmt::format("writing png: {}", h_.p.message));
    }

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

    PngWriteHolder h_;
    std::vector<png_bytep> rows_;
};

}  // namespace

std::unique_ptr<ImageReader> open_png_reader(UniqueFd& fd, const std::string& path,
                                             const LoadOptions& options,
                                             const StreamReadOptions& stream) {
    return std::make_unique<PngReader>(fd, path, options, stream);
}

std::unique_ptr<ImageWriter> create_png_writer(const std::string& path, int width, int height,
                                               int channels, const SaveOptions& options,
                                               const StreamWriteOptions& stream) {
    return std::make_unique<PngWriter>(path, width, height, channels, options, stream);
}

}  // namespace artistry::io
