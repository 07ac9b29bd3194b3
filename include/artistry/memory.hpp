#pragma once
// Memory budgets per device (CPU RAM, each CUDA GPU). Work reserves the bytes it needs before
// it runs; a reservation that does not fit waits in FIFO order until memory frees or its
// deadline passes; one larger than the whole budget is refused at once (the planner then runs
// the node tiled). Above a pressure threshold, registered callbacks (trim caches, drop model
// weights, empty the CUDA caching allocator) run before anyone waits. The budget is never
// exceeded: in_use ≤ budget at every instant, and so is the peak.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "artistry/image.hpp"
#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

enum class DeviceKind : std::uint8_t { cpu, cuda };

struct Device {
    DeviceKind kind = DeviceKind::cpu;
    int index = 0;  // cuda: the CUDA ordinal; cpu: 0

    static constexpr Device cpu() noexcept { return {DeviceKind::cpu, 0}; }
    static constexpr Device cuda(int index) noexcept { return {DeviceKind::cuda, index}; }
    // "cpu", "cuda", "cuda:1"; Error(invalid_argument) otherwise.
    static Device parse(std::string_view text);
    std::string name() const;  // "cpu", "cuda:0"

    friend bool operator==(const Device&, const Device&) = default;
};

// What LibTorch knows about CUDA. The core has no CUDA headers: src/models installs these when
// it is built with CUDA; until then there are no CUDA devices. Managers read them when built.
struct CudaHooks {
    std::function<int()> device_count;
    std::function<std::uint64_t(int index)> total_bytes;  // physical memory of the device
    std::function<void(int index)> empty_cache;  // give the caching allocator's free blocks back
};
void set_cuda_hooks(CudaHooks hooks);  // thread-safe; empty hooks remove them

// CPU: physical RAM, or the cgroup memory limit when lower; CUDA: from the hooks; 0: unknown.
std::uint64_t device_total_bytes(Device device);
std::vector<Device> available_devices();  // cpu, then cuda:0.. as the hooks report them

// A budget: absolute bytes, or a fraction of the device's memory.
struct Budget {
    std::uint64_t bytes = 0;
    double fraction = 0;  // used when bytes is 0; in (0, 1]

    // "4GiB", "512MiB", "2G" (binary), "1500MB" (decimal), "123456" (bytes), "50%", "0.5".
    // Error(invalid_argument) saying what is accepted.
    static Budget parse(std::string_view text);
    bool empty() const noexcept { return bytes == 0 && fraction <= 0; }
    std::uint64_t resolve(std::uint64_t device_total) const noexcept;
};

struct DeviceBudget {
    Device device;
    Budget budget;                  // empty: MemoryOptions::cpu_budget / gpu_budget
    std::uint64_t total_bytes = 0;  // 0: device_total_bytes(device)
};

struct MemoryOptions {
    // The devices managed. Empty: CPU plus every CUDA device the hooks report.
    std::vector<DeviceBudget> devices;
    Budget cpu_budget;  // empty: ARTISTRY_MEMORY_BUDGET, else 50 % of RAM
    // empty: ARTISTRY_GPU_MEMORY_BUDGET (bytes, "6GiB", or a fraction, "0.9", "90%"), else 90 %
    Budget gpu_budget;
    // Fraction of the budget above which pressure callbacks run. 0: ARTISTRY_MEMORY_PRESSURE,
    // else GPU_MEMORY_THRESHOLD (the old backend's cleanup trigger), else 0.8.
    double pressure_threshold = 0;
    bool use_environment = true;  // false: ignore the variables above
};

using Deadline = std::chrono::steady_clock::time_point;

namespace detail {
class DevicePool;
class ChargeAccount;
}  // namespace detail

// Bytes held on one device; released when the reservation is destroyed. Movable, not copyable.
class Reservation {
  public:
    Reservation() noexcept;
    ~Reservation();
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;

    explicit operator bool() const noexcept { return pool_ != nullptr; }
    std::uint64_t bytes() const noexcept { return bytes_; }
    Device device() const noexcept;

    void release() noexcept;
    // Keeps only `bytes` (≤ bytes()); the rest is free for others at once.
    void shrink_to(std::uint64_t bytes) noexcept;
    // Adds `more` only when it fits now and nobody is waiting (so it never jumps the queue);
    // runs no pressure callbacks and never waits. False leaves the reservation unchanged.
    bool try_grow(std::uint64_t more) noexcept;
    // Moves min(bytes, bytes()) into a new reservation on the same device; the total held
    // does not change (an image takes its share of a node's reservation).
    Reservation split(std::uint64_t bytes) noexcept;
    // Takes over other's bytes (other ends empty). Error(invalid_argument) when both hold
    // bytes on different devices or managers.
    void absorb(Reservation&& other);

  private:
    friend class MemoryManager;
    Reservation(std::shared_ptr<detail::DevicePool> pool, std::uint64_t bytes) noexcept;
    std::shared_ptr<detail::DevicePool> pool_;
    std::uint64_t bytes_ = 0;
};

// Told to a pressure callback: free `to_free` bytes on `device` if you can.
struct PressureEvent {
    Device device;
    std::uint64_t budget = 0;
    std::uint64_t in_use = 0;
    std::uint64_t requested = 0;  // the reservation that crossed the threshold
    std::uint64_t to_free = 0;    // what would bring the demand back under the threshold
};
// Returns the bytes it freed (a hint for logs). Runs on the reserving thread, without the
// manager's locks held; it may release reservations. It must not call reserve() itself.
using PressureCallback = std::function<std::uint64_t(const PressureEvent&)>;

struct MemoryStats {
    Device device;
    std::uint64_t total = 0;  // the device's memory
    std::uint64_t budget = 0;
    std::uint64_t in_use = 0;
    std::uint64_t peak = 0;
    double pressure_threshold = 0;   // fraction of the budget
    std::uint64_t waiting = 0;       // reservations waiting now
    std::uint64_t reservations = 0;  // granted
    std::uint64_t waits = 0;         // granted or not, had to wait
    std::uint64_t refusals = 0;      // larger than the whole budget
    std::uint64_t timeouts = 0;
    std::uint64_t cancellations = 0;
    std::uint64_t pressure_events = 0;  // times the callbacks were run
    double wait_seconds = 0;            // summed over all waits
};

// What largest_fit measures against.
enum class FitBasis : std::uint8_t {
    budget,     // the whole budget: a reservation of that size succeeds, possibly after waiting
    threshold,  // the pressure threshold: fits without triggering the callbacks on an idle device
    available,  // what is free now and not promised to waiters
};

class MemoryManager {
  public:
    // Error(invalid_argument) for a bad budget or environment value (the variable is named).
    explicit MemoryManager(MemoryOptions options = {});
    ~MemoryManager();
    MemoryManager(const MemoryManager&) = delete;
    MemoryManager& operator=(const MemoryManager&) = delete;

    // Waits (FIFO: a large request at the head holds back later small ones, so none starves)
    // until `bytes` fit, running the pressure callbacks first when the demand crosses the
    // threshold. Errors: limit_exceeded at once when bytes > budget; timeout when the deadline
    // passes; cancelled when *cancel becomes true; invalid_argument for an unknown device.
    Reservation reserve(Device device, std::uint64_t bytes, Deadline deadline,
                        const std::atomic<bool>* cancel = nullptr);
    Reservation reserve(Device device, std::uint64_t bytes, std::chrono::milliseconds timeout,
                        const std::atomic<bool>* cancel = nullptr);
    // Never waits and runs no callbacks: a reservation when it fits now and nobody waits.
    std::optional<Reservation> try_reserve(Device device, std::uint64_t bytes);

    // Zero-filled CPU pixels whose bytes stay reserved for as long as any handle to them lives.
    // The image's storage() reads `external` (the manager owns the buffer). Errors as reserve().
    Image allocate_image(int width, int height, int channels, PixelType type, Deadline deadline,
                         const std::atomic<bool>* cancel = nullptr);

    // Largest n with fixed_bytes + n × bytes_per_unit ≤ the basis; 0 when fixed_bytes alone
    // does not fit. The tiled processor picks tile rows/sizes with it.
    std::uint64_t largest_fit(Device device, std::uint64_t bytes_per_unit,
                              std::uint64_t fixed_bytes = 0,
                              FitBasis basis = FitBasis::budget) const;

    // `only`: run for that device alone; unset: for every device. Returns an id for removal.
    std::uint64_t add_pressure_callback(PressureCallback callback,
                                        std::optional<Device> only = std::nullopt);
    // Waits for a running call of it to finish; do not call from inside that callback.
    void remove_pressure_callback(std::uint64_t id);
    // Runs the callbacks now as if `bytes` were requested (cleanup_gpu_memory in the compat
    // API). Returns the bytes they report freed.
    std::uint64_t relieve_pressure(Device device, std::uint64_t bytes);

    std::vector<Device> devices() const;
    bool has_device(Device device) const noexcept;
    std::uint64_t budget(Device device) const;
    std::uint64_t in_use(Device device) const;
    std::uint64_t peak(Device device) const;
    double pressure_threshold() const noexcept;
    MemoryStats stats(Device device) const;
    void reset_peak(Device device);  // peak := in_use

    // Prometheus text (HELP/TYPE included), labelled by device: artistry_memory_used_bytes,
    // _peak_bytes, _budget_bytes, _waiting, _reservations_total, _waits_total,
    // _refusals_total, _timeouts_total, _pressure_events_total, _wait_seconds_total.
    std::string metrics_text() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Real accounting of the library's own pixels: while a scope is open on a thread, every
// Image::allocate there is charged to the scope's account. An allocation draws on the
// account's reservation first, then grows it (try_grow, else a reserve that waits in the FIFO
// queue until the deadline); freed pixels give their bytes back to the account up to its
// opening reservation and the rest to the device, so in_use and peak follow the pixels the
// work really holds, never less than its reservation. When the
// scope ends, the account goes back to the device whole: the images that outlive it belong
// to their holders (results, the cache with its own byte budget). The executor opens one per
// node with the node's reservation; the tiled processor one per run. Scopes nest (the
// innermost charges).
class AllocationScope {
  public:
    AllocationScope() noexcept;  // charges nothing
    // An inactive scope when manager is null. Errors of a charge (budget, deadline, cancel)
    // reach the allocating code as artistry::Error from Image::allocate.
    AllocationScope(MemoryManager* manager, Reservation reservation, Deadline deadline,
                    const std::atomic<bool>* cancel = nullptr);
    // Enters an account another scope opened (tasks on pool threads); null charges nothing.
    explicit AllocationScope(std::shared_ptr<detail::ChargeAccount> account) noexcept;
    ~AllocationScope();
    AllocationScope(const AllocationScope&) = delete;
    AllocationScope& operator=(const AllocationScope&) = delete;

    // The account charged on this thread now (null: none), to enter from other threads.
    static std::shared_ptr<detail::ChargeAccount> current();
    const std::shared_ptr<detail::ChargeAccount>& account() const noexcept { return account_; }

    std::uint64_t charged() const noexcept;       // bytes of live images charged here
    std::uint64_t peak_charged() const noexcept;  // most at once
    std::uint64_t reserved() const noexcept;      // held but not used by images

  private:
    std::shared_ptr<detail::ChargeAccount> account_;
    void* previous_ = nullptr;  // the charger this scope replaced on its thread
};

// "1.50 GiB", "512 B": for messages.
std::string format_bytes(std::uint64_t bytes);

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
