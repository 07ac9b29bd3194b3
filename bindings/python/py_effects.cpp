// artistry.effects(): every effect with its parameter schema, from the one registry.

#include <fmt/format.h>

#include "py_common.hpp"

namespace artistry::python {

py::object param_to_python(const ParamValue& value) {
    return std::visit([](const auto& v) -> py::object { return py::cast(v); }, value);
}

ParamMap params_from_dict(const py::dict& params) {
    ParamMap out;
    for (const auto& [key, value] : params) {
        const auto name = py::str(key).cast<std::string>();
        if (py::isinstance<py::bool_>(value))
            out[name] = value.cast<bool>();
        else if (py::isinstance<py::int_>(value))
            out[name] = value.cast<std::int64_t>();
        else if (py::isinstance<py::float_>(value))
            out[name] = value.cast<double>();
        else if (py::isinstance<py::str>(value))
            out[name] = value.cast<std::string>();
        else
            throw py::type_error(fmt::format("parameter '{}': {} is not bool, int, float or str",
                                             name,
                                             py::str(py::type::of(value)).cast<std::string>()));
    }
    return out;
}

namespace {

py::dict describe(const EffectInfo& info) {
    py::list params;
    for (const auto& p : info.params) {
        py::dict d;
        d["name"] = p.name;
        d["type"] = param_type_name(p.type);
        d["default"] = param_to_python(p.default_value);
        d["min"] = p.type == ParamType::integer || p.type == ParamType::number ? py::cast(p.min)
                                                                               : py::none();
        d["max"] = p.type == ParamType::integer || p.type == ParamType::number ? py::cast(p.max)
                                                                               : py::none();
        d["choices"] = p.choices;
        d["help"] = p.help;
        d["file"] = p.file;  // a path the effect reads
        params.append(d);
    }
    py::dict d;
    d["name"] = info.name;
    d["version"] = info.version;
    d["summary"] = info.summary;
    d["params"] = params;
    return d;
}

}  // namespace

void bind_effects(py::module_& m) {
    m.def(
        "effects",
        [] {
            py::list out;
            const auto& registry = EffectRegistry::builtin();
            for (const auto& name : registry.names()) out.append(describe(registry.get(name)));
            return out;
        },
        "Every built-in effect: name, version, summary and params (name, type, default, min, "
        "max, choices, help).");
    m.def(
        "effect",
        [](const std::string& name) { return describe(EffectRegistry::builtin().get(name)); },
        py::arg("name"), "One effect's schema; NotFoundError names the known effects.");
    m.def(
        "apply_effect",
        [](const std::string& name, const py::handle& image, const py::dict& params) {
            const Image input = image_from_object(image);
            const ParamMap p = params_from_dict(params);
            Image out;
            {
                py::gil_scoped_release nogil;
                out = apply_effect(name, input, p);
            }
            return array_from_image(out);
        },
        py::arg("name"), py::arg("image"), py::arg("params") = py::dict(),
        "Run one effect on the calling thread (no engine); returns a new array.");
}

}  // namespace artistry::python
