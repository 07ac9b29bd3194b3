#pragma once
// Progress from parallel row bands, reported one call at a time and in increasing order.

#include <cstdint>
#include <mutex>

#include "artistry/effect.hpp"

namespace artistry::util {

class RowProgress {
  public:
    RowProgress(const EffectContext& ctx, std::int64_t total) : ctx_(ctx), total_(total) {}
    void add(std::int64_t rows) {
        const std::lock_guard lock(mutex_);
        done_ += rows;
        ctx_.report(done_, total_);
    }

  private:
    const EffectContext& ctx_;
    std::int64_t total_;
    std::int64_t done_ = 0;
    std::mutex mutex_;
};

}  // namespace artistry::util
