// One device's budget and its FIFO queue.

#include <algorithm>
#include <cmath>

#include "memory/device_pool.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

DevicePool::DevicePool(Device device_, std::uint64_t total_, std::uint64_t budget_,
                       double threshold_)
    : device(device_),
      total(total_),
      budget(budget_),
      threshold(threshold_),
      threshold_bytes(static_cast<std::uint64_t>(
          std::floor(static_cast<double>(budget_) * std::clamp(threshold_, 0.0, 1.0)))) {}

void DevicePool::grant_locked(std::uint64_t bytes, bool grow) noexcept {
    in_use_ += bytes;
    peak_ = std::max(peak_, in_use_);
    if (!grow) ++reservations_;
}

bool DevicePool::try_acquire(std::uint64_t bytes, bool grow) noexcept {
    const std::lock_guard guard(mutex_);
    if (!queue_.empty() || bytes > budget - in_use_) return false;
    grant_locked(bytes, grow);
    return true;
}

bool DevicePool::try_acquire_locked(std::uint64_t bytes) noexcept {
    if (!queue_.empty() || bytes > budget - in_use_) return false;
    grant_locked(bytes);
    return true;
}

void DevicePool::enqueue_locked(Waiter& waiter) {
    queue_.push_back(&waiter);
    queued_bytes_ += waiter.bytes;
}

// The head goes first; a head that does not fit holds back everyone behind it, so a large
// reservation is never overtaken for ever by a stream of small ones.
void DevicePool::grant_waiters_locked() noexcept {
    while (!queue_.empty() && queue_.front()->bytes <= budget - in_use_) {
        Waiter* w = queue_.front();
        queue_.pop_front();
        queued_bytes_ -= w->bytes;
        grant_locked(w->bytes);
        w->granted = true;
        w->cv.notify_one();  // under the lock: the waiter cannot return and free it before
    }
}

void DevicePool::abandon_locked(Waiter& waiter) noexcept {
    const auto it = std::find(queue_.begin(), queue_.end(), &waiter);
    if (it == queue_.end()) return;
    const bool was_head = it == queue_.begin();
    queue_.erase(it);
    queued_bytes_ -= waiter.bytes;
    if (was_head) grant_waiters_locked();
}

void DevicePool::release(std::uint64_t bytes) noexcept {
    if (bytes == 0) return;
    const std::lock_guard guard(mutex_);
    in_use_ -= std::min(bytes, in_use_);
    grant_waiters_locked();
}

std::uint64_t DevicePool::demand_locked(std::uint64_t more) const noexcept {
    return in_use_ + queued_bytes_ + more;
}

std::uint64_t DevicePool::available_locked() const noexcept {
    const std::uint64_t promised = in_use_ + queued_bytes_;
    return promised >= budget ? 0 : budget - promised;
}

MemoryStats DevicePool::stats() const {
    const std::lock_guard guard(mutex_);
    MemoryStats s;
    s.device = device;
    s.total = total;
    s.budget = budget;
    s.in_use = in_use_;
    s.peak = peak_;
    s.pressure_threshold = threshold;
    s.waiting = queue_.size();
    s.reservations = reservations_;
    s.waits = waits;
    s.refusals = refusals;
    s.timeouts = timeouts;
    s.cancellations = cancellations;
    s.pressure_events = pressure_events;
    s.wait_seconds = wait_seconds;
    return s;
}

void DevicePool::reset_peak() noexcept {
    const std::lock_guard guard(mutex_);
    peak_ = in_use_;
}

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
