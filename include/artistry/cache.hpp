#pragma once
// The result cache: node results addressed by content (a hash of the input pixels, the
// operation, its version and its canonical parameters), kept in up to three tiers:
//   L1 memory — hot/warm/cold classes by access count and recency, per-class TTL, byte budget,
//               optional TinyLFU admission; a hit returns the stored pixels without a copy;
//   L2 disk   — content-addressed checksummed files, written atomically, size-capped;
//   L3 Redis  — shared by processes and machines, compressed, TTL by class; when it is down or
//               slow the cache goes on with L1/L2 and reconnects later.
// No call of the cache throws into a run: a tier that fails is counted and skipped.

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "artistry/image.hpp"
#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

class MemoryManager;

// xxh3-128 digest. Computed from little-endian fields, so equal on every process and machine.
struct CacheKey {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;

    std::string hex() const;  // 32 lowercase hex digits, hi first
    static std::optional<CacheKey> from_hex(std::string_view text);

    friend bool operator==(const CacheKey&, const CacheKey&) = default;
    friend auto operator<=>(const CacheKey&, const CacheKey&) = default;
};

struct CacheKeyHash {
    std::size_t operator()(const CacheKey& key) const noexcept {
        return static_cast<std::size_t>(key.lo ^ (key.hi * 0x9E3779B97F4A7C15ull));
    }
};

// Hash of an image's shape, pixel type and pixels, row by row: the stride does not matter, so
// a view and a contiguous copy of the same pixels hash alike.
CacheKey content_hash(const Image& image);

// The key of an operation's result: its inputs' keys (content hashes for the run's input, the
// producing nodes' keys otherwise) in order, the op name and version, the canonical parameters
// (Params::canonical()).
CacheKey make_cache_key(std::span<const CacheKey> inputs, std::string_view op, int op_version,
                        std::string_view canonical_params);
CacheKey make_cache_key(std::initializer_list<CacheKey> inputs, std::string_view op, int op_version,
                        std::string_view canonical_params);

enum class CacheTier : std::uint8_t { memory, disk, redis };
const char* cache_tier_name(CacheTier tier) noexcept;  // "memory", "disk", "redis"

enum class CacheClass : std::uint8_t { cold, warm, hot };
const char* cache_class_name(CacheClass cls) noexcept;

// One class of the policy: an entry belongs to it with at least `min_accesses` requests, or
// when it was reused (a hit) within `reused_within`.
struct CacheClassRule {
    std::uint32_t min_accesses = 0;
    std::chrono::seconds reused_within{0};
    std::chrono::seconds ttl{0};  // idle time (since the last access) after which it expires
    int priority = 0;             // eviction goes from the lowest priority up
};

// The old backend's rules. A stored result counts as one access; it becomes hot when reused.
struct CachePolicy {
    CacheClassRule hot{3, std::chrono::hours(1), std::chrono::hours(24 * 7), 100};
    CacheClassRule warm{2, std::chrono::hours(24), std::chrono::hours(24 * 3), 50};
    CacheClassRule cold{0, std::chrono::seconds(0), std::chrono::hours(24), 10};

    // since_reuse: time since the last hit; nullopt when the entry was never reused.
    CacheClass classify(std::uint32_t accesses,
                        std::optional<std::chrono::seconds> since_reuse) const noexcept;
    const CacheClassRule& rule(CacheClass cls) const noexcept;
};

enum class CacheEviction : std::uint8_t {
    lru,      // least recently used first
    classes,  // lowest class priority first (cold, warm, hot), least recent within a class
};

// The cache's idea of now (tests inject one to test TTLs and classes).
using CacheClock = std::function<std::chrono::system_clock::time_point()>;

struct CacheOptions {
    // Code first, then environment. Unset booleans and zero sizes take the environment.
    std::optional<bool> enabled;  // ARTISTRY_CACHE=off|on; default on
    // Unset tier switches below fall back to ARTISTRY_CACHE_TIERS ("memory,disk,redis", any
    // subset; "none"), then to their own defaults. A tier's own variable outranks the list.

    // L1 memory
    std::optional<bool> memory;      // ARTISTRY_CACHE_MEMORY; default on
    std::uint64_t memory_bytes = 0;  // CACHE_MEMORY_SIZE_MB (MiB); default 1 GiB
    CacheEviction eviction = CacheEviction::classes;
    // W-TinyLFU admission (size-aware): ARTISTRY_CACHE_ADMISSION=tinylfu|off; default on, as
    // bench/cache measures it best (54.7 % hits against 48.6 % for the classes alone).
    std::optional<bool> admission;
    CachePolicy policy;
    // When set, L1's bytes are reserved on its CPU budget and L1 is trimmed under pressure.
    // The manager must outlive the cache.
    MemoryManager* memory_manager = nullptr;

    // L2 disk
    std::optional<bool> disk;  // ARTISTRY_CACHE_DISK; default on
    std::string
        disk_dir;  // ARTISTRY_CACHE_DIR, else $XDG_CACHE_HOME/artistry, else ~/.cache/artistry
    std::uint64_t disk_bytes = 0;  // ARTISTRY_CACHE_DISK_MB (MiB); default 4 GiB

    // L3 Redis: redis://[[user]:password@]host[:port][/db]
    std::string redis_url;      // ARTISTRY_REDIS_URL; none: the tier is off
    std::optional<bool> redis;  // ARTISTRY_CACHE_REDIS; default on when a URL is known
    std::chrono::milliseconds redis_connect_timeout{200};
    std::chrono::milliseconds redis_command_timeout{500};
    std::chrono::milliseconds redis_retry_min{250};  // reconnect backoff, doubling up to max
    std::chrono::milliseconds redis_retry_max{30'000};
    int redis_connections = 4;
    int redis_compression_level = 1;                     // zstd level of the delta-coded pixels
    std::uint64_t redis_max_entry_bytes = 256ull << 20;  // larger results stay out of Redis
    std::string redis_prefix = "artistry:v1:";

    // Disk and Redis writes go to one background thread (flush() waits for them); a queue past
    // this many bytes drops new writes (counted) rather than hold pixels without bound.
    bool async_writes = true;
    std::uint64_t max_pending_write_bytes = 512ull << 20;

    CacheClock clock;  // empty: the system clock
    bool use_environment = true;
};

// A cached result and where it came from.
struct CacheHit {
    Image image;
    CacheTier tier = CacheTier::memory;
    CacheClass cls = CacheClass::cold;  // its class after this access
};

struct CacheTierStats {
    CacheTier tier = CacheTier::memory;
    bool enabled = false;
    bool up = false;  // redis: connected (or not yet tried); others: enabled
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t puts = 0;      // entries stored
    std::uint64_t rejected = 0;  // not stored: admission said no, too large, or no memory
    std::uint64_t evictions = 0;
    std::uint64_t expirations = 0;  // removed by TTL
    std::uint64_t errors = 0;       // corrupt entries removed, I/O or Redis failures, timeouts
    std::uint64_t unavailable = 0;  // redis: requests skipped while it was down
    std::uint64_t reconnects = 0;   // redis: successful reconnections after being down
    std::uint64_t bytes = 0;        // stored now (disk and memory; redis: not known)
    std::uint64_t entries = 0;
    std::uint64_t capacity_bytes = 0;
    double hit_seconds_p50 = 0;  // latency of hits in this tier (histogram estimates)
    double hit_seconds_p99 = 0;
    double hit_seconds_sum = 0;
};

struct CacheStats {
    bool enabled = false;
    std::array<CacheTierStats, 3> tiers{};  // by CacheTier
    std::uint64_t pending_write_bytes = 0;
    std::uint64_t dropped_writes = 0;
    const CacheTierStats& tier(CacheTier t) const { return tiers[static_cast<std::size_t>(t)]; }
};

// Sets the three tier switches from a list: "memory,disk,redis" (any subset, spaces allowed)
// or "none"; a tier not listed is off. Error(invalid_argument) names an entry that is not a
// tier. The CLI's --cache-tiers and ARTISTRY_CACHE_TIERS read their value with it.
void set_cache_tiers(CacheOptions& options, const std::string& list);

class ResultCache {
  public:
    // Error(invalid_argument) names a variable or option that is not understood. A tier that
    // cannot start (a disk folder that cannot be made) is disabled and counted, not thrown.
    explicit ResultCache(CacheOptions options = {});
    ~ResultCache();  // writes still queued are finished first
    ResultCache(const ResultCache&) = delete;
    ResultCache& operator=(const ResultCache&) = delete;

    // L1, then L2, then L3; a hit in a lower tier is promoted to the tiers above it.
    std::optional<CacheHit> get(const CacheKey& key);
    // Stores a result in every enabled tier by policy. The pixels are shared, not copied (a
    // view of a caller's buffer is copied): do not write to them afterwards.
    void put(const CacheKey& key, const Image& image);
    // Present in L1 (no access is counted, nothing is promoted).
    bool contains_in_memory(const CacheKey& key) const;

    void erase(const CacheKey& key);  // from every tier
    // Frees at least `bytes` from L1, cold entries first. Returns the bytes freed.
    std::uint64_t trim_memory(std::uint64_t bytes);
    void clear_memory();
    // Waits until queued disk and Redis writes are done.
    void flush();

    bool enabled() const noexcept;
    bool tier_enabled(CacheTier tier) const noexcept;
    std::string disk_dir() const;  // empty when the disk tier is off
    CacheStats stats() const;
    // Prometheus text: artistry_cache_hits_total{tier}, _misses_total, _puts_total,
    // _evictions_total, _expirations_total, _errors_total, _rejected_total,
    // _unavailable_total, _bytes, _entries, _tier_up, _hit_duration_seconds (histogram),
    // _dropped_writes_total.
    std::string metrics_text() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
