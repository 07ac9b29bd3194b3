// Typed parameters: resolution against a schema, canonical text, command-line parsing.

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "effects/schema.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

const char* param_type_name(ParamType type) noexcept {
    switch (type) {
        case ParamType::boolean:
            return "bool";
        case ParamType::integer:
            return "int";
        case ParamType::number:
            return "float";
        case ParamType::choice:
            return "choice";
        case ParamType::text:
            return "string";
    }
    return "?";
}

const char* footprint_name(Footprint::Kind kind) noexcept {
    switch (kind) {
        case Footprint::Kind::point:
            return "point";
        case Footprint::Kind::local:
            return "local";
        case Footprint::Kind::global:
            return "global";
        case Footprint::Kind::sequential:
            return "sequential";
    }
    return "?";
}

void EffectContext::throw_if_cancelled() const {
    if (cancelled()) throw Error(Status::cancelled, "cancelled");
}

const ParamValue& Params::at(const std::string& name) const {
    const auto it = values_.find(name);
    if (it == values_.end())
        throw Error(Status::internal, fmt::format("parameter '{}' was not resolved", name));
    return it->second;
}

void Params::missing_settings() {
    throw Error(Status::internal,
                "effect settings read from parameters the registry did not resolve");
}

namespace param {

ParamSpec flag(std::string name, bool fallback, std::string help) {
    return {std::move(name), ParamType::boolean, fallback, 0, 0, {}, std::move(help), {}, false};
}

ParamSpec integer(std::string name, std::int64_t fallback, std::int64_t min, std::int64_t max,
                  std::string help) {
    return {std::move(name),
            ParamType::integer,
            fallback,
            static_cast<double>(min),
            static_cast<double>(max),
            {},
            std::move(help),
            {},
            false};
}

ParamSpec number(std::string name, double fallback, double min, double max, std::string help) {
    return {std::move(name), ParamType::number, fallback, min, max, {}, std::move(help), {}, false};
}

ParamSpec choice(std::string name, std::string fallback, std::vector<std::string> choices,
                 std::string help) {
    return {std::move(name),
            ParamType::choice,
            std::move(fallback),
            0,
            0,
            std::move(choices),
            std::move(help),
            {},
            false};
}

ParamSpec text(std::string name, std::string fallback, std::string help,
               std::function<std::string(const std::string&)> check) {
    return {std::move(name),
            ParamType::text,
            std::move(fallback),
            0,
            0,
            {},
            std::move(help),
            std::move(check),
            false};
}

ParamSpec file(std::string name, std::string help,
               std::function<std::string(const std::string&)> check) {
    ParamSpec spec = text(std::move(name), "", std::move(help), std::move(check));
    spec.file = true;
    return spec;
}

}  // namespace param

bool Params::flag(const std::string& name) const {
    return std::get<bool>(at(name));
}
std::int64_t Params::integer(const std::string& name) const {
    return std::get<std::int64_t>(at(name));
}
double Params::number(const std::string& name) const {
    const auto& v = at(name);
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    return std::get<double>(v);
}
const std::string& Params::text(const std::string& name) const {
    return std::get<std::string>(at(name));
}

namespace {

std::string value_text(const ParamValue& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool>)
                return x ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>)
                return x;
            else
                return fmt::format("{}", x);
        },
        v);
}

const char* value_kind(const ParamValue& v) {
    switch (v.index()) {
        case 0:
            return "a boolean";
        case 1:
            return "an integer";
        case 2:
            return "a number";
        default:
            return "a string";
    }
}

}  // namespace

std::string Params::canonical() const {
    std::string out;
    for (const auto& [name, value] : values_) {  // std::map: sorted by name
        if (!out.empty()) out += ';';
        out += name;
        out += '=';
        out += value_text(value);
    }
    return out;
}

std::string describe_allowed(const ParamSpec& spec) {
    switch (spec.type) {
        case ParamType::boolean:
            return "true or false";
        case ParamType::integer:
            return fmt::format("an integer in [{}, {}]", static_cast<std::int64_t>(spec.min),
                               static_cast<std::int64_t>(spec.max));
        case ParamType::number:
            return fmt::format("a number in [{}, {}]", spec.min, spec.max);
        case ParamType::choice:
            return fmt::format("one of {}", fmt::join(spec.choices, ", "));
        case ParamType::text:
            return "a string";
    }
    return "?";
}

ParamValue resolve_value(const std::string& effect, const ParamSpec& spec,
                         const ParamValue& given) {
    const auto fail = [&](const std::string& got) {
        return Error(Status::invalid_argument,
                     fmt::format("effect '{}': parameter '{}' must be {}, got {}", effect,
                                 spec.name, describe_allowed(spec), got));
    };
    const auto got_text = [&] {
        return fmt::format("{} {}", value_kind(given), value_text(given));
    };
    switch (spec.type) {
        case ParamType::boolean:
            if (const auto* b = std::get_if<bool>(&given)) return *b;
            throw fail(got_text());
        case ParamType::integer: {
            std::int64_t v = 0;
            if (const auto* i = std::get_if<std::int64_t>(&given))
                v = *i;
            else if (const auto* d = std::get_if<double>(&given);
                     d && std::isfinite(*d) && std::floor(*d) == *d && std::fabs(*d) < 9e15)
                v = static_cast<std::int64_t>(*d);
            else
                throw fail(got_text());
            if (static_cast<double>(v) < spec.min || static_cast<double>(v) > spec.max)
                throw fail(value_text(v));
            return v;
        }
        case ParamType::number: {
            double v = 0;
            if (const auto* i = std::get_if<std::int64_t>(&given))
                v = static_cast<double>(*i);
            else if (const auto* d = std::get_if<double>(&given))
                v = *d;
            else
                throw fail(got_text());
            if (!std::isfinite(v) || v < spec.min || v > spec.max) throw fail(value_text(v));
            return v;
        }
        case ParamType::choice: {
            const auto* s = std::get_if<std::string>(&given);
            if (s == nullptr) throw fail(got_text());
            for (const auto& c : spec.choices)
                if (c == *s) return *s;
            throw fail(fmt::format("'{}'", *s));
        }
        case ParamType::text: {
            const auto* s = std::get_if<std::string>(&given);
            if (s == nullptr) throw fail(got_text());
            if (spec.check) {
                if (auto why = spec.check(*s); !why.empty())
                    throw Error(
                        Status::invalid_argument,
                        fmt::format("effect '{}': parameter '{}': {}", effect, spec.name, why));
            }
            return *s;
        }
    }
    throw fail(got_text());
}

ParamValue parse_param_text(const EffectInfo& effect, const std::string& param,
                            const std::string& text) {
    const ParamSpec* spec = effect.find_param(param);
    if (spec == nullptr) {
        // Let resolve() produce the one "unknown parameter" message.
        return text;
    }
    const auto bad = [&] {
        return Error(Status::invalid_argument,
                     fmt::format("effect '{}': parameter '{}' must be {}, got '{}'", effect.name,
                                 param, describe_allowed(*spec), text));
    };
    switch (spec->type) {
        case ParamType::boolean:
            if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
            if (text == "false" || text == "0" || text == "no" || text == "off") return false;
            throw bad();
        case ParamType::integer: {
            std::int64_t v = 0;
            const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || p != text.data() + text.size()) throw bad();
            return v;
        }
        case ParamType::number: {
            double v = 0;
            const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec != std::errc() || p != text.data() + text.size()) throw bad();
            return v;
        }
        case ParamType::choice:
        case ParamType::text:
            return text;
    }
    throw bad();
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
