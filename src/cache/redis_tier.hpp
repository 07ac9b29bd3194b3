#pragma once
// L3: entries in Redis (hiredis), shared by processes and machines, delta + zstd compressed,
// with a TTL by class. Connect and command timeouts bound every call; after a failure the tier
// is down: calls return at once (counted as unavailable) until a reconnect attempt, spaced by
// a doubling backoff, succeeds. Thread-safe (a small pool of connections); never throws.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artistry/cache.hpp"

struct redisContext;

namespace artistry::cache {

struct RedisEndpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    int db = 0;
    std::string username;
    std::string password;
};
// redis://[[username]:password@]host[:port][/db]; nullopt when malformed.
std::optional<RedisEndpoint> parse_redis_url(std::string_view url);

class RedisTier {
  public:
    struct Options {
        RedisEndpoint endpoint;
        std::chrono::milliseconds connect_timeout{200};
        std::chrono::milliseconds command_timeout{500};
        std::chrono::milliseconds retry_min{250};
        std::chrono::milliseconds retry_max{30'000};
        int connections = 4;
        int compression_level = 1;
        std::uint64_t max_entry_bytes = 256ull << 20;
        std::string prefix = "artistry:v1:";
    };
    struct Found {
        Image image;
        std::uint32_t accesses = 1;
    };

    explicit RedisTier(Options options);  // connects lazily, on first use
    ~RedisTier();
    RedisTier(const RedisTier&) = delete;
    RedisTier& operator=(const RedisTier&) = delete;

    // GET, and EXPIRE to `refresh_ttl` in the same round trip (a hit makes the entry hotter).
    std::optional<Found> get(const CacheKey& key, std::chrono::seconds refresh_ttl);
    bool put(const CacheKey& key, const Image& image, std::uint32_t accesses,
             std::chrono::seconds ttl);
    bool touch(const CacheKey& key, std::chrono::seconds ttl);  // EXPIRE
    bool erase(const CacheKey& key);
    bool up() const;
    CacheTierStats stats() const;  // no latency; bytes: not known (0)
    std::string redis_key(const CacheKey& key) const { return options_.prefix + key.hex(); }

  private:
    struct Connection {
        redisContext* context = nullptr;
        std::uint64_t generation = 0;
    };
    std::optional<Connection> acquire();
    void release(Connection c, bool healthy);
    redisContext* connect() const;
    void mark_down_locked();

    Options options_;
    mutable std::mutex mutex_;
    std::condition_variable idle_cv_;
    std::vector<Connection> idle_;
    int open_ = 0;
    std::uint64_t generation_ = 0;
    bool up_ = true;
    bool probing_ = false;
    std::chrono::steady_clock::time_point retry_at_{};
    std::chrono::milliseconds backoff_{0};
    CacheTierStats stats_;
};

}  // namespace artistry::cache
