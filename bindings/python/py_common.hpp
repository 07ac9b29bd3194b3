#pragma once
// Shared by the py_*.cpp files: conversions between numpy and artistry::Image, parameters,
// and Python objects that may be released on engine threads.

#include <memory>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "artistry/effect.hpp"
#include "artistry/engine.hpp"
#include "artistry/graph.hpp"
#include "artistry/image.hpp"
#include "artistry/tiling.hpp"

namespace py = pybind11;

namespace artistry::python {

// A Python object held from C++ where the last reference may drop on an engine thread: the
// deleter takes the GIL (a py::object must never be released without it).
std::shared_ptr<py::object> hold(py::object object);

// Views a numpy array (H×W×C or H×W, uint8 or float32, rows contiguous) without copying; the
// array stays alive as long as the Image. TypeError / ValueError say what is wrong.
Image image_from_array(const py::array& array);
// A numpy array over the image's pixels (no copy); its base owns them.
py::array array_from_image(const Image& image);
// numpy array or artistry.Image → Image.
Image image_from_object(const py::handle& object);

ParamMap params_from_dict(const py::dict& params);
py::object param_to_python(const ParamValue& value);

// A graph object, a JSON text, or a list of effect names (optionally with params per name).
Graph graph_from_object(const py::handle& object, const py::object& params);

// A chain of effects: a name, or a list of names and (name, params dict) pairs.
EffectChain chain_from_object(const py::handle& effects);
// Tiled-run options on the engine's registry, models and memory manager, the band budget a
// quarter of its CPU budget (at least 64 MiB).
TileOptions tile_options_for(const Engine& engine);

// RunOptions whose callbacks call into Python with the GIL held only for the call.
RunOptions make_run_options(int max_parallel, const py::object& progress,
                            const py::object& on_done);

void bind_errors(py::module_& m);
void bind_image(py::module_& m);
void bind_effects(py::module_& m);
void bind_graph(py::module_& m);
void bind_result(py::module_& m);
void bind_engine(py::module_& m);
void bind_system(py::module_& m);  // after bind_engine: adds to artistry.Engine
void bind_stream(py::module_& m);  // after bind_engine: adds to artistry.Engine

}  // namespace artistry::python
