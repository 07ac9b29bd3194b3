#pragma once
// Exact integer box sums over absolute image coordinates, windows clipped at the image's
// edges, for the matting stages that must give the same value for a pixel whatever band or
// tile computes it (foreground.cpp, colour_matte.cpp), and their view of a window's pixels.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/image.hpp"
#include "effects/matting/matte_refine.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {

// A window's colours and opacity codes (one byte per pixel, row-major, the window's width),
// read in absolute coordinates; grey is replicated, a fourth channel is not colour.
struct WindowPixels {
    const Image& image;
    const std::uint8_t* alpha;
    int gx, gy;  // the window's place in the full image

    int a(int y, int x) const {
        return alpha[std::size_t(y - gy) * std::size_t(image.width()) + std::size_t(x - gx)];
    }
    std::array<int, 3> rgb(int y, int x) const {
        const int ch = image.channels();
        const std::uint8_t* p = image.row(y - gy) + std::size_t(x - gx) * std::size_t(ch);
        return ch >= 3 ? std::array<int, 3>{p[0], p[1], p[2]}
                       : std::array<int, 3>{p[0], p[0], p[0]};
    }
};

// `known` less `halo` on each side that does not reach the full image's edge: the pixels whose
// windows `known` holds (absolute coordinates; may be empty).
inline PixelRect inner_rect(const PixelRect& known, int halo, int full_w, int full_h) {
    return {known.x0 == 0 ? 0 : known.x0 + halo, known.y0 == 0 ? 0 : known.y0 + halo,
            known.x1 == full_w ? full_w : known.x1 - halo,
            known.y1 == full_h ? full_h : known.y1 - halo};
}

// band(y0, y1) over rect's rows in bands of band_rows, bands on worker threads at once;
// checks ctx's cancel between bands.
template <class Band>
void for_each_band(const PixelRect& rect, int band_rows, const EffectContext& ctx, Band&& band) {
    const int bands = (rect.y1 - rect.y0 + band_rows - 1) / band_rows;
    util::parallel_rows(
        bands,
        [&](int b0, int b1) {
            for (int b = b0; b < b1; ++b) {
                ctx.throw_if_cancelled();
                const int y0 = rect.y0 + b * band_rows;
                band(y0, std::min(rect.y1, y0 + band_rows));
            }
        },
        1);
}

// Per-column sums of N values over the rows [y − r, y + r] ∩ [0, rows), slid down one row at a
// time. fill(y, values) writes row y's values, N per column, interleaved.
template <std::size_t N, class Fill>
class ColumnSums {
  public:
    ColumnSums(int columns, int radius, int rows, Fill fill)
        : r_(radius),
          rows_(rows),
          fill_(std::move(fill)),
          sums_(std::size_t(columns) * N),
          scratch_(sums_.size()) {}

    void start(int y) {
        y_ = y;
        std::fill(sums_.begin(), sums_.end(), 0);
        for (int j = std::max(0, y - r_); j <= std::min(rows_ - 1, y + r_); ++j) add(j, 1);
    }
    void next() {
        if (y_ + r_ + 1 < rows_) add(y_ + r_ + 1, 1);
        if (y_ - r_ >= 0) add(y_ - r_, -1);
        ++y_;
    }
    const std::int64_t* sums() const { return sums_.data(); }
    int rows_in_window() const { return std::min(rows_ - 1, y_ + r_) - std::max(0, y_ - r_) + 1; }

  private:
    void add(int y, std::int64_t sign) {
        fill_(y, scratch_.data());
        for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += sign * scratch_[i];
    }

    int r_, rows_, y_ = 0;
    Fill fill_;
    std::vector<std::int64_t> sums_, scratch_;
};

template <std::size_t N, class Fill>
ColumnSums<N, Fill> column_sums(int columns, int radius, int rows, Fill fill) {
    return ColumnSums<N, Fill>(columns, radius, rows, std::move(fill));
}

// Window sums along one row: prefix sums over the column sums of columns [c0, c1) (absolute).
template <std::size_t N>
class RowWindows {
  public:
    RowWindows(int c0, int c1) : c0_(c0), c1_(c1), prefix_(std::size_t(c1 - c0 + 1) * N) {}

    void load(const std::int64_t* column_sums) {
        std::fill_n(prefix_.begin(), N, 0);
        for (std::size_t i = 0; i < std::size_t(c1_ - c0_) * N; ++i)
            prefix_[i + N] = prefix_[i] + column_sums[i];
    }
    // The N sums over columns [x − r, x + r] ∩ [c0, c1), and how many columns that is.
    int window(int x, int r, std::array<std::int64_t, N>& out) const {
        const auto a = std::size_t(std::max(c0_, x - r) - c0_);
        const auto b = std::size_t(std::min(c1_ - 1, x + r) - c0_) + 1;
        for (std::size_t k = 0; k < N; ++k) out[k] = prefix_[b * N + k] - prefix_[a * N + k];
        return int(b - a);
    }

  private:
    int c0_, c1_;
    std::vector<std::int64_t> prefix_;
};

}  // namespace artistry::effects
