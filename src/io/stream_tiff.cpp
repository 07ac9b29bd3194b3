// TIFF by strips and tiles through libtiff, BigTIFF included. The handles and their error
// messages come from tiff_lib.hpp, shared with the in-memory codec. Files are read without
// memory mapping, so that a large file's pages never count against the process.

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "io/stream_internal.hpp"
#include "io/tiff_lib.hpp"

namespace artistry::io {

namespace {

// ---- reading

// Strips up to this size are decoded whole; larger ones row by row.
constexpr std::size_t max_strip_bytes = std::size_t{16} << 20;

// The tags that decide how a file is read.
struct TiffLayout {
    std::uint32_t width = 0, height = 0;
    std::uint16_t spp = 1, bps = 1, planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT;
    std::uint16_t orientation = ORIENTATION_TOPLEFT, compression = COMPRESSION_NONE,
                  photometric = 0;
};

TiffLayout read_layout(TIFF* tif) {
    TiffLayout t;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &t.width);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &t.height);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &t.spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &t.bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &t.planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &t.format);
    TIFFGetFieldDefaulted(tif, TIFFTAG_ORIENTATION, &t.orientation);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &t.compression);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &t.photometric))
        t.photometric = t.spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    return t;
}

class TiffReader final : public ReaderBase {
  public:
    TiffReader(UniqueFd& fd, const std::string& path, const LoadOptions& options,
               const StreamReadOptions& stream)
        : ReaderBase(path), fd_(fd.release()), max_buffer_bytes_(stream.max_buffer_bytes) {
        messages_.error[0] = '\0';
        h_.tif = open_tiff(fd_.get(), path, "rm", &messages_);
        if (!h_.tif) throw codec_error("cannot open tiff");
        const TiffLayout t = read_layout(h_.tif);
        if (t.width == 0 || t.height == 0 || t.width > 0x7fffffff || t.height > 0x7fffffff)
            throw error(Status::decode_error,
                        fmt::format("tiff has an invalid size {}x{}", t.width, t.height));

        info_.format = "tiff";
        info_.width = static_cast<int>(t.width);
        info_.height = static_cast<int>(t.height);
        info_.orientation = t.orientation >= 1 && t.orientation <= 8 ? t.orientation : 1;
        spp_ = t.spp;
        bps_ = t.bps;
        check_samples(t);
        choose_channels(t);
        check_header(options);
        plan_buffers(t);
    }

  private:
    // Streaming reads contiguous 8- and 16-bit unsigned samples.
    void check_samples(const TiffLayout& t) const {
        if (t.planar != PLANARCONFIG_CONTIG)
            throw error(Status::unsupported,
                        "tiff stores its channels in separate planes (PlanarConfiguration 2), "
                        "which cannot be streamed; convert it to contiguous samples");
        if (t.format != SAMPLEFORMAT_UINT || (t.bps != 8 && t.bps != 16))
            throw error(
                Status::unsupported,
                fmt::format(
                    "tiff has {}-bit {} samples; streaming reads 8- and 16-bit unsigned ones",
                    t.bps,
                    t.format == SAMPLEFORMAT_IEEEFP ? "floating-point"
                    : t.format == SAMPLEFORMAT_INT  ? "signed"
                                                    : "unsigned"));
    }

    // The delivered channels for the photometric interpretation: gray, RGB(A) or palette.
    void choose_channels(const TiffLayout& t) {
        const std::uint16_t photometric = t.photometric, spp = t.spp;
        switch (photometric) {
            case PHOTOMETRIC_MINISWHITE:
                invert_ = true;
                [[fallthrough]];
            case PHOTOMETRIC_MINISBLACK:
                if (spp > 2) throw unsupported_layout(photometric, spp);
                info_.channels = spp == 1 ? 1 : 4;  // gray+alpha → RGBA
                break;
            case PHOTOMETRIC_YCBCR:
                if (t.compression != COMPRESSION_JPEG)
                    throw error(Status::unsupported,
                                "tiff stores YCbCr samples without JPEG compression; "
                                "streaming reads RGB, gray or palette ones");
                if (!TIFFSetField(h_.tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB))
                    throw codec_error("tiff");
                [[fallthrough]];
            case PHOTOMETRIC_RGB:
                if (spp != 3 && spp != 4) throw unsupported_layout(photometric, spp);
                info_.channels = spp;
                break;
            case PHOTOMETRIC_PALETTE:
                if (spp != 1 || t.bps != 8) throw unsupported_layout(photometric, spp);
                load_palette();
                info_.channels = 3;
                break;
            default:
                throw error(
                    Status::unsupported,
                    fmt::format(
                        "tiff photometric interpretation {} (e.g. CMYK or Lab) is not streamed; "
                        "streaming reads gray, RGB, palette and JPEG-YCbCr",
                        photometric));
        }
    }

    void load_palette() {
        std::uint16_t *r = nullptr, *g = nullptr, *b = nullptr;
        if (!TIFFGetField(h_.tif, TIFFTAG_COLORMAP, &r, &g, &b)) throw codec_error("tiff palette");
        // Some writers store 8-bit values in the 16-bit colour map (libtiff checks the same).
        const bool eight = std::all_of(r, r + 256, [](std::uint16_t v) { return v < 256; }) &&
                           std::all_of(g, g + 256, [](std::uint16_t v) { return v < 256; }) &&
                           std::all_of(b, b + 256, [](std::uint16_t v) { return v < 256; });
        palette_.resize(256 * 3);
        for (int i = 0; i < 256; ++i)
            for (int c = 0; c < 3; ++c) {
                const std::uint16_t v = (c == 0 ? r : c == 1 ? g : b)[i];
                palette_[static_cast<std::size_t>(i * 3 + c)] =
                    eight ? static_cast<std::uint8_t>(v) : narrow16(v);
            }
    }

    // Tiles, whole strips or single rows, and the buffers each needs.
    void plan_buffers(const TiffLayout& t) {
        TIFF* tif = h_.tif;
        const std::uint32_t width = t.width, height = t.height;
        // As decoded by libtiff; JPEG-YCbCr comes out as RGB.
        raw_row_bytes_ = static_cast<std::size_t>(width) * t.spp * (t.bps / 8);
        direct_ = t.bps == 8 && !invert_ && palette_.empty() && info_.channels == t.spp;
        if (t.bps == 16 || !direct_) row8_.resize(static_cast<std::size_t>(width) * t.spp);
        if (TIFFIsTiled(tif)) {
            std::uint32_t tw = 0, th = 0;
            TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
            TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
            if (tw == 0 || th == 0)
                throw error(Status::decode_error, "tiff has an invalid tile size");
            tiled_ = true;
            tile_w_ = tw;
            band_rows_ = th;
            const tmsize_t tile_bytes = TIFFTileSize(tif);
            if (tile_bytes <= 0) throw codec_error("tiff tile size");
            // A tile row is decoded whole: its tile and band buffers must fit the streaming
            // limit (a 16×16 image may declare 65536×65536 tiles: 12 GiB for nothing).
            const std::uint64_t need = static_cast<std::uint64_t>(tile_bytes) +
                                       static_cast<std::uint64_t>(raw_row_bytes_) * th;
            if (need > max_buffer_bytes_)
                throw error(Status::limit_exceeded,
                            fmt::format("tiff tiles of {}x{} need {} MiB of buffers to stream, "
                                        "over the streaming limit of {} MiB (raise "
                                        "max_buffer_bytes to read it)",
                                        tw, th, need >> 20, max_buffer_bytes_ >> 20));
            tile_.resize(static_cast<std::size_t>(tile_bytes));
        } else {
            std::uint32_t rows_per_strip = height;
            TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
            rows_per_strip = std::clamp<std::uint32_t>(rows_per_strip, 1, height);
            // Whole strips decode fastest (libdeflate needs them whole); a huge strip is read
            // row by row instead, libtiff then holding only a window of its compressed bytes.
            if (raw_row_bytes_ * rows_per_strip <= max_strip_bytes) {
                band_rows_ = rows_per_strip;
            } else {
                const tmsize_t line = TIFFScanlineSize(tif);
                if (line <= 0) throw codec_error("tiff scanline size");
                raw_.resize(std::max(static_cast<std::size_t>(line), raw_row_bytes_));
                buffer_bytes_ = raw_.size() * 18 + 5000;  // libtiff reads about 16 rows ahead
            }
        }
        band_.resize(raw_row_bytes_ * band_rows_);
        buffer_bytes_ += tile_.size() + band_.size();
        buffer_bytes_ += row8_.size();
    }

    Error codec_error(const char* what) const {
        return error(Status::decode_error,
                     fmt::format("{}: {}", what, messages_.error[0] ? messages_.error : "failed"));
    }

    Error unsupported_layout(int photometric, int spp) const {
        return error(
            Status::unsupported,
            fmt::format("tiff with photometric interpretation {} and {} samples per pixel is not "
                        "streamed",
                        photometric, spp));
    }

    void decode(const Image& dst) override {
        const int y0 = rows_read();
        for (int i = 0; i < dst.height(); ++i) {
            const auto y = static_cast<std::uint32_t>(y0 + i);
            if (band_rows_ != 0) {
                if (!band_loaded_ || y >= band_y_ + band_rows_) load_band(y - y % band_rows_);
                deliver(band_.data() + raw_row_bytes_ * (y - band_y_), dst.row(i));
            } else if (direct_) {
                if (TIFFReadScanline(h_.tif, dst.row(i), y, 0) < 0) throw read_error(y);
            } else {
                if (TIFFReadScanline(h_.tif, raw_.data(), y, 0) < 0) throw read_error(y);
                deliver(raw_.data(), dst.row(i));
            }
        }
    }

    Error read_error(std::uint32_t row) const {
        return error(Status::decode_error,
                     fmt::format("truncated or corrupt tiff at row {}: {}", row,
                                 messages_.error[0] ? messages_.error : "read failed"));
    }

    // Decodes the strip, or the row of tiles, that starts at row y into band_.
    void load_band(std::uint32_t y) {
        TIFF* tif = h_.tif;
        const std::uint32_t rows =
            std::min(band_rows_, static_cast<std::uint32_t>(info_.height) - y);
        if (!tiled_) {
            if (TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, y, 0), band_.data(),
                                     static_cast<tmsize_t>(raw_row_bytes_ * rows)) < 0)
                throw read_error(y);
        } else {
            const std::size_t pixel = raw_row_bytes_ / static_cast<std::size_t>(info_.width);
            for (std::uint32_t x = 0; x < static_cast<std::uint32_t>(info_.width); x += tile_w_) {
                if (TIFFReadEncodedTile(tif, TIFFComputeTile(tif, x, y, 0, 0), tile_.data(),
                                        static_cast<tmsize_t>(tile_.size())) < 0)
                    throw read_error(y);
                const std::size_t cols =
                    std::min(tile_w_, static_cast<std::uint32_t>(info_.width) - x);
                for (std::uint32_t r = 0; r < rows; ++r)
                    std::memcpy(band_.data() + raw_row_bytes_ * r + pixel * x,
                                tile_.data() + pixel * tile_w_ * r, pixel * cols);
            }
        }
        band_y_ = y;
        band_loaded_ = true;
    }

    // One row as libtiff decoded it to the delivered layout.
    void deliver(const std::uint8_t* s, std::uint8_t* d) {
        const std::size_t w = static_cast<std::size_t>(info_.width);
        if (bps_ == 16) {
            const std::size_t n = w * spp_;
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t v;
                std::memcpy(&v, s + 2 * i, 2);  // libtiff gives native byte order
                row8_[i] = narrow16(v);
            }
            s = row8_.data();
        }
        if (direct_) {
            std::memcpy(d, s, w * spp_);
        } else if (!palette_.empty()) {
            for (std::size_t x = 0; x < w; ++x)
                std::memcpy(d + 3 * x, palette_.data() + 3 * std::size_t{s[x]}, 3);
        } else if (spp_ == 1) {  // MinIsWhite
            for (std::size_t x = 0; x < w; ++x) d[x] = static_cast<std::uint8_t>(255 - s[x]);
        } else if (spp_ == 2) {  // gray+alpha → RGBA
            for (std::size_t x = 0; x < w; ++x) {
                const auto g = static_cast<std::uint8_t>(invert_ ? 255 - s[2 * x] : s[2 * x]);
                d[4 * x] = d[4 * x + 1] = d[4 * x + 2] = g;
                d[4 * x + 3] = s[2 * x + 1];
            }
        } else {
            std::memcpy(d, s, w * spp_);
        }
    }

    UniqueFd fd_;
    TiffMessages messages_{};
    TiffHolder h_;
    unsigned spp_ = 1;
    unsigned bps_ = 8;
    bool invert_ = false;
    bool direct_ = false;                // 8-bit samples delivered as stored
    std::vector<std::uint8_t> palette_;  // 256 × RGB
    std::size_t raw_row_bytes_ = 0;
    std::vector<std::uint8_t> raw_;   // one scanline (huge strips, read row by row)
    std::vector<std::uint8_t> row8_;  // one row narrowed to 8 bits
    bool tiled_ = false;
    std::uint32_t tile_w_ = 0;
    std::uint64_t max_buffer_bytes_;
    std::uint32_t band_rows_ = 0;     // rows per tile or strip; 0: row by row
    std::vector<std::uint8_t> tile_;  // one decoded tile
    std::vector<std::uint8_t> band_;  // one strip or one row of tiles
    std::uint32_t band_y_ = 0;
    bool band_loaded_ = false;
};

// ---- writing

// Classic TIFF offsets are 32-bit: past ~4 GiB of pixels (with room for the directory, the chunk
// offsets and incompressible data) only BigTIFF can hold the file.
bool needs_bigtiff(std::uint64_t raw, std::uint64_t chunks) {
    return raw + raw / 64 + chunks * 16 + (std::uint64_t{1} << 20) > 0xFFFFFFFFull;
}

class TiffWriter final : public WriterBase {
  public:
    TiffWriter(const std::string& path, int width, int height, int channels,
               const SaveOptions& options, const StreamWriteOptions& stream)
        : WriterBase(path, width, height, channels) {
        const std::uint16_t compression = compression_of(stream.tiff_compression);
        if (compression == COMPRESSION_JPEG && channels == 4)
            throw error(Status::unsupported,
                        "tiff_compression 'jpeg' cannot keep an alpha channel; use deflate");
        if (stream.tiff_tile < 0 || stream.tiff_tile % 16 != 0)
            throw error(
                Status::invalid_argument,
                fmt::format("tiff_tile {} must be a positive multiple of 16, or 0 for strips",
                            stream.tiff_tile));
        plan_chunks(compression, static_cast<std::uint32_t>(stream.tiff_tile));

        const std::uint64_t raw = std::uint64_t{row_bytes_} * static_cast<std::uint64_t>(height);
        const std::uint64_t chunks =
            (static_cast<std::uint64_t>(height) + chunk_rows_ - 1) / chunk_rows_ *
            (tile_ ? (static_cast<std::uint64_t>(width) + tile_ - 1) / tile_ : 1);
        const bool big = stream.tiff_bigtiff == BigTiff::always ||
                         (stream.tiff_bigtiff == BigTiff::automatic && needs_bigtiff(raw, chunks));

        messages_.error[0] = '\0';
        h_.tif = open_tiff(out_.fd(), out_.temp_path(), big ? "w8" : "w", &messages_);
        if (!h_.tif) throw codec_error("cannot create tiff");
        if (!write_tags(compression, options, stream)) throw codec_error("tiff tags");

        band_.resize(row_bytes_ * chunk_rows_);
        if (tile_ != 0) {
            const tmsize_t tile_bytes = TIFFTileSize(h_.tif);
            if (tile_bytes <= 0) throw codec_error("tiff tile size");
            tile_buf_.resize(static_cast<std::size_t>(tile_bytes));
        }
    }

  private:
    // The libtiff codec for a tiff_compression name, checked to be built in.
    std::uint16_t compression_of(const std::string& comp) const {
        std::uint16_t compression;
        if (comp == "deflate")
            compression = COMPRESSION_ADOBE_DEFLATE;
        else if (comp == "lzw")
            compression = COMPRESSION_LZW;
        else if (comp == "zstd")
            compression = COMPRESSION_ZSTD;
        else if (comp == "jpeg")
            compression = COMPRESSION_JPEG;
        else if (comp == "none")
            compression = COMPRESSION_NONE;
        else
            throw error(
                Status::invalid_argument,
                fmt::format("unknown tiff_compression '{}' (deflate, lzw, zstd, jpeg, none)",
                            comp));
        if (!TIFFIsCODECConfigured(compression))
            throw error(Status::unsupported, fmt::format("this libtiff has no {} codec", comp));
        return compression;
    }

    // Square tiles of `tile` pixels, or (tile 0) strips of about 512 KiB.
    void plan_chunks(std::uint16_t compression, std::uint32_t tile) {
        row_bytes_ = static_cast<std::size_t>(width_) * static_cast<std::size_t>(channels_);
        tile_ = tile;
        if (tile_ != 0) {
            chunk_rows_ = tile_;
        } else {
            // JPEG needs whole 16-row MCUs per strip.
            chunk_rows_ = static_cast<std::uint32_t>(
                std::clamp<std::size_t>((std::size_t{512} << 10) / row_bytes_, 1, 4096));
            if (compression == COMPRESSION_JPEG) chunk_rows_ = (chunk_rows_ + 15) / 16 * 16;
            chunk_rows_ = std::min(chunk_rows_, static_cast<std::uint32_t>(height_));
        }
    }

    // The image's tags; false when libtiff refuses one.
    bool write_tags(std::uint16_t compression, const SaveOptions& options,
                    const StreamWriteOptions& stream) {
        TIFF* tif = h_.tif;
        const std::uint16_t photometric = channels_ == 1                    ? PHOTOMETRIC_MINISBLACK
                                          : compression == COMPRESSION_JPEG ? PHOTOMETRIC_YCBCR
                                                                            : PHOTOMETRIC_RGB;
        bool ok =
            TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(width_)) &&
            TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(height_)) &&
            TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(channels_)) &&
            TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, std::uint16_t{8}) &&
            TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
            TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, photometric) &&
            TIFFSetField(tif, TIFFTAG_COMPRESSION, compression) &&
            TIFFSetField(tif, TIFFTAG_SOFTWARE, "artistry");
        if (ok && channels_ == 4) {
            const std::uint16_t extra = EXTRASAMPLE_UNASSALPHA;
            ok = TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, std::uint16_t{1}, &extra);
        }
        if (ok && compression != COMPRESSION_NONE && compression != COMPRESSION_JPEG)
            ok = TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        // libtiff's defaults (deflate 6, zstd 9) run 5-10x slower than these, for 10-20 % smaller
        // files.
        const int level = stream.tiff_compression_level;
        if (ok && compression == COMPRESSION_ADOBE_DEFLATE)
            ok = TIFFSetField(tif, TIFFTAG_ZIPQUALITY, level > 0 ? std::min(level, 12) : 2);
        if (ok && compression == COMPRESSION_ZSTD)
            ok = TIFFSetField(tif, TIFFTAG_ZSTD_LEVEL, level > 0 ? std::min(level, 22) : 3);
        if (ok && compression == COMPRESSION_JPEG) {
            ok = TIFFSetField(tif, TIFFTAG_JPEGQUALITY, std::clamp(options.jpeg_quality, 1, 100));
            if (ok && photometric == PHOTOMETRIC_YCBCR)
                ok = TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        }
        if (ok && tile_ != 0)
            ok = TIFFSetField(tif, TIFFTAG_TILEWIDTH, tile_) &&
                 TIFFSetField(tif, TIFFTAG_TILELENGTH, tile_);
        else if (ok)
            ok = TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, chunk_rows_);
        return ok;
    }

    Error codec_error(const char* what) const {
        return error(Status::io_error,
                     fmt::format("{}: {}", what, messages_.error[0] ? messages_.error : "failed"));
    }

    void encode(const Image& band) override {
        for (int y = 0; y < band.height(); ++y) {
            std::memcpy(band_.data() + row_bytes_ * band_rows_, band.row(y), row_bytes_);
            ++band_rows_;
            const bool last = rows_written() + y + 1 == height_;
            if (band_rows_ == chunk_rows_ || last) flush_band();
        }
    }

    // Writes the buffered rows as one strip or one row of tiles (edges padded by repeating
    // the last column and row, which compresses well and keeps JPEG tiles clean).
    void flush_band() {
        TIFF* tif = h_.tif;
        if (tile_ == 0) {
            if (TIFFWriteEncodedStrip(tif, chunk_index_, band_.data(),
                                      static_cast<tmsize_t>(row_bytes_ * band_rows_)) < 0)
                throw codec_error("writing tiff strip");
        } else {
            const std::size_t pixel = static_cast<std::size_t>(channels_);
            for (std::uint32_t x = 0, t = 0; x < static_cast<std::uint32_t>(width_);
                 x += tile_, ++t) {
                const std::uint32_t cols = std::min(tile_, static_cast<std::uint32_t>(width_) - x);
                for (std::uint32_t r = 0; r < tile_; ++r) {
                    const std::uint8_t* s =
                        band_.data() + row_bytes_ * std::min(r, band_rows_ - 1) + pixel * x;
                    std::uint8_t* d = tile_buf_.data() + pixel * tile_ * r;
                    std::memcpy(d, s, pixel * cols);
                    for (std::uint32_t c = cols; c < tile_; ++c)
                        std::memcpy(d + pixel * c, d + pixel * (cols - 1), pixel);
                }
                const std::uint32_t tiles_across =
                    (static_cast<std::uint32_t>(width_) + tile_ - 1) / tile_;
                if (TIFFWriteEncodedTile(tif, chunk_index_ * tiles_across + t, tile_buf_.data(),
                                         static_cast<tmsize_t>(tile_buf_.size())) < 0)
                    throw codec_error("writing tiff tile");
            }
        }
        ++chunk_index_;
        band_rows_ = 0;
    }

    void finish_encoding() override {
        if (!TIFFWriteDirectory(h_.tif)) throw codec_error("writing tiff directory");
        TIFFCleanup(h_.tif);
        h_.tif = nullptr;
    }

    TiffMessages messages_{};
    TiffHolder h_;
    std::size_t row_bytes_ = 0;
    std::uint32_t tile_ = 0;        // 0: strips
    std::uint32_t chunk_rows_ = 0;  // rows per strip or per row of tiles
    std::vector<std::uint8_t> band_;
    std::uint32_t band_rows_ = 0;
    std::uint32_t chunk_index_ = 0;
    std::vector<std::uint8_t> tile_buf_;
};

}  // namespace

std::unique_ptr<ImageReader> open_tiff_reader(UniqueFd& fd, const std::string& path,
                                              const LoadOptions& options,
                                              const StreamReadOptions& stream) {
    return std::make_unique<TiffReader>(fd, path, options, stream);
}

std::unique_ptr<ImageWriter> create_tiff_writer(const std::string& path, int width, int height,
                                                int channels, const SaveOptions& options,
                                                const StreamWriteOptions& stream) {
    return std::make_unique<TiffWriter>(path, width, height, channels, options, stream);
}

}  // namespace artistry::io
