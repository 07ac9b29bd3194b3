#pragma once
// A bounded queue of row bands between the reader, worker and writer threads. close() ends the
// stream normally; abort() wakes everyone so a failure anywhere stops the whole run.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "artistry/image.hpp"

namespace artistry::tiling {

struct Band {
    Image pixels;
    int y0 = 0;
};

class BandQueue {
  public:
    explicit BandQueue(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

    // False when the queue was aborted (the band is dropped).
    bool push(Band band) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, [&] { return aborted_ || items_.size() < capacity_; });
        if (aborted_) return false;
        items_.push_back(std::move(band));
        not_empty_.notify_one();
        return true;
    }
    // Empty when closed and drained, or aborted.
    std::optional<Band> pop() {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
        if (aborted_ || items_.empty()) return std::nullopt;
        Band b = std::move(items_.front());
        items_.pop_front();
        not_full_.notify_one();
        return b;
    }
    void close() {
        const std::lock_guard lock(mutex_);
        closed_ = true;
        not_empty_.notify_all();
    }
    void abort() {
        const std::lock_guard lock(mutex_);
        aborted_ = true;
        items_.clear();
        not_empty_.notify_all();
        not_full_.notify_all();
    }

  private:
    std::mutex mutex_;
    std::condition_variable not_full_, not_empty_;
    std::deque<Band> items_;
    std::size_t capacity_;
    bool closed_ = false, aborted_ = false;
};

}  // namespace artistry::tiling
