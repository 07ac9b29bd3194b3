// The hull_kmeans adaptive palette: a histogram of every pixel, a variance-driven median cut in
// Oklab for the starting colours, k-means, then the colours pushed out to cover the image.

#include "effects/pixel_art/palette_fit.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

#include "effects/pixel_art/hull_distance.hpp"
#include "effects/pixel_art/palette_proxy.hpp"
#include "util/color.hpp"
#include "util/parallel.hpp"

namespace artistry::effects {

namespace {

constexpr int lloyd_iterations = 10;
constexpr int hull_iterations = 10;
// The palette colours a colour is mixed from: measured on photos, 4 (a tetrahedron around each
// colour) beats 5, 6 or 8.
constexpr int hull_neighbours = 4;
constexpr int polish_rounds = 8;  // at most; on photos it settles in 3 to 6
constexpr float fixed_one = 65535.f;

const std::array<std::uint32_t, 256>& linear16_table() {
    static const std::array<std::uint32_t, 256> table = [] {
        std::array<std::uint32_t, 256> t{};
        const auto& lin = util::srgb8_to_linear_table();
        for (int i = 0; i < 256; ++i)
            t[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(
                std::lround(lin[static_cast<std::size_t>(i)] * fixed_one));
        return t;
    }();
    return table;
}

// One histogram cell: its pixels' mean colour and how many pixels it stands for.
struct Entry {
    util::Oklab ok;
    Vec3 lin;
    double weight;
};

std::vector<Entry> entries_of(const ColourHistogram& h) {
    std::vector<Entry> out;
    for (const auto& cell : h.cells()) {
        if (cell.count == 0) continue;
        const double scale = 1.0 / (static_cast<double>(cell.count) * fixed_one);
        Vec3 lin;
        for (int c = 0; c < 3; ++c)
            lin[static_cast<std::size_t>(c)] = static_cast<float>(
                static_cast<double>(cell.linear_sum[static_cast<std::size_t>(c)]) * scale);
        out.push_back(
            {util::linear_to_oklab(lin[0], lin[1], lin[2]), lin, static_cast<double>(cell.count)});
    }
    return out;
}

float coord(const util::Oklab& c, int axis) {
    return axis == 0 ? c.L : (axis == 1 ? c.a : c.b);
}

Vec3 clamp01(const Vec3& v) {
    return {std::clamp(v[0], 0.f, 1.f), std::clamp(v[1], 0.f, 1.f), std::clamp(v[2], 0.f, 1.f)};
}

// The weighted mean in Oklab of each label's values; a label with no weight keeps its centre.
// Sequential over entries in order, so the sums do not depend on the thread count.
template <class Value>
void mean_by_label(const std::vector<Entry>& e, const std::vector<int>& label, Value value,
                   std::vector<util::Oklab>& centres) {
    std::vector<std::array<double, 4>> acc(centres.size(), {0.0, 0.0, 0.0, 0.0});
    for (std::size_t i = 0; i < e.size(); ++i) {
        const util::Oklab v = value(i);
        auto& a = acc[static_cast<std::size_t>(label[i])];
        a[0] += e[i].weight * v.L;
        a[1] += e[i].weight * v.a;
        a[2] += e[i].weight * v.b;
        a[3] += e[i].weight;
    }
    for (std::size_t k = 0; k < centres.size(); ++k)
        if (acc[k][3] > 0)
            centres[k] = {static_cast<float>(acc[k][0] / acc[k][3]),
                          static_cast<float>(acc[k][1] / acc[k][3]),
                          static_cast<float>(acc[k][2] / acc[k][3])};
}

// The starting colours: median cut in Oklab. The box holding the most squared error is split
// next, across the axis of its largest variance, at its weighted median.
std::vector<util::Oklab> split_boxes(const std::vector<Entry>& e, int colors) {
    struct Box {
        std::size_t begin, end;
        double sse = 0;
        int axis = 0;
    };
    std::vector<std::size_t> order(e.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    const auto measure = [&](Box& b) {
        double w = 0, s[3] = {0, 0, 0}, q[3] = {0, 0, 0};
        for (std::size_t i = b.begin; i < b.end; ++i) {
            const Entry& x = e[order[i]];
            w += x.weight;
            for (int c = 0; c < 3; ++c) {
                const double v = coord(x.ok, c);
                s[c] += x.weight * v;
                q[c] += x.weight * v * v;
            }
        }
        b.sse = 0;
        double widest = -1;
        for (int c = 0; c < 3; ++c) {
            const double var = std::max(0.0, q[c] - s[c] * s[c] / w);
            b.sse += var;
            if (var > widest) {
                widest = var;
                b.axis = c;
            }
        }
    };
    std::vector<Box> boxes{{0, e.size()}};
    measure(boxes[0]);
    while (static_cast<int>(boxes.size()) < colors) {
        std::size_t pick = boxes.size();
        for (std::size_t i = 0; i < boxes.size(); ++i)
            if (boxes[i].end - boxes[i].begin >= 2 && boxes[i].sse > 0 &&
                (pick == boxes.size() || boxes[i].sse > boxes[pick].sse))
                pick = i;
        if (pick == boxes.size()) break;  // every box is one colour
        const Box b = boxes[pick];
        const auto first = order.begin() + static_cast<std::ptrdiff_t>(b.begin);
        std::sort(first, order.begin() + static_cast<std::ptrdiff_t>(b.end),
                  [&](std::size_t i, std::size_t j) {
                      const float ci = coord(e[i].ok, b.axis), cj = coord(e[j].ok, b.axis);
                      return ci < cj || (ci == cj && i < j);
                  });
        double total = 0, acc = 0;
        for (std::size_t i = b.begin; i < b.end; ++i) total += e[order[i]].weight;
        std::size_t cut = b.begin + 1;
        for (std::size_t i = b.begin; i + 1 < b.end; ++i) {
            acc += e[order[i]].weight;
            cut = i + 1;
            if (2 * acc >= total) break;
        }
        Box lo{b.begin, cut}, hi{cut, b.end};
        measure(lo);
        measure(hi);
        boxes[pick] = lo;
        boxes.push_back(hi);
    }
    std::vector<util::Oklab> centres(boxes.size());
    std::vector<int> label(e.size());
    for (std::size_t k = 0; k < boxes.size(); ++k)
        for (std::size_t i = boxes[k].begin; i < boxes[k].end; ++i)
            label[order[i]] = static_cast<int>(k);
    mean_by_label(
        e, label, [&](std::size_t i) { return e[i].ok; }, centres);
    return centres;
}

// Weighted k-means (Lloyd) in Oklab. A cluster left empty restarts at the colour worst served.
void lloyd(const std::vector<Entry>& e, std::vector<util::Oklab>& centres, int iterations) {
    std::vector<int> label(e.size());
    std::vector<double> miss(e.size());
    for (int it = 0; it < iterations; ++it) {
        util::parallel_rows(
            static_cast<int>(e.size()),
            [&](int i0, int i1) {
                for (auto i = static_cast<std::size_t>(i0); i < static_cast<std::size_t>(i1); ++i) {
                    label[i] = nearest_oklab(centres, e[i].ok);
                    miss[i] =
                        e[i].weight *
                        util::oklab_distance2(e[i].ok, centres[static_cast<std::size_t>(label[i])]);
                }
            },
            256);
        std::vector<bool> used(centres.size(), false);
        for (const int k : label) used[static_cast<std::size_t>(k)] = true;
        mean_by_label(
            e, label, [&](std::size_t i) { return e[i].ok; }, centres);
        for (std::size_t k = 0; k < centres.size(); ++k) {
            if (used[k]) continue;
            const auto worst = std::max_element(miss.begin(), miss.end()) - miss.begin();
            if (miss[static_cast<std::size_t>(worst)] <= 0) break;
            centres[k] = e[static_cast<std::size_t>(worst)].ok;
            miss[static_cast<std::size_t>(worst)] = 0;
        }
    }
}

// The n palette colours nearest to c (n <= 8), nearest first; ties to the lower index.
void nearest_n(const std::vector<util::Oklab>& centres, const util::Oklab& c, int n,
               std::array<int, 8>& out) {
    std::array<float, 8> d;
    d.fill(std::numeric_limits<float>::max());
    for (std::size_t k = 0; k < centres.size(); ++k) {
        const float dk = util::oklab_distance2(centres[k], c);
        if (dk >= d[static_cast<std::size_t>(n - 1)]) continue;
        int j = n - 1;
        for (; j > 0 && d[static_cast<std::size_t>(j - 1)] > dk; --j) {
            d[static_cast<std::size_t>(j)] = d[static_cast<std::size_t>(j - 1)];
            out[static_cast<std::size_t>(j)] = out[static_cast<std::size_t>(j - 1)];
        }
        d[static_cast<std::size_t>(j)] = dk;
        out[static_cast<std::size_t>(j)] = static_cast<int>(k);
    }
}

// Each colour of the image pulls its cluster's centre by as far as it lies outside the convex
// hull (in linear light) of its nearest palette colours: centres move out until the hull holds
// the colours a dither has to mix, and stay at the cluster mean where it already does.
void push_to_hull(const std::vector<Entry>& e, std::vector<util::Oklab>& centres, int iterations) {
    const int n = std::min(hull_neighbours, static_cast<int>(centres.size()));
    std::vector<int> label(e.size());
    std::vector<util::Oklab> target(e.size());
    for (int it = 0; it < iterations; ++it) {
        std::vector<Vec3> lin(centres.size());
        for (std::size_t k = 0; k < centres.size(); ++k)
            lin[k] = clamp01(util::oklab_to_linear(centres[k]));
        util::parallel_rows(
            static_cast<int>(e.size()),
            [&](int i0, int i1) {
                std::array<int, 8> near{};
                std::array<Vec3, 8> pts{};
                for (auto i = static_cast<std::size_t>(i0); i < static_cast<std::size_t>(i1); ++i) {
                    nearest_n(centres, e[i].ok, n, near);
                    label[i] = near[0];
                    for (int j = 0; j < n; ++j)
                        pts[static_cast<std::size_t>(j)] =
                            lin[static_cast<std::size_t>(near[static_cast<std::size_t>(j)])];
                    const Vec3 off = outside_hull(e[i].lin, pts.data(), n);
                    const Vec3 t =
                        clamp01({e[i].lin[0] + off[0], e[i].lin[1] + off[1], e[i].lin[2] + off[2]});
                    target[i] = util::linear_to_oklab(t[0], t[1], t[2]);
                }
            },
            64);
        mean_by_label(
            e, label, [&](std::size_t i) { return target[i]; }, centres);
    }
}

std::vector<Rgb8> colours_of(const std::vector<util::Oklab>& centres) {
    std::vector<Rgb8> out;
    for (const auto& c : centres) {
        const Vec3 lin = clamp01(util::oklab_to_linear(c));
        out.push_back({util::linear_to_srgb8(lin[0]), util::linear_to_srgb8(lin[1]),
                       util::linear_to_srgb8(lin[2])});
    }
    return out;
}

// The candidates fit_palette scores (palette_fit.hpp).
std::vector<std::vector<Rgb8>> candidates_of(const ColourHistogram& histogram,
                                             const std::vector<Entry>& entries, int colors) {
    std::vector<std::vector<Rgb8>> candidates;
    {
        std::vector<std::uint64_t> count(histogram.cells().size());
        std::vector<std::array<std::uint64_t, 3>> sum(count.size());
        // The sRGB code of each cell's mean colour, as if every pixel of the cell had it.
        for (std::size_t k = 0; k < count.size(); ++k) {
            const auto& cell = histogram.cells()[k];
            count[k] = cell.count;
            for (std::size_t c = 0; cell.count && c < 3; ++c)
                sum[k][c] = cell.count * util::linear_to_srgb8(static_cast<float>(
                                             static_cast<double>(cell.linear_sum[c]) /
                                             (static_cast<double>(cell.count) * fixed_one)));
        }
        candidates.push_back(median_cut_palette(count, sum, colors).colors());
    }
    const std::vector<util::Oklab> seeds = split_boxes(entries, colors);
    std::vector<util::Oklab> centres = seeds;
    push_to_hull(entries, centres, hull_iterations);
    candidates.push_back(colours_of(centres));
    centres = seeds;
    lloyd(entries, centres, lloyd_iterations);
    push_to_hull(entries, centres, hull_iterations / 2);
    candidates.push_back(colours_of(centres));
    push_to_hull(entries, centres, hull_iterations - hull_iterations / 2);
    candidates.push_back(colours_of(centres));
    return candidates;
}

// The palette moved down the gradient of the dither score: every colour at once, by the largest
// of 1, 1/2 and 1/4 of the step DitherScore proposes that lowers the score; rounds until none
// does. Each move is checked on the score, so it cannot run away. (Moving one colour at a time,
// or searching along L, a and b, finds lower scores still, at several times the cost.)
std::vector<Rgb8> polish(std::vector<Rgb8> colours, const DitherScore& score) {
    const auto& lin = util::srgb8_to_linear_table();
    std::vector<std::array<float, 3>> target, next;
    double error = score(Palette(colours), &target);
    for (int round = 0; round < polish_rounds; ++round) {
        bool better = false;
        for (const float step : {1.f, 0.5f, 0.25f}) {
            std::vector<Rgb8> trial;
            for (std::size_t k = 0; k < colours.size(); ++k) {
                const Vec3 from{lin[colours[k].r], lin[colours[k].g], lin[colours[k].b]};
                Vec3 to;
                for (std::size_t i = 0; i < 3; ++i)
                    to[i] = from[i] + step * (target[k][i] - from[i]);
                to = clamp01(to);
                trial.push_back({util::linear_to_srgb8(to[0]), util::linear_to_srgb8(to[1]),
                                 util::linear_to_srgb8(to[2])});
            }
            const Palette p(trial);
            const double e = score(p, &next);
            if (e < error) {
                error = e;
                colours = p.colors();
                target.swap(next);
                better = true;
                break;
            }
        }
        if (!better) break;
    }
    return colours;
}

}  // namespace

ColourHistogram::ColourHistogram(int distinct_limit)
    : limit_(distinct_limit), cells_(std::size_t{1} << 15) {}

void ColourHistogram::note(std::uint32_t rgb) {
    if (rgb == last_) return;
    last_ = rgb;
    const auto it = std::lower_bound(distinct_.begin(), distinct_.end(), rgb);
    if (it != distinct_.end() && *it == rgb) return;
    distinct_.insert(it, rgb);
    if (static_cast<int>(distinct_.size()) > limit_) {
        many_ = true;
        distinct_.clear();
        distinct_.shrink_to_fit();
    }
}

void ColourHistogram::add_row(const std::uint8_t* p, int width, int channels) {
    const auto& lin = linear16_table();
    for (int x = 0; x < width; ++x, p += channels) {
        if (channels == 4 && p[3] == 0) continue;
        Cell& cell = cells_[(std::size_t{p[0]} >> 3 << 10) | (std::size_t{p[1]} >> 3 << 5) |
                            (std::size_t{p[2]} >> 3)];
        ++cell.count;
        cell.linear_sum[0] += lin[p[0]];
        cell.linear_sum[1] += lin[p[1]];
        cell.linear_sum[2] += lin[p[2]];
        if (!many_) note(std::uint32_t{p[0]} << 16 | std::uint32_t{p[1]} << 8 | p[2]);
    }
}

void ColourHistogram::merge(const ColourHistogram& other) {
    for (std::size_t k = 0; k < cells_.size(); ++k) {
        cells_[k].count += other.cells_[k].count;
        for (std::size_t c = 0; c < 3; ++c)
            cells_[k].linear_sum[c] += other.cells_[k].linear_sum[c];
    }
    if (other.many_) many_ = true;
    for (const std::uint32_t rgb : other.distinct_) {
        if (many_) break;
        note(rgb);
    }
    if (many_) distinct_.clear();
}

Palette fit_palette(const ColourHistogram& histogram, const Image& proxy, int colors) {
    const auto& distinct = histogram.distinct();
    if (!histogram.many() && !distinct.empty() && static_cast<int>(distinct.size()) <= colors) {
        std::vector<Rgb8> exact;
        for (const std::uint32_t rgb : distinct)
            exact.push_back({static_cast<std::uint8_t>(rgb >> 16),
                             static_cast<std::uint8_t>(rgb >> 8), static_cast<std::uint8_t>(rgb)});
        return Palette(std::move(exact));
    }
    const std::vector<Entry> entries = entries_of(histogram);
    if (entries.empty()) return Palette({Rgb8{0, 0, 0}});  // every pixel transparent
    const std::vector<std::vector<Rgb8>> candidates = candidates_of(histogram, entries, colors);
    // Scored by a model of the dither that needs no lookup table (palette_proxy.hpp).
    const DitherScore score(proxy);
    std::size_t best = 0;
    double best_error = std::numeric_limits<double>::max();
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const double error = score(Palette(candidates[i]));
        if (error < best_error) {
            best_error = error;
            best = i;
        }
    }
    return Palette(polish(candidates[best], score));
}

}  // namespace artistry::effects
