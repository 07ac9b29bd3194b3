// ModelStore: the catalogue (manifest + registered files), one load per model however many
// threads ask at once (the first loads, the others wait on its future), weights reserved with
// the memory manager, least-recently-used idle models dropped under pressure.

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "models/model_impl.hpp"
#include "models/spec_json.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace fs = std::filesystem;

namespace {

fs::path default_models_dir(bool use_environment) {
    if (use_environment)
        if (const char* env = std::getenv("ARTISTRY_MODELS_DIR"); env != nullptr && *env != 0)
            return env;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != 0)
        return fs::path(xdg) / "artistry" / "models";
    if (const char* home = std::getenv("HOME"); home != nullptr && *home != 0)
        return fs::path(home) / ".local" / "share" / "artistry" / "models";
    return fs::path(".artistry-models");
}

std::vector<std::string> split_names(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) {
        const auto b = item.find_first_not_of(" \t");
        const auto e = item.find_last_not_of(" \t");
        if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    }
    return out;
}

}  // namespace

struct ModelStore::Impl {
    struct Slot {
        std::shared_ptr<Model> model;
        Reservation reservation;
        std::shared_future<std::shared_ptr<Model>> pending;  // valid while a thread loads it
        std::uint64_t last_use = 0;
    };
    // What trim takes out of the store, destroyed after the lock is let go.
    struct Dropped {
        std::shared_ptr<Model> model;
        Reservation reservation;
    };

    ModelStoreOptions options;
    std::map<std::string, std::string> forms_choice;  // options.forms or ARTISTRY_MODEL_FORMS
    int threads = 1;
    std::uint64_t pressure_id = 0;

    mutable std::mutex mutex;
    mutable bool manifest_read = false;
    mutable std::map<std::string, ModelSpec> installed;
    std::map<std::string, ModelSpec> registered;
    std::map<std::string, Slot> slots;
    std::uint64_t tick = 0;
    ModelStoreStats stats;

    // Under the lock. The manifest is read on first need; a broken one throws each time asked.
    void read_manifest_locked() const {
        if (manifest_read) return;
        std::map<std::string, ModelSpec> found;
        for (auto& spec : models::read_manifest(options.dir / "manifest.json"))
            found[spec.name] = std::move(spec);
        installed = std::move(found);
        manifest_read = true;
    }

    std::optional<ModelSpec> exact_locked(const std::string& name) const {
        if (const auto it = registered.find(name); it != registered.end()) return it->second;
        read_manifest_locked();
        if (const auto it = installed.find(name); it != installed.end()) return it->second;
        return std::nullopt;
    }

    // The model `name` stands for: itself, or the preferred of its installed forms.
    std::optional<ModelSpec> find_locked(const std::string& name) const {
        auto exact = exact_locked(name);
        if (registered.count(name) != 0) return exact;  // a user's own model is taken as given
        std::vector<const ModelSpec*> forms;
        if (exact) forms.push_back(&*exact);
        for (const auto& [n, spec] : installed)
            if (spec.form_of == name) forms.push_back(&spec);
        if (forms.empty()) return std::nullopt;
        return *preferred_form(name, forms);
    }

    // An explicit choice ("isnet=isnet-ts"), else the model itself: the fastest form measured
    // here (bench/models, ISNet 1024² on 2 threads: OpenCV dnn 3.1 s, LibTorch 5.6–6.6 s).
    const ModelSpec* preferred_form(const std::string& name,
                                    const std::vector<const ModelSpec*>& forms) const {
        if (const auto chosen = forms_choice.find(name); chosen != forms_choice.end())
            for (const ModelSpec* f : forms)
                if (f->name == chosen->second) return f;
        return forms.front();
    }

    std::vector<std::string> names_locked() const {
        read_manifest_locked();
        std::vector<std::string> names;
        for (const auto& [n, s] : installed) names.push_back(n);
        for (const auto& [n, s] : registered)
            if (!installed.count(n)) names.push_back(n);
        std::sort(names.begin(), names.end());
        return names;
    }

    // Under the lock: the least recently used idle model, removed from its slot.
    std::optional<Dropped> drop_lru_locked(std::optional<Device> device) {
        Slot* victim = nullptr;
        for (auto& [name, slot] : slots) {
            if (!slot.model || slot.model.use_count() > 1) continue;  // absent or in use
            if (device && slot.model->device() != *device) continue;
            if (victim == nullptr || slot.last_use < victim->last_use) victim = &slot;
        }
        if (victim == nullptr) return std::nullopt;
        Dropped d{std::move(victim->model), std::move(victim->reservation)};
        victim->model.reset();
        ++stats.evictions;
        --stats.loaded;
        stats.loaded_bytes -= d.model->weight_bytes();
        return d;
    }

    std::uint64_t trim(std::uint64_t bytes, std::optional<Device> device) {
        std::vector<Dropped> dropped;
        std::uint64_t freed = 0;
        {
            std::lock_guard lock(mutex);
            while (freed < bytes) {
                auto d = drop_lru_locked(device);
                if (!d) break;
                freed += d->model->weight_bytes();
                dropped.push_back(std::move(*d));
            }
        }
        return freed;  // `dropped` releases weights and reservations here, unlocked
    }

    // Reserves `bytes` for a model about to load: when they do not fit now, idle models go
    // first (least recently used), then it waits for the rest.
    Reservation reserve(const ModelSpec& spec, Device device, std::uint64_t bytes,
                        std::chrono::milliseconds wait) {
        MemoryManager* memory = options.memory.get();
        if (memory == nullptr || bytes == 0 || !memory->has_device(device)) return {};
        try {
            for (;;) {
                if (auto r = memory->try_reserve(device, bytes)) return std::move(*r);
                if (trim(1, device) == 0) break;
            }
            return memory->reserve(device, bytes, wait);
        } catch (const Error& e) {
            throw Error(e.status(),
                        fmt::format("model '{}' needs {} for its weights on {}: {}", spec.name,
                                    format_bytes(bytes), device.name(), e.what()));
        }
    }

    std::shared_ptr<Model> load(const ModelSpec& spec, std::chrono::milliseconds wait) {
        std::error_code ec;
        const auto file_bytes = fs::file_size(spec.file, ec);
        const Device device =
            spec.backend == ModelBackend::onnx ? Device::cpu() : options.device;  // OpenCV: CPU
        Reservation reservation =
            ec ? Reservation()
               : reserve(spec, device, models::estimate_weight_bytes(spec, file_bytes), wait);
        const auto t0 = std::chrono::steady_clock::now();
        auto model = load_model(spec, options.device, threads);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const std::uint64_t weights = model->weight_bytes();
        if (reservation && weights < reservation.bytes()) {
            reservation.shrink_to(weights);
        } else if (reservation && weights > reservation.bytes() &&
                   !reservation.try_grow(weights - reservation.bytes())) {
            reservation.release();
            reservation = reserve(spec, model->device(), weights, wait);
        }
        std::lock_guard lock(mutex);
        Slot& slot = slots[spec.name];
        slot.model = model;
        slot.reservation = std::move(reservation);
        slot.last_use = ++tick;
        ++stats.loads;
        ++stats.loaded;
        stats.loaded_bytes += weights;
        stats.load_seconds += seconds;
        return model;
    }
};

ModelStore::ModelStore(ModelStoreOptions options) : impl_(std::make_unique<Impl>()) {
    auto& o = impl_->options;
    o = std::move(options);
    if (o.dir.empty()) o.dir = default_models_dir(o.use_environment);
    std::string forms = o.forms;
    if (forms.empty() && o.use_environment)
        if (const char* env = std::getenv("ARTISTRY_MODEL_FORMS"); env != nullptr) forms = env;
    for (const auto& pair : split_names(forms))  // "name=form", read once
        if (const auto eq = pair.find('='); eq != std::string::npos)
            impl_->forms_choice[pair.substr(0, eq)] = pair.substr(eq + 1);
    impl_->threads = o.intra_op_threads > 0 || o.use_environment
                         ? models::resolve_threads(o.intra_op_threads)
                         : models::resolve_threads(
                               static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    if (o.memory) {
        Impl* impl = impl_.get();
        impl_->pressure_id = o.memory->add_pressure_callback(
            [impl](const PressureEvent& e) { return impl->trim(e.to_free, e.device); });
    }
    std::vector<std::string> names = o.preload;
    if (names.empty() && o.use_environment)
        if (const char* env = std::getenv("ARTISTRY_PRELOAD"); env != nullptr)
            names = split_names(env);
    try {
        if (!names.empty()) preload(names);
    } catch (...) {
        if (o.memory) o.memory->remove_pressure_callback(impl_->pressure_id);
        throw;
    }
}

ModelStore::~ModelStore() {
    if (impl_->options.memory) impl_->options.memory->remove_pressure_callback(impl_->pressure_id);
}

const fs::path& ModelStore::dir() const noexcept {
    return impl_->options.dir;
}

std::vector<ModelSpec> ModelStore::available() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<ModelSpec> out;
    for (const auto& name : impl_->names_locked()) out.push_back(*impl_->exact_locked(name));
    return out;
}

std::optional<ModelSpec> ModelStore::find(const std::string& name) const {
    std::lock_guard lock(impl_->mutex);
    return impl_->find_locked(name);
}

bool ModelStore::has(const std::string& name) const {
    return find(name).has_value();
}

void ModelStore::add(ModelSpec spec) {
    if (spec.name.empty()) throw Error(Status::invalid_argument, "a model needs a name");
    if (spec.file.empty())
        throw Error(Status::invalid_argument, fmt::format("model '{}' names no file", spec.name));
    spec.file = fs::absolute(spec.file).lexically_normal();
    std::lock_guard lock(impl_->mutex);
    if (const auto it = impl_->slots.find(spec.name);
        it != impl_->slots.end() && (it->second.model || it->second.pending.valid()))
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}' is loaded and cannot be replaced", spec.name));
    auto name = spec.name;
    impl_->registered[name] = std::move(spec);
}

std::shared_ptr<const Model> ModelStore::get(const std::string& name,
                                             std::chrono::milliseconds wait) {
    auto& impl = *impl_;
    std::unique_lock lock(impl.mutex);
    const auto spec = impl.find_locked(name);
    if (!spec) {
        const auto names = impl.names_locked();
        throw Error(Status::not_found,
                    fmt::format("no model '{}' in '{}' (available: {}; install models with "
                                "scripts/fetch-models)",
                                name, impl.options.dir.string(),
                                names.empty() ? std::string("none")
                                              : fmt::format("{}", fmt::join(names, ", "))));
    }
    auto& slot = impl.slots[spec->name];  // the form that serves `name`
    if (slot.model) {
        ++impl.stats.hits;
        slot.last_use = ++impl.tick;
        return slot.model;
    }
    if (slot.pending.valid()) {  // another thread is loading it: share its result or error
        auto pending = slot.pending;
        lock.unlock();
        auto model = pending.get();
        lock.lock();
        ++impl.stats.hits;
        return model;
    }
    std::promise<std::shared_ptr<Model>> promise;
    slot.pending = promise.get_future().share();
    lock.unlock();
    try {
        auto model = impl.load(*spec, wait);
        {
            std::lock_guard relock(impl.mutex);
            impl.slots[spec->name].pending = {};
        }
        promise.set_value(model);
        return model;
    } catch (...) {
        {
            std::lock_guard relock(impl.mutex);
            impl.slots[spec->name].pending = {};
        }
        promise.set_exception(std::current_exception());
        throw;
    }
}

bool ModelStore::loaded(const std::string& name) const {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [key, slot] : impl_->slots)  // the model, or a form of it (form_of)
        if (slot.model && (key == name || slot.model->spec().form_of == name)) return true;
    return false;
}

void ModelStore::preload(const std::vector<std::string>& names) {
    std::vector<std::string> all;
    for (const auto& n : names) {
        if (n == "all") {
            for (const auto& spec : available()) all.push_back(spec.name);
        } else {
            all.push_back(n);
        }
    }
    for (const auto& n : all) get(n);
}

std::uint64_t ModelStore::trim(std::uint64_t bytes) {
    return impl_->trim(bytes, std::nullopt);
}

ModelStoreStats ModelStore::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

std::string ModelStore::metrics_text() const {
    ModelStoreStats s;
    std::vector<std::pair<std::string, std::uint64_t>> held;
    {
        std::lock_guard lock(impl_->mutex);
        s = impl_->stats;
        for (const auto& [name, slot] : impl_->slots)
            if (slot.model) held.emplace_back(name, slot.model->weight_bytes());
    }
    std::string out;
    const auto metric = [&](const char* name, const char* type, const char* help, auto value) {
        out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
    };
    metric("artistry_models_loads_total", "counter", "Models read from disk.", s.loads);
    metric("artistry_models_hits_total", "counter", "Model requests served by a loaded model.",
           s.hits);
    metric("artistry_models_evictions_total", "counter",
           "Models dropped under memory pressure or by trim.", s.evictions);
    metric("artistry_models_loaded", "gauge", "Models held in memory now.", s.loaded);
    metric("artistry_models_loaded_bytes", "gauge", "Weight bytes of the models held now.",
           s.loaded_bytes);
    metric("artistry_models_load_seconds_total", "counter", "Time spent loading models.",
           s.load_seconds);
    out +=
        "# HELP artistry_models_weight_bytes Weight bytes of each loaded model.\n"
        "# TYPE artistry_models_weight_bytes gauge\n";
    for (const auto& [name, bytes] : held)
        out += fmt::format("artistry_models_weight_bytes{{model=\"{}\"}} {}\n", name, bytes);
    return out;
}

ModelStore& ModelStore::shared() {
    static ModelStore store;
    return store;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
