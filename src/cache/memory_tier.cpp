// L1 memory tier: classes, TTLs, byte budget, W-TinyLFU admission, memory-manager charge.

#include <algorithm>
#include <iterator>
#include <limits>
#include <vector>

#include "cache/memory_tier.hpp"

namespace artistry::cache {

namespace {

std::uint32_t default_sketch_width(std::uint64_t capacity) {
    // One counter per row for each 128 KiB of capacity: many times the entries a cache of
    // images holds, so that few keys share counters.
    const std::uint64_t w = std::clamp<std::uint64_t>(capacity >> 17, 1024, 1u << 20);
    return static_cast<std::uint32_t>(w);
}

}  // namespace

MemoryTier::MemoryTier(Options options)
    : options_(std::move(options)),
      sketch_(options_.sketch_width > 0 ? options_.sketch_width
                                        : default_sketch_width(options_.capacity_bytes)) {
    if (options_.admission) {
        const double f = std::clamp(options_.window_fraction, 0.0, 0.5);
        window_capacity_ =
            static_cast<std::uint64_t>(static_cast<double>(options_.capacity_bytes) * f);
    }
    main_capacity_ = options_.capacity_bytes - window_capacity_;
    if (options_.victim_sample <= 0) options_.victim_sample = options_.admission ? 256 : 1;
    stats_.tier = CacheTier::memory;
    stats_.enabled = stats_.up = true;
    stats_.capacity_bytes = options_.capacity_bytes;
    MemoryManager* mm = options_.memory;
    if (mm != nullptr && mm->has_device(Device::cpu())) {
        if (auto account = mm->try_reserve(Device::cpu(), 0)) account_ = std::move(*account);
        pressure_callback_ = mm->add_pressure_callback(
            [this](const PressureEvent& e) { return trim(e.to_free); }, Device::cpu());
    } else {
        options_.memory = nullptr;
    }
}

MemoryTier::~MemoryTier() {
    if (options_.memory != nullptr) options_.memory->remove_pressure_callback(pressure_callback_);
}

MemoryTier::Time MemoryTier::now() const {
    return options_.clock ? options_.clock() : std::chrono::system_clock::now();
}

CacheClass MemoryTier::class_of(const Entry& e, Time now) const noexcept {
    std::optional<std::chrono::seconds> since_reuse;
    if (e.hits > 0)
        since_reuse = std::chrono::duration_cast<std::chrono::seconds>(now - e.last_access);
    return options_.policy.classify(e.accesses, since_reuse);
}

bool MemoryTier::expired(const Entry& e, Time now) const noexcept {
    const std::chrono::seconds ttl = options_.policy.rule(class_of(e, now)).ttl;
    return ttl.count() > 0 && now - e.last_access > ttl;
}

MemoryTier::ListId MemoryTier::main_list_for(const Entry& e) const noexcept {
    if (options_.eviction == CacheEviction::lru) return fresh_cold;
    const CachePolicy& p = options_.policy;
    if (e.hits == 0) {
        switch (p.classify(e.accesses, std::nullopt)) {
            case CacheClass::cold:
                return fresh_cold;
            case CacheClass::warm:
                return fresh_warm;
            case CacheClass::hot:
                return fresh_hot;
        }
    }
    if (p.hot.min_accesses > 0 && e.accesses >= p.hot.min_accesses) return reused_hot;
    if (p.warm.min_accesses > 0 && e.accesses >= p.warm.min_accesses) return reused_warm;
    return reused_other;
}

void MemoryTier::link(Map::iterator it, ListId list) {
    Entry& e = it->second;
    lists_[list].push_front(it->first);
    e.pos = lists_[list].begin();
    e.list = list;
    (list == window ? window_bytes_ : main_bytes_) += e.bytes;
}

void MemoryTier::link_back(Map::iterator it) {
    Entry& e = it->second;
    auto& list = lists_[e.list];
    auto pos = list.end();  // lists run from the most recent to the oldest
    while (pos != list.begin() &&
           entries_.find(*std::prev(pos))->second.last_access < e.last_access)
        --pos;
    e.pos = list.insert(pos, it->first);
    (e.list == window ? window_bytes_ : main_bytes_) += e.bytes;
}

void MemoryTier::unlink(Entry& e) {
    lists_[e.list].erase(e.pos);
    (e.list == window ? window_bytes_ : main_bytes_) -= e.bytes;
}

void MemoryTier::remove(Map::iterator it) {
    unlink(it->second);
    entries_.erase(it);
}

// Expired entries form the tail of each list (older means a lower class and a shorter TTL).
void MemoryTier::purge_expired(Time now) {
    for (auto& list : lists_) {
        while (!list.empty()) {
            const auto it = entries_.find(list.back());
            if (!expired(it->second, now)) break;
            remove(it);
            ++stats_.expirations;
        }
    }
}

MemoryTier::Map::iterator MemoryTier::main_victim(Time now) {
    Map::iterator best = entries_.end();
    int best_priority = std::numeric_limits<int>::max();
    for (int l = fresh_cold; l < list_count; ++l) {
        if (lists_[l].empty()) continue;
        const auto it = entries_.find(lists_[l].back());
        const int priority = options_.policy.rule(class_of(it->second, now)).priority;
        if (best == entries_.end() || priority < best_priority ||
            (priority == best_priority && it->second.last_access < best->second.last_access)) {
            best = it;
            best_priority = priority;
        }
    }
    if (best == entries_.end() || options_.victim_sample <= 1) return best;
    // Among the oldest few of that class in its list, the one with the fewest hits per byte.
    const auto& list = lists_[best->second.list];
    auto pos = list.end();
    double best_density = std::numeric_limits<double>::max();
    Map::iterator pick = best;
    for (int n = 0; n < options_.victim_sample && pos != list.begin(); ++n) {
        --pos;
        const auto it = entries_.find(*pos);
        if (options_.policy.rule(class_of(it->second, now)).priority != best_priority) break;
        const double density = (1.0 + sketch_.estimate(it->first)) /
                               static_cast<double>(std::max<std::uint64_t>(it->second.bytes, 1));
        if (density < best_density) {
            best_density = density;
            pick = it;
        }
    }
    return pick;
}

bool MemoryTier::make_room(std::uint64_t bytes, Time now) {
    if (bytes > main_capacity_) return false;
    while (main_bytes_ + bytes > main_capacity_) {
        const auto victim = main_victim(now);
        if (victim == entries_.end()) return false;
        remove(victim);
        ++stats_.evictions;
    }
    return true;
}

// An entry leaving the window enters the main space only when the sketch rates it more
// frequent than what it would push out (all of it together, by default); otherwise it is the
// one dropped and the main space is left as it was.
void MemoryTier::admit_from_window(Time now) {
    while (window_bytes_ > window_capacity_ && !lists_[window].empty()) {
        const auto cit = entries_.find(lists_[window].back());
        unlink(cit->second);
        const std::uint64_t bytes = cit->second.bytes;
        bool admitted = bytes <= main_capacity_;
        const double freq = sketch_.estimate(cit->first);
        double displaced = 0;
        std::uint64_t displaced_bytes = 0;
        std::vector<Map::iterator> victims;  // unlinked, still in the map
        while (admitted && main_bytes_ + bytes > main_capacity_) {
            const auto victim = main_victim(now);
            if (victim == entries_.end()) break;
            const double vf = sketch_.estimate(victim->first);
            displaced_bytes += victim->second.bytes;
            unlink(victim->second);
            victims.push_back(victim);
            switch (options_.contest) {
                case Options::Contest::per_victim:
                    displaced = std::max(displaced, vf);
                    admitted = freq > displaced;
                    break;
                case Options::Contest::aggregate:
                    displaced += vf;
                    admitted = freq > displaced;
                    break;
                case Options::Contest::density:
                    displaced += vf;
                    admitted = freq * static_cast<double>(displaced_bytes) >
                               displaced * static_cast<double>(bytes);
                    break;
            }
        }
        if (admitted) {
            for (const auto v : victims) entries_.erase(v);
            stats_.evictions += victims.size();
            link(cit, main_list_for(cit->second));
        } else {
            for (auto v = victims.rbegin(); v != victims.rend(); ++v) link_back(*v);
            entries_.erase(cit);
            ++stats_.rejected;
        }
    }
}

bool MemoryTier::charge(std::uint64_t bytes, Time now) {
    if (options_.memory == nullptr) return true;
    const auto held = [&] { return window_bytes_ + main_bytes_ + bytes; };
    if (held() <= account_.bytes() || account_.try_grow(held() - account_.bytes())) return true;
    // The budget is short: make room from our own entries rather than take more.
    while (held() > account_.bytes()) {
        auto victim = main_victim(now);
        if (victim == entries_.end() && !lists_[window].empty())
            victim = entries_.find(lists_[window].back());
        if (victim == entries_.end()) return false;
        remove(victim);
        ++stats_.evictions;
    }
    return true;
}

void MemoryTier::give_back_charge() noexcept {
    if (options_.memory != nullptr) account_.shrink_to(window_bytes_ + main_bytes_);
}

std::optional<MemoryTier::Found> MemoryTier::get(const CacheKey& key) {
    const std::lock_guard lock(mutex_);
    const Time t = now();
    if (options_.admission) sketch_.increment(key);
    const auto it = entries_.find(key);
    if (it == entries_.end()) {
        ++stats_.misses;
        return std::nullopt;
    }
    Entry& e = it->second;
    if (expired(e, t)) {
        remove(it);
        give_back_charge();
        ++stats_.expirations;
        ++stats_.misses;
        return std::nullopt;
    }
    const ListId before = e.list;
    unlink(e);
    if (e.accesses < std::numeric_limits<std::uint32_t>::max()) ++e.accesses;
    ++e.hits;
    e.last_access = t;
    link(it, before == window ? window : main_list_for(e));
    Found found{e.image, class_of(e, t), e.accesses, false};
    if (found.cls > e.advertised) {
        found.upgraded = true;
        e.advertised = found.cls;
    }
    ++stats_.hits;
    return found;
}

bool MemoryTier::put(const CacheKey& key, const Image& image, std::uint64_t bytes,
                     std::uint32_t accesses, bool reused) {
    const std::lock_guard lock(mutex_);
    const Time t = now();
    if (const auto it = entries_.find(key); it != entries_.end()) {
        if (!expired(it->second, t)) return true;  // same key, same content: keep it
        remove(it);
        ++stats_.expirations;
    }
    purge_expired(t);
    if (bytes > options_.capacity_bytes || (!options_.admission && bytes > main_capacity_)) {
        ++stats_.rejected;
        give_back_charge();
        return false;
    }
    Entry entry;
    entry.image = image;
    entry.bytes = bytes;
    entry.accesses = std::max<std::uint32_t>(accesses, 1);
    entry.hits = reused ? 1 : 0;
    entry.last_access = t;
    entry.advertised = class_of(entry, t);
    if (!options_.admission && !make_room(bytes, t)) {
        ++stats_.rejected;
        return false;
    }
    if (!charge(bytes, t)) {
        ++stats_.rejected;
        give_back_charge();
        return false;
    }
    const auto it = entries_.emplace(key, std::move(entry)).first;
    if (options_.admission) {
        sketch_.set_sample(10 * std::max<std::uint64_t>(entries_.size(), 64));
        link(it, window);
        admit_from_window(t);
    } else {
        link(it, main_list_for(it->second));
    }
    give_back_charge();
    const bool stored = entries_.count(key) > 0;
    if (stored) ++stats_.puts;
    return stored;
}

bool MemoryTier::contains(const CacheKey& key) const {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    return it != entries_.end() && !expired(it->second, now());
}

std::optional<CacheClass> MemoryTier::class_of(const CacheKey& key) const {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return class_of(it->second, now());
}

bool MemoryTier::erase(const CacheKey& key) {
    const std::lock_guard lock(mutex_);
    const auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    remove(it);
    give_back_charge();
    return true;
}

void MemoryTier::clear() {
    const std::lock_guard lock(mutex_);
    entries_.clear();
    for (auto& l : lists_) l.clear();
    window_bytes_ = main_bytes_ = 0;
    give_back_charge();
}

std::uint64_t MemoryTier::trim(std::uint64_t bytes) {
    const std::lock_guard lock(mutex_);
    const Time t = now();
    std::uint64_t freed = 0;
    while (freed < bytes) {
        auto victim = main_victim(t);
        if (victim == entries_.end() && !lists_[window].empty())
            victim = entries_.find(lists_[window].back());
        if (victim == entries_.end()) break;
        freed += victim->second.bytes;
        remove(victim);
        ++stats_.evictions;
    }
    give_back_charge();
    return freed;
}

CacheTierStats MemoryTier::stats() const {
    const std::lock_guard lock(mutex_);
    CacheTierStats s = stats_;
    s.bytes = window_bytes_ + main_bytes_;
    s.entries = entries_.size();
    return s;
}

std::uint8_t MemoryTier::frequency(const CacheKey& key) const {
    const std::lock_guard lock(mutex_);
    return sketch_.estimate(key);
}

}  // namespace artistry::cache
