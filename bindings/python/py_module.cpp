// import artistry._artistry: the C++ API bound one class per file (py_*.cpp).

#include "artistry/artistry.hpp"
#include "py_common.hpp"

PYBIND11_MODULE(_artistry, m) {
    m.doc() = "artistry image-effects engine (native part; use the artistry package)";
    m.attr("__version__") = artistry::version();
    m.def("build_info", &artistry::build_info, "Compiler, build type and library versions.");
    artistry::python::bind_errors(m);
    artistry::python::bind_image(m);
    artistry::python::bind_effects(m);
    artistry::python::bind_graph(m);
    artistry::python::bind_result(m);
    artistry::python::bind_engine(m);
    artistry::python::bind_system(m);
    artistry::python::bind_stream(m);
}
