// Cache entries as the disk and Redis tiers store them: a 72-byte checksummed header and a raw,
// zstd or delta+zstd payload. Mode 0 feeds the bytes as they come (a corrupt or foreign file);
// mode 1 builds a header whose checksums hold around fuzzed shape, encoding and payload, so
// the payload decoders are reached. Oracle: a decoded entry has the header's shape.

#include "cache/entry_format.hpp"
#include "fuzz_support.hpp"

using namespace artistry;
using namespace artistry::cache;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::Bytes in(data, size);
    const CacheKey key{0x0123456789abcdefull, 0xfedcba9876543210ull};
    const auto mode = in.take<std::uint8_t>();
    std::vector<std::uint8_t> entry;
    if (mode % 2 == 0) {
        const auto rest = in.rest();
        entry.assign(rest.begin(), rest.end());
    } else {
        EntryHeader h;
        h.key = key;
        h.width = in.take<std::uint16_t>();
        h.height = in.take<std::uint16_t>();
        h.channels = in.take<std::uint8_t>();
        h.type = static_cast<PixelType>(in.take<std::uint8_t>() % 2);
        h.encoding = static_cast<Encoding>(in.take<std::uint8_t>() % 4);
        h.accesses = in.take<std::uint8_t>();
        const auto payload = in.rest();
        h.payload_bytes = payload.size();
        h.payload_hash = hash_payload(payload);
        std::uint8_t header[header_bytes];
        write_header(h, header);
        entry.assign(header, header + header_bytes);
        entry.insert(entry.end(), payload.begin(), payload.end());
    }
    fuzz::with_budget(std::uint64_t{64} << 20, [&] {
        const auto decoded = decode_entry(entry, key);
        if (!decoded) return;
        const auto header = read_header(entry);
        if (!header || decoded->image.width() != static_cast<int>(header->width) ||
            decoded->image.height() != static_cast<int>(header->height))
            __builtin_trap();
    });
    return 0;
}
