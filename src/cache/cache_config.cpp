// Cache configuration from options and environment.

#include <unistd.h>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "cache/cache_config.hpp"
#include "cache/redis_tier.hpp"

namespace artistry::cache {

namespace {

const char* env(const char* name, bool use) {
    if (!use) return nullptr;
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
}

bool parse_switch(const char* name, std::string value) {
    for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (value == "on" || value == "1" || value == "true" || value == "yes") return true;
    if (value == "off" || value == "0" || value == "false" || value == "no") return false;
    throw Error(Status::invalid_argument, fmt::format("{}='{}': expected on or off", name, value));
}

bool switch_from(const std::optional<bool>& code, const char* name, bool use, bool fallback) {
    if (code) return *code;
    if (const char* v = env(name, use)) return parse_switch(name, v);
    return fallback;
}

std::uint64_t mib_from(std::uint64_t code, const char* name, bool use, std::uint64_t fallback) {
    if (code > 0) return code;
    const char* v = env(name, use);
    if (v == nullptr) return fallback;
    double mib = 0;
    const std::string_view s(v);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), mib);
    if (ec != std::errc() || end != s.data() + s.size() || !(mib > 0) || mib > 1e12)
        throw Error(Status::invalid_argument,
                    fmt::format("{}='{}': expected a size in MiB such as 512", name, v));
    return static_cast<std::uint64_t>(std::llround(mib * 1024.0 * 1024.0));
}

// ARTISTRY_CACHE_TIERS: the tier switches it gives (all unset when the variable is).
CacheOptions tiers_from_env(bool use) {
    CacheOptions t;
    const char* v = env("ARTISTRY_CACHE_TIERS", use);
    if (v == nullptr) return t;
    try {
        set_cache_tiers(t, v);
    } catch (const Error& e) {
        throw Error(Status::invalid_argument, fmt::format("ARTISTRY_CACHE_TIERS: {}", e.what()));
    }
    return t;
}

}  // namespace

std::string default_cache_dir() {
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg == '/')
        return (std::filesystem::path(xdg) / "artistry").string();
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
        return (std::filesystem::path(home) / ".cache" / "artistry").string();
    std::error_code ec;
    return (std::filesystem::temp_directory_path(ec) / fmt::format("artistry-cache-{}", ::getuid()))
        .string();
}

CacheConfig resolve_cache_config(const CacheOptions& options) {
    const bool use = options.use_environment;
    CacheConfig c;
    c.options = options;
    CacheOptions& o = c.options;
    c.enabled = switch_from(o.enabled, "ARTISTRY_CACHE", use, true);
    const CacheOptions tiers = tiers_from_env(use);
    c.memory = switch_from(o.memory, "ARTISTRY_CACHE_MEMORY", use, tiers.memory.value_or(true));
    o.memory_bytes = mib_from(o.memory_bytes, "CACHE_MEMORY_SIZE_MB", use, 1ull << 30);
    if (o.admission) {
        c.admission = *o.admission;
    } else if (const char* v = env("ARTISTRY_CACHE_ADMISSION", use)) {
        const std::string s(v);
        if (s == "tinylfu") {
            c.admission = true;
        } else if (s == "none" || s == "off") {
            c.admission = false;
        } else {
            c.admission = parse_switch("ARTISTRY_CACHE_ADMISSION", s);
        }
    }
    c.disk = switch_from(o.disk, "ARTISTRY_CACHE_DISK", use, tiers.disk.value_or(true));
    if (o.disk_dir.empty()) {
        const char* v = env("ARTISTRY_CACHE_DIR", use);
        o.disk_dir = v != nullptr ? std::string(v) : default_cache_dir();
    }
    o.disk_bytes = mib_from(o.disk_bytes, "ARTISTRY_CACHE_DISK_MB", use, 4ull << 30);
    if (o.redis_url.empty())
        if (const char* v = env("ARTISTRY_REDIS_URL", use)) o.redis_url = v;
    c.redis = switch_from(o.redis, "ARTISTRY_CACHE_REDIS", use,
                          tiers.redis.value_or(!o.redis_url.empty()));
    if (c.redis && o.redis_url.empty())
        throw Error(Status::invalid_argument,
                    "the Redis cache tier is on but no URL is given (ARTISTRY_REDIS_URL, e.g. "
                    "redis://127.0.0.1:6379/0)");
    if (c.redis && !parse_redis_url(o.redis_url))
        throw Error(Status::invalid_argument,
                    fmt::format("Redis URL '{}' not understood: expected "
                                "redis://[[user]:password@]host[:port][/db]",
                                o.redis_url));
    const CachePolicy& p = o.policy;
    if (p.hot.reused_within > p.warm.reused_within ||
        (p.hot.min_accesses > 0 && p.warm.min_accesses > p.hot.min_accesses) ||
        p.hot.priority < p.warm.priority || p.warm.priority < p.cold.priority)
        throw Error(Status::invalid_argument,
                    "cache policy: hot must be at least as demanding as warm (accesses, reuse "
                    "window) and rank at least as high (priority)");
    if (o.redis_compression_level < 1 || o.redis_compression_level > 19)
        throw Error(Status::invalid_argument, "redis_compression_level must be in 1..19");
    if (!c.enabled) c.memory = c.disk = c.redis = false;
    return c;
}

}  // namespace artistry::cache

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

void set_cache_tiers(CacheOptions& options, const std::string& list) {
    std::string s = list;
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    options.memory = options.disk = options.redis = false;
    if (s == "none") return;
    for (std::size_t i = 0; i <= s.size();) {
        const std::size_t j = std::min(s.find(',', i), s.size());
        std::string name = s.substr(i, j - i);
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        if (name == "memory")
            options.memory = true;
        else if (name == "disk")
            options.disk = true;
        else if (name == "redis")
            options.redis = true;
        else
            throw Error(Status::invalid_argument,
                        fmt::format("cache tiers '{}': '{}' is not a tier; expected a list of "
                                    "memory, disk, redis, or none",
                                    list, name));
        i = j + 1;
    }
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
