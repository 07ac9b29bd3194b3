// AllocationScope: Image allocations charged to a reservation, released with the pixels.

#include <algorithm>
#include <mutex>

#include "artistry/error.hpp"
#include "artistry/memory.hpp"
#include "util/allocation_charge.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {
namespace detail {

// One scope's account: the part of its reservation no image uses yet, and the part live images
// use. Both go back to the device when the account ends with its scope: from then on the
// images belong to whoever holds them (results, the cache with its own budget).
class ChargeAccount final : public AllocationCharger,
                            public std::enable_shared_from_this<ChargeAccount> {
  public:
    ChargeAccount(MemoryManager& manager, Reservation reservation, Deadline deadline,
                  const std::atomic<bool>* cancel)
        : manager_(manager),
          base_(reservation.bytes()),
          free_(std::move(reservation)),
          deadline_(deadline),
          cancel_(cancel) {}

    std::shared_ptr<void> charge(std::uint64_t bytes) override {
        std::unique_lock lock(mutex_);
        while (free_.bytes() < bytes) {
            const std::uint64_t need = bytes - free_.bytes();
            if (free_ && free_.try_grow(need)) break;
            // Wait in the manager's queue without the account's lock: pixels of this account
            // freed meanwhile (other threads, pressure callbacks) come back to it.
            lock.unlock();
            Reservation more = manager_.reserve(Device::cpu(), need, deadline_, cancel_);
            lock.lock();
            free_.absorb(std::move(more));
        }
        used_.absorb(free_.split(bytes));
        peak_ = std::max(peak_, used_.bytes());
        return std::make_shared<Token>(bytes, weak_from_this());
    }

    std::uint64_t charged() const {
        const std::lock_guard lock(mutex_);
        return used_.bytes();
    }
    std::uint64_t peak() const {
        const std::lock_guard lock(mutex_);
        return peak_;
    }
    std::uint64_t reserved() const {
        const std::lock_guard lock(mutex_);
        return free_.bytes();
    }

  private:
    // An image's charge: its bytes go back to the account when the pixels die first.
    struct Token {
        std::uint64_t bytes;
        std::weak_ptr<ChargeAccount> account;
        Token(std::uint64_t b, std::weak_ptr<ChargeAccount> a) : bytes(b), account(std::move(a)) {}
        ~Token() {
            if (const auto a = account.lock()) a->give_back(bytes);
        }
        Token(const Token&) = delete;
        Token& operator=(const Token&) = delete;
    };

    // Keeps what the scope was granted; growth beyond it goes back to the device, so a waiting
    // account holds no more than its admitted reservation plus its live pixels.
    void give_back(std::uint64_t bytes) noexcept {
        const std::lock_guard lock(mutex_);
        try {
            free_.absorb(used_.split(bytes));
        } catch (...) {  // both are CPU reservations of one manager: cannot happen
        }
        free_.shrink_to(base_ > used_.bytes() ? base_ - used_.bytes() : 0);
    }

    MemoryManager& manager_;
    const std::uint64_t base_;  // the reservation the scope opened with
    mutable std::mutex mutex_;
    Reservation free_;  // reserved, not used by images
    Reservation used_;  // used by live images
    Deadline deadline_;
    const std::atomic<bool>* cancel_;
    std::uint64_t peak_ = 0;
};

}  // namespace detail

namespace {

void* enter(const std::shared_ptr<detail::ChargeAccount>& account) noexcept {
    return account ? detail::exchange_allocation_charger(account.get())
                   : detail::current_allocation_charger();
}

}  // namespace

AllocationScope::AllocationScope() noexcept : previous_(detail::current_allocation_charger()) {}

AllocationScope::AllocationScope(MemoryManager* manager, Reservation reservation, Deadline deadline,
                                 const std::atomic<bool>* cancel)
    : account_(manager ? std::make_shared<detail::ChargeAccount>(*manager, std::move(reservation),
                                                                 deadline, cancel)
                       : nullptr),
      previous_(enter(account_)) {}

AllocationScope::AllocationScope(std::shared_ptr<detail::ChargeAccount> account) noexcept
    : account_(std::move(account)), previous_(enter(account_)) {}

AllocationScope::~AllocationScope() {
    if (account_)
        detail::exchange_allocation_charger(static_cast<detail::AllocationCharger*>(previous_));
}

std::shared_ptr<detail::ChargeAccount> AllocationScope::current() {
    auto* charger = dynamic_cast<detail::ChargeAccount*>(detail::current_allocation_charger());
    return charger ? charger->shared_from_this() : nullptr;
}

std::uint64_t AllocationScope::charged() const noexcept {
    return account_ ? account_->charged() : 0;
}
std::uint64_t AllocationScope::peak_charged() const noexcept {
    return account_ ? account_->peak() : 0;
}
std::uint64_t AllocationScope::reserved() const noexcept {
    return account_ ? account_->reserved() : 0;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
