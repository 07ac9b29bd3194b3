#pragma once
// Image: pixels owned by the library or viewed from a caller's buffer.
//
// An Image is a cheap handle: copying it shares the pixels (like a shared_ptr). Use clone()
// for an independent copy. Channel order is gray, RGB or RGBA at every public boundary.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

enum class PixelType : std::uint8_t { u8, f32 };

std::size_t pixel_type_size(PixelType type) noexcept;
const char* pixel_type_name(PixelType type) noexcept;

struct Rect {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
};

// Where the pixels live: allocated by the library, or a caller's buffer the library only
// views (the caller keeps it alive and unchanged while the image is used).
enum class Storage : std::uint8_t { none, owned, external };

class Image {
  public:
    Image() = default;

    // New zero-filled pixels. channels is 1 (gray), 3 (RGB) or 4 (RGBA).
    static Image allocate(int width, int height, int channels, PixelType type = PixelType::u8);

    // A view of a caller's buffer; no copy. stride_bytes is the distance between rows.
    // keep_alive, when given, is held for as long as any view of these pixels exists.
    static Image wrap(void* data, int width, int height, int channels, PixelType type,
                      std::size_t stride_bytes, std::shared_ptr<void> keep_alive = {});

    // A view of a rectangle; shares the pixels (writes through it are seen by both).
    Image view(const Rect& rect) const;

    // An independent, contiguous copy owned by the library.
    Image clone() const;

    bool empty() const noexcept { return data_ == nullptr; }
    int width() const noexcept { return width_; }
    int height() const noexcept { return height_; }
    int channels() const noexcept { return channels_; }
    PixelType type() const noexcept { return type_; }
    Storage storage() const noexcept { return storage_kind_; }
    std::size_t stride() const noexcept { return stride_; }
    std::size_t pixel_bytes() const noexcept;  // channels × element size
    std::size_t row_bytes() const noexcept;    // width × pixel_bytes
    std::size_t byte_size() const noexcept;    // row_bytes × height
    bool contiguous() const noexcept { return stride_ == row_bytes(); }
    std::uint64_t pixel_count() const noexcept {
        return static_cast<std::uint64_t>(width_) * static_cast<std::uint64_t>(height_);
    }

    std::uint8_t* data() const noexcept { return data_; }
    std::uint8_t* row(int y) const noexcept {
        return data_ + static_cast<std::size_t>(y) * stride_;
    }
    template <class T>
    T* row_as(int y) const noexcept {
        return reinterpret_cast<T*>(row(y));
    }

    // True when both images have the same shape, type and pixel bytes.
    bool same_pixels(const Image& other) const noexcept;

  private:
    std::shared_ptr<void> owner_;
    std::uint8_t* data_ = nullptr;
    int width_ = 0;
    int height_ = 0;
    int channels_ = 0;
    PixelType type_ = PixelType::u8;
    Storage storage_kind_ = Storage::none;
    std::size_t stride_ = 0;
};

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
