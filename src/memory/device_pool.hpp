#pragma once
// One device's budget: the bytes in use, the FIFO queue of waiting reservations, counters.
// Reservations hold the pool by shared_ptr, so one may outlive its manager safely.

#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>

#include "artistry/memory.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

class DevicePool {
  public:
    DevicePool(Device device, std::uint64_t total, std::uint64_t budget, double threshold);

    const Device device;
    const std::uint64_t total;
    const std::uint64_t budget;
    const double threshold;  // fraction of the budget
    const std::uint64_t threshold_bytes;

    // A reservation waiting its turn; lives on the waiting thread's stack.
    struct Waiter {
        std::uint64_t bytes = 0;
        bool granted = false;
        std::condition_variable cv;
    };

    // Grants now when the queue is empty and the bytes fit. `grow`: adds to a reservation
    // already counted (Reservation::try_grow).
    bool try_acquire(std::uint64_t bytes, bool grow = false) noexcept;
    // The same with lock() held.
    bool try_acquire_locked(std::uint64_t bytes) noexcept;
    // Queues `waiter` (lock() held); the caller then waits on waiter.cv until it is granted.
    void enqueue_locked(Waiter& waiter);
    // Takes a waiter out of the queue after it gave up; lets those behind it go.
    void abandon_locked(Waiter& waiter) noexcept;
    void release(std::uint64_t bytes) noexcept;

    // Bytes that are in use or promised to waiters, plus `more`.
    std::uint64_t demand_locked(std::uint64_t more) const noexcept;
    std::uint64_t available_locked() const noexcept;
    std::uint64_t in_use_locked() const noexcept { return in_use_; }
    std::size_t queue_length_locked() const noexcept { return queue_.size(); }

    std::unique_lock<std::mutex> lock() const { return std::unique_lock(mutex_); }
    MemoryStats stats() const;
    void reset_peak() noexcept;

    // Counters updated by the manager under lock().
    std::uint64_t waits = 0;
    std::uint64_t refusals = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t cancellations = 0;
    std::uint64_t pressure_events = 0;
    double wait_seconds = 0;

    // Serialises pressure-callback runs on this device, so a crowd of reservations that all
    // cross the threshold trims once, not once each.
    std::mutex pressure_mutex;

  private:
    void grant_locked(std::uint64_t bytes, bool grow = false) noexcept;
    void grant_waiters_locked() noexcept;

    mutable std::mutex mutex_;
    std::uint64_t in_use_ = 0;
    std::uint64_t peak_ = 0;
    std::uint64_t queued_bytes_ = 0;
    std::uint64_t reservations_ = 0;
    std::list<Waiter*> queue_;
};

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
