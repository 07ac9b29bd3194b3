#pragma once
// Row-parallel loops on the engine's oneTBB pool.

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace artistry::util {

// Calls body(y0, y1) over disjoint row ranges covering [0, height). Rows must be independent:
// the result is the same for any split, so output never depends on the thread count.
template <class Body>
void parallel_rows(int height, Body&& body, int grain = 16) {
    tbb::parallel_for(tbb::blocked_range<int>(0, height, grain),
                      [&](const tbb::blocked_range<int>& r) { body(r.begin(), r.end()); });
}

}  // namespace artistry::util
