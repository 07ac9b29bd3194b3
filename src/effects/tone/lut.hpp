#pragma once
// Lookup tables for the tone and colour effects: .cube colour LUTs (Adobe / Resolve format),
// their trilinear and tetrahedral samplers, and the tone curves enhanced_bw and color share.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace artistry::effects {

// ---- tone curves (sRGB-encoded values in [0, 1]) ----------------------------------------

// Smooth sigmoidal contrast, pinned at 0 and 1: amount > 0 steepens the midtones (slope
// about 2.5 at amount 1), amount < 0 is the exact inverse curve (flattens), 0 is identity.
inline double s_curve(double x, double amount) {
    const double k = 10.0 * std::fabs(amount);
    if (k < 1e-6) return x;
    const double lo = 1.0 / (1.0 + std::exp(k / 2));  // logistic(-k/2)
    const double span = 1.0 - 2.0 * lo;
    if (amount > 0) return (1.0 / (1.0 + std::exp(-k * (x - 0.5))) - lo) / span;
    const double u = lo + std::clamp(x, 0.0, 1.0) * span;
    return 0.5 + std::log(u / (1.0 - u)) / k;
}

// ---- .cube LUTs -----------------------------------------------------------------------------

enum class LutInterpolation { trilinear, tetrahedral };

// A parsed .cube file: an optional 1D shaper (applied first) and an optional 3D table.
struct CubeLut {
    std::string source;  // the file it came from, for messages
    std::string title;
    int size_1d = 0;                                        // 0: no 1D part
    int size_3d = 0;                                        // 0: no 3D part
    std::array<float, 3> min_1d{0, 0, 0}, max_1d{1, 1, 1};  // input domain of each part
    std::array<float, 3> min_3d{0, 0, 0}, max_3d{1, 1, 1};
    std::vector<float> table_1d;  // size_1d rows of r, g, b
    // size_3d³ rows of r, g, b, 0 (padded to four floats for vector loads); red fastest:
    // row (b·N + g)·N + r.
    std::vector<float> table_3d;
};

// Parses .cube text. Every error is Error(decode_error) "SOURCE:LINE: what is wrong".
CubeLut parse_cube(std::string_view text, const std::string& source);

// Reads and parses a .cube file, cached by path, modification time and size (thread-safe).
// Error(not_found / io_error) when it cannot be read, Error(decode_error) when malformed.
std::shared_ptr<const CubeLut> load_cube(const std::string& path);

// For a parameter check: "" when the file loads, else the error's message.
std::string check_cube_file(const std::string& path);

// Samples a 3D table of n³ rows of four floats (r, g, b, unused; red fastest) at a point of
// its domain.
class Lut3DSampler {
  public:
    // Where one channel value falls: the offset of the grid plane below it and the fraction
    // of the way to the next. Precomputed per 8-bit code where the input is 8-bit.
    struct Cell {
        int offset = 0;
        float frac = 0;
    };

    Lut3DSampler(const float* table, int n, const std::array<float, 3>& lo,
                 const std::array<float, 3>& hi)
        : table_(table), n_(n) {
        const int stride[3] = {4, 4 * n, 4 * n * n};
        for (int c = 0; c < 3; ++c) {
            scale_[c] = static_cast<float>(n - 1) / (hi[c] - lo[c]);
            lo_[c] = lo[c];
            stride_[c] = stride[c];
        }
        // The two middle vertices of the tetrahedron chosen by the order of the fractions,
        // indexed by (fr > fg) + 2 (fg > fb) + 4 (fr > fb); 3 and 4 cannot occur.
        const int r = stride[0], g = stride[1], b = stride[2];
        const int first[8] = {b, b, g, r, r, r, g, r};
        const int second[8] = {b + g, b + r, g + b, r + g, r + g, r + b, g + r, r + g};
        for (int k = 0; k < 8; ++k) first_[k] = first[k], second_[k] = second[k];
    }

    Cell locate(int channel, float v) const {
        const float top = static_cast<float>(n_ - 1);
        float x = (v - lo_[channel]) * scale_[channel];
        x = x > 0.f ? (x < top ? x : top) : 0.f;  // also maps NaN to 0
        const int i = std::min(static_cast<int>(x), n_ - 2);
        return {i * stride_[channel], x - static_cast<float>(i)};
    }

    void trilinear(const Cell& r, const Cell& g, const Cell& b, float out[3]) const {
        const float* p = table_ + r.offset + g.offset + b.offset;
        const int sr = stride_[0], sg = stride_[1], sb = stride_[2];
        const Vec4 c00 = lerp(load(p), load(p + sr), r.frac);
        const Vec4 c10 = lerp(load(p + sg), load(p + sg + sr), r.frac);
        const Vec4 c01 = lerp(load(p + sb), load(p + sb + sr), r.frac);
        const Vec4 c11 = lerp(load(p + sb + sg), load(p + sb + sg + sr), r.frac);
        store(lerp(lerp(c00, c10, g.frac), lerp(c01, c11, g.frac), b.frac), out);
    }

    // Splits the cell into six tetrahedra along its grey diagonal: four taps instead of
    // eight, neutral inputs stay on the table's neutral axis, and no data-dependent branch.
    void tetrahedral(const Cell& r, const Cell& g, const Cell& b, float out[3]) const {
        const float* p = table_ + r.offset + g.offset + b.offset;
        const float fr = r.frac, fg = g.frac, fb = b.frac;
        const float hi = std::max(std::max(fr, fg), fb), lo = std::min(std::min(fr, fg), fb);
        const float mid = std::max(std::min(fr, fg), std::min(std::max(fr, fg), fb));
        const int k = (fr > fg) + 2 * (fg > fb) + 4 * (fr > fb);
        const float* far = p + stride_[0] + stride_[1] + stride_[2];
        store((1 - hi) * load(p) + (hi - mid) * load(p + first_[k]) +
                  (mid - lo) * load(p + second_[k]) + lo * load(far),
              out);
    }

    void sample(LutInterpolation mode, const float in[3], float out[3]) const {
        const Cell r = locate(0, in[0]), g = locate(1, in[1]), b = locate(2, in[2]);
        if (mode == LutInterpolation::tetrahedral)
            tetrahedral(r, g, b, out);
        else
            trilinear(r, g, b, out);
    }

  private:
    // Four floats in one register (GCC/Clang vector extension: SSE, NEON, …).
    typedef float Vec4 __attribute__((vector_size(16)));
    static Vec4 load(const float* p) {
        Vec4 v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    static void store(const Vec4& v, float out[3]) { out[0] = v[0], out[1] = v[1], out[2] = v[2]; }
    static Vec4 lerp(const Vec4& a, const Vec4& b, float t) { return a + t * (b - a); }

    const float* table_;
    int n_;
    float scale_[3];
    float lo_[3];
    int stride_[3];
    int first_[8];
    int second_[8];
};

// Maps one channel value through a CubeLut's 1D part (linear interpolation).
float sample_1d(const CubeLut& lut, int channel, float value);

}  // namespace artistry::effects
