#include "artistry/image.hpp"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include <sys/mman.h>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "util/allocation_charge.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

void check_shape(int width, int height, int channels) {
    if (width <= 0 || height <= 0)
        throw Error(Status::invalid_argument,
                    fmt::format("image size must be positive, got {}x{}", width, height));
    if (channels != 1 && channels != 3 && channels != 4)
        throw Error(Status::invalid_argument,
                    fmt::format("image channels must be 1, 3 or 4, got {}", channels));
}

thread_local detail::AllocationCharger* t_charger = nullptr;

// Large pixel buffers are mapped directly, not taken from malloc: glibc would raise its mmap
// threshold after freeing them and then keep band-sized blocks in its arenas, growing a
// streamed run's peak to several times its working set. Mapping leaves the host process's
// allocator settings alone, gives zeroed pages for free and returns them on release.
constexpr std::size_t map_threshold = std::size_t{1} << 20;

void* allocate_pixels(std::size_t bytes) {
    constexpr std::size_t alignment = 64;
    if (bytes >= map_threshold) {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? nullptr : p;
    }
    void* p = std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
    if (p != nullptr) std::memset(p, 0, bytes);
    return p;
}

void free_pixels(void* p, std::size_t bytes) noexcept {
    if (bytes >= map_threshold)
        munmap(p, bytes);
    else
        std::free(p);
}

}  // namespace

namespace detail {

AllocationCharger* current_allocation_charger() noexcept {
    return t_charger;
}

AllocationCharger* exchange_allocation_charger(AllocationCharger* charger) noexcept {
    AllocationCharger* previous = t_charger;
    t_charger = charger;
    return previous;
}

}  // namespace detail

std::size_t pixel_type_size(PixelType type) noexcept {
    return type == PixelType::u8 ? 1 : 4;
}
const char* pixel_type_name(PixelType type) noexcept {
    return type == PixelType::u8 ? "u8" : "f32";
}

std::size_t Image::pixel_bytes() const noexcept {
    return static_cast<std::size_t>(channels_) * pixel_type_size(type_);
}
std::size_t Image::row_bytes() const noexcept {
    return static_cast<std::size_t>(width_) * pixel_bytes();
}
std::size_t Image::byte_size() const noexcept {
    return row_bytes() * static_cast<std::size_t>(height_);
}

Image Image::allocate(int width, int height, int channels, PixelType type) {
    check_shape(width, height, channels);
    const std::size_t row = static_cast<std::size_t>(width) * channels * pixel_type_size(type);
    if (static_cast<std::size_t>(height) > std::numeric_limits<std::size_t>::max() / row)
        throw Error(Status::limit_exceeded, fmt::format("image {}x{} is too large", width, height));
    const std::size_t bytes = row * static_cast<std::size_t>(height);
    // Charged first (it may wait for memory, or refuse): an accounting scope's budget holds.
    std::shared_ptr<void> charge;
    if (detail::AllocationCharger* charger = t_charger) {
        try {
            charge = charger->charge(bytes);
        } catch (const Error& e) {
            throw Error(e.status(), fmt::format("cannot allocate a {}x{}x{} image: {}", width,
                                                height, channels, e.what()));
        }
    }
    void* p = allocate_pixels(bytes);
    if (p == nullptr)
        throw Error(Status::out_of_memory, fmt::format("cannot allocate {} bytes for a {}x{} image",
                                                       bytes, width, height));
    Image img;
    // The charge is released after the pixels are: the budget never counts less than is held.
    img.owner_ = std::shared_ptr<void>(p, [bytes, charge = std::move(charge)](void* q) mutable {
        free_pixels(q, bytes);
        charge.reset();
    });
    img.data_ = static_cast<std::uint8_t*>(p);
    img.width_ = width;
    img.height_ = height;
    img.channels_ = channels;
    img.type_ = type;
    img.storage_kind_ = Storage::owned;
    img.stride_ = row;
    return img;
}

Image Image::wrap(void* data, int width, int height, int channels, PixelType type,
                  std::size_t stride_bytes, std::shared_ptr<void> keep_alive) {
    check_shape(width, height, channels);
    if (data == nullptr) throw Error(Status::invalid_argument, "image data pointer is null");
    const std::size_t row = static_cast<std::size_t>(width) * channels * pixel_type_size(type);
    if (stride_bytes < row)
        throw Error(
            Status::invalid_argument,
            fmt::format("image stride {} is smaller than a row ({} bytes)", stride_bytes, row));
    Image img;
    img.owner_ = std::move(keep_alive);
    img.data_ = static_cast<std::uint8_t*>(data);
    img.width_ = width;
    img.height_ = height;
    img.channels_ = channels;
    img.type_ = type;
    img.storage_kind_ = Storage::external;
    img.stride_ = stride_bytes;
    return img;
}

Image Image::view(const Rect& r) const {
    if (empty()) throw Error(Status::invalid_argument, "view of an empty image");
    if (r.width <= 0 || r.height <= 0 || r.x < 0 || r.y < 0 || r.x + r.width > width_ ||
        r.y + r.height > height_)
        throw Error(Status::invalid_argument,
                    fmt::format("view rectangle {}x{}+{}+{} is outside the {}x{} image", r.width,
                                r.height, r.x, r.y, width_, height_));
    Image v = *this;
    v.data_ = row(r.y) + static_cast<std::size_t>(r.x) * pixel_bytes();
    v.width_ = r.width;
    v.height_ = r.height;
    return v;
}

Image Image::clone() const {
    if (empty()) return {};
    Image out = allocate(width_, height_, channels_, type_);
    for (int y = 0; y < height_; ++y) std::memcpy(out.row(y), row(y), row_bytes());
    return out;
}

bool Image::same_pixels(const Image& other) const noexcept {
    if (width_ != other.width_ || height_ != other.height_ || channels_ != other.channels_ ||
        type_ != other.type_)
        return false;
    for (int y = 0; y < height_; ++y)
        if (std::memcmp(row(y), other.row(y), row_bytes()) != 0) return false;
    return true;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
