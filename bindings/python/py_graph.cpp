// artistry.Graph: from JSON, from a list of effect names, or built node by node.

#include <fmt/format.h>

#include "py_common.hpp"

namespace artistry::python {

Graph graph_from_object(const py::handle& object, const py::object& params) {
    if (py::isinstance<Graph>(object)) {
        if (!params.is_none())
            throw py::value_error("params: give them in the graph's nodes instead");
        return object.cast<Graph>();
    }
    if (py::isinstance<py::str>(object)) {
        if (!params.is_none()) throw py::value_error("params: give them in the JSON spec instead");
        return Graph::from_json(object.cast<std::string>());
    }
    if (py::isinstance<py::list>(object) || py::isinstance<py::tuple>(object)) {
        std::vector<std::string> effects;
        for (const auto& item : object) {
            if (!py::isinstance<py::str>(item))
                throw py::type_error("effects: every item must be an effect name (str)");
            effects.push_back(item.cast<std::string>());
        }
        std::map<std::string, ParamMap> by_effect;
        if (!params.is_none())
            for (const auto& [name, values] : params.cast<py::dict>())
                by_effect[name.cast<std::string>()] = params_from_dict(values.cast<py::dict>());
        return Graph::from_effects(effects, by_effect);
    }
    throw py::type_error(
        fmt::format("graph: expected artistry.Graph, a JSON str or a list of effect "
                    "names, got {}",
                    py::str(py::type::of(object)).cast<std::string>()));
}

void bind_graph(py::module_& m) {
    py::class_<Graph>(m, "Graph", "A validated, immutable DAG of effect nodes.")
        .def_static(
            "from_json", [](const std::string& json) { return Graph::from_json(json); },
            py::arg("json"), "Parse and validate a spec (see DESIGN.md).")
        .def_static(
            "from_effects",
            [](const py::list& effects, const py::object& params) {
                return graph_from_object(effects, params);
            },
            py::arg("effects"), py::arg("params") = py::none(),
            "Each effect reads the input and is an output; params: {effect: {param: value}}.")
        .def("to_json", &Graph::to_json, py::arg("indent") = -1)
        .def_property_readonly("outputs", &Graph::outputs)
        .def_property_readonly("nodes",
                               [](const Graph& g) {
                                   py::list out;
                                   for (const auto& n : g.nodes()) {
                                       py::dict d;
                                       d["id"] = n.id;
                                       d["op"] = n.op;
                                       d["in"] = n.inputs;
                                       py::dict params;
                                       for (const auto& [k, v] : g.params(n.id).values())
                                           params[py::str(k)] = param_to_python(v);
                                       d["params"] = params;
                                       out.append(d);
                                   }
                                   return out;
                               })
        .def("__repr__", [](const Graph& g) {
            return fmt::format("<artistry.Graph {} nodes>", g.nodes().size());
        });
}

}  // namespace artistry::python
