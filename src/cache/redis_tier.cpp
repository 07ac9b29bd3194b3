// L3 Redis tier over hiredis (synchronous contexts with timeouts, pooled).

#include <algorithm>
#include <charconv>
#include <csignal>
#include <cstdarg>
#include <ctime>

#include <hiredis/hiredis.h>
#include <pthread.h>

#include "cache/entry_format.hpp"
#include "cache/redis_tier.hpp"

namespace artistry::cache {

namespace {

using Clock = std::chrono::steady_clock;

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

// hiredis writes with write(2): a peer that closed the socket would raise SIGPIPE and kill the
// host process. Block it on this thread around a command and swallow one that arrived.
class SigpipeGuard {
  public:
    SigpipeGuard() {
        sigemptyset(&pipe_);
        sigaddset(&pipe_, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    }
    ~SigpipeGuard() {
        if (!was_pending_) {
            sigset_t pending;
            sigpending(&pending);
            if (sigismember(&pending, SIGPIPE) == 1) {
                const timespec zero{0, 0};
                sigtimedwait(&pipe_, nullptr, &zero);
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

  private:
    sigset_t pipe_{};
    sigset_t old_{};
    bool was_pending_ = false;
};

struct Reply {
    redisReply* r = nullptr;
    ~Reply() {
        if (r != nullptr) freeReplyObject(r);
    }
    Reply() = default;
    Reply(const Reply&) = delete;
    Reply& operator=(const Reply&) = delete;
    bool error() const { return r == nullptr || r->type == REDIS_REPLY_ERROR; }
};

// Sends one command and reads its reply; false when the connection failed or timed out.
bool command(redisContext* c, Reply& reply, const char* format, ...) {
    va_list ap;
    va_start(ap, format);
    reply.r = static_cast<redisReply*>(redisvCommand(c, format, ap));
    va_end(ap);
    return reply.r != nullptr && c->err == 0;
}

bool parse_int(std::string_view s, int& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::optional<RedisEndpoint> parse_redis_url(std::string_view url) {
    RedisEndpoint e;
    constexpr std::string_view scheme = "redis://";
    if (url.starts_with(scheme)) url.remove_prefix(scheme.size());
    if (const auto at = url.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = url.substr(0, at);
        url.remove_prefix(at + 1);
        const auto colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            e.password = std::string(userinfo);
        } else {
            e.username = std::string(userinfo.substr(0, colon));
            e.password = std::string(userinfo.substr(colon + 1));
        }
    }
    if (const auto slash = url.find('/'); slash != std::string_view::npos) {
        const std::string_view db = url.substr(slash + 1);
        url = url.substr(0, slash);
        if (!db.empty() && (!parse_int(db, e.db) || e.db < 0)) return std::nullopt;
    }
    if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
        if (!parse_int(url.substr(colon + 1), e.port) || e.port <= 0 || e.port > 65535)
            return std::nullopt;
        url = url.substr(0, colon);
    }
    if (url.empty()) return std::nullopt;
    e.host = std::string(url);
    return e;
}

RedisTier::RedisTier(Options options) : options_(std::move(options)) {
    options_.connections = std::max(options_.connections, 1);
    backoff_ = options_.retry_min;
    stats_.tier = CacheTier::redis;
    stats_.enabled = stats_.up = true;
}

RedisTier::~RedisTier() {
    const std::lock_guard lock(mutex_);
    for (const Connection& c : idle_) redisFree(c.context);
    idle_.clear();
}

redisContext* RedisTier::connect() const {
    const RedisEndpoint& e = options_.endpoint;
    redisContext* c =
        redisConnectWithTimeout(e.host.c_str(), e.port, to_timeval(options_.connect_timeout));
    if (c == nullptr) return nullptr;
    if (c->err != 0 || redisSetTimeout(c, to_timeval(options_.command_timeout)) != REDIS_OK) {
        redisFree(c);
        return nullptr;
    }
    redisEnableKeepAlive(c);
    const SigpipeGuard guard;
    bool ok = true;
    if (!e.password.empty()) {
        Reply r;
        ok = e.username.empty() ? command(c, r, "AUTH %b", e.password.data(), e.password.size())
                                : command(c, r, "AUTH %b %b", e.username.data(), e.username.size(),
                                          e.password.data(), e.password.size());
        ok = ok && !r.error();
    }
    if (ok && e.db != 0) {
        Reply r;
        ok = command(c, r, "SELECT %d", e.db) && !r.error();
    }
    if (!ok) {
        redisFree(c);
        return nullptr;
    }
    return c;
}

void RedisTier::mark_down_locked() {
    backoff_ = up_ ? options_.retry_min : std::min(backoff_ * 2, options_.retry_max);
    up_ = false;
    retry_at_ = Clock::now() + backoff_;
    for (const Connection& c : idle_) redisFree(c.context);
    open_ -= static_cast<int>(idle_.size());
    idle_.clear();
    ++generation_;
    idle_cv_.notify_all();
}

// A connection, or nullopt while the tier is down (a call then costs nothing but a count).
std::optional<RedisTier::Connection> RedisTier::acquire() {
    std::unique_lock lock(mutex_);
    if (!up_) {
        if (probing_ || Clock::now() < retry_at_) {
            ++stats_.unavailable;
            return std::nullopt;
        }
        probing_ = true;  // one caller tries to reconnect; the others keep skipping
        lock.unlock();
        redisContext* c = connect();
        lock.lock();
        probing_ = false;
        if (c == nullptr) {
            mark_down_locked();
            ++stats_.errors;
            ++stats_.unavailable;
            return std::nullopt;
        }
        up_ = true;
        backoff_ = options_.retry_min;
        ++stats_.reconnects;
        ++open_;
        return Connection{c, generation_};
    }
    const auto give_up = Clock::now() + options_.command_timeout;
    while (idle_.empty() && open_ >= options_.connections && up_) {
        if (idle_cv_.wait_until(lock, give_up) == std::cv_status::timeout && idle_.empty()) {
            ++stats_.unavailable;  // every connection busy for longer than a command may take
            return std::nullopt;
        }
    }
    if (!up_) {
        ++stats_.unavailable;
        return std::nullopt;
    }
    if (!idle_.empty()) {
        const Connection c = idle_.back();
        idle_.pop_back();
        return c;
    }
    ++open_;
    const std::uint64_t generation = generation_;
    lock.unlock();
    redisContext* c = connect();
    lock.lock();
    if (c == nullptr) {
        --open_;
        if (generation == generation_) mark_down_locked();
        ++stats_.errors;
        return std::nullopt;
    }
    return Connection{c, generation};
}

void RedisTier::release(Connection c, bool healthy) {
    const std::lock_guard lock(mutex_);
    if (healthy && c.generation == generation_ && up_) {
        idle_.push_back(c);
    } else {
        redisFree(c.context);
        --open_;
        if (!healthy) {
            ++stats_.errors;
            if (c.generation == generation_) mark_down_locked();
        }
    }
    idle_cv_.notify_one();
}

std::optional<RedisTier::Found> RedisTier::get(const CacheKey& key,
                                               std::chrono::seconds refresh_ttl) {
    auto conn = acquire();
    if (!conn) return std::nullopt;
    const std::string k = redis_key(key);
    const SigpipeGuard guard;
    redisContext* c = conn->context;
    redisAppendCommand(c, "GET %b", k.data(), k.size());
    redisAppendCommand(c, "EXPIRE %b %lld", k.data(), k.size(),
                       static_cast<long long>(std::max<std::int64_t>(refresh_ttl.count(), 1)));
    Reply value, expire;
    bool ok = redisGetReply(c, reinterpret_cast<void**>(&value.r)) == REDIS_OK &&
              redisGetReply(c, reinterpret_cast<void**>(&expire.r)) == REDIS_OK;
    if (!ok || value.r == nullptr) {
        release(*conn, false);
        return std::nullopt;
    }
    std::optional<Found> found;
    bool corrupt = false;
    if (value.r->type == REDIS_REPLY_STRING) {
        try {
            auto decoded = decode_entry(
                {reinterpret_cast<const std::uint8_t*>(value.r->str), value.r->len}, key);
            if (decoded) {
                found = Found{std::move(decoded->image), decoded->accesses};
            } else {
                corrupt = true;
            }
        } catch (...) {
            corrupt = true;
        }
    }
    if (corrupt) {
        Reply del;
        ok = command(c, del, "DEL %b", k.data(), k.size());
    }
    release(*conn, ok);
    const std::lock_guard lock(mutex_);
    if (found) {
        ++stats_.hits;
    } else {
        ++stats_.misses;
        if (corrupt) ++stats_.errors;
    }
    return found;
}

bool RedisTier::put(const CacheKey& key, const Image& image, std::uint32_t accesses,
                    std::chrono::seconds ttl) {
    if (!up()) {  // skip the compression work too while down (acquire() may still probe)
        const std::lock_guard lock(mutex_);
        if (probing_ || Clock::now() < retry_at_) {
            ++stats_.unavailable;
            return false;
        }
    }
    std::vector<std::uint8_t> blob;
    try {
        blob = encode_entry(key, image, accesses, options_.compression_level);
    } catch (...) {
        const std::lock_guard lock(mutex_);
        ++stats_.errors;
        return false;
    }
    if (blob.size() > options_.max_entry_bytes) {
        const std::lock_guard lock(mutex_);
        ++stats_.rejected;
        return false;
    }
    auto conn = acquire();
    if (!conn) return false;
    const std::string k = redis_key(key);
    const SigpipeGuard guard;
    Reply reply;
    const bool ok =
        command(conn->context, reply, "SET %b %b EX %lld", k.data(), k.size(), blob.data(),
                blob.size(), static_cast<long long>(std::max<std::int64_t>(ttl.count(), 1)));
    release(*conn, ok);
    const std::lock_guard lock(mutex_);
    if (!ok || reply.error()) {
        if (ok) ++stats_.errors;  // Redis answered with an error (e.g. out of memory)
        return false;
    }
    ++stats_.puts;
    return true;
}

bool RedisTier::touch(const CacheKey& key, std::chrono::seconds ttl) {
    auto conn = acquire();
    if (!conn) return false;
    const std::string k = redis_key(key);
    const SigpipeGuard guard;
    Reply reply;
    const bool ok = command(conn->context, reply, "EXPIRE %b %lld", k.data(), k.size(),
                            static_cast<long long>(std::max<std::int64_t>(ttl.count(), 1)));
    release(*conn, ok);
    return ok && !reply.error();
}

bool RedisTier::erase(const CacheKey& key) {
    auto conn = acquire();
    if (!conn) return false;
    const std::string k = redis_key(key);
    const SigpipeGuard guard;
    Reply reply;
    const bool ok = command(conn->context, reply, "DEL %b", k.data(), k.size());
    release(*conn, ok);
    return ok && !reply.error();
}

bool RedisTier::up() const {
    const std::lock_guard lock(mutex_);
    return up_;
}

CacheTierStats RedisTier::stats() const {
    const std::lock_guard lock(mutex_);
    CacheTierStats s = stats_;
    s.up = up_;
    return s;
}

}  // namespace artistry::cache
