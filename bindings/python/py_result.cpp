// artistry.Result: a finished run's outputs (numpy arrays, no copy), node reports and status.

#include <fmt/format.h>

#include "py_common.hpp"

namespace artistry::python {

void bind_result(py::module_& m) {
    py::class_<Result>(m, "Result", "What a run produced; outputs are numpy arrays by node id.")
        .def_property_readonly("status", [](const Result& r) { return run_status_name(r.status); })
        .def_property_readonly("ok", &Result::ok)
        .def_property_readonly("error", [](const Result& r) { return r.error; })
        .def_property_readonly("run_id", [](const Result& r) { return r.run_id; })
        .def_property_readonly("wall_seconds", [](const Result& r) { return r.wall_seconds; })
        .def_property_readonly("outputs",
                               [](const Result& r) {
                                   py::dict out;
                                   for (const auto& [id, image] : r.outputs)
                                       out[py::str(id)] = array_from_image(image);
                                   return out;
                               })
        .def_property_readonly(
            "data",
            [](const Result& r) {
                py::dict out;
                const auto loads = py::module_::import("json").attr("loads");
                for (const auto& [id, json] : r.data) out[py::str(id)] = loads(json);
                return out;
            },
            "Structured outputs by node id (detections, the method used), parsed from JSON")
        .def_property_readonly(
            "nodes",
            [](const Result& r) {
                py::list out;
                for (const auto& n : r.nodes) {
                    py::dict d;
                    d["id"] = n.id;
                    d["op"] = n.op;
                    d["status"] = node_status_name(n.status);
                    d["seconds"] = n.seconds;
                    d["error"] = n.error;
                    // the failure's kind (artistry::status_name): "timeout", "decode_error" …
                    d["error_status"] = status_name(n.error_status);
                    d["cause"] = n.cause;
                    d["data"] = n.data.empty() ? py::object(py::none())
                                               : py::module_::import("json").attr("loads")(n.data);
                    out.append(d);
                }
                return out;
            })
        .def("__getitem__",
             [](const Result& r, const std::string& id) { return array_from_image(r.output(id)); })
        .def("__contains__",
             [](const Result& r, const std::string& id) { return r.outputs.count(id) != 0; })
        .def("__repr__", [](const Result& r) {
            return fmt::format("<artistry.Result {} outputs={} {:.3f}s>", run_status_name(r.status),
                               r.outputs.size(), r.wall_seconds);
        });
}

}  // namespace artistry::python
