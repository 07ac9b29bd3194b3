// The result cache: keys, the class table, TTLs, byte budgets, admission, the disk tier's
// integrity, two processes sharing keys and a folder, switches, concurrency.

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "artistry/cache.hpp"
#include "artistry/memory.hpp"
#include "cache/disk_tier.hpp"
#include "cache/entry_format.hpp"
#include "cache/memory_tier.hpp"
#include "cache/redis_tier.hpp"
#include "cache_test_support.hpp"
#include "test_support.hpp"

using namespace artistry;
using namespace std::chrono_literals;
using artistry::test::ManualClock;
using artistry::test::pattern_image;
using artistry::test::TempDir;
namespace fs = std::filesystem;

namespace {

CacheKey key_of(int i) {
    return make_cache_key({}, "k", 1, std::to_string(i));
}

CacheOptions memory_only(std::uint64_t bytes) {
    CacheOptions o;
    o.use_environment = false;
    o.disk = false;
    o.memory_bytes = bytes;
    return o;
}

CacheOptions disk_only(const std::string& dir, std::uint64_t bytes = 64ull << 20) {
    CacheOptions o;
    o.use_environment = false;
    o.memory = false;
    o.disk_dir = dir;
    o.disk_bytes = bytes;
    o.async_writes = false;
    return o;
}

cache::MemoryTier::Options tier_options(std::uint64_t capacity, const ManualClock& clock) {
    cache::MemoryTier::Options o;
    o.capacity_bytes = capacity;
    o.clock = clock.clock();
    return o;
}

}  // namespace

TEST_CASE("content hashes depend on pixels, shape and type, not on the stride") {
    const Image a = pattern_image(40, 30, 3, 1);
    CHECK(content_hash(a) == content_hash(a.clone()));
    // The same pixels as a view inside a wider image (a different stride).
    Image wide = Image::allocate(64, 40, 3);
    const Image view = wide.view({5, 7, 40, 30});
    for (int y = 0; y < 30; ++y) std::copy_n(a.row(y), a.row_bytes(), view.row(y));
    REQUIRE(!view.contiguous());
    CHECK(content_hash(view) == content_hash(a));

    Image changed = a.clone();
    changed.row(29)[119] ^= 1;
    CHECK(content_hash(changed) != content_hash(a));
    // Same bytes, other shape: 40×30×3 = 60×20×3 = 120×30×1 bytes.
    const Image reshaped = Image::wrap(a.data(), 60, 20, 3, PixelType::u8, 180, {});
    const Image gray = Image::wrap(a.data(), 120, 30, 1, PixelType::u8, 120, {});
    CHECK(content_hash(reshaped) != content_hash(a));
    CHECK(content_hash(gray) != content_hash(a));
    CHECK(content_hash(pattern_image(8, 8, 4, 3, PixelType::f32)) !=
          content_hash(pattern_image(8, 8, 4, 3)));
}

TEST_CASE("result keys change with each input, the op, its version and the parameters") {
    const CacheKey x = content_hash(pattern_image(8, 8, 3, 1));
    const CacheKey y = content_hash(pattern_image(8, 8, 3, 2));
    const CacheKey base = make_cache_key({x, y}, "blend", 1, "alpha=0.5");
    std::set<std::string> keys{base.hex()};
    keys.insert(make_cache_key({y, x}, "blend", 1, "alpha=0.5").hex());  // order matters
    keys.insert(make_cache_key({x}, "blend", 1, "alpha=0.5").hex());
    keys.insert(make_cache_key({x, y}, "blend2", 1, "alpha=0.5").hex());
    keys.insert(make_cache_key({x, y}, "blend", 2, "alpha=0.5").hex());
    keys.insert(make_cache_key({x, y}, "blend", 1, "alpha=0.6").hex());
    // No ambiguity between where the op name ends and the parameters begin.
    keys.insert(make_cache_key({x, y}, "blenda", 1, "lpha=0.5").hex());
    CHECK(keys.size() == 7);
    CHECK(make_cache_key({x, y}, "blend", 1, "alpha=0.5") == base);
}

TEST_CASE("keys are stable: the same value in every build and on every machine") {
    // A change here orphans every stored cache entry: bump the key domain on purpose only.
    const Image image = pattern_image(16, 9, 3, 7);
    CHECK(content_hash(image).hex() == "b5e3f9a4195e79399cb03c4a5a234d31");
    CHECK(test::result_key(image).hex() == "0f25cc5a5f8f27df40143c5edcc2e826");
    CHECK(make_cache_key({}, "", 0, "").hex() == "63055ffa2a427fb801ac062e11ed1007");
}

TEST_CASE("keys round-trip through hex") {
    const CacheKey k{0x0123456789abcdefull, 0xfedcba9876543210ull};
    CHECK(k.hex() == "0123456789abcdeffedcba9876543210");
    CHECK(CacheKey::from_hex(k.hex()) == k);
    CHECK(!CacheKey::from_hex("0123").has_value());
    CHECK(!CacheKey::from_hex("0123456789ABCDEFfedcba9876543210").has_value());
    CHECK(!CacheKey::from_hex("0123456789abcdefxedcba9876543210").has_value());
}

TEST_CASE("the default policy is the old backend's table") {
    const CachePolicy p;
    using std::nullopt;
    // hot: ≥ 3 accesses or reused within 1 h; warm: ≥ 2 or within 24 h; cold otherwise.
    CHECK(p.classify(1, nullopt) == CacheClass::cold);
    CHECK(p.classify(2, nullopt) == CacheClass::warm);
    CHECK(p.classify(3, nullopt) == CacheClass::hot);
    CHECK(p.classify(1, 59min) == CacheClass::hot);
    CHECK(p.classify(1, 61min) == CacheClass::warm);
    CHECK(p.classify(1, 23h) == CacheClass::warm);
    CHECK(p.classify(1, 25h) == CacheClass::cold);
    CHECK(p.classify(2, 400h) == CacheClass::warm);
    CHECK(p.classify(3, 400h) == CacheClass::hot);
    CHECK(p.hot.ttl == 7 * 24h);
    CHECK(p.warm.ttl == 3 * 24h);
    CHECK(p.cold.ttl == 24h);
    CHECK(p.hot.priority == 100);
    CHECK(p.warm.priority == 50);
    CHECK(p.cold.priority == 10);
}

TEST_CASE("L1 entries move between classes as they are reused and age") {
    ManualClock clock;
    cache::MemoryTier tier(tier_options(1 << 20, clock));
    const CacheKey k = key_of(1);
    REQUIRE(tier.put(k, pattern_image(4, 4, 3, 1), 100));
    CHECK(tier.class_of(k) == CacheClass::cold);  // stored, never reused
    clock.advance(10s);
    auto hit = tier.get(k);  // 2 accesses, reused now
    REQUIRE(hit);
    CHECK(hit->cls == CacheClass::hot);
    CHECK(hit->upgraded);
    clock.advance(2h);
    CHECK(tier.class_of(k) == CacheClass::warm);  // 2 accesses, reuse 2 h ago
    hit = tier.get(k);                            // 3 accesses
    CHECK(hit->cls == CacheClass::hot);
    CHECK(!hit->upgraded);  // hot was already advertised
    clock.advance(100h);
    CHECK(tier.class_of(k) == CacheClass::hot);  // ≥ 3 accesses stays hot
}

TEST_CASE("TTL by class expires idle entries (injected clock)") {
    ManualClock clock;
    cache::MemoryTier tier(tier_options(1 << 20, clock));
    const CacheKey cold = key_of(1), warm = key_of(2), hot = key_of(3);
    for (const CacheKey& k : {cold, warm, hot}) tier.put(k, pattern_image(4, 4, 3, 1), 100);
    tier.get(warm);  // 2 accesses
    tier.get(hot);
    tier.get(hot);  // 3 accesses
    clock.advance(24h - 1s);
    CHECK(tier.contains(cold));
    clock.advance(2s);
    CHECK(!tier.contains(cold));  // cold: 1 day
    CHECK(!tier.get(cold));
    clock.advance(48h - 2s);  // 3 days − 1 s since warm's last access
    CHECK(tier.contains(warm));
    clock.advance(2s);
    CHECK(!tier.contains(warm));  // warm: 3 days
    CHECK(tier.contains(hot));
    clock.advance(4 * 24h - 2s);
    CHECK(tier.contains(hot));
    clock.advance(2s);
    CHECK(!tier.contains(hot));                           // hot: 7 days
    tier.put(key_of(4), pattern_image(4, 4, 3, 1), 100);  // purges the expired
    const auto s = tier.stats();
    CHECK(s.expirations == 3);
    CHECK(s.entries == 1);
}

TEST_CASE("eviction goes by class, then recency; plain LRU goes by recency alone") {
    for (const CacheEviction eviction : {CacheEviction::classes, CacheEviction::lru}) {
        ManualClock clock;
        auto o = tier_options(400, clock);
        o.eviction = eviction;
        cache::MemoryTier tier(o);
        tier.put(key_of(0), {}, 100);  // A, the oldest
        clock.advance(1s);
        tier.get(key_of(0));  // reused: hot
        for (int i = 1; i <= 3; ++i) {
            clock.advance(1s);
            tier.put(key_of(i), {}, 100);  // B, C, D: cold
        }
        clock.advance(1s);
        tier.put(key_of(4), {}, 100);  // needs room
        if (eviction == CacheEviction::classes) {
            CHECK(tier.contains(key_of(0)));   // hot A survives although older
            CHECK(!tier.contains(key_of(1)));  // the oldest cold goes
        } else {
            CHECK(!tier.contains(key_of(0)));  // A was used least recently
            CHECK(tier.contains(key_of(1)));
        }
        CHECK(tier.stats().evictions == 1);
    }
}

TEST_CASE("plain LRU evicts the least recently used entry") {
    ManualClock clock;
    auto o = tier_options(300, clock);
    o.eviction = CacheEviction::lru;
    cache::MemoryTier tier(o);
    for (int i = 0; i < 3; ++i) {
        tier.put(key_of(i), {}, 100);
        clock.advance(1s);
    }
    tier.get(key_of(0));  // 1 is now the least recent
    tier.put(key_of(3), {}, 100);
    CHECK(tier.contains(key_of(0)));
    CHECK(!tier.contains(key_of(1)));
    CHECK(tier.contains(key_of(2)));
}

TEST_CASE("the byte budget is held whatever the sizes") {
    ResultCache cache(memory_only(1 << 20));
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> side(16, 300);
    for (int i = 0; i < 300; ++i) {
        const Image img = Image::allocate(side(rng), side(rng), 3);
        cache.put(key_of(i), img);
        if (i % 3 == 0) cache.get(key_of(i / 2));
        const auto s = cache.stats().tier(CacheTier::memory);
        REQUIRE(s.bytes <= s.capacity_bytes);
    }
    const auto s = cache.stats().tier(CacheTier::memory);
    CHECK(s.evictions + s.rejected > 50);  // full: older entries went, or (admission) new ones
    CHECK(s.bytes > (1 << 20) / 2);
    cache.put(key_of(1000), Image::allocate(1024, 1024, 3));  // 3 MiB > 1 MiB
    CHECK(!cache.contains_in_memory(key_of(1000)));
    CHECK(cache.stats().tier(CacheTier::memory).rejected >= 1);
}

TEST_CASE("TinyLFU admission keeps a hot set that a one-off scan flushes out of plain LRU") {
    const auto hot_hit_rate = [](bool admission) {
        ManualClock clock;
        auto o = tier_options(100 * 1000, clock);  // 100 entries of 1000 bytes
        o.eviction = CacheEviction::lru;
        o.admission = admission;
        o.sketch_width = 4096;
        cache::MemoryTier tier(o);
        const auto access = [&](int k) {
            const bool hit = tier.get(key_of(k)).has_value();
            if (!hit) tier.put(key_of(k), {}, 1000);
            return hit;
        };
        for (int round = 0; round < 4; ++round)
            for (int k = 0; k < 50; ++k) access(k);  // the hot set: 50 keys
        int hits = 0, total = 0, scan = 100000;
        for (int i = 0; i < 6000; ++i) {
            if (i % 4 == 0) {
                hits += access((i / 4) % 50) ? 1 : 0;
                ++total;
            } else {
                access(scan++);  // one-off keys, never seen again
            }
        }
        return static_cast<double>(hits) / total;
    };
    const double lru = hot_hit_rate(false);
    const double tinylfu = hot_hit_rate(true);
    MESSAGE("hot-set hit rate: LRU " << lru << ", LRU + TinyLFU " << tinylfu);
    CHECK(tinylfu > 0.9);
    CHECK(lru < 0.5);
}

TEST_CASE("a memory hit returns the stored pixels without a copy") {
    ResultCache cache(memory_only(16 << 20));
    const Image img = pattern_image(64, 64, 3, 1);
    cache.put(key_of(1), img);
    const auto hit = cache.get(key_of(1));
    REQUIRE(hit);
    CHECK(hit->tier == CacheTier::memory);
    CHECK(hit->image.data() == img.data());
    CHECK(!cache.get(key_of(2)));
    // A caller's buffer may change later: it is copied on the way in.
    std::vector<std::uint8_t> buffer(img.byte_size(), 7);
    cache.put(key_of(3), Image::wrap(buffer.data(), 64, 64, 3, PixelType::u8, 192));
    buffer[0] = 9;
    const auto copy = cache.get(key_of(3));
    REQUIRE(copy);
    CHECK(copy->image.data() != buffer.data());
    CHECK(copy->image.row(0)[0] == 7);
}

TEST_CASE("ARTISTRY_CACHE=off turns every tier off; each tier has its own switch") {
    TempDir dir;
    ::setenv("ARTISTRY_CACHE", "off", 1);
    {
        CacheOptions o;
        o.disk_dir = dir.path.string();
        ResultCache cache(o);
        CHECK(!cache.enabled());
        cache.put(key_of(1), pattern_image(8, 8, 3, 1));
        CHECK(!cache.get(key_of(1)));
        CHECK(!cache.tier_enabled(CacheTier::memory));
        CHECK(!cache.tier_enabled(CacheTier::disk));
        CHECK(fs::is_empty(dir.path));
    }
    ::setenv("ARTISTRY_CACHE", "on", 1);
    ::setenv("ARTISTRY_CACHE_MEMORY", "off", 1);
    {
        CacheOptions o;
        o.disk_dir = dir.path.string();
        o.async_writes = false;
        ResultCache cache(o);
        CHECK(!cache.tier_enabled(CacheTier::memory));
        CHECK(cache.tier_enabled(CacheTier::disk));
        CHECK(!cache.tier_enabled(CacheTier::redis));  // no URL
        cache.put(key_of(1), pattern_image(8, 8, 3, 1));
        const auto hit = cache.get(key_of(1));
        REQUIRE(hit);
        CHECK(hit->tier == CacheTier::disk);
    }
    ::unsetenv("ARTISTRY_CACHE");
    ::unsetenv("ARTISTRY_CACHE_MEMORY");
    ::setenv("CACHE_MEMORY_SIZE_MB", "lots", 1);
    const Error e = test::error_of([] { ResultCache cache(CacheOptions{}); });
    ::unsetenv("CACHE_MEMORY_SIZE_MB");
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("CACHE_MEMORY_SIZE_MB") != std::string::npos);
    ::setenv("CACHE_MEMORY_SIZE_MB", "3", 1);
    {
        CacheOptions o = memory_only(0);
        o.use_environment = true;
        o.disk = false;
        ResultCache cache(o);
        CHECK(cache.stats().tier(CacheTier::memory).capacity_bytes == 3ull << 20);
    }
    ::unsetenv("CACHE_MEMORY_SIZE_MB");
}

TEST_CASE("ARTISTRY_CACHE_TIERS picks the tiers; a tier's own switch outranks it") {
    TempDir dir;
    const auto tiers = [&] {
        CacheOptions o;
        o.disk_dir = dir.path.string();
        o.async_writes = false;
        const ResultCache cache(o);
        return std::string(cache.tier_enabled(CacheTier::memory) ? "m" : "") +
               (cache.tier_enabled(CacheTier::disk) ? "d" : "") +
               (cache.tier_enabled(CacheTier::redis) ? "r" : "");
    };
    ::setenv("ARTISTRY_CACHE_TIERS", "disk", 1);
    CHECK(tiers() == "d");
    ::setenv("ARTISTRY_CACHE_TIERS", "memory, disk", 1);
    CHECK(tiers() == "md");
    ::setenv("ARTISTRY_CACHE_TIERS", "none", 1);
    CHECK(tiers().empty());
    ::setenv("ARTISTRY_CACHE_DISK", "on", 1);  // the tier's own variable wins
    CHECK(tiers() == "d");
    ::unsetenv("ARTISTRY_CACHE_DISK");
    ::setenv("ARTISTRY_CACHE_TIERS", "memory,redis", 1);  // redis without a URL: said so
    Error e = test::error_of([&] { tiers(); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("ARTISTRY_REDIS_URL") != std::string::npos);
    ::setenv("ARTISTRY_CACHE_TIERS", "memory,ssd", 1);
    e = test::error_of([&] { tiers(); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()) ==
          "ARTISTRY_CACHE_TIERS: cache tiers 'memory,ssd': 'ssd' is not a tier; expected a list "
          "of memory, disk, redis, or none");
    ::unsetenv("ARTISTRY_CACHE_TIERS");
    CHECK(tiers() == "md");
}

TEST_CASE("TinyLFU admission is on by default; ARTISTRY_CACHE_ADMISSION=off turns it off") {
    // bench/cache: size-aware TinyLFU over the classes hits 54.7 % against 48.6 % without.
    // With admission, one-off keys meeting a full tier are turned away (counted as rejected)
    // instead of pushing out entries seen more often.
    const auto scan_rejected = [] {
        CacheOptions o = memory_only(1);
        o.use_environment = true;
        o.disk = false;
        o.memory_bytes = 64 * 1024;
        ResultCache cache(o);
        const Image img = pattern_image(60, 60, 3, 1);  // 10.8 KB: five fit
        for (int round = 0; round < 8; ++round)
            for (int k = 0; k < 5; ++k)
                if (!cache.get(key_of(k))) cache.put(key_of(k), img);
        for (int k = 100; k < 140; ++k) cache.put(key_of(k), img);  // a one-off scan
        return cache.stats().tier(CacheTier::memory).rejected;
    };
    CHECK(scan_rejected() > 20);
    ::setenv("ARTISTRY_CACHE_ADMISSION", "off", 1);
    CHECK(scan_rejected() == 0);
    ::unsetenv("ARTISTRY_CACHE_ADMISSION");
}

TEST_CASE("a disk hit is promoted to memory, and the disk outlives the process's memory") {
    TempDir dir;
    CacheOptions o = disk_only(dir.path.string());
    o.memory = true;
    o.memory_bytes = 16 << 20;
    o.async_writes = true;
    const Image img = pattern_image(50, 40, 4, 3);
    {
        ResultCache cache(o);
        cache.put(key_of(1), img);
        cache.flush();
        cache.clear_memory();
        auto hit = cache.get(key_of(1));
        REQUIRE(hit);
        CHECK(hit->tier == CacheTier::disk);
        CHECK(hit->cls == CacheClass::hot);  // a reuse
        CHECK(hit->image.same_pixels(img));
        hit = cache.get(key_of(1));
        REQUIRE(hit);
        CHECK(hit->tier == CacheTier::memory);
    }
    ResultCache later(o);
    const auto hit = later.get(key_of(1));
    REQUIRE(hit);
    CHECK(hit->tier == CacheTier::disk);
    CHECK(hit->image.same_pixels(img));
}

TEST_CASE("the disk tier stores every shape and pixel type exactly") {
    TempDir dir;
    cache::DiskTier disk({dir.path.string(), 64 << 20});
    Image wide = pattern_image(30, 20, 3, 9);
    const std::vector<Image> images = {
        pattern_image(17, 5, 1, 1), pattern_image(33, 21, 3, 2), pattern_image(8, 64, 4, 3),
        pattern_image(9, 7, 4, 4, PixelType::f32), wide.view({3, 2, 11, 9})};
    for (std::size_t i = 0; i < images.size(); ++i) {
        REQUIRE(disk.put(key_of(static_cast<int>(i)), images[i], 5));
        const auto found = disk.get(key_of(static_cast<int>(i)));
        REQUIRE(found);
        CHECK(found->image.same_pixels(images[i]));
        CHECK(found->accesses == 5);
    }
    CHECK(disk.stats().entries == images.size());
    CHECK(!disk.get(key_of(99)));
}

TEST_CASE("a corrupted or torn disk entry is a miss, is removed, and never crashes") {
    TempDir dir;
    cache::DiskTier disk({dir.path.string(), 64 << 20});
    const Image img = pattern_image(64, 48, 3, 4);
    const auto damage = [&](const std::string& what, auto&& fn) {
        INFO(what);
        const CacheKey k = key_of(static_cast<int>(std::hash<std::string>{}(what) % 100000));
        REQUIRE(disk.put(k, img, 1));
        const std::string path = disk.path_of(k);
        REQUIRE(fs::exists(path));
        fn(path);
        const auto errors = disk.corrupt_count();
        CHECK(!disk.get(k));
        CHECK(!fs::exists(path));
        CHECK(disk.corrupt_count() == errors + 1);
        CHECK(!disk.get(k));           // still a miss, now a plain one
        REQUIRE(disk.put(k, img, 1));  // and it can be stored again
        const auto again = disk.get(k);
        REQUIRE(again);
        CHECK(again->image.same_pixels(img));
    };
    // Flips one bit of the byte at `at` (negative: from the end).
    const auto flip = [](const std::string& path, std::streamoff at) {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        const auto dir = at < 0 ? std::ios::end : std::ios::beg;
        f.seekg(at, dir);
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x10);
        f.seekp(at, dir);
        f.write(&c, 1);
    };
    damage("truncated payload",
           [](const std::string& p) { fs::resize_file(p, fs::file_size(p) - 100); });
    damage("truncated header", [](const std::string& p) { fs::resize_file(p, 30); });
    damage("empty file", [](const std::string& p) { fs::resize_file(p, 0); });
    damage("flipped payload byte", [&](const std::string& p) { flip(p, -1); });
    damage("flipped payload middle", [&](const std::string& p) { flip(p, 72 + 4000); });
    damage("flipped shape in header", [&](const std::string& p) { flip(p, 33); });
    damage("flipped magic", [&](const std::string& p) { flip(p, 0); });
    damage("extra bytes appended", [](const std::string& p) {
        std::ofstream(p, std::ios::app | std::ios::binary) << "junk";
    });
    damage("garbage file", [](const std::string& p) {
        std::ofstream(p, std::ios::trunc | std::ios::binary) << std::string(5000, 'x');
    });
    damage("another key's entry", [&](const std::string& p) {
        REQUIRE(disk.put(key_of(777777), pattern_image(64, 48, 3, 5), 1));
        fs::copy_file(disk.path_of(key_of(777777)), p, fs::copy_options::overwrite_existing);
    });
}

TEST_CASE("the disk tier keeps under its byte cap, dropping the least recently used") {
    TempDir dir;
    const Image img = pattern_image(100, 100, 3, 1);  // 30 000 bytes + header
    cache::DiskTier disk({dir.path.string(), 3 * 30'072 + 10});
    for (int i = 0; i < 3; ++i) REQUIRE(disk.put(key_of(i), img, 1));
    CHECK(disk.get(key_of(0)));  // 1 is now the least recently used
    REQUIRE(disk.put(key_of(3), img, 1));
    const auto s = disk.stats();
    CHECK(s.bytes <= s.capacity_bytes);
    CHECK(s.evictions == 1);
    CHECK(disk.get(key_of(0)));
    CHECK(!disk.get(key_of(1)));
    CHECK(!fs::exists(disk.path_of(key_of(1))));
    // A new instance indexes what is there and keeps the same order of use.
    cache::DiskTier reopened({dir.path.string(), 3 * 30'072 + 10});
    CHECK(reopened.stats().entries == 3);
    CHECK(!disk.put(key_of(9), pattern_image(200, 200, 3, 1), 1));  // larger than the cap
}

TEST_CASE("two processes compute the same keys and share one disk folder") {
    const std::string peer = ARTISTRY_CACHE_PEER;
    int rc = -1;
    const Image img = pattern_image(37, 23, 3, 42);
    const std::string keys = test::run_process({peer, "key", "37", "23", "3", "42"}, &rc);
    REQUIRE(rc == 0);
    CHECK(keys == content_hash(img).hex() + " " + test::result_key(img).hex() + "\n");

    TempDir dir;
    // The peer writes; this process reads.
    const std::string written =
        test::run_process({peer, "put", dir.path.string(), "64", "32", "4", "5"}, &rc);
    REQUIRE(rc == 0);
    const Image expected = pattern_image(64, 32, 4, 5);
    CHECK(written == test::result_key(expected).hex() + "\n");
    ResultCache cache(disk_only(dir.path.string()));
    const auto hit = cache.get(test::result_key(expected));
    REQUIRE(hit);
    CHECK(hit->tier == CacheTier::disk);
    CHECK(hit->image.same_pixels(expected));
    // This process writes; the peer reads.
    const Image mine = pattern_image(20, 10, 1, 6);
    cache.put(test::result_key(mine), mine);
    const std::string read =
        test::run_process({peer, "get", dir.path.string(), test::result_key(mine).hex()}, &rc);
    REQUIRE(rc == 0);
    CHECK(read == "hit " + content_hash(mine).hex() + "\n");
    CHECK(test::run_process({peer, "get", dir.path.string(), key_of(1).hex()}) == "miss\n");
}

TEST_CASE("entries encode with delta + zstd and decode exactly; damage is detected") {
    for (const Image& img :
         {pattern_image(31, 17, 3, 1), pattern_image(16, 16, 4, 2), pattern_image(40, 3, 1, 3),
          pattern_image(5, 5, 3, 4, PixelType::f32)}) {
        const CacheKey k = content_hash(img);
        std::vector<std::uint8_t> blob = cache::encode_entry(k, img, 3, 1);
        const auto back = cache::decode_entry(blob, k);
        REQUIRE(back);
        CHECK(back->image.same_pixels(img));
        CHECK(back->accesses == 3);
        CHECK(!cache::decode_entry(blob, key_of(1)));  // another key's value
        std::vector<std::uint8_t> torn(blob.begin(), blob.end() - 1);
        CHECK(!cache::decode_entry(torn, k));
        blob[blob.size() / 2 + 40] ^= 4;
        CHECK(!cache::decode_entry(blob, k));
    }
    const Image flat = Image::allocate(512, 512, 3);  // flat colour: compresses a lot
    CHECK(cache::encode_entry(key_of(1), flat, 1, 1).size() < flat.byte_size() / 100);
}

TEST_CASE("Redis URLs parse host, port, database and credentials") {
    auto e = cache::parse_redis_url("redis://cache.local:6390/3");
    REQUIRE(e);
    CHECK(e->host == "cache.local");
    CHECK(e->port == 6390);
    CHECK(e->db == 3);
    e = cache::parse_redis_url("redis://:s3cret@10.0.0.2");
    REQUIRE(e);
    CHECK(e->password == "s3cret");
    CHECK(e->port == 6379);
    CHECK(e->db == 0);
    e = cache::parse_redis_url("redis://me:pw@h:1/0");
    REQUIRE(e);
    CHECK(e->username == "me");
    CHECK(!cache::parse_redis_url("redis://host:notaport"));
    CHECK(!cache::parse_redis_url("redis://:pw@"));
    CHECK(!cache::parse_redis_url("redis://h:1/x"));
    CacheOptions o = memory_only(1 << 20);
    o.redis_url = "redis://h:99999";
    CHECK(test::error_of([&] { ResultCache c(o); }).status() == Status::invalid_argument);
}

TEST_CASE("L1 charges its bytes to the memory manager and is trimmed under pressure") {
    MemoryOptions mo;
    mo.use_environment = false;
    mo.devices = {{Device::cpu(), Budget{10 << 20, 0}, 1ull << 30}};
    mo.pressure_threshold = 0.8;
    MemoryManager memory(mo);
    CacheOptions o = memory_only(100 << 20);
    o.memory_manager = &memory;
    ResultCache cache(o);
    for (int i = 0; i < 6; ++i) cache.put(key_of(i), Image::allocate(1024, 1024, 1));  // 6 × 1 MiB
    CHECK(memory.in_use(Device::cpu()) == cache.stats().tier(CacheTier::memory).bytes);
    CHECK(memory.in_use(Device::cpu()) > 6u << 20);
    // Work that needs 4 MiB: over the 8 MiB threshold, so the cache gives memory back first.
    Reservation work = memory.reserve(Device::cpu(), 4 << 20, 1s);
    CHECK(memory.stats(Device::cpu()).waits == 0);
    CHECK(memory.in_use(Device::cpu()) <= 8u << 20);
    CHECK(cache.stats().tier(CacheTier::memory).evictions >= 2);
    CHECK(memory.in_use(Device::cpu()) == (4u << 20) + cache.stats().tier(CacheTier::memory).bytes);
    // While the work holds its memory, the cache cannot take more than what is left.
    for (int i = 10; i < 20; ++i) cache.put(key_of(i), Image::allocate(1024, 1024, 1));
    CHECK(memory.peak(Device::cpu()) <= 10u << 20);
    work.release();
}

TEST_CASE("16 threads getting and putting never see wrong pixels") {
    TempDir dir;
    CacheOptions o = disk_only(dir.path.string(), 2 << 20);
    o.memory = true;
    o.memory_bytes = 1 << 20;
    o.async_writes = true;
    o.admission = true;
    ResultCache cache(o);
    std::atomic<int> wrong{0}, hits{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            for (int i = 0; i < 300; ++i) {
                const int k = static_cast<int>(rng() % 60);
                const CacheKey key = key_of(k);
                if (auto hit = cache.get(key)) {
                    ++hits;
                    if (!hit->image.same_pixels(
                            pattern_image(40 + k, 30, 3, static_cast<std::uint32_t>(k))))
                        ++wrong;
                } else {
                    cache.put(key, pattern_image(40 + k, 30, 3, static_cast<std::uint32_t>(k)));
                }
                if (i % 100 == 0) cache.trim_memory(100000);
            }
        });
    }
    for (auto& th : threads) th.join();
    cache.flush();
    CHECK(wrong.load() == 0);
    CHECK(hits.load() > 1000);
    const CacheStats s = cache.stats();
    CHECK(s.tier(CacheTier::memory).bytes <= s.tier(CacheTier::memory).capacity_bytes);
    CHECK(s.tier(CacheTier::disk).bytes <= s.tier(CacheTier::disk).capacity_bytes);
    CHECK(s.tier(CacheTier::disk).errors == 0);
}

TEST_CASE("metrics text reports hits, misses and bytes per tier") {
    TempDir dir;
    CacheOptions o = disk_only(dir.path.string());
    o.memory = true;
    o.memory_bytes = 1 << 20;
    ResultCache cache(o);
    cache.put(key_of(1), pattern_image(8, 8, 3, 1));
    cache.get(key_of(1));
    cache.get(key_of(2));
    const std::string text = cache.metrics_text();
    CHECK(text.find("artistry_cache_hits_total{tier=\"memory\"} 1\n") != std::string::npos);
    CHECK(text.find("artistry_cache_misses_total{tier=\"memory\"} 1\n") != std::string::npos);
    CHECK(text.find("artistry_cache_misses_total{tier=\"disk\"} 1\n") != std::string::npos);
    CHECK(text.find("artistry_cache_tier_up{tier=\"disk\"} 1\n") != std::string::npos);
    CHECK(text.find("artistry_cache_hit_duration_seconds_count{tier=\"memory\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("tier=\"redis\"") == std::string::npos);  // off: not reported
}
