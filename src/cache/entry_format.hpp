#pragma once
// The stored form of a cache entry, shared by the disk and Redis tiers: a fixed 72-byte header
// (magic, format version, key, shape, encoding, access count, payload size, xxh3-64 of the
// payload, xxh3-64 of the header itself) followed by the payload. Anything that does not check
// out is treated as absent, never decoded into wrong pixels.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "artistry/cache.hpp"
#include "artistry/image.hpp"

namespace artistry::cache {

enum class Encoding : std::uint8_t {
    raw = 0,         // rows, contiguous
    zstd = 1,        // zstd of the rows (f32 pixels)
    delta_zstd = 2,  // zstd of the rows after a left-neighbour byte delta per channel (u8)
};

inline constexpr std::size_t header_bytes = 72;

struct EntryHeader {
    CacheKey key;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::uint8_t channels = 0;
    PixelType type = PixelType::u8;
    Encoding encoding = Encoding::raw;
    std::uint32_t accesses = 1;
    std::uint64_t payload_bytes = 0;
    std::uint64_t payload_hash = 0;

    std::uint64_t raw_bytes() const noexcept;  // width × height × channels × element size
};

// The header of `image` stored under `key` (payload size and hash left to fill).
EntryHeader header_for(const CacheKey& key, const Image& image, std::uint32_t accesses,
                       Encoding encoding);
void write_header(const EntryHeader& header, std::uint8_t (&out)[header_bytes]);
// Checks magic, version, the header's own checksum and the shape's sanity.
std::optional<EntryHeader> read_header(std::span<const std::uint8_t> bytes);

std::uint64_t hash_payload(std::span<const std::uint8_t> bytes);
std::uint64_t hash_rows(const Image& image);  // = hash_payload of the contiguous rows

// Header + compressed payload in one buffer (the Redis value).
std::vector<std::uint8_t> encode_entry(const CacheKey& key, const Image& image,
                                       std::uint32_t accesses, int zstd_level);

struct DecodedEntry {
    Image image;
    std::uint32_t accesses = 1;
};
// nullopt when the bytes are not a whole, intact entry for `key`.
std::optional<DecodedEntry> decode_entry(std::span<const std::uint8_t> bytes, const CacheKey& key);
// Decodes a payload already checked against its header's hash.
std::optional<Image> decode_payload(const EntryHeader& header,
                                    std::span<const std::uint8_t> payload);

}  // namespace artistry::cache
