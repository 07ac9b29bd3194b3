#pragma once
// Box (area) resampling fed row by row: each output pixel is the exact area-weighted mean of the
// input it covers, from integer weights and sums, so a whole image and the same image streamed
// in bands of any height give the very same values.

#include <cstdint>
#include <deque>
#include <vector>

#include "artistry/image.hpp"

namespace artistry::effects {

class AreaDownscaler {
  public:
    // A width × height input of u8 pixels to out_width × out_height; the first `channels` of
    // each input pixel are kept.
    AreaDownscaler(int width, int height, int out_width, int out_height, int channels);

    // The next rows, in raster order: band's first row is input row y0.
    void add_rows(const Image& band, int y0);

    // Once every row is in: channel planes of out_width × out_height means, in input codes.
    std::vector<float> finish();

  private:
    struct Tap {
        int x, out_x;
        std::int64_t weight;
    };
    void flush_complete(int rows_in);

    int width_, height_, out_width_, out_height_, channels_;
    std::vector<Tap> taps_;                        // by input column
    std::vector<std::uint64_t> row_sums_;          // one input row across the output columns
    std::deque<std::vector<std::uint64_t>> open_;  // output rows from first_open_ not yet done
    int first_open_ = 0;
    int rows_in_ = 0;
    std::vector<float> planes_;
};

}  // namespace artistry::effects
