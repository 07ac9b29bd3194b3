#pragma once
// L1: results in memory under a byte budget. Eviction by class then recency (or plain LRU);
// per-class TTL on idle time; optional W-TinyLFU admission (a small LRU window in front of the
// main space; an entry leaving the window enters the main space only if the frequency sketch
// rates it above the entries it would evict). Thread-safe. Hits return the stored Image handle.

#include <array>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "artistry/cache.hpp"
#include "artistry/memory.hpp"
#include "cache/frequency_sketch.hpp"

namespace artistry::cache {

class MemoryTier {
  public:
    struct Options {
        std::uint64_t capacity_bytes = 0;
        CacheEviction eviction = CacheEviction::classes;
        bool admission = false;
        double window_fraction = 0.01;   // admission: the window's share of the capacity
        std::uint32_t sketch_width = 0;  // 0: from the capacity (one counter per 128 KiB)
        // How a newcomer is weighed against the entries it would displace.
        enum class Contest : std::uint8_t {
            per_victim,  // more frequent than each of them (Caffeine's test)
            aggregate,   // more frequent than all of them together
            density,     // more hits per byte than they have together
        };
        Contest contest = Contest::density;
        // > 1: the victim is the entry with the fewest hits per byte (by the sketch) among this
        // many of the oldest of the lowest class; 1: strictly the oldest. 0: 256 with
        // admission (the size-aware policy bench/cache measures best), 1 without.
        int victim_sample = 0;
        CachePolicy policy;
        CacheClock clock;                 // empty: the system clock
        MemoryManager* memory = nullptr;  // charge L1 to its CPU budget; trimmed under pressure
    };

    struct Found {
        Image image;
        CacheClass cls = CacheClass::cold;
        std::uint32_t accesses = 0;
        // The class rose above the one the lower tiers were last told (their TTL may be short).
        bool upgraded = false;
    };

    explicit MemoryTier(Options options);
    ~MemoryTier();
    MemoryTier(const MemoryTier&) = delete;
    MemoryTier& operator=(const MemoryTier&) = delete;

    // Counts the request in the frequency sketch, hit or miss.
    std::optional<Found> get(const CacheKey& key);
    // Stores `image` charged as `bytes`. accesses / reused carry the history of an entry
    // promoted from a lower tier. False when not stored (too large, admission, memory).
    bool put(const CacheKey& key, const Image& image, std::uint64_t bytes,
             std::uint32_t accesses = 1, bool reused = false);
    bool contains(const CacheKey& key) const;
    std::optional<CacheClass> class_of(const CacheKey& key) const;  // no access counted
    bool erase(const CacheKey& key);
    void clear();
    std::uint64_t trim(std::uint64_t bytes);  // evicts by policy until `bytes` are freed
    CacheTierStats stats() const;             // counts, bytes, entries, capacity (no latency)
    std::uint8_t frequency(const CacheKey& key) const;

  private:
    using Time = std::chrono::system_clock::time_point;
    // Lists ordered by last access (front: most recent). In each main list an entry's class
    // only falls with idle time, so the tail is both the oldest and the lowest class there,
    // and the victim is the best of the tails.
    enum ListId : std::uint8_t {
        window,
        fresh_cold,  // never reused, class by access count only (constant)
        fresh_warm,
        fresh_hot,
        reused_hot,   // reused, accesses ≥ hot.min_accesses: hot whatever the idle time
        reused_warm,  // reused, accesses ≥ warm.min_accesses
        reused_other,
        list_count
    };
    struct Entry {
        Image image;
        std::uint64_t bytes = 0;
        std::uint32_t accesses = 0;
        std::uint32_t hits = 0;
        Time last_access;
        CacheClass advertised = CacheClass::cold;
        ListId list = fresh_cold;
        std::list<CacheKey>::iterator pos;
    };
    using Map = std::unordered_map<CacheKey, Entry, CacheKeyHash>;

    Time now() const;
    CacheClass class_of(const Entry& e, Time now) const noexcept;
    bool expired(const Entry& e, Time now) const noexcept;
    ListId main_list_for(const Entry& e) const noexcept;
    void link(Map::iterator it, ListId list);
    void link_back(Map::iterator it);  // back where its last access puts it
    void unlink(Entry& e);
    void remove(Map::iterator it);
    void purge_expired(Time now);
    Map::iterator main_victim(Time now);
    bool make_room(std::uint64_t bytes, Time now);  // main space, by policy
    void admit_from_window(Time now);
    bool charge(std::uint64_t bytes, Time now);  // memory manager: reserve room for `bytes`
    void give_back_charge() noexcept;

    Options options_;
    std::uint64_t window_capacity_ = 0;
    std::uint64_t main_capacity_ = 0;

    mutable std::mutex mutex_;
    Map entries_;
    std::array<std::list<CacheKey>, list_count> lists_;
    std::uint64_t window_bytes_ = 0;
    std::uint64_t main_bytes_ = 0;
    FrequencySketch sketch_;
    Reservation account_;
    std::uint64_t pressure_callback_ = 0;
    CacheTierStats stats_;
};

}  // namespace artistry::cache
