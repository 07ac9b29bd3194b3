#pragma once
// A wall clock for the result cache that stands still until moved by hand: the cache tests and
// bench/cache simulate days of traffic in moments.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "artistry/cache.hpp"

namespace artistry::support {

// A clock moved by hand; copies share the time.
struct ManualClock {
    std::shared_ptr<std::atomic<std::int64_t>> seconds =
        std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
    CacheClock clock() const {
        auto s = seconds;
        return
            [s] { return std::chrono::system_clock::time_point(std::chrono::seconds(s->load())); };
    }
    void advance(std::chrono::seconds d) const { seconds->fetch_add(d.count()); }
};

}  // namespace artistry::support
