// MemoryManager: budgets from options and environment, reservations, pressure callbacks.

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/memory.hpp"
#include "memory/cuda_hooks.hpp"
#include "memory/device_pool.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

using detail::DevicePool;
using Clock = std::chrono::steady_clock;

// ---- Reservation

Reservation::Reservation() noexcept = default;

Reservation::Reservation(std::shared_ptr<DevicePool> pool, std::uint64_t bytes) noexcept
    : pool_(std::move(pool)), bytes_(bytes) {}

Reservation::~Reservation() {
    release();
}

Reservation::Reservation(Reservation&& other) noexcept
    : pool_(std::move(other.pool_)), bytes_(std::exchange(other.bytes_, 0)) {}

Reservation& Reservation::operator=(Reservation&& other) noexcept {
    if (this != &other) {
        release();
        pool_ = std::move(other.pool_);
        bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
}

Device Reservation::device() const noexcept {
    return pool_ ? pool_->device : Device::cpu();
}

void Reservation::release() noexcept {
    if (pool_) pool_->release(bytes_);
    pool_.reset();
    bytes_ = 0;
}

void Reservation::shrink_to(std::uint64_t bytes) noexcept {
    if (!pool_ || bytes >= bytes_) return;
    pool_->release(bytes_ - bytes);
    bytes_ = bytes;
}

bool Reservation::try_grow(std::uint64_t more) noexcept {
    if (!pool_) return false;
    if (more == 0) return true;
    if (!pool_->try_acquire(more, /*grow=*/true)) return false;
    bytes_ += more;
    return true;
}

Reservation Reservation::split(std::uint64_t bytes) noexcept {
    if (!pool_) return {};
    const std::uint64_t part = std::min(bytes, bytes_);
    bytes_ -= part;
    return Reservation(pool_, part);
}

void Reservation::absorb(Reservation&& other) {
    if (this == &other || !other.pool_) return;
    if (pool_ && pool_ != other.pool_ && bytes_ > 0 && other.bytes_ > 0)
        throw Error(Status::invalid_argument,
                    fmt::format("cannot join reservations of {} and {}", pool_->device.name(),
                                other.pool_->device.name()));
    if (!pool_ || bytes_ == 0) {
        if (pool_ && pool_ != other.pool_) release();
        pool_ = other.pool_;
    }
    bytes_ += std::exchange(other.bytes_, 0);
    other.pool_.reset();
}

// ---- configuration

namespace {

const char* env(const char* name, bool use_environment) {
    if (!use_environment) return nullptr;
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
}

Budget budget_from_env(const char* name, bool use_environment) {
    const char* v = env(name, use_environment);
    if (v == nullptr) return {};
    try {
        return Budget::parse(v);
    } catch (const Error& e) {
        throw Error(Status::invalid_argument, fmt::format("{}: {}", name, e.what()));
    }
}

// ARTISTRY_MEMORY_PRESSURE, else GPU_MEMORY_THRESHOLD: the old backend's variable meant the
// usage above which memory is cleaned up, which is what the pressure threshold is.
double threshold_from(const MemoryOptions& options) {
    double t = options.pressure_threshold;
    if (t <= 0) {
        const char* name = "ARTISTRY_MEMORY_PRESSURE";
        const char* v = env(name, options.use_environment);
        if (v == nullptr) {
            name = "GPU_MEMORY_THRESHOLD";
            v = env(name, options.use_environment);
        }
        if (v != nullptr) {
            Budget b;
            try {
                b = Budget::parse(v);
            } catch (const Error&) {
            }
            if (b.fraction <= 0)
                throw Error(Status::invalid_argument,
                            fmt::format("{}='{}': expected a fraction of the budget such as "
                                        "\"0.8\" or \"80%\"",
                                        name, v));
            t = b.fraction;
        } else {
            t = 0.8;
        }
    }
    if (!(t > 0 && t <= 1))
        throw Error(Status::invalid_argument,
                    fmt::format("memory pressure threshold {} is not in (0, 1]", t));
    return t;
}

Budget default_budget(const MemoryOptions& options, DeviceKind kind) {
    if (kind == DeviceKind::cpu) {
        if (!options.cpu_budget.empty()) return options.cpu_budget;
        Budget b = budget_from_env("ARTISTRY_MEMORY_BUDGET", options.use_environment);
        if (b.empty()) b.fraction = 0.5;
        return b;
    }
    if (!options.gpu_budget.empty()) return options.gpu_budget;
    Budget b = budget_from_env("ARTISTRY_GPU_MEMORY_BUDGET", options.use_environment);
    if (b.empty()) b.fraction = 0.9;
    return b;
}

struct CallbackSlot {
    std::uint64_t id = 0;
    PressureCallback callback;
    std::optional<Device> only;
    int running = 0;
    bool removed = false;
};

}  // namespace

struct MemoryManager::Impl {
    std::vector<std::shared_ptr<DevicePool>> pools;
    double threshold = 0.8;
    CudaHooks hooks;

    mutable std::mutex callbacks_mutex;
    std::condition_variable callbacks_idle;
    std::vector<std::shared_ptr<CallbackSlot>> callbacks;
    std::uint64_t next_id = 1;

    const std::shared_ptr<DevicePool>& pool(Device device) const {
        for (const auto& p : pools)
            if (p->device == device) return p;
        std::string known;
        for (const auto& p : pools) known += (known.empty() ? "" : ", ") + p->device.name();
        throw Error(
            Status::invalid_argument,
            fmt::format("no memory budget for device {} (managed: {})", device.name(), known));
    }

    std::uint64_t run_callbacks(DevicePool& pool, std::uint64_t requested, bool forced);
    // With the pool's lock held: leaves the queue and throws timeout or cancelled.
    [[noreturn]] void wait_failed(DevicePool& pool, DevicePool::Waiter& w, Clock::time_point start,
                                  bool cancelled);
};

// Runs the callbacks for `pool` one after another until the demand is back under the
// threshold (or all ran). Called without the pool's lock: callbacks release reservations.
std::uint64_t MemoryManager::Impl::run_callbacks(DevicePool& pool, std::uint64_t requested,
                                                 bool forced) {
    const std::lock_guard serial(pool.pressure_mutex);
    PressureEvent event;
    event.device = pool.device;
    event.budget = pool.budget;
    event.requested = requested;
    const auto refresh = [&]() {  // false when there is no pressure left
        const auto lock = pool.lock();
        const std::uint64_t demand = pool.demand_locked(requested);
        event.in_use = pool.in_use_locked();
        event.to_free = demand > pool.threshold_bytes ? demand - pool.threshold_bytes : 0;
        return event.to_free > 0;
    };
    if (!refresh() && !forced) return 0;  // someone else relieved it while we queued here
    if (forced) event.to_free = std::max(event.to_free, requested);
    {
        const auto lock = pool.lock();
        ++pool.pressure_events;
    }

    std::uint64_t freed = 0;
    if (pool.device.kind == DeviceKind::cuda && hooks.empty_cache) {
        try {
            hooks.empty_cache(pool.device.index);
        } catch (...) {  // a failing hook must not fail the reservation
        }
    }
    std::vector<std::shared_ptr<CallbackSlot>> slots;
    {
        const std::lock_guard lock(callbacks_mutex);
        for (const auto& s : callbacks)
            if (!s->only || *s->only == pool.device) slots.push_back(s);
    }
    for (const auto& slot : slots) {
        {
            const std::lock_guard lock(callbacks_mutex);
            if (slot->removed) continue;
            ++slot->running;
        }
        try {
            freed += slot->callback(event);
        } catch (...) {  // a callback's failure is its own; the reservation goes on
        }
        {
            const std::lock_guard lock(callbacks_mutex);
            --slot->running;
        }
        callbacks_idle.notify_all();
        if (!refresh() && !forced) break;
    }
    return freed;
}

void MemoryManager::Impl::wait_failed(DevicePool& pool, DevicePool::Waiter& w,
                                      Clock::time_point start, bool cancelled) {
    const std::size_t ahead = [&] {
        std::size_t n = pool.queue_length_locked();
        return n > 0 ? n - 1 : 0;
    }();
    pool.abandon_locked(w);
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    pool.wait_seconds += waited;
    const std::uint64_t in_use = pool.in_use_locked();
    if (cancelled) {
        ++pool.cancellations;
        throw Error(Status::cancelled, fmt::format("cancelled while waiting to reserve {} on {}",
                                                   format_bytes(w.bytes), pool.device.name()));
    }
    ++pool.timeouts;
    throw Error(Status::timeout,
                fmt::format("memory reservation timed out after {:.2f} s: {} on {} did not fit "
                            "(budget {}, {} in use, {} other reservation(s) waiting)",
                            waited, format_bytes(w.bytes), pool.device.name(),
                            format_bytes(pool.budget), format_bytes(in_use), ahead));
}

// ---- MemoryManager

MemoryManager::MemoryManager(MemoryOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->threshold = threshold_from(options);
    impl_->hooks = memory::cuda_hooks();
    std::vector<DeviceBudget> devices = options.devices;
    if (devices.empty())
        for (const Device d : available_devices()) devices.push_back({d, {}, 0});
    for (const DeviceBudget& d : devices) {
        for (const auto& p : impl_->pools)
            if (p->device == d.device)
                throw Error(Status::invalid_argument,
                            fmt::format("device {} listed twice", d.device.name()));
        const std::uint64_t total =
            d.total_bytes > 0 ? d.total_bytes : device_total_bytes(d.device);
        const Budget budget = d.budget.empty() ? default_budget(options, d.device.kind) : d.budget;
        const std::uint64_t bytes = budget.resolve(total);
        if (bytes == 0)
            throw Error(Status::invalid_argument,
                        fmt::format("device {}: the budget resolves to 0 bytes (device memory {} "
                                    "unknown or too small); give the budget in bytes",
                                    d.device.name(), format_bytes(total)));
        impl_->pools.push_back(
            std::make_shared<DevicePool>(d.device, total, bytes, impl_->threshold));
    }
}

MemoryManager::~MemoryManager() = default;

Reservation MemoryManager::reserve(Device device, std::uint64_t bytes, Deadline deadline,
                                   const std::atomic<bool>* cancel) {
    const std::shared_ptr<DevicePool>& pool = impl_->pool(device);
    if (bytes == 0) return Reservation(pool, 0);
    if (bytes > pool->budget) {
        {
            const auto lock = pool->lock();
            ++pool->refusals;
        }
        throw Error(Status::limit_exceeded,
                    fmt::format("cannot reserve {} on {}: more than its whole budget of {}; run "
                                "the work in smaller pieces (tiled) or raise the budget ({})",
                                format_bytes(bytes), device.name(), format_bytes(pool->budget),
                                device.kind == DeviceKind::cpu ? "ARTISTRY_MEMORY_BUDGET"
                                                               : "ARTISTRY_GPU_MEMORY_BUDGET"));
    }
    {
        // Under the threshold with everything promised counted: nobody waits and it fits.
        const auto lock = pool->lock();
        if (pool->demand_locked(bytes) <= pool->threshold_bytes && pool->try_acquire_locked(bytes))
            return Reservation(pool, bytes);
    }
    impl_->run_callbacks(*pool, bytes, /*forced=*/false);

    auto lock = pool->lock();
    if (cancel != nullptr && cancel->load()) {
        ++pool->cancellations;
        throw Error(Status::cancelled, fmt::format("cancelled before reserving {} on {}",
                                                   format_bytes(bytes), device.name()));
    }
    if (pool->try_acquire_locked(bytes)) return Reservation(pool, bytes);
    DevicePool::Waiter w;
    w.bytes = bytes;
    pool->enqueue_locked(w);

    ++pool->waits;
    const auto start = Clock::now();
    constexpr auto cancel_poll = std::chrono::milliseconds(10);
    while (!w.granted) {
        const auto now = Clock::now();
        if (cancel != nullptr && cancel->load()) impl_->wait_failed(*pool, w, start, true);
        if (now >= deadline) impl_->wait_failed(*pool, w, start, false);
        const auto wake = cancel != nullptr ? std::min(deadline, now + cancel_poll) : deadline;
        w.cv.wait_until(lock, wake);
    }
    pool->wait_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    return Reservation(pool, bytes);
}

Reservation MemoryManager::reserve(Device device, std::uint64_t bytes,
                                   std::chrono::milliseconds timeout,
                                   const std::atomic<bool>* cancel) {
    const auto now = Clock::now();
    const auto deadline =
        timeout >= std::chrono::duration_cast<std::chrono::milliseconds>(Deadline::max() - now)
            ? Deadline::max()
            : now + timeout;
    return reserve(device, bytes, deadline, cancel);
}

std::optional<Reservation> MemoryManager::try_reserve(Device device, std::uint64_t bytes) {
    const std::shared_ptr<DevicePool>& pool = impl_->pool(device);
    if (bytes == 0 || pool->try_acquire(bytes)) return Reservation(pool, bytes);
    return std::nullopt;
}

Image MemoryManager::allocate_image(int width, int height, int channels, PixelType type,
                                    Deadline deadline, const std::atomic<bool>* cancel) {
    if (width <= 0 || height <= 0)
        throw Error(Status::invalid_argument,
                    fmt::format("cannot allocate a {}x{} image", width, height));
    const std::uint64_t bytes =
        static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height) *
        static_cast<std::uint64_t>(std::max(channels, 0)) * pixel_type_size(type);
    Reservation reservation = reserve(Device::cpu(), bytes, deadline, cancel);
    struct Charged {
        Image pixels;
        Reservation reservation;
    };
    auto charged = std::make_shared<Charged>(
        Charged{Image::allocate(width, height, channels, type), std::move(reservation)});
    const Image& p = charged->pixels;
    return Image::wrap(p.data(), p.width(), p.height(), p.channels(), p.type(), p.stride(),
                       std::shared_ptr<void>(charged, charged.get()));
}

std::uint64_t MemoryManager::largest_fit(Device device, std::uint64_t bytes_per_unit,
                                         std::uint64_t fixed_bytes, FitBasis basis) const {
    if (bytes_per_unit == 0)
        throw Error(Status::invalid_argument, "largest_fit: bytes_per_unit must be > 0");
    const std::shared_ptr<DevicePool>& pool = impl_->pool(device);
    std::uint64_t limit = pool->budget;
    if (basis == FitBasis::threshold) limit = pool->threshold_bytes;
    if (basis == FitBasis::available) {
        const auto lock = pool->lock();
        limit = pool->available_locked();
    }
    if (fixed_bytes > limit) return 0;
    return (limit - fixed_bytes) / bytes_per_unit;
}

std::uint64_t MemoryManager::add_pressure_callback(PressureCallback callback,
                                                   std::optional<Device> only) {
    if (!callback) throw Error(Status::invalid_argument, "empty pressure callback");
    if (only) (void)impl_->pool(*only);
    auto slot = std::make_shared<CallbackSlot>();
    slot->callback = std::move(callback);
    slot->only = only;
    const std::lock_guard lock(impl_->callbacks_mutex);
    slot->id = impl_->next_id++;
    impl_->callbacks.push_back(slot);
    return slot->id;
}

void MemoryManager::remove_pressure_callback(std::uint64_t id) {
    std::unique_lock lock(impl_->callbacks_mutex);
    auto& list = impl_->callbacks;
    const auto it =
        std::find_if(list.begin(), list.end(), [&](const auto& s) { return s->id == id; });
    if (it == list.end()) return;
    const std::shared_ptr<CallbackSlot> slot = *it;
    slot->removed = true;
    list.erase(it);
    impl_->callbacks_idle.wait(lock, [&] { return slot->running == 0; });
}

std::uint64_t MemoryManager::relieve_pressure(Device device, std::uint64_t bytes) {
    return impl_->run_callbacks(*impl_->pool(device), bytes, /*forced=*/true);
}

std::vector<Device> MemoryManager::devices() const {
    std::vector<Device> out;
    for (const auto& p : impl_->pools) out.push_back(p->device);
    return out;
}

bool MemoryManager::has_device(Device device) const noexcept {
    return std::any_of(impl_->pools.begin(), impl_->pools.end(),
                       [&](const auto& p) { return p->device == device; });
}

std::uint64_t MemoryManager::budget(Device device) const {
    return impl_->pool(device)->budget;
}
std::uint64_t MemoryManager::in_use(Device device) const {
    return stats(device).in_use;
}
std::uint64_t MemoryManager::peak(Device device) const {
    return stats(device).peak;
}
double MemoryManager::pressure_threshold() const noexcept {
    return impl_->threshold;
}
MemoryStats MemoryManager::stats(Device device) const {
    return impl_->pool(device)->stats();
}
void MemoryManager::reset_peak(Device device) {
    impl_->pool(device)->reset_peak();
}

std::string MemoryManager::metrics_text() const {
    std::vector<MemoryStats> all;
    for (const auto& p : impl_->pools) all.push_back(p->stats());
    std::string out;
    const auto family = [&](const char* name, const char* type, const char* help, auto value) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
        for (const MemoryStats& s : all)
            out += fmt::format("{}{{device=\"{}\"}} {}\n", name, s.device.name(), value(s));
    };
    family("artistry_memory_used_bytes", "gauge", "Bytes reserved now.",
           [](const MemoryStats& s) { return s.in_use; });
    family("artistry_memory_peak_bytes", "gauge", "Most bytes reserved at once.",
           [](const MemoryStats& s) { return s.peak; });
    family("artistry_memory_budget_bytes", "gauge", "The device's budget.",
           [](const MemoryStats& s) { return s.budget; });
    family("artistry_memory_waiting", "gauge", "Reservations waiting for memory now.",
           [](const MemoryStats& s) { return s.waiting; });
    family("artistry_memory_reservations_total", "counter", "Reservations granted.",
           [](const MemoryStats& s) { return s.reservations; });
    family("artistry_memory_waits_total", "counter", "Reservations that had to wait.",
           [](const MemoryStats& s) { return s.waits; });
    family("artistry_memory_refusals_total", "counter",
           "Reservations refused as larger than the whole budget.",
           [](const MemoryStats& s) { return s.refusals; });
    family("artistry_memory_timeouts_total", "counter", "Reservations whose deadline passed.",
           [](const MemoryStats& s) { return s.timeouts; });
    family("artistry_memory_pressure_events_total", "counter", "Times the pressure callbacks ran.",
           [](const MemoryStats& s) { return s.pressure_events; });
    family("artistry_memory_wait_seconds_total", "counter", "Time spent waiting for memory.",
           [](const MemoryStats& s) { return s.wait_seconds; });
    return out;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
