#pragma once
// Shared by the fuzz targets: reading fuzzer bytes as typed fields, and running a call with the
// library's allocations charged to a small memory budget (allocation failures injected).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "artistry/error.hpp"
#include "artistry/memory.hpp"

namespace artistry::fuzz {

// Takes fields from the front of the input; what is left is the payload.
class Bytes {
  public:
    Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    template <class T>
    T take() {
        T value{};
        const std::size_t n = std::min(sizeof(T), size_);
        std::memcpy(&value, data_, n);
        data_ += n;
        size_ -= n;
        return value;
    }
    std::span<const std::uint8_t> rest() const { return {data_, size_}; }
    std::string_view text() const { return {reinterpret_cast<const char*>(data_), size_}; }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
};

// Runs fn with every Image::allocate on this thread charged to a budget of `budget_bytes`
// (no waiting: an allocation that does not fit fails at once, as libpng's fuzzers inject
// allocation failures). Errors of the library are the expected outcome of hostile input and
// are swallowed; anything else (a crash, a sanitizer report, a foreign exception) is a bug.
template <class Fn>
void with_budget(std::uint64_t budget_bytes, Fn&& fn) {
    MemoryOptions options;
    options.devices = {{Device::cpu(), Budget{budget_bytes, 0}, std::uint64_t{1} << 34}};
    options.use_environment = false;
    MemoryManager manager(options);
    try {
        AllocationScope scope(&manager, Reservation(), std::chrono::steady_clock::now());
        fn();
    } catch (const Error&) {
    }
}

}  // namespace artistry::fuzz
