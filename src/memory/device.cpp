// Devices: names, the CUDA hooks src/models installs, and how much memory each device has.

#include <unistd.h>
#include <charconv>
#include <fstream>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "artistry/memory.hpp"
#include "memory/cuda_hooks.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

std::mutex& hooks_mutex() {
    static std::mutex m;
    return m;
}

CudaHooks& hooks_storage() {
    static CudaHooks hooks;
    return hooks;
}

// The cgroup (v2, then v1) memory limit of this process; 0 when there is none.
std::uint64_t cgroup_limit() {
    for (const char* path :
         {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
        std::ifstream in(path);
        std::string text;
        if (!(in >> text) || text == "max") continue;
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size() && value > 0) return value;
    }
    return 0;
}

}  // namespace

Device Device::parse(std::string_view text) {
    if (text == "cpu") return cpu();
    if (text == "cuda") return cuda(0);
    if (text.starts_with("cuda:")) {
        const std::string_view digits = text.substr(5);
        int index = -1;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
        if (ec == std::errc() && end == digits.data() + digits.size() && index >= 0)
            return cuda(index);
    }
    throw Error(Status::invalid_argument,
                fmt::format("unknown device '{}' (expected cpu, cuda or cuda:N)", text));
}

std::string Device::name() const {
    return kind == DeviceKind::cpu ? std::string("cpu") : fmt::format("cuda:{}", index);
}

void set_cuda_hooks(CudaHooks hooks) {
    const std::lock_guard lock(hooks_mutex());
    hooks_storage() = std::move(hooks);
}

namespace memory {
CudaHooks cuda_hooks() {
    const std::lock_guard lock(hooks_mutex());
    return hooks_storage();
}
}  // namespace memory

std::uint64_t device_total_bytes(Device device) {
    if (device.kind == DeviceKind::cpu) {
        const long pages = ::sysconf(_SC_PHYS_PAGES);
        const long page_size = ::sysconf(_SC_PAGESIZE);
        std::uint64_t total = pages > 0 && page_size > 0 ? static_cast<std::uint64_t>(pages) *
                                                               static_cast<std::uint64_t>(page_size)
                                                         : 0;
        const std::uint64_t limit = cgroup_limit();
        if (limit > 0 && (total == 0 || limit < total)) total = limit;
        return total;
    }
    const CudaHooks hooks = memory::cuda_hooks();
    if (!hooks.device_count || !hooks.total_bytes) return 0;
    if (device.index < 0 || device.index >= hooks.device_count()) return 0;
    return hooks.total_bytes(device.index);
}

std::vector<Device> available_devices() {
    std::vector<Device> devices{Device::cpu()};
    const CudaHooks hooks = memory::cuda_hooks();
    if (hooks.device_count && hooks.total_bytes) {
        const int n = hooks.device_count();
        for (int i = 0; i < n; ++i) devices.push_back(Device::cuda(i));
    }
    return devices;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
