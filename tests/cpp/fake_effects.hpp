#pragma once
// Fake effects for the graph engine's tests: they count calls, record when they start and
// end, wait for each other, fail on demand and report progress — and depend on no real effect.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/image.hpp"

#if defined(__SANITIZE_THREAD__)
// oneTBB's library is not instrumented. The engine annotates its own hand-offs through TBB
// (src/util/tsan.hpp); what is left are accesses to TBB's task objects whose innermost frame
// is TBB's header code. Same list as tests/tsan.supp. (One test file per binary includes this.)
extern "C" const char* __tsan_default_suppressions() {
    return "race_top:/oneapi/tbb/\n";
}
#endif

namespace artistry::test {

// What the fake effects did, in the order they did it. Thread-safe.
class Probe {
  public:
    void record(const std::string& what, const std::string& tag) {
        std::lock_guard lock(mutex_);
        log_.push_back(what + ":" + tag);
        seen_.insert(log_.back());
        if (what == "start") ++calls_[tag];
        cv_.notify_all();
    }
    int calls(const std::string& tag) const {
        std::lock_guard lock(mutex_);
        const auto it = calls_.find(tag);
        return it == calls_.end() ? 0 : it->second;
    }
    std::vector<std::string> log() const {
        std::lock_guard lock(mutex_);
        return log_;
    }
    // Position of an entry ("start:a") in the log; -1 when absent.
    long position(const std::string& entry) const {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < log_.size(); ++i)
            if (log_[i] == entry) return static_cast<long>(i);
        return -1;
    }
    // Waits until the log holds entry ("start:a"); false when timeout passes first.
    bool wait_for(const std::string& entry, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return seen_.count(entry) > 0; });
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::string> log_;
    std::map<std::string, int> calls_;
    std::set<std::string> seen_;
};

namespace fake {

inline ParamSpec text(const char* name, const char* value) {
    return {name, ParamType::text, std::string(value), 0, 0, {}, name, {}};
}
inline ParamSpec integer(const char* name, std::int64_t value, double max) {
    return {name, ParamType::integer, value, 0, max, {}, name, {}};
}
inline ParamSpec flag(const char* name) {
    return {name, ParamType::boolean, false, 0, 0, {}, name, {}};
}

inline EffectInfo effect(
    const std::string& name, std::vector<ParamSpec> params,
    std::function<Image(const Image&, const Params&, const EffectContext&)> run) {
    EffectInfo e;
    e.name = name;
    e.summary = "test double";
    e.params = std::move(params);
    e.describe = [](const Params&, int w, int h, const EffectContext&) {
        EffectPlan plan;
        plan.memory_bytes = static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4;
        return plan;
    };
    e.render = std::move(run);
    return e;
}

}  // namespace fake

// copy(tag):      counts the call; returns a copy of its input.
// meet(tag, partner, timeout_ms, sleep_ms): records its start, waits up to timeout_ms for the
//                 partner to have started ("met:" or "alone:" in the log), sleeps sleep_ms, ends.
// fail(message):  throws Error(internal, message).
// throw_std:      throws std::runtime_error("std failure").
// rows(tag, band, hold, timeout_ms): walks the rows in bands, reporting progress and checking
//                 cancellation; hold: after the first band, waits (up to timeout_ms) to be
//                 cancelled.
inline EffectRegistry fake_registry(const std::shared_ptr<Probe>& probe) {
    using namespace fake;
    EffectRegistry r;
    r.add(effect("copy", {text("tag", "")},
                 [probe](const Image& in, const Params& p, const EffectContext&) {
                     probe->record("start", p.text("tag"));
                     Image out = in.clone();
                     probe->record("end", p.text("tag"));
                     return out;
                 }));
    r.add(effect("meet",
                 {text("tag", ""), text("partner", ""), integer("timeout_ms", 2000, 60000),
                  integer("sleep_ms", 0, 60000)},
                 [probe](const Image& in, const Params& p, const EffectContext&) {
                     const auto tag = p.text("tag");
                     probe->record("start", tag);
                     const bool met =
                         probe->wait_for("start:" + p.text("partner"),
                                         std::chrono::milliseconds(p.integer("timeout_ms")));
                     probe->record(met ? "met" : "alone", tag);
                     std::this_thread::sleep_for(std::chrono::milliseconds(p.integer("sleep_ms")));
                     probe->record("end", tag);
                     return in;
                 }));
    r.add(effect("fail", {text("message", "boom")},
                 [](const Image&, const Params& p, const EffectContext&) -> Image {
                     throw Error(Status::internal, p.text("message"));
                 }));
    r.add(effect("throw_std", {}, [](const Image&, const Params&, const EffectContext&) -> Image {
        throw std::runtime_error("std failure");
    }));
    r.add(effect("rows",
                 {text("tag", ""), integer("band", 1, 1 << 20), flag("hold"),
                  integer("timeout_ms", 5000, 60000)},
                 [probe](const Image& in, const Params& p, const EffectContext& ctx) {
                     const auto tag = p.text("tag");
                     probe->record("start", tag);
                     Image out = in.clone();
                     const int band = static_cast<int>(p.integer("band"));
                     for (int y = 0; y < out.height(); y += band) {
                         ctx.throw_if_cancelled();
                         const int end = std::min(out.height(), y + band);
                         for (int row = y; row < end; ++row)
                             for (std::size_t x = 0; x < out.row_bytes(); ++x)
                                 out.row(row)[x] = static_cast<std::uint8_t>(255 - out.row(row)[x]);
                         ctx.report(end, out.height());
                         if (p.flag("hold") && y == 0) {
                             probe->record("holding", tag);
                             const auto until = std::chrono::steady_clock::now() +
                                                std::chrono::milliseconds(p.integer("timeout_ms"));
                             while (!ctx.cancelled() && std::chrono::steady_clock::now() < until)
                                 std::this_thread::sleep_for(std::chrono::milliseconds(1));
                             ctx.throw_if_cancelled();
                             throw Error(Status::timeout, "held without being cancelled");
                         }
                     }
                     probe->record("end", tag);
                     return out;
                 }));
    return r;
}

}  // namespace artistry::test
