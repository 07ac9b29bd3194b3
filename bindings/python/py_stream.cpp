// Files larger than memory from Python: artistry.ImageWriter (rows in, one file out, whole or
// not at all) and the engine's streamed runs: run_tiled_file, and the bands of output rows that
// separate processes compute apart (plan_row_bands, run_tiled_rows; artistry.distributed).

#include <atomic>
#include <optional>

#include "artistry/io.hpp"
#include "artistry/stream.hpp"
#include "py_common.hpp"

namespace artistry::python {

EffectChain chain_from_object(const py::handle& effects) {
    if (py::isinstance<py::str>(effects)) return {ChainStep{effects.cast<std::string>(), {}}};
    EffectChain chain;
    for (const auto& item : effects) {
        if (py::isinstance<py::str>(item)) {
            chain.push_back({item.cast<std::string>(), {}});
        } else if ((py::isinstance<py::tuple>(item) || py::isinstance<py::list>(item)) &&
                   py::len(item) == 2) {
            const auto pair = item.cast<py::sequence>();
            chain.push_back({pair[0].cast<std::string>(), params_from_dict(pair[1])});
        } else {
            throw py::type_error("effects: each item is an effect name or (name, params dict)");
        }
    }
    if (chain.empty()) throw py::value_error("effects: name at least one effect");
    return chain;
}

TileOptions tile_options_for(const Engine& engine) {
    TileOptions o;
    o.registry = &engine.registry();
    o.models = &engine.models();
    o.memory = &engine.memory();
    o.memory_budget_bytes =
        std::max<std::uint64_t>(engine.memory().budget(Device::cpu()) / 4, 64ull << 20);
    return o;
}

namespace {

py::dict stats_dict(const TiledRunStats& s) {
    py::dict d;
    d["tile_size"] = s.tile_size;
    d["bands"] = s.bands;
    d["planned_bytes"] = s.planned_bytes;
    d["whole_image_stage"] = s.whole_image_stage;
    d["input_passes"] = s.input_passes;
    d["rows_read"] = s.rows_read;
    py::list data;
    for (const auto& text : s.data) data.append(text);
    d["data"] = data;
    return d;
}

// ImageWriter with Python's `with`: an exception inside the block leaves no file.
struct PyWriter {
    std::unique_ptr<ImageWriter> writer;
    ImageWriter& get() {
        if (!writer) throw py::value_error("the ImageWriter is closed");
        return *writer;
    }
};

void bind_writer(py::module_& m) {
    py::class_<PyWriter>(m, "ImageWriter",
                         "Writes a JPEG, PNG or TIFF file band by band, top to bottom; the file "
                         "appears only when finish() succeeds (a temporary file until then).")
        .def(
            py::init([](const std::string& path, int width, int height, int channels, int quality) {
                SaveOptions save;
                save.jpeg_quality = save.webp_quality = quality;
                return PyWriter{ImageWriter::create(path, width, height, channels, save)};
            }),
            py::arg("path"), py::arg("width"), py::arg("height"), py::arg("channels") = 3,
            py::kw_only(), py::arg("quality") = 92)
        .def(
            "write",
            [](PyWriter& self, const py::handle& rows) {
                const Image band = image_from_object(rows);
                ImageWriter& w = self.get();
                py::gil_scoped_release nogil;
                w.write_rows(band);
            },
            py::arg("rows"), "Append rows (an H×W×C uint8 array, W and C the file's).")
        .def(
            "finish",
            [](PyWriter& self) {
                ImageWriter& w = self.get();
                {
                    py::gil_scoped_release nogil;
                    w.finish();
                }
                self.writer.reset();
            },
            "Complete the file and move it into place (every row must have been written).")
        .def(
            "abort", [](PyWriter& self) { self.writer.reset(); },
            "Drop the temporary file; nothing appears at the path.")
        .def_property_readonly("rows_written",
                               [](PyWriter& self) { return self.get().rows_written(); })
        .def("__enter__", [](PyWriter& self) -> PyWriter& { return self; })
        .def("__exit__",
             [](PyWriter& self, const py::handle& type, const py::handle&, const py::handle&) {
                 if (!self.writer) return;
                 if (type.is_none()) {
                     ImageWriter& w = *self.writer;
                     py::gil_scoped_release nogil;
                     w.finish();
                 }
                 self.writer.reset();
             });
}

}  // namespace

void bind_stream(py::module_& m) {
    bind_writer(m);
    m.def(
        "write_file",
        [](const std::string& path, const py::bytes& data) {
            const std::string_view view = data;
            const auto* begin = reinterpret_cast<const std::uint8_t*>(view.data());
            py::gil_scoped_release nogil;
            write_file(path, std::span<const std::uint8_t>(begin, view.size()));
        },
        py::arg("path"), py::arg("data"),
        "Write bytes so that the file appears whole or not at all (as save_image does; a "
        "killed process leaves no partial or temporary file).");
    auto engine =
        py::reinterpret_borrow<py::class_<Engine, std::shared_ptr<Engine>>>(m.attr("Engine"));
    engine
        .def(
            "run_tiled_file",
            [](const Engine& self, const py::handle& effects, const std::string& input,
               const std::string& output, int tile_size) {
                if (tile_size < 0) throw py::value_error("tile_size must be >= 0");
                const EffectChain chain = chain_from_object(effects);
                TileOptions o = tile_options_for(self);
                o.tile_size = tile_size;
                TiledRunStats stats;
                {
                    py::gil_scoped_release nogil;
                    stats = run_tiled_file(chain, input, output, o);
                }
                return stats_dict(stats);
            },
            py::arg("effects"), py::arg("input"), py::arg("output"), py::kw_only(),
            py::arg("tile_size") = 0,
            "Stream a JPEG, PNG or TIFF file through a chain of effects into `output` (format "
            "from its extension), memory bounded by the band; the output appears only when "
            "the run succeeds. Returns what the run did (bands, passes, rows read).")
        .def(
            "plan_row_bands",
            [](const Engine& self, const py::handle& effects) {
                const RowBandPlan plan =
                    plan_row_bands(chain_from_object(effects), tile_options_for(self));
                py::dict d;
                d["bandable"] = plan.bandable;
                d["halo"] = plan.halo;
                d["reason"] = plan.reason;
                return d;
            },
            py::arg("effects"),
            "Whether a chain's output rows can be computed in bands apart (every effect point "
            "or local, none changing the size), the halo rows each band reads beyond its own, "
            "or the reason it cannot.")
        .def(
            "run_tiled_rows",
            [](const Engine& self, const py::handle& effects, const std::string& input, int y0,
               int y1) {
                const EffectChain chain = chain_from_object(effects);
                const TileOptions o = tile_options_for(self);
                Image out;
                {
                    py::gil_scoped_release nogil;
                    out = run_tiled_rows(chain, input, y0, y1, o);
                }
                return array_from_image(out);
            },
            py::arg("effects"), py::arg("input"), py::arg("y0"), py::arg("y1"),
            "Output rows y0..y1 of the chain over the file, from the input rows they need: "
            "bands computed apart (by other processes) and written in order equal "
            "run_tiled_file's pixels.");
}

}  // namespace artistry::python
