#pragma once
// Row-parallel loops on the engine's oneTBB pool.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace artistry::util {

// Rows per task of parallel_rows: fewer rows than this run on the calling thread alone.
inline constexpr int row_grain = 16;

// Calls body(y0, y1) over disjoint row ranges covering [0, height). Rows must be independent:
// the result is the same for any split, so output never depends on the thread count.
template <class Body>
void parallel_rows(int height, Body&& body, int grain = row_grain) {
    tbb::parallel_for(tbb::blocked_range<int>(0, height, grain),
                      [&](const tbb::blocked_range<int>& r) { body(r.begin(), r.end()); });
}

}  // namespace artistry::util
