// bench/cache: L1 policies' hit rates on a Zipf trace with one-off scans, against Belady's
// offline limit; hit latency of each tier for a 1 MP result; the Redis payload codec choice.
// Prints markdown tables. Usage: bench_cache [--no-codecs] [--seed N]

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <zstd.h>

#include "artistry/cache.hpp"
#include "artistry/effect.hpp"
#include "artistry/io.hpp"
#include "cache/entry_format.hpp"
#include "cache/memory_tier.hpp"
#include "manual_clock.hpp"
#include "redis_server.hpp"

using namespace artistry;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

// ---- the trace

constexpr int zipf_keys = 10'000;
constexpr int requests = 100'000;
constexpr int scan_bursts = 100;  // 100 bursts × 100 one-off keys = 10 % of the requests
constexpr int scan_length = 100;
constexpr double zipf_s = 0.9;
constexpr double cache_fraction = 0.05;

struct Request {
    std::uint32_t id;
    std::uint64_t bytes;
};

struct Trace {
    std::vector<Request> requests;
    std::uint64_t key_space_bytes = 0;  // of the 10 000 Zipf keys
    std::size_t distinct = 0;
};

// Result sizes: log-normal around a 0.7 MP RGB image (2 MiB), from thumbnails to 12 MP.
std::uint64_t result_size(std::mt19937_64& rng) {
    std::lognormal_distribution<double> d(std::log(2.0 * 1024 * 1024), 1.0);
    return static_cast<std::uint64_t>(std::clamp(d(rng), 16.0 * 1024, 48.0 * 1024 * 1024));
}

Trace make_trace(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> cdf(zipf_keys);
    double sum = 0;
    for (int r = 0; r < zipf_keys; ++r) cdf[r] = (sum += 1.0 / std::pow(r + 1, zipf_s));
    for (double& c : cdf) c /= sum;
    std::vector<std::uint32_t> rank_to_id(zipf_keys);
    for (int i = 0; i < zipf_keys; ++i) rank_to_id[i] = static_cast<std::uint32_t>(i);
    std::shuffle(rank_to_id.begin(), rank_to_id.end(), rng);

    Trace t;
    std::vector<std::uint64_t> sizes(zipf_keys + scan_bursts * scan_length);
    for (auto& s : sizes) s = result_size(rng);
    for (int i = 0; i < zipf_keys; ++i) t.key_space_bytes += sizes[i];

    std::uniform_real_distribution<double> u(0, 1);
    const int zipf_requests = requests - scan_bursts * scan_length;
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < zipf_requests; ++i) {
        const auto r = std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin();
        ids.push_back(
            rank_to_id[std::min<std::size_t>(static_cast<std::size_t>(r), zipf_keys - 1)]);
    }
    std::set<int> starts;
    std::uniform_int_distribution<int> pos(0, zipf_requests);
    while (static_cast<int>(starts.size()) < scan_bursts) starts.insert(pos(rng));
    std::uint32_t next_scan = zipf_keys;
    int z = 0;
    for (const int start : starts) {
        while (z < start) t.requests.push_back({ids[z], sizes[ids[z]]}), ++z;
        for (int i = 0; i < scan_length; ++i, ++next_scan)
            t.requests.push_back({next_scan, sizes[next_scan]});
    }
    while (z < zipf_requests) t.requests.push_back({ids[z], sizes[ids[z]]}), ++z;
    std::set<std::uint32_t> distinct;
    for (const auto& r : t.requests) distinct.insert(r.id);
    t.distinct = distinct.size();
    return t;
}

// ---- policies

struct PolicyRun {
    const char* name;
    CacheEviction eviction;
    bool admission;
    cache::MemoryTier::Options::Contest contest = cache::MemoryTier::Options::Contest::density;
    double window = 0.01;
    int sample = 0;  // MemoryTier's default for the admission setting
};

double simulate(const Trace& trace, const std::vector<CacheKey>& keys, std::uint64_t capacity,
                const PolicyRun& policy) {
    support::ManualClock clock;  // one request per second: 100 000 requests ≈ 28 h
    cache::MemoryTier::Options o;
    o.capacity_bytes = capacity;
    o.eviction = policy.eviction;
    o.admission = policy.admission;
    o.contest = policy.contest;
    o.victim_sample = policy.sample;
    o.window_fraction = policy.window;
    o.clock = clock.clock();
    cache::MemoryTier tier(o);
    std::uint64_t hits = 0;
    for (const Request& r : trace.requests) {
        clock.advance(std::chrono::seconds(1));
        if (tier.get(keys[r.id])) {
            ++hits;
        } else {
            tier.put(keys[r.id], Image(), r.bytes);
        }
    }
    return static_cast<double>(hits) / static_cast<double>(trace.requests.size());
}

// Belady's MIN for variable sizes (offline, knows every next use). Exact optimisation is
// NP-hard with sizes, so two standard approximations: evict the farthest next use; evict the
// largest (distance to next use × size). Both bypass an object used again later than every
// object it would displace, and never admit one that is not used again.
double belady(const Trace& trace, std::uint64_t capacity, bool size_aware) {
    const std::size_t n = trace.requests.size();
    constexpr std::size_t never = std::numeric_limits<std::size_t>::max();
    std::vector<std::size_t> next(n, never);
    std::unordered_map<std::uint32_t, std::size_t> seen;
    for (std::size_t i = n; i-- > 0;) {
        const auto it = seen.find(trace.requests[i].id);
        if (it != seen.end()) next[i] = it->second;
        seen[trace.requests[i].id] = i;
    }
    // Ordered by eviction score, highest first.
    const auto score = [&](std::size_t next_use, std::size_t now, std::uint64_t bytes) {
        if (next_use == never) return std::numeric_limits<double>::max();
        const double distance = static_cast<double>(next_use - now);
        return size_aware ? distance * static_cast<double>(bytes) : distance;
    };
    struct Held {
        std::size_t next_use;
        std::uint64_t bytes;
    };
    std::unordered_map<std::uint32_t, Held> held;
    std::set<std::pair<std::size_t, std::uint32_t>, std::greater<>> by_next;  // farthest first
    std::uint64_t used = 0, hits = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const Request& r = trace.requests[i];
        if (const auto it = held.find(r.id); it != held.end()) {
            ++hits;
            by_next.erase({it->second.next_use, r.id});
            it->second.next_use = next[i];
            by_next.insert({next[i], r.id});
            continue;
        }
        if (next[i] == never || r.bytes > capacity) continue;
        // Candidates to displace, best to evict first.
        std::vector<std::pair<double, std::uint32_t>> victims;
        if (used + r.bytes > capacity) {
            if (size_aware) {
                for (const auto& [id, h] : held)
                    victims.push_back({score(h.next_use, i, h.bytes), id});
                std::sort(victims.begin(), victims.end(), std::greater<>());
            } else {
                for (const auto& [next_use, id] : by_next)
                    victims.push_back({score(next_use, i, held[id].bytes), id});
            }
        }
        const double mine = score(next[i], i, r.bytes);
        std::uint64_t freed = 0;
        std::size_t take = 0;
        while (used - freed + r.bytes > capacity && take < victims.size() &&
               victims[take].first > mine)
            freed += held[victims[take++].second].bytes;
        if (used - freed + r.bytes > capacity) continue;  // bypass
        for (std::size_t v = 0; v < take; ++v) {
            const auto id = victims[v].second;
            by_next.erase({held[id].next_use, id});
            used -= held[id].bytes;
            held.erase(id);
        }
        held[r.id] = {next[i], r.bytes};
        by_next.insert({next[i], r.id});
        used += r.bytes;
    }
    return static_cast<double>(hits) / static_cast<double>(n);
}

// ---- latency

struct Percentiles {
    double p50 = 0, p99 = 0;
};

template <class Fn>
Percentiles time_each(int repeats, Fn&& fn) {
    std::vector<double> t(static_cast<std::size_t>(repeats));
    for (double& s : t) {
        const auto t0 = Clock::now();
        fn();
        s = std::chrono::duration<double>(Clock::now() - t0).count();
    }
    std::sort(t.begin(), t.end());
    return {t[t.size() / 2], t[std::min(t.size() - 1, t.size() * 99 / 100)]};
}

std::string us(double seconds) {
    char buf[32];
    if (seconds < 1e-3)
        std::snprintf(buf, sizeof buf, "%.2f µs", seconds * 1e6);
    else
        std::snprintf(buf, sizeof buf, "%.2f ms", seconds * 1e3);
    return buf;
}

Image one_megapixel_photo() {
    std::string path =
        std::string(ARTISTRY_BENCH_SOURCE_DIR) + "/../shared/fixtures/images/bythewater_1920.jpg";
    if (!fs::exists(path)) path = std::string(ARTISTRY_BENCH_SOURCE_DIR) + "/tests/data/baboon.jpg";
    const Image photo = load_image(path);
    const int w = std::min(photo.width(), 1000), h = std::min(photo.height(), 1000);
    return photo.view({(photo.width() - w) / 2, (photo.height() - h) / 2, w, h}).clone();
}

// L1: a hit hands out the stored image itself.
void memory_latency(const Image& photo, const CacheKey& key) {
    CacheOptions o;
    o.use_environment = false;
    o.disk = false;
    o.memory_bytes = 1ull << 30;
    ResultCache cache(o);
    cache.put(key, photo);
    const auto p = time_each(200000, [&] {
        if (!cache.get(key)) std::abort();
    });
    std::printf("| L1 memory | %s | %s | shared handle, no pixel copy |\n", us(p.p50).c_str(),
                us(p.p99).c_str());
}

// L2: a hit reads the entry's file back (from the page cache) and checks it.
void disk_latency(const Image& photo, const CacheKey& key) {
    const fs::path dir =
        fs::temp_directory_path() / ("artistry-bench-cache-" + std::to_string(::getpid()));
    {
        CacheOptions o;
        o.use_environment = false;
        o.memory = false;
        o.disk_dir = dir.string();
        o.async_writes = false;
        ResultCache cache(o);
        cache.put(key, photo);
        const auto p = time_each(300, [&] {
            if (!cache.get(key)) std::abort();
        });
        std::printf("| L2 disk | %s | %s | raw rows + xxh3 check, page cache warm |\n",
                    us(p.p50).c_str(), us(p.p99).c_str());
    }
    fs::remove_all(dir);
}

// L3: a redis-server of the benchmark's own on localhost, when one is installed.
void redis_latency(const Image& photo, const CacheKey& key) {
    support::RedisServer server;
    const std::string why = server.start();
    if (!why.empty()) {
        std::printf("| L3 redis | n/a | n/a | %s |\n", why.c_str());
        return;
    }
    CacheOptions o;
    o.use_environment = false;
    o.memory = false;
    o.disk = false;
    o.redis_url = server.url();
    o.async_writes = false;
    ResultCache cache(o);
    const auto put = time_each(20, [&] { cache.put(key, photo); });
    const auto p = time_each(300, [&] {
        if (!cache.get(key)) std::abort();
    });
    const long long stored =
        support::redis_command(server.port(), "STRLEN artistry:v1:" + key.hex());
    std::printf(
        "| L3 redis | %s | %s | localhost; GET+EXPIRE, zstd-1 delta decode; %.2f MB stored "
        "(%.2fx); put p50 %s |\n",
        us(p.p50).c_str(), us(p.p99).c_str(), static_cast<double>(stored) / 1e6,
        static_cast<double>(photo.byte_size()) / static_cast<double>(stored), us(put.p50).c_str());
}

void latency_section(const Image& photo) {
    std::printf("\n## Hit latency (%dx%d RGB result, %.1f MB)\n\n", photo.width(), photo.height(),
                static_cast<double>(photo.byte_size()) / 1e6);
    std::printf("| tier | hit p50 | hit p99 | notes |\n|---|---|---|---|\n");
    const CacheKey key = content_hash(photo);
    memory_latency(photo, key);
    disk_latency(photo, key);
    redis_latency(photo, key);
}

// ---- codecs for the Redis payload

void codec_row(const char* image_name, const char* codec, std::size_t raw, std::size_t packed,
               double enc, double dec, bool exact) {
    std::printf("| %s | %s | %.2f | %.1f | %.1f | %s |\n", image_name, codec,
                static_cast<double>(raw) / static_cast<double>(packed), enc * 1e3, dec * 1e3,
                exact ? "yes" : "**no**");
}

void codec_section(const Image& photo) {
    std::printf("\n## Redis payload codec (lossless), %dx%d\n\n", photo.width(), photo.height());
    std::printf(
        "| image | codec | ratio | encode ms | decode ms | exact |\n|---|---|---|---|---|---|\n");
    const std::vector<std::pair<std::string, Image>> images = {
        {"photo", photo},
        {"enhanced_bw", apply_effect("enhanced_bw", photo)},
        {"pop_art", apply_effect("pop_art", photo)},
        {"retro_8bit", apply_effect("retro_8bit", photo)},
        {"cutout (RGBA)", apply_effect("remove_background", photo)}};
    for (const auto& [name, img] : images) {
        const std::size_t raw = img.byte_size();
        const CacheKey key = content_hash(img);
        {  // zstd on the raw rows
            std::vector<std::uint8_t> out(ZSTD_compressBound(raw)), back(raw);
            std::size_t n = 0;
            const auto e = time_each(
                3, [&] { n = ZSTD_compress(out.data(), out.size(), img.data(), raw, 1); });
            const auto d = time_each(3, [&] { ZSTD_decompress(back.data(), raw, out.data(), n); });
            codec_row(name.c_str(), "zstd-1", raw, n, e.p50, d.p50,
                      std::memcmp(back.data(), img.data(), raw) == 0);
        }
        for (const int level : {1, 3}) {  // the chosen encoding, through the cache's own code
            std::vector<std::uint8_t> blob;
            std::optional<cache::DecodedEntry> back;
            const auto e = time_each(3, [&] { blob = cache::encode_entry(key, img, 1, level); });
            const auto d = time_each(3, [&] { back = cache::decode_entry(blob, key); });
            codec_row(name.c_str(), level == 1 ? "delta+zstd-1 (chosen)" : "delta+zstd-3", raw,
                      blob.size(), e.p50, d.p50, back && back->image.same_pixels(img));
        }
        for (const auto& [format, label] :
             {std::pair<const char*, const char*>{"png", "PNG (level 1)"},
              {"webp", "WebP lossless"}}) {
            SaveOptions so;
            so.png_compression = 1;
            so.webp_quality = 101;
            std::vector<std::uint8_t> bytes;
            Image back;
            const auto e = time_each(1, [&] { bytes = encode_image(img, format, so); });
            const auto d = time_each(1, [&] { back = decode_image(bytes); });
            codec_row(name.c_str(), label, raw, bytes.size(), e.p50, d.p50, back.same_pixels(img));
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    bool codecs = true;
    std::uint64_t seed = 20240611;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--no-codecs") == 0) {
            codecs = false;
        } else if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = std::strtoull(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "usage: bench_cache [--no-codecs] [--seed N]\n");
            return 2;
        }
    }
    const Trace trace = make_trace(seed);
    std::vector<CacheKey> keys;
    for (std::uint32_t id = 0; id < zipf_keys + scan_bursts * scan_length; ++id)
        keys.push_back(make_cache_key({}, "bench", 1, std::to_string(id)));
    const auto capacity =
        static_cast<std::uint64_t>(static_cast<double>(trace.key_space_bytes) * cache_fraction);

    std::printf("# bench/cache\n\n");
    std::printf(
        "Trace: %d requests, %d Zipf(%.1f) keys + %d one-off scan keys in %d bursts "
        "(%zu distinct); sizes log-normal (median 2 MiB, 16 KiB..48 MiB); key space "
        "%.1f GB; cache %.0f %% of it = %.2f GB; one request per simulated second.\n\n",
        requests, zipf_keys, zipf_s, scan_bursts * scan_length, scan_bursts, trace.distinct,
        static_cast<double>(trace.key_space_bytes) / 1e9, cache_fraction * 100,
        static_cast<double>(capacity) / 1e9);
    std::printf("| policy | hit rate |\n|---|---|\n");
    using Contest = cache::MemoryTier::Options::Contest;
    const PolicyRun runs[] = {{"LRU", CacheEviction::lru, false},
                              {"hot/warm/cold classes (default)", CacheEviction::classes, false},
                              {"LRU + TinyLFU (Caffeine's per-victim test)", CacheEviction::lru,
                               true, Contest::per_victim, 0.01, 1},
                              {"classes + TinyLFU, per-victim test, oldest victim",
                               CacheEviction::classes, true, Contest::per_victim, 0.01, 1},
                              {"classes + TinyLFU, size-aware (shipped with admission on)",
                               CacheEviction::classes, true, Contest::density, 0.01, 0}};
    for (const PolicyRun& run : runs) {
        const auto t0 = Clock::now();
        const double rate = simulate(trace, keys, capacity, run);
        std::printf("| %s | %.1f %% |\n", run.name, rate * 100);
        std::fprintf(stderr, "%s: %.1f s\n", run.name,
                     std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::printf("| Belady (offline): farthest next use, bypass | %.1f %% |\n",
                belady(trace, capacity, false) * 100);
    std::printf("| Belady (offline): size × distance, bypass | %.1f %% |\n",
                belady(trace, capacity, true) * 100);
    std::printf("\nOne-off scan requests can never hit: the ceiling is %.0f %%.\n",
                100.0 * (requests - scan_bursts * scan_length) / requests);

    const Image photo = one_megapixel_photo();
    latency_section(photo);
    if (codecs) codec_section(photo);
    return 0;
}
