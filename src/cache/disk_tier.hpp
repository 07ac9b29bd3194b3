#pragma once
// L2: one file per entry under <dir>/v1/<2 hex>/<32 hex>.art, written to a temporary name and
// renamed (readers see a whole file or none), checked on every read (header checksum, key,
// size, payload xxh3): a torn or corrupted file is a miss and is removed. A byte cap evicts the
// least recently used files. Several processes may share the folder. Thread-safe; never throws
// from get/put.

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "artistry/cache.hpp"

namespace artistry::cache {

class DiskTier {
  public:
    struct Options {
        std::string dir;
        std::uint64_t capacity_bytes = 0;
    };
    struct Found {
        Image image;
        std::uint32_t accesses = 1;
    };

    // Creates the folder; Error(io_error) when it cannot. Indexes the files already there.
    explicit DiskTier(Options options);

    std::optional<Found> get(const CacheKey& key);
    bool put(const CacheKey& key, const Image& image, std::uint32_t accesses);
    bool erase(const CacheKey& key);
    void rescan();  // rebuilds the index from the folder (files other processes wrote)
    std::string path_of(const CacheKey& key) const;
    const std::string& dir() const noexcept { return options_.dir; }
    CacheTierStats stats() const;         // no latency
    std::uint64_t corrupt_count() const;  // entries found damaged and removed

  private:
    struct Indexed {
        std::uint64_t bytes = 0;
        std::list<CacheKey>::iterator pos;
    };
    std::optional<Found> read(const CacheKey& key, const std::string& path);
    bool write(const CacheKey& key, const Image& image, std::uint32_t accesses,
               const std::string& path);
    void corrupt(const CacheKey& key, const std::string& path);
    void index_locked(const CacheKey& key, std::uint64_t bytes);
    void forget_locked(const CacheKey& key);
    void evict_locked();

    Options options_;
    std::string root_;
    mutable std::mutex mutex_;
    std::unordered_map<CacheKey, Indexed, CacheKeyHash> index_;
    std::list<CacheKey> lru_;  // front: most recent
    std::uint64_t bytes_ = 0;
    CacheTierStats stats_;
    std::uint64_t corrupt_ = 0;
};

}  // namespace artistry::cache
