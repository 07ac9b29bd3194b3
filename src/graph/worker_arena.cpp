// The engine's oneTBB arena and the process-wide worker limit it needs (worker_arena.hpp).

#include "graph/worker_arena.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include <tbb/global_control.h>
#include <tbb/info.h>

#include "util/tsan.hpp"

namespace artistry::graph {

namespace {

// The live engines' requests for max_allowed_parallelism; the largest is in force.
class ParallelismRequests {
  public:
    void add(std::size_t value) {
        std::lock_guard lock(mutex_);
        ++requests_[value];
        apply();
    }
    void remove(std::size_t value) {
        std::lock_guard lock(mutex_);
        if (--requests_[value] == 0) requests_.erase(value);
        apply();
    }

  private:
    void apply() {
        control_.reset();
        if (!requests_.empty())
            control_ = std::make_unique<tbb::global_control>(
                tbb::global_control::max_allowed_parallelism, requests_.rbegin()->first);
    }
    std::mutex mutex_;
    std::map<std::size_t, int> requests_;
    std::unique_ptr<tbb::global_control> control_;
};

ParallelismRequests& requests() {
    static ParallelismRequests r;
    return r;
}

}  // namespace

int default_thread_count() {
    return std::max(1, tbb::info::default_concurrency());
}

WorkerArena::WorkerArena(int threads)
    : threads_(std::max(1, threads)), arena_(threads_, /*reserved_for_masters=*/0) {
    requests().add(static_cast<std::size_t>(threads_) + 1);
    arena_.initialize();
}

WorkerArena::~WorkerArena() {
    arena_.terminate();
    requests().remove(static_cast<std::size_t>(threads_) + 1);
}

void WorkerArena::enqueue(std::function<void()> task) {
    // The TBB task carries only a pointer; the job itself is written before the release and
    // read after the acquire, so TSan checks everything the job touches.
    auto* job = new std::function<void()>(std::move(task));
    util::tsan_release(job);
    arena_.enqueue([job] {
        const std::unique_ptr<std::function<void()>> own(util::tsan_read_handed_over(job));
        util::tsan_acquire(own.get());
        (*own)();
    });
}

void run_isolated(const std::function<void()>& body) {
    tbb::this_task_arena::isolate(body);
}

}  // namespace artistry::graph
