// The JSON form of a graph (DESIGN.md): reading with line:column errors, and writing.

#include <fstream>
#include <iterator>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "artistry/error.hpp"
#include "artistry/graph.hpp"
#include "graph/graph_impl.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

using nlohmann::json;

Error invalid(std::string message) {
    return Error(Status::invalid_argument, std::move(message));
}

const char* kind_of(const json& v) {
    switch (v.type()) {
        case json::value_t::null:
            return "null";
        case json::value_t::object:
            return "an object";
        case json::value_t::array:
            return "an array";
        case json::value_t::string:
            return "a string";
        case json::value_t::boolean:
            return "a boolean";
        case json::value_t::binary:
            return "binary data";
        case json::value_t::discarded:
            return "nothing";
        default:
            return "a number";
    }
}

// "line 3, column 7" of a 1-based byte offset, counting columns in bytes.
std::string position_text(std::string_view text, std::size_t byte) {
    const std::size_t at = std::min(byte == 0 ? 0 : byte - 1, text.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
        }
    }
    return fmt::format("line {}, column {}", line, at - line_start + 1);
}

// nlohmann's message without its "[json.exception...] parse error at ...: " preamble.
std::string parse_reason(const json::parse_error& e) {
    const std::string what = e.what();
    const auto colon = what.find(": ", what.find("parse error"));
    return colon == std::string::npos ? what : what.substr(colon + 2);
}

void check_keys(const json& object, std::initializer_list<const char*> known,
                const std::string& where) {
    for (const auto& [key, value] : object.items()) {
        bool ok = false;
        for (const char* k : known) ok = ok || key == k;
        if (!ok) {
            std::string list;
            for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
            throw invalid(fmt::format("{}: unknown key '{}' (known: {})", where, key, list));
        }
    }
}

ParamValue param_value(const json& v, const std::string& node, const std::string& name) {
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number_integer()) {
        if (v.is_number_unsigned() && v.get<std::uint64_t>() > INT64_MAX)
            throw invalid(fmt::format("node '{}': parameter '{}' is too large", node, name));
        return v.get<std::int64_t>();
    }
    if (v.is_number_float()) return v.get<double>();
    if (v.is_string()) return v.get<std::string>();
    throw invalid(
        fmt::format("node '{}': parameter '{}' must be a boolean, number or string, got {}", node,
                    name, kind_of(v)));
}

NodeSpec read_node(const json& j, std::size_t position) {
    const std::string where = fmt::format("node {}", position);
    if (!j.is_object())
        throw invalid(fmt::format("{} must be an object, got {}", where, kind_of(j)));
    NodeSpec n;
    const auto id = j.find("id");
    if (id == j.end()) throw invalid(fmt::format("{} has no id", where));
    if (!id->is_string())
        throw invalid(fmt::format("{}: 'id' must be a string, got {}", where, kind_of(*id)));
    n.id = id->get<std::string>();
    const std::string named = n.id.empty() ? where : fmt::format("node '{}'", n.id);
    check_keys(j, {"id", "op", "in", "params"}, named);
    if (const auto op = j.find("op"); op != j.end()) {
        if (!op->is_string())
            throw invalid(fmt::format("{}: 'op' must be a string, got {}", named, kind_of(*op)));
        n.op = op->get<std::string>();
    }
    if (const auto in = j.find("in"); in != j.end()) {
        if (!in->is_array())
            throw invalid(
                fmt::format("{}: 'in' must be an array of node ids, got {}", named, kind_of(*in)));
        for (const auto& v : *in) {
            if (!v.is_string())
                throw invalid(fmt::format("{}: 'in' must be an array of node ids, got {} in it",
                                          named, kind_of(v)));
            n.inputs.push_back(v.get<std::string>());
        }
    }
    if (const auto params = j.find("params"); params != j.end()) {
        if (!params->is_object())
            throw invalid(
                fmt::format("{}: 'params' must be an object, got {}", named, kind_of(*params)));
        for (const auto& [name, value] : params->items())
            n.params[name] = param_value(value, n.id, name);
    }
    return n;
}

json to_json_value(const ParamValue& v) {
    return std::visit([](const auto& x) { return json(x); }, v);
}

}  // namespace

Graph Graph::from_json(std::string_view text, const EffectRegistry& registry) {
    json doc;
    try {
        doc = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
        throw invalid(fmt::format("graph spec is not valid JSON: {}: {}",
                                  position_text(text, e.byte), parse_reason(e)));
    } catch (const json::exception& e) {  // a number too large for a double (out_of_range 406)
        throw invalid(fmt::format("graph spec is not valid JSON: {}", e.what()));
    }
    if (!doc.is_object())
        throw invalid(
            fmt::format("graph spec must be a JSON object with \"nodes\", got {}", kind_of(doc)));
    check_keys(doc, {"nodes", "outputs"}, "graph spec");
    const auto nodes_it = doc.find("nodes");
    if (nodes_it == doc.end()) throw invalid("graph spec has no \"nodes\"");
    if (!nodes_it->is_array())
        throw invalid(
            fmt::format("graph spec: \"nodes\" must be an array, got {}", kind_of(*nodes_it)));
    std::vector<NodeSpec> nodes;
    for (std::size_t i = 0; i < nodes_it->size(); ++i)
        nodes.push_back(read_node((*nodes_it)[i], i + 1));

    std::vector<std::string> outputs;
    const auto outputs_it = doc.find("outputs");
    const bool given = outputs_it != doc.end();
    if (given) {
        const auto bad = [&](const json& v) {
            return invalid(fmt::format(
                "graph spec: \"outputs\" must be an array of node ids, got {}", kind_of(v)));
        };
        if (!outputs_it->is_array()) throw bad(*outputs_it);
        for (const auto& v : *outputs_it) {
            if (!v.is_string()) throw bad(v);
            outputs.push_back(v.get<std::string>());
        }
    }
    return Graph(detail::validate_graph(std::move(nodes), std::move(outputs), given, registry));
}

Graph Graph::from_json_file(const std::string& path, const EffectRegistry& registry) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Status::io_error, fmt::format("cannot read graph spec '{}'", path));
    const std::string text(std::istreambuf_iterator<char>(in), {});
    try {
        return from_json(text, registry);
    } catch (const Error& e) {
        throw Error(e.status(), fmt::format("{}: {}", path, e.what()));
    }
}

std::string Graph::to_json(int indent) const {
    json nodes = json::array();
    for (const auto& n : impl_->nodes) {
        json j = {{"id", n.id}, {"op", n.op}};
        if (!n.inputs.empty()) j["in"] = n.inputs;
        if (!n.params.empty()) {
            json params = json::object();
            for (const auto& [name, value] : n.params) params[name] = to_json_value(value);
            j["params"] = std::move(params);
        }
        nodes.push_back(std::move(j));
    }
    return json{{"nodes", std::move(nodes)}, {"outputs", impl_->outputs}}.dump(indent);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
