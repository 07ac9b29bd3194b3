// The engine's shared systems, reached from Python: its tiered result cache (byte entries under
// the callers' own keys), its memory manager (stats and reservations that bound a service's
// in-flight work), its model store (what is installed and loaded), and the tiled processor.

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "artistry/models.hpp"
#include "py_common.hpp"

namespace artistry::python {

namespace {

// Byte entries live in the cache as one-channel images: rows of blob_row bytes, the first 8
// holding the length (little-endian). The key's op keeps them apart from node results.
constexpr int blob_row = 4096;
constexpr const char* blob_op = "python#blob";

CacheKey blob_key(const std::string& key) {
    return make_cache_key({}, blob_op, 1, key);
}

Image blob_image(std::string_view bytes) {
    const std::uint64_t size = bytes.size();
    const std::uint64_t total = size + 8;
    const int width = static_cast<int>(std::min<std::uint64_t>(total, blob_row));
    const int height = static_cast<int>((total + width - 1) / width);
    Image image = Image::allocate(width, height, 1, PixelType::u8);  // zero-filled
    std::uint8_t length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(size >> (8 * i));
    std::memcpy(image.row(0), length, 8);
    // The bytes straight into the rows after the length (no staging copy).
    std::uint64_t done = 0;
    for (int y = 0; done < size; ++y) {
        const std::uint64_t skip = y == 0 ? 8 : 0;
        const std::uint64_t take = std::min<std::uint64_t>(width - skip, size - done);
        std::memcpy(image.row(y) + skip, bytes.data() + done, take);
        done += take;
    }
    return image;
}

// The bytes of a blob image; nullopt when the entry is not one (a stale or foreign entry).
std::optional<std::string> blob_bytes(const Image& image) {
    if (image.channels() != 1 || image.type() != PixelType::u8 || image.width() < 8)
        return std::nullopt;
    const auto width = static_cast<std::uint64_t>(image.width());
    const std::uint8_t* first = image.row(0);
    std::uint64_t size = 0;
    for (int i = 0; i < 8; ++i) size |= static_cast<std::uint64_t>(first[i]) << (8 * i);
    if (size + 8 > width * static_cast<std::uint64_t>(image.height())) return std::nullopt;
    std::string out(size, '\0');
    std::uint64_t done = 0;
    for (int y = 0; done < size; ++y) {
        const std::uint64_t skip = y == 0 ? 8 : 0;
        const std::uint64_t take = std::min(width - skip, size - done);
        std::memcpy(out.data() + done, image.row(y) + skip, take);
        done += take;
    }
    return out;
}

py::dict tier_dict(const CacheTierStats& t) {
    py::dict d;
    d["enabled"] = t.enabled;
    d["up"] = t.up;
    d["hits"] = t.hits;
    d["misses"] = t.misses;
    d["puts"] = t.puts;
    d["rejected"] = t.rejected;
    d["evictions"] = t.evictions;
    d["expirations"] = t.expirations;
    d["errors"] = t.errors;
    d["unavailable"] = t.unavailable;
    d["bytes"] = t.bytes;
    d["entries"] = t.entries;
    d["capacity_bytes"] = t.capacity_bytes;
    d["hit_seconds_p50"] = t.hit_seconds_p50;
    return d;
}

py::dict memory_dict(const MemoryStats& s) {
    py::dict d;
    d["device"] = s.device.name();
    d["total"] = s.total;
    d["budget"] = s.budget;
    d["in_use"] = s.in_use;
    d["peak"] = s.peak;
    d["pressure_threshold"] = s.pressure_threshold;
    d["waiting"] = s.waiting;
    d["reservations"] = s.reservations;
    d["waits"] = s.waits;
    d["refusals"] = s.refusals;
    d["timeouts"] = s.timeouts;
    d["pressure_events"] = s.pressure_events;
    d["wait_seconds"] = s.wait_seconds;
    return d;
}

// A memory reservation held by Python code; released by release(), `with`, or the collector.
struct PyReservation {
    std::shared_ptr<Engine> engine;  // the manager lives in the engine
    Reservation held;
};

using EngineClass = py::class_<Engine, std::shared_ptr<Engine>>;
void bind_cache(EngineClass& engine);
void bind_memory(EngineClass& engine);
void bind_models_and_tiles(EngineClass& engine);

}  // namespace

void bind_system(py::module_& m) {
    py::class_<PyReservation>(m, "Reservation",
                              "Bytes held on one of the engine's memory budgets until released.")
        .def_property_readonly("bytes", [](const PyReservation& r) { return r.held.bytes(); })
        .def_property_readonly("device",
                               [](const PyReservation& r) { return r.held.device().name(); })
        .def("release", [](PyReservation& r) { r.held.release(); })
        .def("__enter__", [](PyReservation& r) -> PyReservation& { return r; })
        .def("__exit__", [](PyReservation& r, const py::args&) { r.held.release(); });

    auto engine = py::reinterpret_borrow<EngineClass>(m.attr("Engine"));
    bind_cache(engine);
    bind_memory(engine);
    bind_models_and_tiles(engine);
}

namespace {

void bind_cache(EngineClass& engine) {
    engine
        .def(
            "cache_get",
            [](const Engine& self, const std::string& key) -> py::object {
                ResultCache* cache = self.cache();
                if (cache == nullptr) return py::none();
                std::optional<CacheHit> hit;
                std::optional<std::string> bytes;
                {
                    py::gil_scoped_release nogil;
                    hit = cache->get(blob_key(key));
                    if (hit) bytes = blob_bytes(hit->image);
                }
                if (!bytes) return py::none();
                return py::make_tuple(py::bytes(*bytes), cache_tier_name(hit->tier),
                                      cache_class_name(hit->cls));
            },
            py::arg("key"),
            "(bytes, tier, class) stored under `key` in the engine's cache (memory, then disk, "
            "then Redis; a lower tier's hit is promoted), or None.")
        .def(
            "cache_put",
            [](const Engine& self, const std::string& key, const py::bytes& data) {
                ResultCache* cache = self.cache();
                if (cache == nullptr) return false;
                const std::string_view view = data;
                Image image = blob_image(view);
                py::gil_scoped_release nogil;
                cache->put(blob_key(key), image);
                return true;
            },
            py::arg("key"), py::arg("data"),
            "Store bytes under `key` in every enabled tier; False when caching is off.")
        .def(
            "cache_in_memory",
            [](const Engine& self, const std::string& key) {
                const ResultCache* cache = self.cache();
                return cache != nullptr && cache->contains_in_memory(blob_key(key));
            },
            py::arg("key"), "Whether `key` is in the memory tier (counts no access).")
        .def(
            "cache_erase",
            [](const Engine& self, const std::string& key) {
                if (ResultCache* cache = self.cache()) {
                    py::gil_scoped_release nogil;
                    cache->erase(blob_key(key));
                }
            },
            py::arg("key"))
        .def("cache_flush",
             [](const Engine& self) {
                 if (ResultCache* cache = self.cache()) {
                     py::gil_scoped_release nogil;
                     cache->flush();
                 }
             })
        .def(
            "cache_stats",
            [](const Engine& self) {
                py::dict d;
                const ResultCache* cache = self.cache();
                d["enabled"] = cache != nullptr;
                if (cache == nullptr) return d;
                const CacheStats s = cache->stats();
                for (const auto& t : s.tiers) d[cache_tier_name(t.tier)] = tier_dict(t);
                d["pending_write_bytes"] = s.pending_write_bytes;
                d["dropped_writes"] = s.dropped_writes;
                d["disk_dir"] = cache->disk_dir();
                return d;
            },
            "Per tier (memory, disk, redis): hits, misses, entries, bytes, whether it is up.");
}

void bind_memory(EngineClass& engine) {
    engine
        .def(
            "devices",
            [](const Engine& self) {
                std::vector<std::string> names;
                for (const Device& d : self.memory().devices()) names.push_back(d.name());
                return names;
            },
            "The devices the memory manager budgets: \"cpu\", \"cuda:0\" …")
        .def(
            "memory_stats",
            [](const Engine& self, const std::string& device) {
                return memory_dict(self.memory().stats(Device::parse(device)));
            },
            py::arg("device") = "cpu",
            "Budget, bytes in use and at peak, waits and refusals of one device.")
        .def(
            "relieve_pressure",
            [](const Engine& self, const std::string& device, std::uint64_t bytes) {
                py::gil_scoped_release nogil;
                return self.memory().relieve_pressure(Device::parse(device), bytes);
            },
            py::arg("device") = "cpu", py::arg("bytes") = 0,
            "Run the pressure callbacks (cache and model trimming, the device's empty_cache); "
            "returns the bytes they report freed.")
        .def(
            "reserve",
            [](const std::shared_ptr<Engine>& self, std::uint64_t bytes, double timeout,
               const std::string& device) {
                if (timeout < 0) throw py::value_error("timeout must be >= 0");
                const Device d = Device::parse(device);
                PyReservation r{self, {}};
                py::gil_scoped_release nogil;
                r.held = self->memory().reserve(
                    d, bytes, std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000)));
                return r;
            },
            py::arg("bytes"), py::kw_only(), py::arg("timeout") = 0.0, py::arg("device") = "cpu",
            "Hold `bytes` of a budget, waiting up to `timeout` seconds in the manager's FIFO "
            "queue (GIL released). TimeoutError when the wait runs out, LimitExceededError when "
            "the request is larger than the whole budget. A context manager.");
}

void bind_models_and_tiles(EngineClass& engine) {
    engine
        .def(
            "models_available",
            [](const Engine& self) {
                std::vector<std::string> names;
                for (const auto& spec : self.models().available()) names.push_back(spec.name);
                return names;
            },
            "Names of the installed models.")
        .def(
            "model_loaded",
            [](const Engine& self, const std::string& name) { return self.models().loaded(name); },
            py::arg("name"))
        .def(
            "preload",
            [](const Engine& self, const std::vector<std::string>& names) {
                py::gil_scoped_release nogil;
                self.models().preload(names);
            },
            py::arg("names"), "Load models now (\"all\": every installed one); errors raise.")
        .def(
            "run_tiled",
            [](const Engine& self, const py::handle& effects, const py::handle& image,
               int tile_size, int tile_width) {
                if (tile_size < 0 || tile_width < 0)
                    throw py::value_error("tile_size and tile_width must be >= 0");
                const EffectChain chain = chain_from_object(effects);
                const Image input = image_from_object(image);
                TileOptions o = tile_options_for(self);
                o.tile_size = tile_size;
                o.tile_width = tile_width;
                Image out;
                {
                    py::gil_scoped_release nogil;
                    out = run_tiled(chain, input, o);
                }
                return array_from_image(out);
            },
            py::arg("effects"), py::arg("image"), py::kw_only(), py::arg("tile_size") = 0,
            py::arg("tile_width") = 0,
            "A chain of effects (names, or (name, params) pairs) run over the image in bands "
            "and tiles with halos: the same bytes as the whole-image run, memory bounded by the "
            "band. Its working set is reserved from the engine's CPU budget.");
}

}  // namespace

}  // namespace artistry::python
