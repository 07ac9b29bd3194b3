#pragma once
// One background thread that runs the disk and Redis writes, so a run never waits for them.
// Bounded by the bytes the queued jobs hold; past the bound a job is dropped (and counted).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace artistry::cache {

class WriteQueue {
  public:
    explicit WriteQueue(std::uint64_t max_pending_bytes);
    ~WriteQueue();  // runs what is queued, then stops
    WriteQueue(const WriteQueue&) = delete;
    WriteQueue& operator=(const WriteQueue&) = delete;

    bool push(std::function<void()> job, std::uint64_t bytes);  // false: dropped
    void flush();  // waits until the queue is empty and no job runs
    std::uint64_t pending_bytes() const;
    std::uint64_t dropped() const;

  private:
    struct Job {
        std::function<void()> run;
        std::uint64_t bytes = 0;
    };
    void loop();

    const std::uint64_t max_pending_bytes_;
    mutable std::mutex mutex_;
    std::condition_variable work_cv_;
    std::condition_variable idle_cv_;
    std::deque<Job> jobs_;
    std::uint64_t pending_bytes_ = 0;
    std::uint64_t dropped_ = 0;
    bool busy_ = false;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace artistry::cache
