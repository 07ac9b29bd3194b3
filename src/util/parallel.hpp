#pragma once
// Parallel loops on the engine's oneTBB pool.
//
// Under ThreadSanitizer the same loops run on plain threads instead: Debian's oneTBB is not
// instrumented, so TSan sees neither the hand-off of work to a TBB worker nor TBB's own task
// objects moving between threads, and would report races inside TBB rather than check ours.
// With std::thread every fork and join is visible, so the loop bodies (every effect's row
// code) are checked for races on the rows they share.

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "util/tsan.hpp"

namespace artistry::util {

// Rows per task of parallel_rows: fewer rows than this run on the calling thread alone.
inline constexpr int row_grain = 16;

#ifdef ARTISTRY_TSAN
namespace detail {
// Calls chunk(b, e) over `parts` contiguous pieces of [begin, end), piece 0 on this thread.
template <class Index, class Chunk>
void fork_join(Index begin, Index end, Index grain, Chunk&& chunk) {
    const Index n = end - begin;
    if (n <= 0) return;
    const Index most = static_cast<Index>(std::max(2u, std::thread::hardware_concurrency()));
    const Index parts = std::max<Index>(1, std::min<Index>(most, n / std::max<Index>(grain, 1)));
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(parts));
    auto piece = [&](Index p) {
        try {
            chunk(begin + n * p / parts, begin + n * (p + 1) / parts);
        } catch (...) {
            errors[static_cast<std::size_t>(p)] = std::current_exception();
        }
    };
    for (Index p = 1; p < parts; ++p) threads.emplace_back(piece, p);
    piece(0);
    for (auto& t : threads) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}
}  // namespace detail
#endif

// Calls body(i) for every i in [begin, end) on the pool; returns when all have finished.
template <class Index, class Body>
void parallel_for(Index begin, Index end, Body&& body) {
#ifdef ARTISTRY_TSAN
    detail::fork_join(begin, end, Index{1}, [&](Index b, Index e) {
        for (Index i = b; i < e; ++i) body(i);
    });
#else
    tbb::parallel_for(begin, end, body);
#endif
}

// Calls body(y0, y1) over disjoint row ranges covering [0, height). Rows must be independent:
// the result is the same for any split, so output never depends on the thread count.
template <class Body>
void parallel_rows(int height, Body&& body, int grain = row_grain) {
#ifdef ARTISTRY_TSAN
    detail::fork_join(0, height, grain, body);
#else
    tbb::parallel_for(tbb::blocked_range<int>(0, height, grain),
                      [&](const tbb::blocked_range<int>& r) { body(r.begin(), r.end()); });
#endif
}

}  // namespace artistry::util
