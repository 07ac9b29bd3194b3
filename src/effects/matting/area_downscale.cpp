// Streamed exact area resampling (area_downscale.hpp).

#include "effects/matting/area_downscale.hpp"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "artistry/error.hpp"

namespace artistry::effects {
namespace {

// Input pixel i spans [i·n_out, (i + 1)·n_out) and output pixel o spans [o·n_in, (o + 1)·n_in)
// in units of 1 / (n_in · n_out) of the image: the overlap is an integer weight, and an output
// pixel's weights sum to n_in.
template <class Each>
void overlaps(int i, int n_in, int n_out, Each&& each) {
    const std::int64_t lo = std::int64_t(i) * n_out, hi = lo + n_out;
    for (std::int64_t o = lo / n_in; o * n_in < hi; ++o)
        each(int(o), std::min(hi, (o + 1) * n_in) - std::max(lo, o * n_in));
}

}  // namespace

AreaDownscaler::AreaDownscaler(int width, int height, int out_width, int out_height, int channels)
    : width_(width),
      height_(height),
      out_width_(out_width),
      out_height_(out_height),
      channels_(channels) {
    if (width < 1 || height < 1 || out_width < 1 || out_height < 1 || channels < 1)
        throw Error(Status::invalid_argument,
                    fmt::format("area resampling: bad sizes {}x{} -> {}x{}, {} channels", width,
                                height, out_width, out_height, channels));
    for (int x = 0; x < width; ++x)
        overlaps(x, width, out_width, [&](int ox, std::int64_t wgt) {
            taps_.push_back({x, ox, wgt});
        });
    row_sums_.resize(std::size_t(out_width) * std::size_t(channels));
    planes_.resize(row_sums_.size() * std::size_t(out_height));
}

void AreaDownscaler::add_rows(const Image& band, int y0) {
    if (y0 != rows_in_ || band.width() != width_ || band.channels() < channels_ ||
        y0 + band.height() > height_ || band.type() != PixelType::u8)
        throw Error(Status::internal,
                    fmt::format("area resampling: rows {}+{} of width {} out of order (expected "
                                "row {} of width {})",
                                y0, band.height(), band.width(), rows_in_, width_));
    const auto ch = std::size_t(channels_), stride = std::size_t(band.channels());
    for (int r = 0; r < band.height(); ++r) {
        const std::uint8_t* src = band.row(r);
        std::fill(row_sums_.begin(), row_sums_.end(), 0);
        for (const Tap& t : taps_) {
            const std::uint8_t* px = src + std::size_t(t.x) * stride;
            std::uint64_t* dst = &row_sums_[std::size_t(t.out_x) * ch];
            for (std::size_t c = 0; c < ch; ++c) dst[c] += std::uint64_t(t.weight) * px[c];
        }
        overlaps(rows_in_, height_, out_height_, [&](int oy, std::int64_t wgt) {
            while (first_open_ + int(open_.size()) <= oy)
                open_.emplace_back(row_sums_.size(), std::uint64_t{0});
            auto& acc = open_[std::size_t(oy - first_open_)];
            for (std::size_t i = 0; i < acc.size(); ++i)
                acc[i] += std::uint64_t(wgt) * row_sums_[i];
        });
        flush_complete(++rows_in_);
    }
}

// Output rows that no later input row reaches become means in planes_.
void AreaDownscaler::flush_complete(int rows_in) {
    const double area = double(width_) * double(height_);
    const auto plane = std::size_t(out_width_) * std::size_t(out_height_);
    while (!open_.empty() &&
           std::int64_t(first_open_ + 1) * height_ <= std::int64_t(rows_in) * out_height_) {
        const auto& acc = open_.front();
        for (int x = 0; x < out_width_; ++x)
            for (int c = 0; c < channels_; ++c)
                planes_[std::size_t(c) * plane +
                        std::size_t(first_open_) * std::size_t(out_width_) + std::size_t(x)] =
                    float(double(acc[std::size_t(x) * std::size_t(channels_) + std::size_t(c)]) /
                          area);
        open_.pop_front();
        ++first_open_;
    }
}

std::vector<float> AreaDownscaler::finish() {
    if (rows_in_ != height_ || first_open_ != out_height_)
        throw Error(Status::internal, fmt::format("area resampling: finished after {} of {} rows",
                                                  rows_in_, height_));
    return std::move(planes_);
}

}  // namespace artistry::effects
