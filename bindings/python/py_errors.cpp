// C++ errors → Python exceptions. The classes live in artistry/__init__.py (each derives from
// ArtistryError and the matching builtin, e.g. ValueError); it hands them to us by status.

#include <new>
#include <opencv2/core.hpp>

#include "artistry/error.hpp"
#include "py_common.hpp"

namespace artistry::python {

namespace {

// status (int) → exception class; set once at import by artistry/__init__.py.
py::dict& error_classes() {
    static auto* classes = new py::dict();  // leaked: outlives interpreter teardown order
    return *classes;
}

void raise_status(Status status, const char* message) {
    auto& classes = error_classes();
    const py::int_ key(static_cast<int>(status));
    if (classes.contains(key)) {
        py::object cls = classes[key];
        PyErr_SetObject(cls.ptr(), py::make_tuple(message, static_cast<int>(status)).ptr());
    } else {
        PyErr_SetString(PyExc_RuntimeError, message);
    }
}

}  // namespace

void bind_errors(py::module_& m) {
    m.def("_set_error_classes", [](const py::dict& classes) { error_classes() = classes; });
    m.def("status_name", [](int status) { return status_name(static_cast<Status>(status)); });
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            raise_status(e.status(), e.what());
        } catch (const cv::Exception& e) {
            raise_status(Status::internal, (std::string("OpenCV: ") + e.what()).c_str());
        }
    });
}

}  // namespace artistry::python
