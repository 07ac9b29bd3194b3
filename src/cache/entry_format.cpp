// Serialising cache entries: header, checksums, delta + zstd compression.

#include <cstring>
#include <limits>
#include <string>

#include <xxhash.h>
#include <zstd.h>

#include "artistry/error.hpp"
#include "cache/entry_format.hpp"

namespace artistry::cache {

namespace {

constexpr std::uint8_t magic[8] = {'A', 'R', 'T', 'C', 'A', 'C', 'H', 'E'};
constexpr std::uint32_t format_version = 1;
constexpr std::uint64_t max_side = 1u << 20;
constexpr std::uint64_t max_raw_bytes = 1ull << 36;  // 64 GiB: anything larger is corrupt

void put_u32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put_u64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t get_u32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    return v;
}
std::uint64_t get_u64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
}

// Byte delta against the same channel of the left neighbour: photos and flat effect outputs
// become runs of small values that zstd packs far tighter (measured: 1.2× → 2.3× on a photo).
void delta_rows(std::uint8_t* data, std::size_t row_bytes, std::size_t pixel_bytes, int rows) {
    for (int y = 0; y < rows; ++y) {
        std::uint8_t* r = data + static_cast<std::size_t>(y) * row_bytes;
        for (std::size_t i = row_bytes; i-- > pixel_bytes;)
            r[i] = static_cast<std::uint8_t>(r[i] - r[i - pixel_bytes]);
    }
}

void undelta_rows(std::uint8_t* data, std::size_t row_bytes, std::size_t pixel_bytes, int rows) {
    for (int y = 0; y < rows; ++y) {
        std::uint8_t* r = data + static_cast<std::size_t>(y) * row_bytes;
        for (std::size_t i = pixel_bytes; i < row_bytes; ++i)
            r[i] = static_cast<std::uint8_t>(r[i] + r[i - pixel_bytes]);
    }
}

}  // namespace

std::uint64_t EntryHeader::raw_bytes() const noexcept {
    return static_cast<std::uint64_t>(width) * height * channels * pixel_type_size(type);
}

EntryHeader header_for(const CacheKey& key, const Image& image, std::uint32_t accesses,
                       Encoding encoding) {
    EntryHeader h;
    h.key = key;
    h.width = static_cast<std::uint32_t>(image.width());
    h.height = static_cast<std::uint32_t>(image.height());
    h.channels = static_cast<std::uint8_t>(image.channels());
    h.type = image.type();
    h.encoding = encoding;
    h.accesses = accesses;
    return h;
}

void write_header(const EntryHeader& h, std::uint8_t (&out)[header_bytes]) {
    std::memset(out, 0, header_bytes);
    std::memcpy(out, magic, sizeof magic);
    put_u32(out + 8, format_version);
    put_u32(out + 12, static_cast<std::uint32_t>(header_bytes));
    put_u64(out + 16, h.key.hi);
    put_u64(out + 24, h.key.lo);
    put_u32(out + 32, h.width);
    put_u32(out + 36, h.height);
    out[40] = h.channels;
    out[41] = static_cast<std::uint8_t>(h.type);
    out[42] = static_cast<std::uint8_t>(h.encoding);
    put_u32(out + 44, h.accesses);
    put_u64(out + 48, h.payload_bytes);
    put_u64(out + 56, h.payload_hash);
    put_u64(out + 64, XXH3_64bits(out, 64));
}

std::optional<EntryHeader> read_header(std::span<const std::uint8_t> b) {
    if (b.size() < header_bytes) return std::nullopt;
    if (std::memcmp(b.data(), magic, sizeof magic) != 0) return std::nullopt;
    if (get_u32(b.data() + 8) != format_version || get_u32(b.data() + 12) != header_bytes)
        return std::nullopt;
    if (get_u64(b.data() + 64) != XXH3_64bits(b.data(), 64)) return std::nullopt;
    EntryHeader h;
    h.key = {get_u64(b.data() + 16), get_u64(b.data() + 24)};
    h.width = get_u32(b.data() + 32);
    h.height = get_u32(b.data() + 36);
    h.channels = b[40];
    if (b[41] > static_cast<std::uint8_t>(PixelType::f32) ||
        b[42] > static_cast<std::uint8_t>(Encoding::delta_zstd))
        return std::nullopt;
    h.type = static_cast<PixelType>(b[41]);
    h.encoding = static_cast<Encoding>(b[42]);
    h.accesses = get_u32(b.data() + 44);
    h.payload_bytes = get_u64(b.data() + 48);
    h.payload_hash = get_u64(b.data() + 56);
    if (h.width == 0 || h.height == 0 || h.width > max_side || h.height > max_side)
        return std::nullopt;
    if (h.channels != 1 && h.channels != 3 && h.channels != 4) return std::nullopt;
    if (h.raw_bytes() > max_raw_bytes) return std::nullopt;
    if (h.encoding == Encoding::raw && h.payload_bytes != h.raw_bytes()) return std::nullopt;
    return h;
}

std::uint64_t hash_payload(std::span<const std::uint8_t> bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
}

std::uint64_t hash_rows(const Image& image) {
    if (image.contiguous()) return XXH3_64bits(image.data(), image.byte_size());
    XXH3_state_t* state = XXH3_createState();
    if (state == nullptr) throw std::bad_alloc();
    XXH3_64bits_reset(state);
    for (int y = 0; y < image.height(); ++y)
        XXH3_64bits_update(state, image.row(y), image.row_bytes());
    const std::uint64_t h = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return h;
}

std::vector<std::uint8_t> encode_entry(const CacheKey& key, const Image& image,
                                       std::uint32_t accesses, int zstd_level) {
    EntryHeader h =
        header_for(key, image, accesses,
                   image.type() == PixelType::u8 ? Encoding::delta_zstd : Encoding::zstd);

    std::vector<std::uint8_t> rows(image.byte_size());
    for (int y = 0; y < image.height(); ++y)
        std::memcpy(rows.data() + static_cast<std::size_t>(y) * image.row_bytes(), image.row(y),
                    image.row_bytes());
    if (h.encoding == Encoding::delta_zstd)
        delta_rows(rows.data(), image.row_bytes(), image.pixel_bytes(), image.height());

    std::vector<std::uint8_t> out(header_bytes + ZSTD_compressBound(rows.size()));
    const std::size_t n = ZSTD_compress(out.data() + header_bytes, out.size() - header_bytes,
                                        rows.data(), rows.size(), zstd_level);
    if (ZSTD_isError(n))
        throw Error(Status::internal, std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(header_bytes + n);
    h.payload_bytes = n;
    h.payload_hash = hash_payload({out.data() + header_bytes, n});
    std::uint8_t header[header_bytes];
    write_header(h, header);
    std::memcpy(out.data(), header, header_bytes);
    return out;
}

std::optional<Image> decode_payload(const EntryHeader& h, std::span<const std::uint8_t> payload) {
    Image image =
        Image::allocate(static_cast<int>(h.width), static_cast<int>(h.height), h.channels, h.type);
    const std::size_t raw = image.byte_size();
    if (h.encoding == Encoding::raw) {
        if (payload.size() != raw) return std::nullopt;
        std::memcpy(image.data(), payload.data(), raw);
        return image;
    }
    const unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (size != raw) return std::nullopt;
    const std::size_t n = ZSTD_decompress(image.data(), raw, payload.data(), payload.size());
    if (ZSTD_isError(n) || n != raw) return std::nullopt;
    if (h.encoding == Encoding::delta_zstd)
        undelta_rows(image.data(), image.row_bytes(), image.pixel_bytes(), image.height());
    return image;
}

std::optional<DecodedEntry> decode_entry(std::span<const std::uint8_t> bytes, const CacheKey& key) {
    const auto h = read_header(bytes);
    if (!h || h->key != key || bytes.size() != header_bytes + h->payload_bytes) return std::nullopt;
    const auto payload = bytes.subspan(header_bytes);
    if (hash_payload(payload) != h->payload_hash) return std::nullopt;
    auto image = decode_payload(*h, payload);
    if (!image) return std::nullopt;
    return DecodedEntry{std::move(*image), h->accesses};
}

}  // namespace artistry::cache
