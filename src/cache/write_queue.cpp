// Background writer of the lower cache tiers.

#include "cache/write_queue.hpp"

namespace artistry::cache {

WriteQueue::WriteQueue(std::uint64_t max_pending_bytes)
    : max_pending_bytes_(max_pending_bytes), thread_([this] { loop(); }) {}

WriteQueue::~WriteQueue() {
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
    }
    work_cv_.notify_all();
    thread_.join();
}

bool WriteQueue::push(std::function<void()> job, std::uint64_t bytes) {
    {
        const std::lock_guard lock(mutex_);
        if (stop_ || (pending_bytes_ > 0 && pending_bytes_ + bytes > max_pending_bytes_)) {
            ++dropped_;
            return false;
        }
        pending_bytes_ += bytes;
        jobs_.push_back({std::move(job), bytes});
    }
    work_cv_.notify_one();
    return true;
}

void WriteQueue::loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, and everything queued has run
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        busy_ = true;
        lock.unlock();
        try {
            job.run();
        } catch (...) {  // a tier's failure is counted by the tier; the writer goes on
        }
        job.run = nullptr;  // drop the pixels it held before taking the lock
        lock.lock();
        busy_ = false;
        pending_bytes_ -= job.bytes;
        if (jobs_.empty()) idle_cv_.notify_all();
    }
}

void WriteQueue::flush() {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

std::uint64_t WriteQueue::pending_bytes() const {
    const std::lock_guard lock(mutex_);
    return pending_bytes_;
}

std::uint64_t WriteQueue::dropped() const {
    const std::lock_guard lock(mutex_);
    return dropped_;
}

}  // namespace artistry::cache
