#pragma once
// The hook through which Image::allocate charges its bytes to an accounting scope open on the
// calling thread. Core defines it; the memory manager implements it (AllocationScope), so core
// knows nothing of budgets.

#include <cstdint>
#include <memory>

#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

class AllocationCharger {
  public:
    virtual ~AllocationCharger() = default;
    // A token that keeps `bytes` counted until it is destroyed (with the pixels). Throws
    // artistry::Error when the bytes cannot be had (over budget, deadline, cancelled).
    virtual std::shared_ptr<void> charge(std::uint64_t bytes) = 0;
};

// This thread's charger (null: none), and swapping it in; returns the one it replaces.
AllocationCharger* current_allocation_charger() noexcept;
AllocationCharger* exchange_allocation_charger(AllocationCharger* charger) noexcept;

}  // namespace detail
}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
