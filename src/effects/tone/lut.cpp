// .cube LUT files: the parser (Adobe "Cube LUT Specification 1.0" plus Resolve's 1D shaper
// and input-range keywords) and a small cache of parsed files.

#include "effects/tone/lut.hpp"

#include <sys/stat.h>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <span>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "util/atomic_file.hpp"

namespace artistry::effects {

namespace {

constexpr int max_size_3d = 256;
constexpr int max_size_1d = 65536;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_words(std::string_view s) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i])) ++i;
        const std::size_t start = i;
        while (i < s.size() && !is_space(s[i])) ++i;
        if (i > start) words.push_back(s.substr(start, i - start));
    }
    return words;
}

std::optional<float> parse_float(std::string_view word) {
    if (!word.empty() && word.front() == '+') word.remove_prefix(1);
    float v = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size() || !std::isfinite(v)) return {};
    return v;
}

std::optional<int> parse_int(std::string_view word) {
    int v = 0;
    const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v);
    if (ec != std::errc() || end != word.data() + word.size()) return {};
    return v;
}

bool is_keyword(std::string_view word) {
    if (word.empty() || !std::isupper(static_cast<unsigned char>(word.front()))) return false;
    for (char c : word)
        if (!std::isupper(static_cast<unsigned char>(c)) &&
            !std::isdigit(static_cast<unsigned char>(c)) && c != '_')
            return false;
    return true;
}

class CubeParser {
  public:
    CubeParser(std::string_view text, const std::string& source) : text_(text) {
        lut_.source = source;
    }

    CubeLut parse() {
        if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 BOM
        std::size_t pos = 0;
        while (pos < text_.size()) {
            std::size_t end = text_.find('\n', pos);
            if (end == std::string_view::npos) end = text_.size();
            ++line_;
            line(text_.substr(pos, end - pos));
            pos = end + 1;
        }
        finish();
        return std::move(lut_);
    }

  private:
    [[noreturn]] void fail(const std::string& what) const {
        throw Error(Status::decode_error,
                    fmt::format("{}:{}: {}", lut_.source, std::max(line_, 1), what));
    }

    void line(std::string_view raw) {
        std::string_view s = trim(raw);
        if (s.empty() || s.front() == '#') return;
        if (std::isalpha(static_cast<unsigned char>(s.front()))) return keyword(s);
        if (const auto hash = s.find('#'); hash != std::string_view::npos)
            s = trim(s.substr(0, hash));
        data_row(s);
    }

    void keyword(std::string_view s) {
        const auto words = split_words(s);
        const std::string_view key = words.front();
        if (!is_keyword(key)) fail(fmt::format("expected a keyword or three numbers, got '{}'", s));
        if (rows_ > 0) fail(fmt::format("keyword {} after the data rows began", key));
        const auto args = std::span(words).subspan(1);
        if (key == "TITLE") {
            std::string_view t = trim(s.substr(key.size()));
            if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
            lut_.title = std::string(t);
        } else if (key == "LUT_3D_SIZE") {
            lut_.size_3d = size_value(key, args, max_size_3d, lut_.size_3d);
        } else if (key == "LUT_1D_SIZE") {
            lut_.size_1d = size_value(key, args, max_size_1d, lut_.size_1d);
        } else if (key == "DOMAIN_MIN" || key == "DOMAIN_MAX") {
            const auto v = numbers(key, args, 3);
            const bool is_min = key == "DOMAIN_MIN";
            for (int c = 0; c < 3; ++c) {
                (is_min ? lut_.min_1d : lut_.max_1d)[c] = v[c];
                (is_min ? lut_.min_3d : lut_.max_3d)[c] = v[c];
            }
        } else if (key == "LUT_1D_INPUT_RANGE" || key == "LUT_3D_INPUT_RANGE") {
            const auto v = numbers(key, args, 2);
            auto& lo = key == "LUT_1D_INPUT_RANGE" ? lut_.min_1d : lut_.min_3d;
            auto& hi = key == "LUT_1D_INPUT_RANGE" ? lut_.max_1d : lut_.max_3d;
            lo = {v[0], v[0], v[0]};
            hi = {v[1], v[1], v[1]};
        }
        // Other upper-case keywords (tools add their own, e.g. LUT_IN_VIDEO_RANGE) are ignored.
    }

    int size_value(std::string_view key, std::span<const std::string_view> args, int max,
                   int previous) {
        if (previous != 0) fail(fmt::format("{} given twice", key));
        const auto n = args.size() == 1 ? parse_int(args[0]) : std::nullopt;
        if (!n || *n < 2 || *n > max)
            fail(fmt::format("{} must be one integer in [2, {}], got '{}'", key, max,
                             fmt::join(args, " ")));
        return *n;
    }

    std::vector<float> numbers(std::string_view key, std::span<const std::string_view> args,
                               std::size_t count) {
        std::vector<float> v;
        for (const auto w : args) {
            const auto x = parse_float(w);
            if (!x) break;
            v.push_back(*x);
        }
        if (v.size() != count || args.size() != count)
            fail(fmt::format("{} needs {} numbers, got '{}'", key, count, fmt::join(args, " ")));
        return v;
    }

    void data_row(std::string_view s) {
        if (lut_.size_1d == 0 && lut_.size_3d == 0)
            fail("data row before any LUT_3D_SIZE or LUT_1D_SIZE line");
        if (rows_ == 0) {
            if (lut_.size_1d > 0) check_domain("1D", lut_.min_1d, lut_.max_1d);
            if (lut_.size_3d > 0) check_domain("3D", lut_.min_3d, lut_.max_3d);
            expected_ = static_cast<std::size_t>(lut_.size_1d) +
                        static_cast<std::size_t>(lut_.size_3d) * lut_.size_3d * lut_.size_3d;
            lut_.table_1d.reserve(3 * static_cast<std::size_t>(lut_.size_1d));
            lut_.table_3d.reserve(4 * (expected_ - lut_.size_1d));
        }
        if (rows_ == expected_)
            fail(fmt::format("more data rows than the {} the header declares", expected_));
        const auto words = split_words(s);
        if (words.size() != 3)
            fail(fmt::format("a data row needs 3 numbers, got {} ('{}')", words.size(), s));
        const bool is_1d = rows_ < static_cast<std::size_t>(lut_.size_1d);
        auto& table = is_1d ? lut_.table_1d : lut_.table_3d;
        for (const auto w : words) {
            const auto x = parse_float(w);
            if (!x) fail(fmt::format("'{}' is not a finite number", w));
            table.push_back(*x);
        }
        if (!is_1d) table.push_back(0.f);
        ++rows_;
    }

    void check_domain(const char* part, const std::array<float, 3>& lo,
                      const std::array<float, 3>& hi) const {
        for (int c = 0; c < 3; ++c)
            if (!(lo[c] < hi[c]))
                fail(fmt::format("{} input domain is empty: minimum {} is not below maximum {}",
                                 part, lo[c], hi[c]));
    }

    void finish() {
        if (lut_.size_1d == 0 && lut_.size_3d == 0)
            fail("no LUT_3D_SIZE or LUT_1D_SIZE line (is this a .cube file?)");
        if (rows_ < expected_ || rows_ == 0)
            fail(fmt::format("the file ends after {} data rows; the header declares {}", rows_,
                             expected_ ? expected_
                                       : static_cast<std::size_t>(lut_.size_1d) +
                                             static_cast<std::size_t>(lut_.size_3d) * lut_.size_3d *
                                                 lut_.size_3d));
    }

    std::string_view text_;
    CubeLut lut_;
    int line_ = 0;
    std::size_t rows_ = 0;
    std::size_t expected_ = 0;
};

struct CacheEntry {
    std::int64_t mtime_ns = 0;
    std::int64_t size = 0;
    std::shared_ptr<const CubeLut> lut;
};

constexpr std::size_t max_cached = 32;

}  // namespace

CubeLut parse_cube(std::string_view text, const std::string& source) {
    return CubeParser(text, source).parse();
}

std::shared_ptr<const CubeLut> load_cube(const std::string& path) {
    static std::mutex mutex;
    static std::map<std::string, CacheEntry> cache;

    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        throw Error(err == ENOENT ? Status::not_found : Status::io_error,
                    fmt::format("cannot open LUT file '{}': {}", path, std::strerror(err)));
    }
    if (!S_ISREG(st.st_mode))
        throw Error(Status::io_error, fmt::format("LUT file '{}' is not a regular file", path));
    const std::int64_t mtime =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    {
        const std::lock_guard lock(mutex);
        const auto it = cache.find(path);
        if (it != cache.end() && it->second.mtime_ns == mtime && it->second.size == st.st_size)
            return it->second.lut;
    }
    // Parsed outside the lock: two threads may parse the same file once each, never wait.
    const auto bytes = util::read_file(path);
    auto lut = std::make_shared<const CubeLut>(parse_cube(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path));
    const std::lock_guard lock(mutex);
    if (cache.size() >= max_cached && !cache.count(path)) cache.erase(cache.begin());
    cache[path] = CacheEntry{mtime, static_cast<std::int64_t>(st.st_size), lut};
    return lut;
}

std::string check_cube_file(const std::string& path) {
    try {
        load_cube(path);
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

float sample_1d(const CubeLut& lut, int channel, float value) {
    const int n = lut.size_1d;
    const float lo = lut.min_1d[channel], hi = lut.max_1d[channel];
    float x = (value - lo) / (hi - lo) * static_cast<float>(n - 1);
    x = x > 0.f ? std::min(x, static_cast<float>(n - 1)) : 0.f;
    const int i = std::min(static_cast<int>(x), n - 2);
    const float f = x - static_cast<float>(i);
    const float a = lut.table_1d[3 * i + channel], b = lut.table_1d[3 * (i + 1) + channel];
    return a + f * (b - a);
}

}  // namespace artistry::effects
