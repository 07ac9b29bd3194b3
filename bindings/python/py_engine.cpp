// artistry.Engine and artistry.Run: runs with the GIL released; callbacks take it only for
// the call.

#include <fmt/format.h>

#include "artistry/cache.hpp"
#include "artistry/memory.hpp"
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

// What Engine(...) takes besides threads: the budget and the cache's tiers, code first, then
// the environment (ARTISTRY_MEMORY_BUDGET, ARTISTRY_CACHE_*, ARTISTRY_REDIS_URL).
struct EngineKeywords {
    py::object memory_budget;  // None, bytes (int), or text: "2GiB", "50%", "0.5"
    std::uint64_t cache_memory_mb = 0;
    std::string cache_dir, cache_tiers, redis_url;
};

std::shared_ptr<Engine> make_engine(int threads, int max_parallel, bool use_environment,
                                    const EngineKeywords& k) {
    if (threads < 0 || max_parallel < 0)
        throw py::value_error("threads and max_parallel must be >= 0");
    EngineOptions o;
    o.threads = threads;
    o.max_parallel = max_parallel;
    o.use_environment = use_environment;
    if (py::isinstance<py::int_>(k.memory_budget)) {
        const auto bytes = k.memory_budget.cast<std::int64_t>();
        if (bytes <= 0) throw py::value_error("memory_budget must be > 0 bytes");
        o.memory_options.cpu_budget.bytes = static_cast<std::uint64_t>(bytes);
    } else if (py::isinstance<py::str>(k.memory_budget)) {
        o.memory_options.cpu_budget = Budget::parse(k.memory_budget.cast<std::string>());
    } else if (!k.memory_budget.is_none()) {
        throw py::type_error("memory_budget: bytes (int) or text such as \"2GiB\" or \"50%\"");
    }
    o.cache_options.memory_bytes = k.cache_memory_mb << 20;
    o.cache_options.disk_dir = k.cache_dir;
    o.cache_options.redis_url = k.redis_url;
    if (!k.cache_tiers.empty()) set_cache_tiers(o.cache_options, k.cache_tiers);
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

constexpr const char* engine_doc =
    "threads: workers (0: ARTISTRY_THREADS, else one per core). memory_budget: the CPU budget "
    "(bytes, \"2GiB\", \"50%\"; None: ARTISTRY_MEMORY_BUDGET, else half the RAM). "
    "cache_memory_mb, cache_dir, cache_tiers (\"memory,disk,redis\", any subset, or \"none\") "
    "and redis_url set the result cache; empty ones take the environment's ARTISTRY_CACHE_* and "
    "ARTISTRY_REDIS_URL.";

// artistry.Engine(threads, max_parallel, use_environment, *, memory_budget, cache_...).
void def_engine_init(py::class_<Engine, std::shared_ptr<Engine>>& engine) {
    engine.def(
        py::init([](int threads, int max_parallel, bool use_environment,
                    const py::object& memory_budget, std::uint64_t cache_memory_mb,
                    const std::string& cache_dir, const std::string& cache_tiers,
                    const std::string& redis_url) {
            return make_engine(threads, max_parallel, use_environment,
                               {memory_budget, cache_memory_mb, cache_dir, cache_tiers, redis_url});
        }),
        py::arg("threads") = 0, py::arg("max_parallel") = 0, py::arg("use_environment") = true,
        py::kw_only(), py::arg("memory_budget") = py::none(), py::arg("cache_memory_mb") = 0,
        py::arg("cache_dir") = "", py::arg("cache_tiers") = "", py::arg("redis_url") = "",
        engine_doc);
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

    py::class_<Engine, std::shared_ptr<Engine>> engine(
        m, "Engine", "Runs effect graphs on a shared pool of worker threads; many runs at once.");
    def_engine_init(engine);
    engine
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
