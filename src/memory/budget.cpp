// Budgets: parsing "4GiB" / "50%" / "0.5", resolving them against a device, printing bytes.

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/memory.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

[[noreturn]] void bad_budget(std::string_view text) {
    throw Error(Status::invalid_argument,
                fmt::format("memory budget '{}' not understood: use bytes with an optional unit "
                            "(\"4GiB\", \"512MiB\", \"2G\", \"1500MB\") or a fraction of the "
                            "device (\"50%\", \"0.5\")",
                            text));
}

// Multiplier of a unit suffix: K/M/G/T and KiB… are binary, KB/MB… decimal, "" and B bytes.
double unit_scale(const std::string& unit) {
    static const char* const prefixes = "kmgt";
    if (unit.empty() || unit == "b") return 1;
    const char* p = std::strchr(prefixes, unit[0]);
    if (p == nullptr || *p == '\0') return 0;
    const int power = static_cast<int>(p - prefixes) + 1;
    const std::string rest = unit.substr(1);
    if (rest.empty() || rest == "i" || rest == "ib") return std::pow(1024.0, power);
    if (rest == "b") return std::pow(1000.0, power);
    return 0;
}

}  // namespace

Budget Budget::parse(std::string_view text) {
    std::string s = lower(text);
    s.erase(0, s.find_first_not_of(" \t"));
    s.erase(s.find_last_not_of(" \t") + 1);
    if (s.empty()) bad_budget(text);

    double value = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || !std::isfinite(value) || value <= 0) bad_budget(text);
    std::string unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
    unit.erase(0, unit.find_first_not_of(' '));

    Budget budget;
    if (unit == "%") {
        if (value > 100) bad_budget(text);
        budget.fraction = value / 100.0;
        return budget;
    }
    const bool has_point = s.find('.') != std::string::npos;
    if (unit.empty() && has_point && value <= 1.0) {  // "0.5": a fraction
        budget.fraction = value;
        return budget;
    }
    const double scale = unit_scale(unit);
    if (scale == 0) bad_budget(text);
    const double bytes = std::floor(value * scale);
    if (bytes < 1 || bytes > 1.8e19) bad_budget(text);
    budget.bytes = static_cast<std::uint64_t>(bytes);
    return budget;
}

std::uint64_t Budget::resolve(std::uint64_t device_total) const noexcept {
    if (bytes > 0) return bytes;
    if (fraction <= 0) return 0;
    return static_cast<std::uint64_t>(
        std::floor(static_cast<double>(device_total) * std::min(fraction, 1.0)));
}

std::string format_bytes(std::uint64_t bytes) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024) return fmt::format("{} B", bytes);
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024.0 && u < 5) {
        v /= 1024.0;
        ++u;
    }
    return fmt::format("{:.2f} {}", v, units[u]);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
