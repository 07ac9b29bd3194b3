#pragma once
// Streaming reads and writes of JPEG, PNG and TIFF files, one band of rows at a time, so that an
// image larger than memory passes through with memory bounded by the band, not by the image.
//
// Rows go strictly top to bottom. Pixels are 8-bit gray, RGB or RGBA (16-bit files are narrowed
// with the same rounding as load_image). Errors are artistry::Error, their message starting with
// the file's path.

#include <cstdint>
#include <memory>
#include <string>

#include "artistry/image.hpp"
#include "artistry/io.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

struct StreamReadOptions {
    // Progressive JPEG and interlaced PNG cannot be decoded row by row: their decoders need
    // whole-image buffers. They are read when those buffers fit in this many bytes, refused
    // with Error(unsupported) otherwise.
    std::uint64_t max_buffer_bytes = std::uint64_t{512} << 20;
};

class ImageReader {
  public:
    // Opens a JPEG, PNG or TIFF file and reads its header. The pixel limit of `options` holds;
    // an EXIF orientation other than 1 is refused unless options.apply_orientation is false
    // (rows then come as stored and info().orientation says how to turn them).
    static std::unique_ptr<ImageReader> open(const std::string& path,
                                             const LoadOptions& options = {},
                                             const StreamReadOptions& stream = {});
    virtual ~ImageReader() = default;
    ImageReader(const ImageReader&) = delete;
    ImageReader& operator=(const ImageReader&) = delete;

    // Size and channels as delivered (1 gray, 3 RGB, 4 RGBA), format, stored orientation.
    virtual const ImageInfo& info() const noexcept = 0;
    virtual int rows_read() const noexcept = 0;

    // Fills dst (u8, info().width wide, info().channels, any stride) with the next dst.height()
    // rows. Error(decode_error) when the file is truncated or corrupt; after any error the
    // reader is spent and every later call throws the same error.
    virtual void read_rows(const Image& dst) = 0;
    // The same into a new image of `rows` rows.
    virtual Image read_band(int rows) = 0;

    // Bytes the reader holds besides the caller's bands: codec state, strip or tile buffers,
    // and the whole-image buffers of a progressive JPEG or an interlaced PNG.
    virtual std::uint64_t buffer_bytes() const noexcept = 0;

  protected:
    ImageReader() = default;
};

enum class BigTiff : std::uint8_t {
    automatic,  // when the uncompressed pixels come near 4 GiB
    always,
    never,
};

struct StreamWriteOptions {
    int tiff_tile = 256;  // tile edge in pixels, a multiple of 16; 0 writes strips
    BigTiff tiff_bigtiff = BigTiff::automatic;
    // "deflate", "lzw", "zstd", "jpeg" (SaveOptions::jpeg_quality; no alpha) or "none".
    // Deflate, LZW and zstd use horizontal differencing (predictor 2).
    std::string tiff_compression = "deflate";
    // Deflate 1..12 (libdeflate), zstd 1..22; 0: fast defaults (deflate 2, zstd 3).
    int tiff_compression_level = 0;
    // PNG row filter: "sub" (fast, good on photos), "none", "up", "paeth", or "all" (libpng's
    // adaptive choice per row: smallest files, slowest).
    std::string png_filter = "sub";
};

class ImageWriter {
  public:
    // Format from the extension (.jpg/.jpeg, .png, .tif/.tiff). channels: 1, 3 or 4 (JPEG has
    // no alpha: RGBA is composited over white, as save_image does). The file appears at `path`
    // only when finish() succeeds; until then it is a temporary file in the same folder.
    static std::unique_ptr<ImageWriter> create(const std::string& path, int width, int height,
                                               int channels, const SaveOptions& options = {},
                                               const StreamWriteOptions& stream = {});
    // Without a successful finish(): the temporary file is removed and `path` is untouched.
    virtual ~ImageWriter() = default;
    ImageWriter(const ImageWriter&) = delete;
    ImageWriter& operator=(const ImageWriter&) = delete;

    virtual int width() const noexcept = 0;
    virtual int height() const noexcept = 0;
    virtual int channels() const noexcept = 0;
    virtual int rows_written() const noexcept = 0;

    // Appends band.height() rows (band: width() wide, channels(), any stride; u8, or f32 in
    // 0..1 converted as save_image does). After any error the writer is spent.
    virtual void write_rows(const Image& band) = 0;
    // Completes the file, flushes it to disk and renames it into place. Error(invalid_argument)
    // when fewer rows than height() were written.
    virtual void finish() = 0;

  protected:
    ImageWriter() = default;
};

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
