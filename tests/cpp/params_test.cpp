#include <doctest/doctest.h>

#include <string>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"

using namespace artistry;

namespace {

EffectRegistry make_registry() {
    EffectRegistry r;
    EffectInfo e;
    e.name = "demo";
    e.params = {
        {"levels", ParamType::integer, std::int64_t{4}, 2, 256, {}, "grey levels", {}},
        {"strength", ParamType::number, 1.0, 0, 1, {}, "how much", {}},
        {"mode", ParamType::choice, std::string("a"), 0, 0, {"a", "b"}, "which", {}},
        {"on", ParamType::boolean, false, 0, 0, {}, "switch", {}},
        {"hex",
         ParamType::text,
         std::string("#000000"),
         0,
         0,
         {},
         "colour",
         [](const std::string& s) {
             return s.size() == 7 && s[0] == '#' ? "" : "expected #rrggbb";
         }},
    };
    e.render = [](const Image& in, const Params&, const EffectContext&) { return in; };
    r.add(e);
    return r;
}

std::string message_of(const EffectRegistry& r, const ParamMap& m) {
    try {
        r.resolve("demo", m);
    } catch (const Error& e) {
        CHECK(e.status() == Status::invalid_argument);
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("defaults fill every parameter") {
    const auto r = make_registry();
    const Params p = r.resolve("demo", {});
    CHECK(p.integer("levels") == 4);
    CHECK(p.number("strength") == 1.0);
    CHECK(p.text("mode") == "a");
    CHECK_FALSE(p.flag("on"));
    CHECK(p.canonical() == "hex=#000000;levels=4;mode=a;on=false;strength=1");
}

TEST_CASE("every invalid parameter names effect, parameter and what is allowed") {
    const auto r = make_registry();
    CHECK(message_of(r, {{"levles", std::int64_t{3}}}) ==
          "effect 'demo': unknown parameter 'levles' (known: levels, strength, mode, on, hex)");
    CHECK(message_of(r, {{"levels", std::int64_t{300}}}) ==
          "effect 'demo': parameter 'levels' must be an integer in [2, 256], got 300");
    CHECK(message_of(r, {{"levels", 2.5}}) ==
          "effect 'demo': parameter 'levels' must be an integer in [2, 256], got a number 2.5");
    CHECK(message_of(r, {{"strength", std::string("x")}}) ==
          "effect 'demo': parameter 'strength' must be a number in [0, 1], got a string x");
    CHECK(message_of(r, {{"strength", 1.5}}) ==
          "effect 'demo': parameter 'strength' must be a number in [0, 1], got 1.5");
    CHECK(message_of(r, {{"mode", std::string("c")}}) ==
          "effect 'demo': parameter 'mode' must be one of a, b, got 'c'");
    CHECK(message_of(r, {{"on", std::int64_t{1}}}) ==
          "effect 'demo': parameter 'on' must be true or false, got an integer 1");
    CHECK(message_of(r, {{"hex", std::string("red")}}) ==
          "effect 'demo': parameter 'hex': expected #rrggbb");
}

TEST_CASE("integers are accepted where numbers are expected and whole numbers as integers") {
    const auto r = make_registry();
    const Params p = r.resolve("demo", {{"strength", std::int64_t{0}}, {"levels", 8.0}});
    CHECK(p.number("strength") == 0.0);
    CHECK(p.integer("levels") == 8);
}

TEST_CASE("unknown effects list the known ones") {
    const auto r = make_registry();
    CHECK_THROWS_WITH_AS(r.get("blur"), "unknown effect 'blur' (known: demo)", Error);
}

TEST_CASE("command-line values parse into the parameter's type") {
    const auto r = make_registry();
    const auto& e = r.get("demo");
    CHECK(std::get<std::int64_t>(parse_param_text(e, "levels", "16")) == 16);
    CHECK(std::get<double>(parse_param_text(e, "strength", "0.25")) == 0.25);
    CHECK(std::get<bool>(parse_param_text(e, "on", "yes")));
    CHECK_THROWS_WITH_AS(
        parse_param_text(e, "levels", "many"),
        "effect 'demo': parameter 'levels' must be an integer in [2, 256], got 'many'", Error);
}

TEST_CASE("a schema whose default breaks its own range is refused at registration") {
    EffectRegistry r;
    EffectInfo e;
    e.name = "broken";
    e.params = {{"n", ParamType::integer, std::int64_t{0}, 1, 3, {}, "n", {}}};
    e.render = [](const Image& in, const Params&, const EffectContext&) { return in; };
    CHECK_THROWS_AS(r.add(e), Error);
}
