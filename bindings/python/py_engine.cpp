// artistry.Engine and artistry.Run: runs with the GIL released; callbacks take it only for
// the call.

#include <fmt/format.h>

#include "py_common.hpp"

namespace artistry::python {

namespace {

// A run and the engine it runs on (kept alive while the Python handle exists).
struct PyRun {
    std::shared_ptr<Engine> engine;
    RunHandle handle;
};

py::dict event_dict(const ProgressEvent& e) {
    py::dict d;
    d["run_id"] = e.run_id;
    d["node"] = e.node;
    d["op"] = e.op;
    d["phase"] = phase_name(e.phase);
    d["units_done"] = e.units_done;
    d["units_total"] = e.units_total;
    d["fraction"] = e.fraction;
    d["eta_seconds"] = e.eta_seconds;
    d["rate_mps"] = e.rate_mps;
    d["message"] = e.message;
    return d;
}

std::shared_ptr<Engine> make_engine(int threads, int max_parallel, bool use_environment) {
    if (threads < 0 || max_parallel < 0)
        throw py::value_error("threads and max_parallel must be >= 0");
    EngineOptions o;
    o.threads = threads;
    o.max_parallel = max_parallel;
    o.use_environment = use_environment;
    // The destructor waits for runs whose callbacks may need the GIL: wait without it.
    return std::shared_ptr<Engine>(new Engine(o), [](Engine* e) {
        if (Py_IsInitialized() && PyGILState_Check()) {
            py::gil_scoped_release nogil;
            delete e;
        } else {
            delete e;
        }
    });
}

}  // namespace

RunOptions make_run_options(int max_parallel, const py::object& progress,
                            const py::object& on_done) {
    if (max_parallel < 0) throw py::value_error("max_parallel must be >= 0");
    RunOptions o;
    o.max_parallel = max_parallel;
    if (progress.is_none() && on_done.is_none()) return o;
    if (!progress.is_none() && !PyCallable_Check(progress.ptr()))
        throw py::type_error("progress must be callable");
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    o.cancel = cancel;
    auto p = progress.is_none() ? nullptr : hold(progress);
    auto d = on_done.is_none() ? nullptr : hold(on_done);
    o.progress = [p, d, cancel](const ProgressEvent& e) {
        py::gil_scoped_acquire gil;
        if (p) {
            try {
                if (py::bool_((*p)(event_dict(e)))) cancel->store(true);  // truthy: cancel
            } catch (py::error_already_set& err) {
                err.discard_as_unraisable("artistry progress callback");
            }
        }
        if (d && e.node.empty()) {  // the run's last event
            try {
                (*d)();
            } catch (py::error_already_set& err) {
                err.discard_as_unraisable("artistry completion callback");
            }
        }
    };
    return o;
}

void bind_engine(py::module_& m) {
    py::class_<PyRun>(m, "Run", "A run going on in the engine.")
        .def_property_readonly("id", [](const PyRun& r) { return r.handle.id(); })
        .def("done", [](const PyRun& r) { return r.handle.done(); })
        .def(
            "wait",
            [](const PyRun& r, std::optional<double> timeout) {
                py::gil_scoped_release nogil;
                if (!timeout) {
                    r.handle.wait();
                    return true;
                }
                return r.handle.wait_for(*timeout);
            },
            py::arg("timeout") = py::none(),
            "Wait (GIL released); False when the timeout passed first.")
        .def("cancel", [](const PyRun& r) { r.handle.cancel(); })
        .def(
            "result",
            [](const PyRun& r) {
                Result result;
                {
                    py::gil_scoped_release nogil;
                    result = r.handle.result();
                }
                return result;
            },
            "Wait (GIL released) and return the Result.");

    py::class_<Engine, std::shared_ptr<Engine>>(
        m, "Engine", "Runs effect graphs on a shared pool of worker threads; many runs at once.")
        .def(py::init(&make_engine), py::arg("threads") = 0, py::arg("max_parallel") = 0,
             py::arg("use_environment") = true)
        .def(
            "run",
            [](const std::shared_ptr<Engine>& self, const py::handle& graph,
               const py::handle& image, const py::object& params, int max_parallel,
               const py::object& progress) {
                const Graph g = graph_from_object(graph, params);
                const Image input = image_from_object(image);
                RunOptions options = make_run_options(max_parallel, progress, py::none());
                Result result;
                {
                    py::gil_scoped_release nogil;
                    result = self->run(g, input, options);
                }
                return result;
            },
            py::arg("graph"), py::arg("image"), py::kw_only(), py::arg("params") = py::none(),
            py::arg("max_parallel") = 0, py::arg("progress") = py::none(),
            "Run a graph (Graph, JSON text, or list of effect names) on an image and wait, with "
            "the GIL released. progress(event: dict) is called on engine threads; a truthy return "
            "cancels the run.")
        .def(
            "submit",
            [](const std::shared_ptr<Engine>& self, const py::handle& graph,
               const py::handle& image, const py::object& params, int max_parallel,
               const py::object& progress, const py::object& on_done) {
                const Graph g = graph_from_object(graph, params);
                const Image input = image_from_object(image);
                RunOptions options = make_run_options(max_parallel, progress, on_done);
                PyRun run{self, {}};
                {
                    py::gil_scoped_release nogil;
                    run.handle = self->submit(g, input, std::move(options));
                }
                return run;
            },
            py::arg("graph"), py::arg("image"), py::kw_only(), py::arg("params") = py::none(),
            py::arg("max_parallel") = 0, py::arg("progress") = py::none(),
            py::arg("on_done") = py::none(),
            "Start a run and return a Run at once; on_done() is called on an engine thread when "
            "it ends.")
        .def("cancel", &Engine::cancel, py::arg("run_id"))
        .def("metrics_text", &Engine::metrics_text, "Prometheus text exposition.")
        .def_property_readonly("threads", &Engine::threads)
        .def_property_readonly("max_parallel", &Engine::max_parallel)
        .def("throughput_mps", &Engine::throughput_mps, py::arg("op"));
}

}  // namespace artistry::python
