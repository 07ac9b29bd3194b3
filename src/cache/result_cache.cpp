// ResultCache: the tiers in order, promotion of lower-tier hits, write-behind, metrics.

#include <fmt/format.h>

#include "artistry/cache.hpp"
#include "artistry/error.hpp"
#include "artistry/memory.hpp"
#include "cache/cache_config.hpp"
#include "cache/disk_tier.hpp"
#include "cache/latency_histogram.hpp"
#include "cache/memory_tier.hpp"
#include "cache/redis_tier.hpp"
#include "cache/write_queue.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

using cache::CacheConfig;
using cache::DiskTier;
using cache::LatencyHistogram;
using cache::MemoryTier;
using cache::RedisTier;
using cache::WriteQueue;

namespace {

constexpr std::uint64_t entry_overhead = 256;  // bookkeeping per L1 entry, roughly

std::uint64_t charge_of(const Image& image) {
    return image.byte_size() + entry_overhead;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct ResultCache::Impl {
    CacheConfig config;
    std::unique_ptr<MemoryTier> memory;
    std::unique_ptr<DiskTier> disk;
    std::unique_ptr<RedisTier> redis;
    std::uint64_t disk_start_errors = 0;
    std::array<LatencyHistogram, 3> latency;
    std::unique_ptr<WriteQueue> writer;  // last: destroyed (drained) before the tiers

    const CachePolicy& policy() const { return config.options.policy; }
    std::chrono::seconds ttl(CacheClass cls) const { return policy().rule(cls).ttl; }

    void submit(std::function<void()> job, std::uint64_t bytes) {
        if (writer) {
            writer->push(std::move(job), bytes);
            return;
        }
        try {
            job();
        } catch (...) {  // counted by the tier that failed
        }
    }

    // A hit in a lower tier is a reuse: the entry enters L1 with its history and one more
    // access, and takes the class that gives it.
    CacheClass promote(const CacheKey& key, const Image& image, std::uint32_t stored_accesses) {
        const std::uint32_t accesses = stored_accesses + 1;
        if (memory) memory->put(key, image, charge_of(image), accesses, /*reused=*/true);
        return policy().classify(accesses, std::chrono::seconds(0));
    }
};

ResultCache::ResultCache(CacheOptions options) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.config = cache::resolve_cache_config(options);
    const CacheOptions& o = m.config.options;
    if (m.config.memory) {
        MemoryTier::Options mo;
        mo.capacity_bytes = o.memory_bytes;
        mo.eviction = o.eviction;
        mo.admission = m.config.admission;
        mo.policy = o.policy;
        mo.clock = o.clock;
        mo.memory = o.memory_manager;
        m.memory = std::make_unique<MemoryTier>(std::move(mo));
    }
    if (m.config.disk) {
        try {
            m.disk = std::make_unique<DiskTier>(DiskTier::Options{o.disk_dir, o.disk_bytes});
        } catch (const std::exception&) {  // an unusable folder disables the tier, counted
            m.disk_start_errors = 1;
        }
    }
    if (m.config.redis) {
        RedisTier::Options ro;
        ro.endpoint = *cache::parse_redis_url(o.redis_url);
        ro.connect_timeout = o.redis_connect_timeout;
        ro.command_timeout = o.redis_command_timeout;
        ro.retry_min = o.redis_retry_min;
        ro.retry_max = o.redis_retry_max;
        ro.connections = o.redis_connections;
        ro.compression_level = o.redis_compression_level;
        ro.max_entry_bytes = o.redis_max_entry_bytes;
        ro.prefix = o.redis_prefix;
        m.redis = std::make_unique<RedisTier>(std::move(ro));
    }
    if (o.async_writes && (m.disk || m.redis))
        m.writer = std::make_unique<WriteQueue>(o.max_pending_write_bytes);
}

ResultCache::~ResultCache() = default;

std::optional<CacheHit> ResultCache::get(const CacheKey& key) {
    Impl& m = *impl_;
    if (!m.config.enabled) return std::nullopt;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        if (m.memory) {
            if (auto found = m.memory->get(key)) {
                m.latency[0].observe(seconds_since(t0));
                if (found->upgraded && m.redis) {
                    // Lower tiers were stored with a shorter TTL; tell Redis it is hotter now.
                    const auto ttl = m.ttl(found->cls);
                    m.submit([&m, key, ttl] { m.redis->touch(key, ttl); }, 0);
                }
                return CacheHit{std::move(found->image), CacheTier::memory, found->cls};
            }
        }
        if (m.disk) {
            if (auto found = m.disk->get(key)) {
                m.latency[1].observe(seconds_since(t0));
                const CacheClass cls = m.promote(key, found->image, found->accesses);
                return CacheHit{std::move(found->image), CacheTier::disk, cls};
            }
        }
        if (m.redis) {
            const auto reuse_ttl = m.ttl(m.policy().classify(2, std::chrono::seconds(0)));
            if (auto found = m.redis->get(key, reuse_ttl)) {
                m.latency[2].observe(seconds_since(t0));
                const CacheClass cls = m.promote(key, found->image, found->accesses);
                if (m.disk) {
                    const Image image = found->image;
                    const std::uint32_t accesses = found->accesses + 1;
                    m.submit([&m, key, image, accesses] { m.disk->put(key, image, accesses); },
                             image.byte_size());
                }
                return CacheHit{std::move(found->image), CacheTier::redis, cls};
            }
        }
    } catch (...) {  // out of memory while decoding, say: a miss, never an error in the run
    }
    return std::nullopt;
}

void ResultCache::put(const CacheKey& key, const Image& image) {
    Impl& m = *impl_;
    if (!m.config.enabled || image.empty()) return;
    try {
        // A caller's buffer may change after the run; library pixels are immutable results.
        const Image stored = image.storage() == Storage::external ? image.clone() : image;
        if (m.memory) m.memory->put(key, stored, charge_of(stored));
        if (m.disk || m.redis) {
            const CacheClass cls = m.policy().classify(1, std::nullopt);
            const auto ttl = m.ttl(cls);
            m.submit(
                [&m, key, stored, ttl] {
                    if (m.disk) m.disk->put(key, stored, 1);
                    if (m.redis) m.redis->put(key, stored, 1, ttl);
                },
                stored.byte_size());
        }
    } catch (...) {  // caching is best effort
    }
}

bool ResultCache::contains_in_memory(const CacheKey& key) const {
    return impl_->memory && impl_->memory->contains(key);
}

void ResultCache::erase(const CacheKey& key) {
    Impl& m = *impl_;
    flush();  // a queued write must not bring it back
    if (m.memory) m.memory->erase(key);
    if (m.disk) m.disk->erase(key);
    if (m.redis) m.redis->erase(key);
}

std::uint64_t ResultCache::trim_memory(std::uint64_t bytes) {
    return impl_->memory ? impl_->memory->trim(bytes) : 0;
}

void ResultCache::clear_memory() {
    if (impl_->memory) impl_->memory->clear();
}

void ResultCache::flush() {
    if (impl_->writer) impl_->writer->flush();
}

bool ResultCache::enabled() const noexcept {
    return impl_->config.enabled;
}

bool ResultCache::tier_enabled(CacheTier tier) const noexcept {
    switch (tier) {
        case CacheTier::memory:
            return impl_->memory != nullptr;
        case CacheTier::disk:
            return impl_->disk != nullptr;
        case CacheTier::redis:
            return impl_->redis != nullptr;
    }
    return false;
}

std::string ResultCache::disk_dir() const {
    return impl_->disk ? impl_->disk->dir() : "";
}

CacheStats ResultCache::stats() const {
    const Impl& m = *impl_;
    CacheStats s;
    s.enabled = m.config.enabled;
    if (m.memory) s.tiers[0] = m.memory->stats();
    if (m.disk) s.tiers[1] = m.disk->stats();
    if (m.redis) s.tiers[2] = m.redis->stats();
    s.tiers[1].errors += m.disk_start_errors;
    for (std::size_t i = 0; i < 3; ++i) {
        CacheTierStats& t = s.tiers[i];
        t.tier = static_cast<CacheTier>(i);
        t.hit_seconds_p50 = m.latency[i].quantile(0.5);
        t.hit_seconds_p99 = m.latency[i].quantile(0.99);
        t.hit_seconds_sum = m.latency[i].sum();
    }
    if (m.writer) {
        s.pending_write_bytes = m.writer->pending_bytes();
        s.dropped_writes = m.writer->dropped();
    }
    return s;
}

std::string ResultCache::metrics_text() const {
    const CacheStats s = stats();
    std::string out;
    const auto family = [&](const char* name, const char* type, const char* help, auto value) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
        for (const CacheTierStats& t : s.tiers)
            if (t.enabled)
                out +=
                    fmt::format("{}{{tier=\"{}\"}} {}\n", name, cache_tier_name(t.tier), value(t));
    };
    using T = const CacheTierStats&;
    family("artistry_cache_hits_total", "counter", "Cache hits by tier.",
           [](T t) { return t.hits; });
    family("artistry_cache_misses_total", "counter", "Cache misses by tier.",
           [](T t) { return t.misses; });
    family("artistry_cache_puts_total", "counter", "Entries stored by tier.",
           [](T t) { return t.puts; });
    family("artistry_cache_rejected_total", "counter",
           "Entries not stored: admission, size or memory.", [](T t) { return t.rejected; });
    family("artistry_cache_evictions_total", "counter", "Entries evicted for room.",
           [](T t) { return t.evictions; });
    family("artistry_cache_expirations_total", "counter", "Entries removed by TTL.",
           [](T t) { return t.expirations; });
    family("artistry_cache_errors_total", "counter",
           "Corrupt entries removed, I/O and Redis failures.", [](T t) { return t.errors; });
    family("artistry_cache_unavailable_total", "counter",
           "Requests that skipped a tier while it was down.", [](T t) { return t.unavailable; });
    family("artistry_cache_bytes", "gauge", "Bytes stored now (Redis: not known, 0).",
           [](T t) { return t.bytes; });
    family("artistry_cache_entries", "gauge", "Entries stored now.", [](T t) { return t.entries; });
    family("artistry_cache_tier_up", "gauge", "1 when the tier is usable.",
           [](T t) { return t.up ? 1 : 0; });
    const char* hist = "artistry_cache_hit_duration_seconds";
    out +=
        fmt::format("# HELP {} Time to serve a hit, by tier.\n# TYPE {} histogram\n", hist, hist);
    for (const CacheTierStats& t : s.tiers)
        if (t.enabled)
            impl_->latency[static_cast<std::size_t>(t.tier)].write(
                out, hist, fmt::format("tier=\"{}\"", cache_tier_name(t.tier)));
    out += fmt::format(
        "# HELP artistry_cache_dropped_writes_total Disk/Redis writes dropped: queue full.\n"
        "# TYPE artistry_cache_dropped_writes_total counter\n"
        "artistry_cache_dropped_writes_total {}\n",
        s.dropped_writes);
    return out;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
