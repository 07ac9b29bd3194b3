#pragma once
// The engine's worker threads: one oneTBB arena shared by every run's nodes and by the row
// loops the effects run inside them.
//
// Why one arena: effects split their rows with tbb::parallel_for (util::parallel_rows), and
// OpenCV here is built on TBB too, so a node's inner loops draw on the same worker pool
// instead of starting threads of their own — nodes in flight and their row loops share the
// cores without oversubscription. OpenCV's own arena (cv::parallel_for_) takes its threads
// from that same process-wide pool, so the engine leaves cv::setNumThreads alone. LibTorch
// (src/models) keeps an OpenMP pool of its own: a model node should set its intra-op threads
// to the engine's thread count and is best run with max_parallel 1 next to other model nodes.
//
// Callers of Engine::run wait on a condition variable rather than joining the arena, so
// every node runs on a TBB worker. TBB creates at most max_allowed_parallelism − 1 workers
// (cores − 1 by default, expecting the caller to work too), so while an arena lives it asks
// for threads + 1; the largest request of all live engines is in force, and an application's
// own, smaller tbb::global_control still wins.

#include <functional>

#include <tbb/task_arena.h>

namespace artistry::graph {

class WorkerArena {
  public:
    explicit WorkerArena(int threads);
    ~WorkerArena();
    WorkerArena(const WorkerArena&) = delete;
    WorkerArena& operator=(const WorkerArena&) = delete;

    int threads() const noexcept { return threads_; }
    // Runs task on a worker, later. Whatever the caller did before is visible to the task,
    // to ThreadSanitizer too.
    void enqueue(std::function<void()> task);

  private:
    int threads_;
    tbb::task_arena arena_;
};

// The concurrency oneTBB would use by default here (cores in this process's affinity mask).
int default_thread_count();

// Runs body so that, while it waits for its own nested parallel loops, this thread takes no
// other node's task (which would stack one node inside another and delay the first).
void run_isolated(const std::function<void()>& body);

}  // namespace artistry::graph
