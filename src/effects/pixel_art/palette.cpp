// Palettes: named retro sets, grey ramps, hex lists, adaptive fitting, Oklab matching.

#include "effects/pixel_art/palette.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "artistry/error.hpp"

namespace artistry::effects {

namespace {

constexpr std::size_t lut_cells = std::size_t{1} << 18;  // 64³

std::vector<Rgb8> from_hex(std::initializer_list<std::uint32_t> hex) {
    std::vector<Rgb8> out;
    out.reserve(hex.size());
    for (const std::uint32_t h : hex)
        out.push_back({static_cast<std::uint8_t>(h >> 16), static_cast<std::uint8_t>(h >> 8),
                       static_cast<std::uint8_t>(h)});
    return out;
}

// NES 2C02 as FCEUX ships it (fceux.pal), in PPU order; the duplicates (nine extra blacks,
// a second $20/$30 white) are dropped by Palette, leaving the 54 distinct colours.
std::vector<Rgb8> nes_colors() {
    return from_hex({
        0x747474, 0x24188C, 0x0000A8, 0x44009C, 0x8C0074, 0xA80010, 0xA40000, 0x7C0800,
        0x402C00, 0x004400, 0x005000, 0x003C14, 0x183C5C, 0x000000, 0x000000, 0x000000,
        0xBCBCBC, 0x0070EC, 0x2038EC, 0x8000F0, 0xBC00BC, 0xE40058, 0xD82800, 0xC84C0C,
        0x887000, 0x009400, 0x00A800, 0x009038, 0x008088, 0x000000, 0x000000, 0x000000,
        0xFCFCFC, 0x3CBCFC, 0x5C94FC, 0xCC88FC, 0xF478FC, 0xFC74B4, 0xFC7460, 0xFC9838,
        0xF0BC3C, 0x80D010, 0x4CDC48, 0x58F898, 0x00E8D8, 0x787878, 0x000000, 0x000000,
        0xFCFCFC, 0xA8E4FC, 0xC4D4FC, 0xD4C8FC, 0xFCC4FC, 0xFCC4D8, 0xFCBCB0, 0xFCD8A8,
        0xFCE4A0, 0xE0FCA0, 0xA8F0BC, 0xB0FCCC, 0x9CFCF0, 0xC4C4C4, 0x000000, 0x000000,
    });
}

// The 64 EGA colours: each channel is 0xAA × primary bit + 0x55 × secondary bit.
std::vector<Rgb8> ega_colors() {
    std::vector<Rgb8> out;
    for (int i = 0; i < 64; ++i) {
        const auto ch = [&](int hi_bit, int lo_bit) {
            return static_cast<std::uint8_t>(0xAA * ((i >> hi_bit) & 1) +
                                             0x55 * ((i >> lo_bit) & 1));
        };
        out.push_back({ch(2, 5), ch(1, 4), ch(0, 3)});
    }
    return out;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Splits a hex list into tokens; fills `why` and returns false on the first bad token.
bool split_hex(const std::string& text, std::vector<Rgb8>& out, std::string& why) {
    std::size_t i = 0;
    int index = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ',' || text[i] == ' ' || text[i] == '\t')) ++i;
        if (i >= text.size()) break;
        std::size_t j = i;
        while (j < text.size() && text[j] != ',' && text[j] != ' ' && text[j] != '\t') ++j;
        std::string tok = text.substr(i, j - i);
        ++index;
        const std::string shown = tok;
        if (!tok.empty() && tok[0] == '#') tok.erase(0, 1);
        bool ok = tok.size() == 6;
        for (const char c : tok) ok = ok && hex_digit(c) >= 0;
        if (!ok) {
            why = fmt::format(
                "colour {} '{}' is not a hex colour; expected a list like '#1a2b3c,#ffffff' "
                "(6 hex digits each, '#' optional, separated by commas or spaces)",
                index, shown);
            return false;
        }
        const auto byte = [&](int k) {
            return static_cast<std::uint8_t>(hex_digit(tok[2 * k]) * 16 +
                                             hex_digit(tok[2 * k + 1]));
        };
        out.push_back({byte(0), byte(1), byte(2)});
        i = j;
    }
    if (out.size() < 2) {
        why = fmt::format("a palette needs at least 2 colours, got {}", out.size());
        return false;
    }
    if (out.size() > 256) {
        why = fmt::format("a palette holds at most 256 colours, got {}", out.size());
        return false;
    }
    return true;
}

}  // namespace

int nearest_oklab(const std::vector<util::Oklab>& pal, const util::Oklab& c) {
    int best = 0;
    float best_d = std::numeric_limits<float>::max();
    for (std::size_t i = 0; i < pal.size(); ++i) {
        const float d = util::oklab_distance2(pal[i], c);
        if (d < best_d) {
            best_d = d;
            best = static_cast<int>(i);
        }
    }
    return best;
}

Palette::Palette(std::vector<Rgb8> colors) {
    for (const Rgb8& c : colors)
        if (std::find(colors_.begin(), colors_.end(), c) == colors_.end()) colors_.push_back(c);
    if (colors_.empty())
        throw Error(Status::invalid_argument, "a palette needs at least one colour");
    if (colors_.size() > 256)
        throw Error(Status::invalid_argument,
                    fmt::format("a palette holds at most 256 colours, got {}", colors_.size()));
    oklab_.reserve(colors_.size());
    for (const Rgb8& c : colors_) oklab_.push_back(util::srgb8_to_oklab(c.r, c.g, c.b));
    lut_ = std::make_shared<Lut>();
    lut_->cells = std::make_unique<std::atomic<std::uint32_t>[]>(lut_cells);
}

int Palette::nearest(std::uint8_t r, std::uint8_t g, std::uint8_t b) const {
    return nearest_oklab(oklab_, util::srgb8_to_oklab(r, g, b));
}

namespace {

// Oklab in two steps (Ottosson's M1, cube root, M2), so a whole RGB cell can be bounded: each
// of l', m', s' grows with every channel, so over a cell they span [low corner, high corner].
std::array<float, 3> lms(float r, float g, float b) {
    return {0.4122214708f * r + 0.5363325363f * g + 0.0514459929f * b,
            0.2119034982f * r + 0.6806995451f * g + 0.1073969566f * b,
            0.0883024619f * r + 0.2817188376f * g + 0.6299787005f * b};
}
util::Oklab oklab_of_lms(float l, float m, float s) {
    return {0.2104542553f * l + 0.7936177850f * m - 0.0040720468f * s,
            1.9779984951f * l - 2.4285922050f * m + 0.4505937099f * s,
            0.0259040371f * l + 0.7827717662f * m - 0.8086757660f * s};
}

// A cube root without a library call: a first guess from the float's bits (its exponent divided
// by 3), then Newton steps in T. Two in float give about 1e-5 relative, fast; three in double
// the float within one ulp of std::cbrt's, at a third of its cost.
template <int Steps, class T>
float newton_cbrt(float x) noexcept {
    if (x <= 0.f) return 0.f;
    T y = std::bit_cast<float>(std::bit_cast<std::uint32_t>(x) / 3 + 709921077u);
    for (int i = 0; i < Steps; ++i) y = (T{2} * y + x / (y * y)) * (T{1} / T{3});
    return static_cast<float>(y);
}

std::array<float, 3> lms_cbrt(float r, float g, float b) {
    const auto v = lms(r, g, b);
    return {newton_cbrt<3, double>(v[0]), newton_cbrt<3, double>(v[1]),
            newton_cbrt<3, double>(v[2])};
}

// The index of the candidate nearest to code (r, g, b), as nearest() finds it. The Oklab of the
// code comes from the three-step cube root; when the two nearest are too close to call with it
// (their squared distances within 1e-5, against errors below 1e-6), util::srgb8_to_oklab decides.
int nearest_candidate(const std::vector<util::Oklab>& pal, const std::vector<int>& candidates,
                      std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    const auto& lin = util::srgb8_to_linear_table();
    const auto v = lms_cbrt(lin[r], lin[g], lin[b]);
    const util::Oklab c = oklab_of_lms(v[0], v[1], v[2]);
    int pick = candidates[0];
    float pick_d = std::numeric_limits<float>::max(), second = pick_d;
    for (const int i : candidates) {
        const float d = util::oklab_distance2(pal[static_cast<std::size_t>(i)], c);
        if (d < pick_d) {
            second = pick_d;
            pick_d = d;
            pick = i;
        } else if (d < second) {
            second = d;
        }
    }
    if (second - pick_d > 1e-5f) return pick;
    const util::Oklab exact = util::srgb8_to_oklab(r, g, b);
    pick_d = std::numeric_limits<float>::max();
    for (const int i : candidates) {
        const float d = util::oklab_distance2(pal[static_cast<std::size_t>(i)], exact);
        if (d < pick_d) {
            pick_d = d;
            pick = i;
        }
    }
    return pick;
}

}  // namespace

util::Oklab approx_oklab(float r, float g, float b) noexcept {
    const auto v = lms(r, g, b);
    return oklab_of_lms(newton_cbrt<2, float>(v[0]), newton_cbrt<2, float>(v[1]),
                        newton_cbrt<2, float>(v[2]));
}

std::uint32_t Palette::fill_cell(std::size_t cell) const {
    const auto& lin = util::srgb8_to_linear_table();
    const std::size_t k[3] = {cell >> 12, (cell >> 6) & 63, cell & 63};
    const auto lo = lms_cbrt(lin[4 * k[0]], lin[4 * k[1]], lin[4 * k[2]]);
    const auto hi = lms_cbrt(lin[4 * k[0] + 3], lin[4 * k[1] + 3], lin[4 * k[2] + 3]);
    const util::Oklab centre =
        oklab_of_lms((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2);
    // Every colour of the cell lies in the image of the l'm's' box under M2, a parallelepiped:
    // within `reach` of the centre (its farthest point is a corner).
    std::array<util::Oklab, 8> corner;
    float reach2 = 0.f;
    for (int i = 0; i < 8; ++i) {
        corner[static_cast<std::size_t>(i)] =
            oklab_of_lms((i & 1) ? hi[0] : lo[0], (i & 2) ? hi[1] : lo[1], (i & 4) ? hi[2] : lo[2]);
        reach2 =
            std::max(reach2, util::oklab_distance2(corner[static_cast<std::size_t>(i)], centre));
    }
    std::vector<float> dist(oklab_.size());
    float d1 = std::numeric_limits<float>::max();
    int best = 0;
    for (std::size_t i = 0; i < oklab_.size(); ++i) {
        dist[i] = std::sqrt(util::oklab_distance2(oklab_[i], centre));
        if (dist[i] < d1) {
            d1 = dist[i];
            best = static_cast<int>(i);
        }
    }
    // Another colour can be nearest somewhere in the cell only if it is within d1 + 2·reach of
    // the centre (triangle inequality), and only if the cell reaches across its bisector with
    // the colour nearest the centre: the difference of squared distances to the two is affine,
    // so over the parallelepiped it peaks at a corner. The margins cover rounding.
    const float reach = std::sqrt(reach2) * 1.01f + 1e-5f;
    const util::Oklab& near = oklab_[static_cast<std::size_t>(best)];
    std::vector<int> candidates;
    for (std::size_t i = 0; i < dist.size(); ++i) {
        if (static_cast<int>(i) != best) {
            if (dist[i] > d1 + 2.f * reach) continue;
            float crossing = -std::numeric_limits<float>::max();
            for (const auto& c : corner)
                crossing = std::max(
                    crossing, util::oklab_distance2(c, near) - util::oklab_distance2(c, oklab_[i]));
            if (crossing < -1e-5f) continue;
        }
        candidates.push_back(static_cast<int>(i));
    }
    if (candidates.size() == 1) {
        const auto v = static_cast<std::uint32_t>(best + 1);
        lut_->cells[cell].store(v, std::memory_order_release);
        return v;
    }
    // Contested: the exact answer for each of the cell's 64 codes (candidates are in index
    // order, so ties still go to the lowest index, as in nearest()).
    auto entries = std::make_unique<std::uint8_t[]>(64);
    for (int sub = 0; sub < 64; ++sub)
        entries[static_cast<std::size_t>(sub)] = static_cast<std::uint8_t>(
            nearest_candidate(oklab_, candidates, static_cast<std::uint8_t>(4 * k[0] + (sub & 3)),
                              static_cast<std::uint8_t>(4 * k[1] + ((sub >> 2) & 3)),
                              static_cast<std::uint8_t>(4 * k[2] + (sub >> 4))));
    const std::lock_guard<std::mutex> lock(lut_->grow);
    const std::uint32_t block = lut_->blocks++;
    if ((block & 63) == 0) {
        lut_->owned.push_back(std::make_unique<std::uint8_t[]>(64 * 64));
        lut_->chunks[block >> 6].store(lut_->owned.back().get(), std::memory_order_release);
    }
    std::uint8_t* chunk = lut_->owned[block >> 6].get();
    std::copy_n(entries.get(), 64, chunk + (block & 63) * 64);
    const std::uint32_t v = 257 + block;
    lut_->cells[cell].store(v, std::memory_order_release);
    return v;
}

bool Palette::is_grey() const noexcept {
    return std::all_of(colors_.begin(), colors_.end(),
                       [](const Rgb8& c) { return c.r == c.g && c.g == c.b; });
}

float Palette::spread(bool linear) const {
    if (colors_.size() < 2) return 0.f;
    const auto& to_lin = util::srgb8_to_linear_table();
    std::vector<std::array<float, 3>> p;
    p.reserve(colors_.size());
    for (const Rgb8& c : colors_) {
        if (linear)
            p.push_back({to_lin[c.r], to_lin[c.g], to_lin[c.b]});
        else
            p.push_back({c.r / 255.f, c.g / 255.f, c.b / 255.f});
    }
    const auto d2 = [](const std::array<float, 3>& a, const std::array<float, 3>& b) {
        const float x = a[0] - b[0], y = a[1] - b[1], z = a[2] - b[2];
        return x * x + y * y + z * z;
    };
    // Largest hole between two colours: the midpoint farthest from every colour.
    float worst = 0.f;
    for (std::size_t i = 0; i < p.size(); ++i) {
        for (std::size_t j = i + 1; j < p.size(); ++j) {
            const std::array<float, 3> m = {(p[i][0] + p[j][0]) / 2, (p[i][1] + p[j][1]) / 2,
                                            (p[i][2] + p[j][2]) / 2};
            float nearest = std::numeric_limits<float>::max();
            for (const auto& q : p) nearest = std::min(nearest, d2(m, q));
            worst = std::max(worst, nearest);
        }
    }
    return std::min(1.f, 2.f * std::sqrt(worst) / std::sqrt(3.f));
}

float Palette::typical_gap() const {
    if (oklab_.size() < 2) return 0.f;
    std::vector<float> gap;
    gap.reserve(oklab_.size());
    for (std::size_t i = 0; i < oklab_.size(); ++i) {
        float nearest = std::numeric_limits<float>::max();
        for (std::size_t j = 0; j < oklab_.size(); ++j)
            if (j != i) nearest = std::min(nearest, util::oklab_distance2(oklab_[i], oklab_[j]));
        gap.push_back(std::sqrt(nearest));
    }
    const auto mid = gap.begin() + static_cast<std::ptrdiff_t>(gap.size() / 2);
    std::nth_element(gap.begin(), mid, gap.end());
    return *mid;
}

std::vector<std::string> named_palette_names() {
    return {"nes", "gameboy", "pico8", "c64", "cga", "ega", "mono"};
}

namespace {

Palette make_named_palette(const std::string& name) {
    if (name == "nes") return Palette(nes_colors());
    // The four DMG greens, darkest first.
    if (name == "gameboy") return Palette(from_hex({0x0F380F, 0x306230, 0x8BAC0F, 0x9BBC0F}));
    if (name == "pico8")
        return Palette(from_hex({0x000000, 0x1D2B53, 0x7E2553, 0x008751, 0xAB5236, 0x5F574F,
                                 0xC2C3C7, 0xFFF1E8, 0xFF004D, 0xFFA300, 0xFFEC27, 0x00E436,
                                 0x29ADFF, 0x83769C, 0xFF77A8, 0xFFCCAA}));
    // Commodore 64: Philip "Pepto" Timmermann's PAL palette (the VICE default for years).
    if (name == "c64")
        return Palette(from_hex({0x000000, 0xFFFFFF, 0x68372B, 0x70A4B2, 0x6F3D86, 0x588D43,
                                 0x352879, 0xB8C76F, 0x6F4F25, 0x433900, 0x9A6759, 0x444444,
                                 0x6C6C6C, 0x9AD284, 0x6C5EB5, 0x959595}));
    // CGA 16-colour RGBI, with colour 6 as brown (the IBM monitor's dark-yellow fix).
    if (name == "cga")
        return Palette(from_hex({0x000000, 0x0000AA, 0x00AA00, 0x00AAAA, 0xAA0000, 0xAA00AA,
                                 0xAA5500, 0xAAAAAA, 0x555555, 0x5555FF, 0x55FF55, 0x55FFFF,
                                 0xFF5555, 0xFF55FF, 0xFFFF55, 0xFFFFFF}));
    if (name == "ega") return Palette(ega_colors());
    if (name == "mono") return Palette(from_hex({0x000000, 0xFFFFFF}));
    throw Error(Status::invalid_argument, fmt::format("unknown palette '{}' (known: {})", name,
                                                      fmt::join(named_palette_names(), ", ")));
}

}  // namespace

Palette named_palette(const std::string& name) {
    // Each built on first use and kept for the process, so its lazily filled lookup table
    // (shared by copies) carries over from run to run; palettes nobody asks for cost nothing.
    static std::mutex mutex;
    static std::map<std::string, Palette> cache;
    const std::lock_guard lock(mutex);
    if (const auto it = cache.find(name); it != cache.end()) return it->second;
    Palette palette = make_named_palette(name);  // throws: unknown name
    cache.emplace(name, palette);
    return palette;
}

Palette grey_palette(int levels) {
    if (levels < 2 || levels > 256)
        throw Error(Status::invalid_argument,
                    fmt::format("grey levels must be in [2, 256], got {}", levels));
    std::vector<Rgb8> out;
    for (int i = 0; i < levels; ++i) {
        const auto v = static_cast<std::uint8_t>((i * 255 * 2 + (levels - 1)) / (2 * (levels - 1)));
        out.push_back({v, v, v});
    }
    return Palette(std::move(out));
}

std::string check_hex_palette(const std::string& text) {
    std::vector<Rgb8> colors;
    std::string why;
    return split_hex(text, colors, why) ? std::string() : why;
}

Palette parse_hex_palette(const std::string& text) {
    std::vector<Rgb8> colors;
    std::string why;
    if (!split_hex(text, colors, why)) throw Error(Status::invalid_argument, why);
    return Palette(std::move(colors));
}

}  // namespace artistry::effects
