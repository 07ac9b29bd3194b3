#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "fake_effects.hpp"
#include "test_support.hpp"

using namespace artistry;

namespace {

// Effects with the names and parameters of the DESIGN.md example, doing nothing.
EffectRegistry design_registry() {
    EffectRegistry r;
    const auto same = [](const Image& in, const Params&, const EffectContext&) { return in; };
    r.add(test::fake::effect("remove_background", {}, same));
    r.add(test::fake::effect(
        "enhanced_bw", {{"clahe_clip", ParamType::number, 2.0, 0.5, 8, {}, "contrast limit", {}}},
        same));
    r.add(test::fake::effect("pop_art", {}, same));
    r.add(test::fake::effect("retro_8bit",
                             {{"palette",
                               ParamType::choice,
                               std::string("nes"),
                               0,
                               0,
                               {"nes", "gameboy"},
                               "palette",
                               {}}},
                             same));
    r.add(test::fake::effect("typed",
                             {{"i", ParamType::integer, std::int64_t{1}, 0, 10, {}, "", {}},
                              {"f", ParamType::number, 1.0, 0, 10, {}, "", {}},
                              {"b", ParamType::boolean, false, 0, 0, {}, "", {}},
                              {"s", ParamType::text, std::string(), 0, 0, {}, "", {}}},
                             same));
    return r;
}

const char* const design_spec = R"({"nodes": [
   {"id": "cut",  "op": "remove_background"},
   {"id": "bw",   "op": "enhanced_bw", "in": ["cut"], "params": {"clahe_clip": 2.0}},
   {"id": "pop",  "op": "pop_art",     "in": ["cut"]},
   {"id": "bits", "op": "retro_8bit",  "in": ["cut"], "params": {"palette": "nes"}}],
 "outputs": ["bw", "pop", "bits"]})";

std::string message_of(const std::string& json) {
    const auto r = design_registry();
    const Error e = test::error_of([&] { Graph::from_json(json, r); });
    CHECK_MESSAGE(e.status() == Status::invalid_argument, json);
    return e.what();
}

// A spec with the given nodes (JSON array items) and, when not empty, outputs.
std::string spec(const std::string& nodes, const std::string& outputs = {}) {
    return R"({"nodes": [)" + nodes + "]" + (outputs.empty() ? "" : R"(, "outputs": )" + outputs) +
           "}";
}

}  // namespace

TEST_CASE("the DESIGN.md spec reads into nodes, inputs, resolved parameters and outputs") {
    const auto r = design_registry();
    const Graph g = Graph::from_json(design_spec, r);
    REQUIRE(g.nodes().size() == 4);
    CHECK(g.node("bw").op == "enhanced_bw");
    CHECK(g.node("bw").inputs == std::vector<std::string>{"cut"});
    CHECK(g.node("cut").inputs.empty());
    CHECK(g.params("bw").number("clahe_clip") == 2.0);
    CHECK(g.params("bits").text("palette") == "nes");
    CHECK(g.outputs() == std::vector<std::string>{"bw", "pop", "bits"});
    CHECK(g.topological_order() == std::vector<std::string>{"cut", "bw", "pop", "bits"});
    CHECK(&g.registry() == &r);
}

TEST_CASE("JSON values become typed parameters: int, float, bool, string") {
    const auto r = design_registry();
    const Graph g = Graph::from_json(
        spec(R"({"id": "t", "op": "typed", "params": {"i": 3, "f": 2.5, "b": true, "s": "x"}})"),
        r);
    const auto& p = g.node("t").params;
    CHECK(std::get<std::int64_t>(p.at("i")) == 3);
    CHECK(std::get<double>(p.at("f")) == 2.5);
    CHECK(std::get<bool>(p.at("b")) == true);
    CHECK(std::get<std::string>(p.at("s")) == "x");
    // A whole float is accepted for an integer parameter by the schema.
    CHECK(Graph::from_json(spec(R"({"id": "t", "op": "typed", "params": {"i": 4.0}})"), r)
              .params("t")
              .integer("i") == 4);
}

TEST_CASE("the builder makes the same graph as the JSON spec, and to_json round-trips") {
    const auto r = design_registry();
    const Graph built = Graph::Builder()
                            .node("cut", "remove_background")
                            .node("bw", "enhanced_bw", {"cut"}, {{"clahe_clip", 2.0}})
                            .node("pop", "pop_art", {"cut"})
                            .node("bits", "retro_8bit", {"cut"}, {{"palette", "nes"}})
                            .output("bw")
                            .output("pop")
                            .output("bits")
                            .build(r);
    const Graph parsed = Graph::from_json(design_spec, r);
    CHECK(built.to_json() == parsed.to_json());
    CHECK(Graph::from_json(parsed.to_json(2), r).to_json() == parsed.to_json());
}

TEST_CASE("without outputs, the nodes nothing reads are the outputs") {
    const auto r = design_registry();
    const Graph g = Graph::from_json(spec(R"({"id": "cut", "op": "remove_background"},
                {"id": "bw", "op": "enhanced_bw", "in": ["cut"]},
                {"id": "pop", "op": "pop_art", "in": ["cut"]})"),
                                     r);
    CHECK(g.outputs() == std::vector<std::string>{"bw", "pop"});
    CHECK(Graph::Builder().node("a", "pop_art").build(r).outputs() ==
          std::vector<std::string>{"a"});
}

TEST_CASE("every invalid spec is refused, naming the node and the problem") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"[]", R"(graph spec must be a JSON object with "nodes", got an array)"},
        {"{}", R"(graph spec has no "nodes")"},
        {R"({"nodes": {}})", R"(graph spec: "nodes" must be an array, got an object)"},
        {R"({"nodes": []})", "graph has no nodes"},
        {R"({"nodes": [{"id": "a", "op": "pop_art"}], "extra": 1})",
         "graph spec: unknown key 'extra' (known: nodes, outputs)"},
        {spec("3"), "node 1 must be an object, got a number"},
        {spec(R"({"op": "pop_art"})"), "node 1 has no id"},
        {spec(R"({"id": 5, "op": "pop_art"})"), "node 1: 'id' must be a string, got a number"},
        {spec(R"({"id": "", "op": "pop_art"})"), "node 1 has no id"},
        {spec(R"({"id": "a b", "op": "pop_art"})"),
         "node id 'a b' may only use letters, digits, '_', '-' and '.'"},
        {spec(R"({"id": "a", "op": "pop_art"}, {"id": "a", "op": "pop_art"})"),
         "duplicate node id 'a'"},
        {spec(R"({"id": "a", "op": "pop_art", "input": ["x"]})"),
         "node 'a': unknown key 'input' (known: id, op, in, params)"},
        {spec(R"({"id": "a"})"), "node 'a' has no op"},
        {spec(R"({"id": "a", "op": 7})"), "node 'a': 'op' must be a string, got a number"},
        {spec(R"({"id": "a", "op": "sepia"})"),
         "node 'a': unknown effect 'sepia' (known: enhanced_bw, pop_art, remove_background, "
         "retro_8bit, typed)"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "params": {"clahe_clip": 20}})"),
         "node 'bw': effect 'enhanced_bw': parameter 'clahe_clip' must be a number in [0.5, 8], "
         "got 20"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "params": {"clip": 2}})"),
         "node 'bw': effect 'enhanced_bw': unknown parameter 'clip' (known: clahe_clip)"},
        {spec(R"({"id": "bits", "op": "retro_8bit", "params": {"palette": "c64"}})"),
         "node 'bits': effect 'retro_8bit': parameter 'palette' must be one of nes, gameboy, got "
         "'c64'"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "params": {"clahe_clip": [2]}})"),
         "node 'bw': parameter 'clahe_clip' must be a boolean, number or string, got an array"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "params": {"clahe_clip": null}})"),
         "node 'bw': parameter 'clahe_clip' must be a boolean, number or string, got null"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "params": [1]})"),
         "node 'bw': 'params' must be an object, got an array"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "in": "cut"})"),
         "node 'bw': 'in' must be an array of node ids, got a string"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "in": [1]})"),
         "node 'bw': 'in' must be an array of node ids, got a number in it"},
        {spec(R"({"id": "cut", "op": "remove_background"},
                 {"id": "bw", "op": "enhanced_bw", "in": ["cutt"]})"),
         "node 'bw': input 'cutt' is not a node"},
        {spec(R"({"id": "bw", "op": "enhanced_bw", "in": [""]})"),
         "node 'bw': an input id is empty"},
        {spec(R"({"id": "a", "op": "pop_art"}, {"id": "b", "op": "pop_art"},
                 {"id": "bw", "op": "enhanced_bw", "in": ["a", "b"]})"),
         "node 'bw': effect 'enhanced_bw' takes one input, got 2 (a, b)"},
        {spec(
             R"({"id": "a", "op": "pop_art", "in": ["b"]}, {"id": "b", "op": "pop_art", "in": ["a"]})"),
         "cycle: a -> b -> a"},
        {spec(R"({"id": "r", "op": "pop_art"}, {"id": "x", "op": "pop_art", "in": ["r"]},
                 {"id": "y", "op": "pop_art", "in": ["z"]}, {"id": "z", "op": "pop_art", "in": ["y"]})",
              R"(["x"])"),
         "cycle: y -> z -> y"},
        {spec(R"({"id": "a", "op": "pop_art", "in": ["a"]})"), "cycle: a -> a"},
        {spec(R"({"id": "a", "op": "pop_art"})", R"("a")"),
         R"(graph spec: "outputs" must be an array of node ids, got a string)"},
        {spec(R"({"id": "a", "op": "pop_art"})", "[3]"),
         R"(graph spec: "outputs" must be an array of node ids, got a number)"},
        {spec(R"({"id": "a", "op": "pop_art"})", "[]"), "graph has no outputs"},
        {spec(R"({"id": "a", "op": "pop_art"})", R"(["z"])"), "output 'z' is not a node"},
        {spec(R"({"id": "a", "op": "pop_art"})", R"(["a", "a"])"), "output 'a' is listed twice"},
    };
    for (const auto& [json, expected] : cases) CHECK_MESSAGE(message_of(json) == expected, json);
}

// The position is where the parser stopped: the last character of the offending token.
TEST_CASE("malformed JSON is reported with its line and column") {
    const std::string text =
        "{\"nodes\": [\n"
        "  {\"id\": \"a\", \"op\": \"pop_art\"},\n"
        "  {\"id\": \"b\" \"op\": \"pop_art\"}\n"
        "]}\n";
    const std::string m = message_of(text);
    CHECK(m.rfind("graph spec is not valid JSON: line 3, column 17: ", 0) == 0);
    CHECK(m.find("unexpected string literal") != std::string::npos);
    CHECK(
        message_of("{\"nodes\": [").rfind("graph spec is not valid JSON: line 1, column 12: ", 0) ==
        0);
    CHECK(message_of("").rfind("graph spec is not valid JSON: line 1, column 1: ", 0) == 0);
}

TEST_CASE("spec files: messages start with the path; an unreadable file is an io_error") {
    const auto r = design_registry();
    test::TempDir dir;
    const auto path = dir.file("spec.json");
    std::ofstream(path) << spec(R"({"id": "a", "op": "sepia"})");
    const Error bad = test::error_of([&] { Graph::from_json_file(path, r); });
    CHECK(bad.status() == Status::invalid_argument);
    CHECK(std::string(bad.what()).rfind(path + ": node 'a': unknown effect 'sepia'", 0) == 0);
    std::ofstream(path) << design_spec;
    CHECK(Graph::from_json_file(path, r).nodes().size() == 4);
    const Error missing = test::error_of([&] { Graph::from_json_file(dir.file("none.json"), r); });
    CHECK(missing.status() == Status::io_error);
    CHECK(std::string(missing.what()) == "cannot read graph spec '" + dir.file("none.json") + "'");
}

TEST_CASE("graphs built in code are validated the same way") {
    const auto r = design_registry();
    const Error cycle = test::error_of(
        [&] { Graph::Builder().node("a", "pop_art", {"b"}).node("b", "pop_art", {"a"}).build(r); });
    CHECK(std::string(cycle.what()) == "cycle: a -> b -> a");
    const Error param = test::error_of([&] {
        Graph::Builder().node("bw", "enhanced_bw", {}, {{"clahe_clip", "high"}}).build(r);
    });
    CHECK(std::string(param.what()) ==
          "node 'bw': effect 'enhanced_bw': parameter 'clahe_clip' must be a number in [0.5, 8], "
          "got a string high");
    const Error empty = test::error_of([&] { Graph::Builder().build(r); });
    CHECK(std::string(empty.what()) == "graph has no nodes");
}

TEST_CASE("looking up a node that is not there is not_found") {
    const auto r = design_registry();
    const Graph g = Graph::from_json(design_spec, r);
    const Error e = test::error_of([&] { g.node("nope"); });
    CHECK(e.status() == Status::not_found);
    CHECK(std::string(e.what()) == "graph has no node 'nope'");
    CHECK(test::error_of([&] { g.params("nope"); }).status() == Status::not_found);
}

TEST_CASE("a list of effect names makes one graph, the same for the CLI, C and Python") {
    const auto reg = design_registry();
    const Graph plain = Graph::from_effects({"enhanced_bw", "pop_art"},
                                            {{"enhanced_bw", {{"clahe_clip", 3.0}}}}, false, reg);
    CHECK(plain.outputs() == std::vector<std::string>{"enhanced_bw", "pop_art"});
    CHECK(plain.node("pop_art").inputs.empty());
    CHECK(plain.params("enhanced_bw").number("clahe_clip") == 3.0);

    // With the cut-out: one remove_background node that every other effect reads.
    const Graph cut =
        Graph::from_effects({"remove_background", "enhanced_bw", "pop_art"}, {}, true, reg);
    CHECK(cut.outputs() == std::vector<std::string>{"remove_background", "enhanced_bw", "pop_art"});
    CHECK(cut.node("enhanced_bw").inputs == std::vector<std::string>{"remove_background"});
    CHECK(cut.node("pop_art").inputs == std::vector<std::string>{"remove_background"});
    CHECK(cut.nodes().size() == 3);

    CHECK(test::error_of([&] { Graph::from_effects({}, {}, false, reg); }).status() ==
          Status::invalid_argument);
    const auto unknown = test::error_of([&] { Graph::from_effects({"blur"}, {}, false, reg); });
    CHECK(unknown.status() == Status::invalid_argument);
    CHECK(std::string(unknown.what()).find("'blur'") != std::string::npos);
    const auto twice = test::error_of([&] {
        Graph::from_effects({"pop_art", "pop_art"}, {}, false, reg);
    });
    CHECK(twice.status() == Status::invalid_argument);
    CHECK(std::string(twice.what()).find("twice") != std::string::npos);
    const auto stray = test::error_of([&] {
        Graph::from_effects({"pop_art"}, {{"enhanced_bw", {{"clahe_clip", 3.0}}}}, false, reg);
    });
    CHECK(stray.status() == Status::invalid_argument);
    CHECK(std::string(stray.what()).find("enhanced_bw") != std::string::npos);
    // A parameter the effect does not have is named, as in a JSON spec.
    CHECK(test::error_of([&] {
              Graph::from_effects({"pop_art"}, {{"pop_art", {{"x", 1.0}}}}, false, reg);
          }).status() == Status::invalid_argument);
}
