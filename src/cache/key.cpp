// Cache keys: xxh3-128 over little-endian fields, so every process and machine agrees.

#include <charconv>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <xxhash.h>

#include "artistry/cache.hpp"
#include "artistry/error.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

// Feeds fixed-width little-endian integers and length-prefixed bytes into one xxh3-128 state,
// so no two different field sequences produce the same byte stream.
class KeyHasher {
  public:
    explicit KeyHasher(std::string_view domain) : state_(XXH3_createState(), &XXH3_freeState) {
        if (!state_) throw std::bad_alloc();
        XXH3_128bits_reset(state_.get());
        text(domain);
    }
    void u64(std::uint64_t v) {
        unsigned char b[8];
        for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
        XXH3_128bits_update(state_.get(), b, sizeof b);
    }
    void text(std::string_view s) {
        u64(s.size());
        XXH3_128bits_update(state_.get(), s.data(), s.size());
    }
    void raw(const void* data, std::size_t n) { XXH3_128bits_update(state_.get(), data, n); }
    CacheKey digest() const {
        const XXH128_hash_t h = XXH3_128bits_digest(state_.get());
        return {h.high64, h.low64};
    }

  private:
    std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state_;
};

}  // namespace

std::string CacheKey::hex() const {
    return fmt::format("{:016x}{:016x}", hi, lo);
}

std::optional<CacheKey> CacheKey::from_hex(std::string_view text) {
    if (text.size() != 32) return std::nullopt;
    CacheKey key;
    for (int half = 0; half < 2; ++half) {
        const char* begin = text.data() + 16 * half;
        std::uint64_t v = 0;
        for (const char* p = begin; p != begin + 16; ++p)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return std::nullopt;
        std::from_chars(begin, begin + 16, v, 16);
        (half == 0 ? key.hi : key.lo) = v;
    }
    return key;
}

// Pixels are hashed as stored in memory; every supported platform is little-endian, so f32
// pixels hash alike everywhere too.
CacheKey content_hash(const Image& image) {
    KeyHasher h("artistry.image.v1");
    h.u64(static_cast<std::uint64_t>(image.width()));
    h.u64(static_cast<std::uint64_t>(image.height()));
    h.u64(static_cast<std::uint64_t>(image.channels()));
    h.u64(static_cast<std::uint64_t>(image.type()));
    if (!image.empty()) {
        if (image.contiguous()) {
            h.raw(image.data(), image.byte_size());
        } else {
            for (int y = 0; y < image.height(); ++y) h.raw(image.row(y), image.row_bytes());
        }
    }
    return h.digest();
}

CacheKey make_cache_key(std::span<const CacheKey> inputs, std::string_view op, int op_version,
                        std::string_view canonical_params) {
    KeyHasher h("artistry.result.v1");
    h.u64(inputs.size());
    for (const CacheKey& k : inputs) {
        h.u64(k.hi);
        h.u64(k.lo);
    }
    h.text(op);
    h.u64(static_cast<std::uint64_t>(static_cast<std::int64_t>(op_version)));
    h.text(canonical_params);
    return h.digest();
}

CacheKey make_cache_key(std::initializer_list<CacheKey> inputs, std::string_view op, int op_version,
                        std::string_view canonical_params) {
    return make_cache_key(std::span<const CacheKey>(inputs.begin(), inputs.size()), op, op_version,
                          canonical_params);
}

const char* cache_tier_name(CacheTier tier) noexcept {
    switch (tier) {
        case CacheTier::memory:
            return "memory";
        case CacheTier::disk:
            return "disk";
        case CacheTier::redis:
            return "redis";
    }
    return "unknown";
}

const char* cache_class_name(CacheClass cls) noexcept {
    switch (cls) {
        case CacheClass::cold:
            return "cold";
        case CacheClass::warm:
            return "warm";
        case CacheClass::hot:
            return "hot";
    }
    return "unknown";
}

// A rule matches by count (min_accesses > 0) or by a recent reuse (reused_within > 0).
CacheClass CachePolicy::classify(std::uint32_t accesses,
                                 std::optional<std::chrono::seconds> since_reuse) const noexcept {
    const auto matches = [&](const CacheClassRule& r) {
        if (r.min_accesses > 0 && accesses >= r.min_accesses) return true;
        return since_reuse.has_value() && r.reused_within.count() > 0 &&
               *since_reuse < r.reused_within;
    };
    if (matches(hot)) return CacheClass::hot;
    if (matches(warm)) return CacheClass::warm;
    return CacheClass::cold;
}

const CacheClassRule& CachePolicy::rule(CacheClass cls) const noexcept {
    switch (cls) {
        case CacheClass::hot:
            return hot;
        case CacheClass::warm:
            return warm;
        case CacheClass::cold:
            break;
    }
    return cold;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
