// TIFF in memory through libtiff, read as OpenCV 4.6 read it: 8-bit (and 1-, 2-, 4-bit) images
// through libtiff's RGBA interface, which handles palettes, MinIsWhite, YCbCr, CMYK and the rest;
// 16-bit gray/RGB(A) samples directly (then narrowed); float samples kept as f32, LogLuv as RGB
// f32. Written as OpenCV wrote it (LZW with a horizontal predictor), except float RGB: OpenCV
// wrote lossy LogLuv, this writes the floats themselves, uncompressed, as for gray and RGBA.

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/error.hpp"
#include "artistry/opencv.hpp"
#include "io/codec_internal.hpp"
#include "io/io_internal.hpp"
#include "io/stream_internal.hpp"
#include "io/tiff_lib.hpp"

namespace artistry::io {

namespace {

// OpenCV's fixed-point BT.601 luma (weights × 2^14), for gray images read through RGBA.
std::uint8_t luma(std::uint32_t abgr) {
    return static_cast<std::uint8_t>(
        (TIFFGetR(abgr) * 4899u + TIFFGetG(abgr) * 9617u + TIFFGetB(abgr) * 1868u + 8192u) >> 14);
}

struct Layout {
    std::uint32_t width = 0, height = 0;
    std::uint16_t photometric = 0, bps = 8, spp = 1, format = SAMPLEFORMAT_UINT;
    std::uint16_t planar = PLANARCONFIG_CONTIG, orientation = ORIENTATION_TOPLEFT;
    bool tiled = false;
    std::uint32_t tile_w = 0, tile_h = 0;  // a tile, or a strip (tile_w = width)
};

class TiffDecoder {
  public:
    explicit TiffDecoder(Bytes bytes) : input_{bytes} {
        h_.tif = open_tiff_reading(&input_, &messages_);
        if (!h_.tif) throw corrupt("cannot read the tiff directory");
        read_layout();
    }

    // The size as libtiff reads the directory, before any orientation.
    int stored_width() const noexcept { return static_cast<int>(l_.width); }
    int stored_height() const noexcept { return static_cast<int>(l_.height); }

    Image decode() {
        const std::uint64_t chunk =
            std::uint64_t{l_.tile_w} * l_.tile_h * 4 * std::max(1, l_.bps / 8);
        if (chunk >= (std::uint64_t{1} << 30))
            throw Error(Status::unsupported,
                        fmt::format("tiff strips or tiles of {}x{} are too large to decode",
                                    l_.tile_w, l_.tile_h));
        // OpenCV turned TIFF pixels by the orientation tag itself: deep samples fully, the RGBA
        // reader's output (already flipped by libtiff) only by the transposing part. Kept as it
        // was, decode_image's own orientation step then applying on top.
        const int o = l_.orientation;
        if (logluv_) return apply_orientation(decode_logluv(), o);
        if (l_.bps > 8) return apply_orientation(decode_samples(), o);
        const Image image = decode_rgba();
        if (o == ORIENTATION_LEFTTOP || o == ORIENTATION_RIGHTBOT)
            return apply_orientation(image, 5);
        if (o == ORIENTATION_RIGHTTOP || o == ORIENTATION_LEFTBOT)
            return apply_orientation(image, 7);
        return image;
    }

  private:
    Error corrupt(const std::string& what) const {
        return Error(Status::decode_error,
                     fmt::format("truncated or corrupt tiff: {}{}{}", what,
                                 messages_.error[0] ? ": " : "", messages_.error));
    }
    Error unsupported(const std::string& what) const {
        return Error(Status::unsupported, fmt::format("tiff {} is not supported", what));
    }

    void read_layout() {
        TIFF* tif = h_.tif;
        if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &l_.width) ||
            !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &l_.height) ||
            !TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &l_.photometric))
            throw corrupt("no width, height or photometric interpretation");
        if (l_.width == 0 || l_.height == 0 || l_.width > 0x7fffffff || l_.height > 0x7fffffff)
            throw corrupt(fmt::format("invalid size {}x{}", l_.width, l_.height));
        gray_ =
            l_.photometric == PHOTOMETRIC_MINISWHITE || l_.photometric == PHOTOMETRIC_MINISBLACK;
        l_.spp = gray_ ? 1 : 3;
        if (!TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &l_.bps))
            l_.bps = 1;  // bi-level files may omit it
        TIFFGetField(tif, TIFFTAG_SAMPLESPERPIXEL, &l_.spp);
        TIFFGetField(tif, TIFFTAG_SAMPLEFORMAT, &l_.format);
        TIFFGetField(tif, TIFFTAG_PLANARCONFIG, &l_.planar);
        TIFFGetField(tif, TIFFTAG_ORIENTATION, &l_.orientation);
        if (l_.spp < 1 || l_.spp > 4)
            throw unsupported(fmt::format("with {} samples per pixel", l_.spp));
        if (l_.spp == 3 && l_.photometric == PHOTOMETRIC_LOGLUV) {  // how OpenCV wrote float RGB
            logluv_ = true;
            channels_ = 3;
            if (TIFFIsTiled(tif)) throw unsupported("LogLuv in tiles");
            TIFFGetField(tif, TIFFTAG_ROWSPERSTRIP, &l_.tile_h);
            l_.tile_w = l_.width;
            if (l_.tile_h == 0 || l_.tile_h > l_.height) l_.tile_h = l_.height;
            return;
        }
        // Deep samples of layouts other than gray or RGB(A) go through the 8-bit RGBA reader.
        if (l_.bps > 8 &&
            (l_.photometric > PHOTOMETRIC_RGB || (l_.spp != 1 && l_.spp != 3 && l_.spp != 4)))
            l_.bps = 8;

        const char* kind = l_.format == SAMPLEFORMAT_IEEEFP ? "floating-point"
                           : l_.format == SAMPLEFORMAT_INT  ? "signed"
                                                            : "unsigned";
        const bool uint = l_.format == SAMPLEFORMAT_UINT;
        const bool ok =
            (l_.bps <= 8 && (l_.bps == 1 || l_.bps == 2 || l_.bps == 4 || l_.bps == 8) && uint) ||
            (l_.bps == 16 && uint) ||
            ((l_.bps == 32 || l_.bps == 64) && l_.format == SAMPLEFORMAT_IEEEFP);
        if (!ok) throw unsupported(fmt::format("with {}-bit {} samples", l_.bps, kind));
        if (l_.bps <= 8) {
            channels_ = l_.photometric == PHOTOMETRIC_PALETTE ? 3 : gray_ ? 1 : l_.spp;
        } else {
            channels_ = l_.bps == 16 && gray_ ? 1 : l_.spp;
            if (l_.bps == 16 && gray_ && l_.spp != 1)
                throw unsupported(fmt::format("16-bit gray with {} samples", l_.spp));
            if (l_.planar != PLANARCONFIG_CONTIG && l_.spp > 1)
                throw unsupported("with separate colour planes");
        }
        if (channels_ == 2)
            throw unsupported(
                fmt::format("with photometric interpretation {} and 2 samples", l_.photometric));

        l_.tiled = TIFFIsTiled(tif) != 0;
        if (l_.tiled) {
            if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &l_.tile_w) ||
                !TIFFGetField(tif, TIFFTAG_TILELENGTH, &l_.tile_h) || l_.tile_w == 0 ||
                l_.tile_h == 0)
                throw corrupt("invalid tile size");
        } else {
            l_.tile_w = l_.width;
            TIFFGetField(tif, TIFFTAG_ROWSPERSTRIP, &l_.tile_h);
            if (l_.tile_h == 0 || l_.tile_h > l_.height) l_.tile_h = l_.height;
        }
    }

    // 1- to 8-bit samples: libtiff's RGBA reader, strip by strip or tile by tile. Its rasters
    // are bottom-up; a file stored bottom-up lands as OpenCV placed it.
    Image decode_rgba() {
        TIFF* tif = h_.tif;
        char why[1024];
        if (!TIFFRGBAImageOK(tif, why))
            throw Error(Status::unsupported, fmt::format("tiff: {}", why));
        const int o = l_.orientation;
        // libtiff mirrors each tile in place, not the row of tiles (OpenCV read no turned tiles).
        if (l_.tiled && (o == ORIENTATION_TOPRIGHT || o == ORIENTATION_BOTRIGHT ||
                         o == ORIENTATION_RIGHTTOP || o == ORIENTATION_RIGHTBOT))
            throw unsupported(fmt::format("in tiles with orientation {} (mirrored)", o));
        const bool flip = o == ORIENTATION_BOTRIGHT || o == ORIENTATION_RIGHTBOT ||
                          o == ORIENTATION_BOTLEFT || o == ORIENTATION_LEFTBOT;
        const auto height = static_cast<int>(l_.height), width = static_cast<int>(l_.width);
        Image image = Image::allocate(width, height, channels_);
        std::vector<std::uint32_t> raster(std::size_t{l_.tile_w} * l_.tile_h);
        for (int y = 0; y < height; y += static_cast<int>(l_.tile_h)) {
            const int rows = std::min(static_cast<int>(l_.tile_h), height - y);
            const int img_y = flip ? height - y - rows : y;
            for (int x = 0; x < width; x += static_cast<int>(l_.tile_w)) {
                const int cols = std::min(static_cast<int>(l_.tile_w), width - x);
                const std::uint32_t* start = raster.data();
                const auto ux = static_cast<std::uint32_t>(x), uy = static_cast<std::uint32_t>(y);
                if (!l_.tiled) {
                    if (!TIFFReadRGBAStripExt(tif, uy, raster.data(), 1))
                        throw corrupt(fmt::format("strip at row {}", y));
                } else {
                    if (!TIFFReadRGBATileExt(tif, ux, uy, raster.data(), 1))
                        throw corrupt(fmt::format("tile at {},{}", x, y));
                    start += std::size_t{l_.tile_h - static_cast<std::uint32_t>(rows)} *
                             l_.tile_w;  // bottom-up
                }
                for (int i = 0; i < rows; ++i) {
                    const std::uint32_t* s =
                        start + std::size_t{l_.tile_w} * static_cast<std::size_t>(i);
                    std::uint8_t* d =
                        image.row(img_y + rows - i - 1) +
                        static_cast<std::size_t>(x) * static_cast<std::size_t>(channels_);
                    deliver_rgba(s, d, cols);
                }
            }
        }
        return image;
    }

    void deliver_rgba(const std::uint32_t* s, std::uint8_t* d, int cols) const {
        for (int i = 0; i < cols; ++i, d += channels_) {
            const std::uint32_t v = s[i];
            if (channels_ == 1) {
                d[0] = luma(v);
                continue;
            }
            d[0] = static_cast<std::uint8_t>(TIFFGetR(v));
            d[1] = static_cast<std::uint8_t>(TIFFGetG(v));
            d[2] = static_cast<std::uint8_t>(TIFFGetB(v));
            if (channels_ == 4) d[3] = static_cast<std::uint8_t>(TIFFGetA(v));
        }
    }

    // SGI LogLuv (HDR): CIE XYZ floats from libtiff, to RGB with OpenCV's own conversion.
    Image decode_logluv() {
        TIFF* tif = h_.tif;
        if (!TIFFSetField(tif, TIFFTAG_SGILOGDATAFMT, SGILOGDATAFMT_FLOAT))
            throw corrupt("LogLuv data format");
        Image xyz = Image::allocate(static_cast<int>(l_.width), static_cast<int>(l_.height), 3,
                                    PixelType::f32);
        const std::size_t row = xyz.row_bytes();
        for (std::uint32_t y = 0, strip = 0; y < l_.height; y += l_.tile_h, ++strip) {
            const std::uint32_t rows = std::min(l_.tile_h, l_.height - y);
            if (TIFFReadEncodedStrip(tif, strip, xyz.row(static_cast<int>(y)),
                                     static_cast<tmsize_t>(row * rows)) < 0)
                throw corrupt(fmt::format("strip {}", strip));
        }
        cv::Mat rgb;
        cv::cvtColor(as_mat(xyz), rgb, cv::COLOR_XYZ2RGB);
        return from_mat(rgb);
    }

    // 16-, 32- and 64-bit samples as stored (native byte order from libtiff), chunk by chunk.
    Image decode_samples() {
        TIFF* tif = h_.tif;
        const auto height = static_cast<int>(l_.height), width = static_cast<int>(l_.width);
        const bool floats = l_.format == SAMPLEFORMAT_IEEEFP;
        Image image =
            Image::allocate(width, height, channels_, floats ? PixelType::f32 : PixelType::u8);
        const std::size_t sample = l_.bps / 8u, pixel = sample * l_.spp;
        std::vector<std::uint8_t> chunk(std::size_t{l_.tile_w} * l_.tile_h * pixel);
        std::uint32_t index = 0;
        for (int y = 0; y < height; y += static_cast<int>(l_.tile_h)) {
            const int rows = std::min(static_cast<int>(l_.tile_h), height - y);
            for (int x = 0; x < width; x += static_cast<int>(l_.tile_w), ++index) {
                const int cols = std::min(static_cast<int>(l_.tile_w), width - x);
                const auto size = static_cast<tmsize_t>(chunk.size());
                const tmsize_t got = l_.tiled
                                         ? TIFFReadEncodedTile(tif, index, chunk.data(), size)
                                         : TIFFReadEncodedStrip(tif, index, chunk.data(), size);
                if (got < 0)
                    throw corrupt(fmt::format("{} {}", l_.tiled ? "tile" : "strip", index));
                for (int i = 0; i < rows; ++i) {
                    const std::uint8_t* s =
                        chunk.data() + pixel * l_.tile_w * static_cast<std::size_t>(i);
                    const std::size_t n = static_cast<std::size_t>(cols) * l_.spp;
                    std::uint8_t* d =
                        image.row(y + i) + static_cast<std::size_t>(x) * image.pixel_bytes();
                    deliver_samples(s, d, n);
                }
            }
        }
        return image;
    }

    void deliver_samples(const std::uint8_t* s, std::uint8_t* d, std::size_t n) const {
        if (l_.bps == 16) {
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t v;
                std::memcpy(&v, s + 2 * i, 2);
                d[i] = narrow16(v);
            }
        } else if (l_.bps == 32) {
            std::memcpy(d, s, n * 4);
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                double v;
                std::memcpy(&v, s + 8 * i, 8);
                const auto f = static_cast<float>(v);
                std::memcpy(d + 4 * i, &f, 4);
            }
        }
    }

    TiffMemoryInput input_;
    TiffMessages messages_{};
    TiffHolder h_;
    Layout l_;
    bool gray_ = false;
    bool logluv_ = false;
    int channels_ = 0;
};

}  // namespace

Image decode_tiff(Bytes bytes, const ImageInfo& probed) {
    TiffDecoder decoder(bytes);
    // The pixel limit was checked on the probe's reading of the header; libtiff's own reading
    // decides what is allocated, so the two must agree (a crafted file could make them differ).
    if (decoder.stored_width() != probed.width || decoder.stored_height() != probed.height)
        throw Error(
            Status::decode_error,
            fmt::format("corrupt tiff: its directory reads as {}x{} and as {}x{}", probed.width,
                        probed.height, decoder.stored_width(), decoder.stored_height()));
    return decoder.decode();
}

std::vector<std::uint8_t> encode_tiff(const Image& image) {
    TiffMemoryOutput output;
    TiffMessages messages{};
    TiffHolder h;
    const auto fail = [&](const char* what) {
        if (output.failed) return Error(Status::out_of_memory, "cannot encode tiff: out of memory");
        return Error(Status::io_error, fmt::format("cannot encode tiff: {}{}{}", what,
                                                   messages.error[0] ? ": " : "", messages.error));
    };
    h.tif = open_tiff_writing(&output, &messages);
    if (!h.tif) throw fail("cannot start");
    TIFF* tif = h.tif;
    const bool floats = image.type() == PixelType::f32;
    const int channels = image.channels();
    const std::uint16_t bits = floats ? 32 : 8;
    const std::uint16_t compression = floats ? COMPRESSION_NONE : COMPRESSION_LZW;
    const std::size_t row_bytes = image.row_bytes();
    // About 8 KiB strips, as OpenCV wrote them.
    const auto rows_per_strip = static_cast<std::uint32_t>(std::clamp<std::size_t>(
        (std::size_t{1} << 13) / row_bytes, 1, static_cast<std::size_t>(image.height())));
    bool ok =
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(image.width())) &&
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(image.height())) &&
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, bits) &&
        TIFFSetField(tif, TIFFTAG_COMPRESSION, compression) &&
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
                     channels > 1 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK) &&
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, static_cast<std::uint16_t>(channels)) &&
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rows_per_strip) &&
        TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, floats ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT);
    if (ok && compression != COMPRESSION_NONE)
        ok = TIFFSetField(tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
    if (!ok) throw fail("tags");
    // TIFFWriteScanline applies the predictor in place: each row goes through a copy.
    std::vector<std::uint8_t> row(row_bytes);
    for (int y = 0; y < image.height(); ++y) {
        std::memcpy(row.data(), image.row(y), row_bytes);
        if (TIFFWriteScanline(tif, row.data(), static_cast<std::uint32_t>(y), 0) != 1)
            throw fail("writing rows");
    }
    if (!TIFFWriteDirectory(tif)) throw fail("writing the directory");
    TIFFCleanup(h.tif);
    h.tif = nullptr;
    if (output.failed) throw fail("");
    return std::move(output.bytes);
}

}  // namespace artistry::io
