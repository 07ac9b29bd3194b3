// C++ errors → Python exceptions. Which status an exception means is decided by
// artistry::exception_status (src/core/error.cpp), the mapping the engine and the C ABI use;
// the class for each status comes from artistry/__init__.py (each derives from ArtistryError
// and the matching builtin, e.g. ValueError), by status name, checked to cover every status.

#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "py_common.hpp"

namespace artistry::python {

namespace {

// status code → exception class; set once at import by artistry/__init__.py.
std::vector<py::object>& error_classes() {
    static auto* classes = new std::vector<py::object>();  // leaked: outlives interpreter teardown
    return *classes;
}

// {name: class} for every status but ok, no other name; else ValueError naming what is wrong.
void set_error_classes(const py::dict& by_name) {
    std::vector<py::object> classes(status_count);
    for (int code = 1; code < status_count; ++code) {
        const char* name = status_name(static_cast<Status>(code));
        if (!by_name.contains(name))
            throw py::value_error(fmt::format("error classes: no class for status '{}'", name));
        classes[code] = by_name[name];
    }
    if (py::len(by_name) != static_cast<std::size_t>(status_count - 1))
        throw py::value_error(fmt::format("error classes: {} names for {} statuses (ok excluded)",
                                          py::len(by_name), status_count - 1));
    error_classes() = std::move(classes);
}

py::dict statuses() {
    py::dict out;
    for (int code = 0; code < status_count; ++code)
        out[status_name(static_cast<Status>(code))] = code;
    return out;
}

void raise_status(Status status, const std::string& message) {
    const auto& classes = error_classes();
    const int code = static_cast<int>(status);
    if (code > 0 && code < static_cast<int>(classes.size()) && classes[code]) {
        PyErr_SetObject(classes[code].ptr(), py::make_tuple(message, code).ptr());
    } else {
        PyErr_SetString(PyExc_RuntimeError, message.c_str());
    }
}

// Throws what `kind` names, for tests of the mapping from Python (artistry._artistry only).
[[noreturn]] void throw_for_test(const std::string& kind, int status) {
    if (kind == "error") throw Error(static_cast<Status>(status), "test error");
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "cv") throw cv::Exception(cv::Error::StsBadArg, "test", "f", "file", 1);
    if (kind == "cv_nomem") throw cv::Exception(cv::Error::StsNoMem, "test", "f", "file", 1);
    if (kind == "invalid_argument") throw std::invalid_argument("test invalid argument");
    if (kind == "runtime_error") throw std::runtime_error("test runtime error");
    if (kind == "unknown") throw 42;
    throw py::value_error("unknown kind '" + kind + "'");
}

}  // namespace

void bind_errors(py::module_& m) {
    m.def("_set_error_classes", &set_error_classes);
    m.def("_statuses", &statuses, "{status name: code} for every artistry::Status");
    m.def("_throw_for_test", &throw_for_test, py::arg("kind"), py::arg("status") = 0);
    m.def("status_name", [](int status) { return status_name(static_cast<Status>(status)); });
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const py::builtin_exception&) {
            throw;  // pybind11's own (TypeError, ValueError ...): its translator sets them
        } catch (const py::error_already_set&) {
            throw;
        } catch (...) {
            const auto failure = exception_status(std::current_exception());
            raise_status(failure.status, failure.message);
        }
    });
}

}  // namespace artistry::python
