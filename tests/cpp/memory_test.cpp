// The memory manager: the budget is never exceeded, waiting is FIFO and bounded by deadlines,
// over-budget requests are refused at once, pressure callbacks run before anyone waits.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "artistry/memory.hpp"
#include "test_support.hpp"

using namespace artistry;
using namespace std::chrono_literals;
using artistry::test::error_of;

namespace {

MemoryManager cpu_manager(std::uint64_t budget, double threshold = 1.0) {
    MemoryOptions o;
    o.devices = {{Device::cpu(), Budget{budget, 0}, budget * 2}};
    o.pressure_threshold = threshold;
    o.use_environment = false;
    return MemoryManager(o);
}

// Polls until `pred` holds (a thread reached its wait); fails the test after 5 s.
template <class Pred>
void eventually(Pred pred) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (!pred()) {
        REQUIRE(std::chrono::steady_clock::now() < end);
        std::this_thread::sleep_for(1ms);
    }
}

}  // namespace

TEST_CASE("budgets parse bytes with units and fractions of the device") {
    CHECK(Budget::parse("4GiB").bytes == 4ull << 30);
    CHECK(Budget::parse("512MiB").bytes == 512ull << 20);
    CHECK(Budget::parse("2G").bytes == 2ull << 30);
    CHECK(Budget::parse("1500MB").bytes == 1'500'000'000ull);
    CHECK(Budget::parse("123456").bytes == 123456);
    CHECK(Budget::parse(" 1.5 GiB ").bytes == 3ull << 29);
    CHECK(Budget::parse("50%").fraction == doctest::Approx(0.5));
    CHECK(Budget::parse("0.25").fraction == doctest::Approx(0.25));
    CHECK(Budget::parse("50%").resolve(1000) == 500);
    CHECK(Budget::parse("100").resolve(1000) == 100);
    for (const char* bad : {"", "abc", "-1GiB", "4XB", "150%", "0", "GiB"})
        CHECK_MESSAGE(error_of([&] { Budget::parse(bad); }).status() == Status::invalid_argument,
                      bad);
    CHECK(Device::parse("cuda:2") == Device::cuda(2));
    CHECK(Device::parse("cpu").name() == "cpu");
    CHECK(error_of([] { Device::parse("gpu0"); }).status() == Status::invalid_argument);
}

TEST_CASE("the environment sets the CPU budget and the pressure threshold") {
    ::setenv("ARTISTRY_MEMORY_BUDGET", "3MiB", 1);
    ::setenv("ARTISTRY_MEMORY_PRESSURE", "60%", 1);
    MemoryOptions o;
    o.devices = {{Device::cpu(), {}, 1ull << 30}};
    {
        MemoryManager m(o);
        CHECK(m.budget(Device::cpu()) == 3ull << 20);
        CHECK(m.pressure_threshold() == doctest::Approx(0.6));
    }
    ::setenv("ARTISTRY_MEMORY_BUDGET", "lots", 1);
    const Error e = error_of([&] { MemoryManager m(o); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("ARTISTRY_MEMORY_BUDGET") != std::string::npos);
    ::unsetenv("ARTISTRY_MEMORY_BUDGET");
    ::unsetenv("ARTISTRY_MEMORY_PRESSURE");
    MemoryManager defaults(o);  // 50 % of the device without the variable
    CHECK(defaults.budget(Device::cpu()) == 512ull << 20);
    CHECK(defaults.pressure_threshold() == doctest::Approx(0.8));
}

TEST_CASE("GPU_MEMORY_THRESHOLD is the old backend's cleanup trigger, not a budget") {
    MemoryOptions o;
    o.devices = {{Device::cpu(), {}, 1ull << 30}};
    ::setenv("GPU_MEMORY_THRESHOLD", "0.7", 1);
    {
        MemoryManager m(o);
        CHECK(m.pressure_threshold() == doctest::Approx(0.7));
        CHECK(m.budget(Device::cpu()) == 512ull << 20);
    }
    ::setenv("ARTISTRY_MEMORY_PRESSURE", "0.6", 1);  // the engine's own variable outranks it
    CHECK(MemoryManager(o).pressure_threshold() == doctest::Approx(0.6));
    ::unsetenv("ARTISTRY_MEMORY_PRESSURE");
    ::setenv("GPU_MEMORY_THRESHOLD", "garbage", 1);
    const Error e = error_of([&] { MemoryManager m(o); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(std::string(e.what()).find("GPU_MEMORY_THRESHOLD='garbage'") != std::string::npos);
    ::unsetenv("GPU_MEMORY_THRESHOLD");
}

TEST_CASE("reservations account bytes, move, shrink, grow and release on destruction") {
    MemoryManager m = cpu_manager(1000);
    {
        Reservation a = m.reserve(Device::cpu(), 300, 1s);
        CHECK(a.bytes() == 300);
        CHECK(m.in_use(Device::cpu()) == 300);
        Reservation b = std::move(a);
        CHECK(!a);
        CHECK(b.bytes() == 300);
        CHECK(m.in_use(Device::cpu()) == 300);
        b.shrink_to(100);
        CHECK(m.in_use(Device::cpu()) == 100);
        CHECK(b.try_grow(850));
        CHECK(m.in_use(Device::cpu()) == 950);
        CHECK(!b.try_grow(51));  // would exceed the budget
        CHECK(b.bytes() == 950);
        Reservation c;
        c = std::move(b);
        CHECK(m.in_use(Device::cpu()) == 950);
    }
    CHECK(m.in_use(Device::cpu()) == 0);
    CHECK(m.peak(Device::cpu()) == 950);
    auto t = m.try_reserve(Device::cpu(), 1000);
    REQUIRE(t.has_value());
    CHECK(!m.try_reserve(Device::cpu(), 1).has_value());
    t->release();
    CHECK(m.in_use(Device::cpu()) == 0);
    CHECK(error_of([&] { m.reserve(Device::cuda(0), 1, 1s); }).status() ==
          Status::invalid_argument);
}

TEST_CASE("a request larger than the whole budget is refused at once") {
    MemoryManager m = cpu_manager(1000);
    Reservation held = m.reserve(Device::cpu(), 500, 1s);
    const auto start = std::chrono::steady_clock::now();
    const Error e = error_of([&] { m.reserve(Device::cpu(), 1001, 10s); });
    CHECK(std::chrono::steady_clock::now() - start < 1s);  // did not wait for the deadline
    CHECK(e.status() == Status::limit_exceeded);
    CHECK(std::string(e.what()).find("tiled") != std::string::npos);
    CHECK(m.stats(Device::cpu()).refusals == 1);
    CHECK(m.stats(Device::cpu()).waits == 0);
    CHECK(m.in_use(Device::cpu()) == 500);
}

TEST_CASE("a reservation that cannot fit before its deadline times out with a clear message") {
    MemoryManager m = cpu_manager(1000);
    Reservation held = m.reserve(Device::cpu(), 900, 1s);
    const auto start = std::chrono::steady_clock::now();
    const Error e = error_of([&] { m.reserve(Device::cpu(), 200, 100ms); });
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(e.status() == Status::timeout);
    CHECK(waited >= 100ms);
    CHECK(waited < 3s);
    const std::string msg = e.what();
    CHECK(msg.find("cpu") != std::string::npos);
    CHECK(msg.find("timed out") != std::string::npos);
    const MemoryStats s = m.stats(Device::cpu());
    CHECK(s.timeouts == 1);
    CHECK(s.waits == 1);
    CHECK(s.waiting == 0);  // it left the queue
    CHECK(s.in_use == 900);
    held.release();
    CHECK(m.reserve(Device::cpu(), 1000, 10ms).bytes() == 1000);
}

TEST_CASE("a waiting reservation is cancelled by its flag") {
    MemoryManager m = cpu_manager(100);
    Reservation held = m.reserve(Device::cpu(), 100, 1s);
    std::atomic<bool> cancel{false};
    std::thread t([&] {
        eventually([&] { return m.stats(Device::cpu()).waiting == 1; });
        cancel = true;
    });
    const auto start = std::chrono::steady_clock::now();
    const Error e = error_of([&] { m.reserve(Device::cpu(), 50, 60s, &cancel); });
    t.join();
    CHECK(e.status() == Status::cancelled);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(m.stats(Device::cpu()).cancellations == 1);
}

TEST_CASE("waiting is FIFO: a large request at the head holds back later small ones") {
    MemoryManager m = cpu_manager(100);
    Reservation held = m.reserve(Device::cpu(), 60, 1s);
    std::atomic<bool> big_granted{false}, small_granted{false};
    Reservation big_r, small_r;
    std::thread big([&] {
        big_r = m.reserve(Device::cpu(), 80, 10s);
        big_granted = true;
    });
    eventually([&] { return m.stats(Device::cpu()).waiting == 1; });
    std::thread small([&] {
        small_r = m.reserve(Device::cpu(), 30, 10s);  // fits in the 40 free bytes, yet waits
        small_granted = true;
    });
    eventually([&] { return m.stats(Device::cpu()).waiting == 2; });
    std::this_thread::sleep_for(50ms);
    CHECK(!small_granted.load());
    CHECK(m.in_use(Device::cpu()) == 60);
    held.release();  // the head (80) goes first; 80 + 30 do not fit together
    eventually([&] { return big_granted.load(); });
    big.join();
    std::this_thread::sleep_for(20ms);
    CHECK(!small_granted.load());
    CHECK(m.stats(Device::cpu()).waiting == 1);
    big_r.release();
    small.join();
    CHECK(small_r.bytes() == 30);
    CHECK(m.in_use(Device::cpu()) == 30);
}

TEST_CASE("when the head of the queue gives up, the requests behind it go") {
    MemoryManager m = cpu_manager(100);
    Reservation held = m.reserve(Device::cpu(), 60, 1s);
    std::thread big([&] {
        CHECK(error_of([&] { m.reserve(Device::cpu(), 80, 150ms); }).status() == Status::timeout);
    });
    eventually([&] { return m.stats(Device::cpu()).waiting == 1; });
    Reservation small_r;
    std::thread small([&] { small_r = m.reserve(Device::cpu(), 30, 10s); });
    big.join();
    small.join();
    CHECK(small_r.bytes() == 30);
    CHECK(m.in_use(Device::cpu()) == 90);
}

TEST_CASE("pressure callbacks run before anyone waits, and can make room") {
    MemoryManager m = cpu_manager(1000, 0.8);
    std::optional<Reservation> cache = m.reserve(Device::cpu(), 600, 1s);  // a trimmable cache
    Reservation work = m.reserve(Device::cpu(), 300, 1s);
    int calls = 0;
    std::uint64_t waits_seen = 99, to_free_seen = 0;
    m.add_pressure_callback([&](const PressureEvent& e) -> std::uint64_t {
        ++calls;
        waits_seen = m.stats(Device::cpu()).waits;
        to_free_seen = e.to_free;
        const std::uint64_t freed = cache ? cache->bytes() : 0;
        cache.reset();
        return freed;
    });
    const std::uint64_t events_before = m.stats(Device::cpu()).pressure_events;
    const auto start = std::chrono::steady_clock::now();
    Reservation r = m.reserve(Device::cpu(), 400, 5s);  // 1300 > 1000: only fits after a trim
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    CHECK(calls == 1);
    CHECK(waits_seen == 0);  // the callback ran before the request queued
    CHECK(to_free_seen == 300 + 600 + 400 - 800);
    const MemoryStats s = m.stats(Device::cpu());
    CHECK(s.waits == 0);
    CHECK(s.pressure_events == events_before + 1);
    CHECK(s.in_use == 700);
}

TEST_CASE("pressure callbacks run when crossing the threshold even if the request fits") {
    MemoryManager m = cpu_manager(1000, 0.8);
    int calls = 0;
    const auto id = m.add_pressure_callback([&](const PressureEvent&) -> std::uint64_t {
        ++calls;
        return 0;
    });
    Reservation a = m.reserve(Device::cpu(), 700, 1s);
    CHECK(calls == 0);
    Reservation b = m.reserve(Device::cpu(), 200, 1s);  // 900 > 800
    CHECK(calls == 1);
    CHECK(m.in_use(Device::cpu()) == 900);
    m.remove_pressure_callback(id);
    Reservation c = m.reserve(Device::cpu(), 50, 1s);
    CHECK(calls == 1);
    CHECK(m.relieve_pressure(Device::cpu(), 100) == 0);
}

TEST_CASE("a callback that frees nothing runs before the request waits") {
    MemoryManager m = cpu_manager(1000, 0.8);
    Reservation held = m.reserve(Device::cpu(), 900, 1s);
    std::atomic<int> calls{0};
    std::atomic<std::uint64_t> waiting_during_call{99};
    m.add_pressure_callback([&](const PressureEvent&) -> std::uint64_t {
        ++calls;
        waiting_during_call = m.stats(Device::cpu()).waiting + m.stats(Device::cpu()).waits;
        return 0;
    });
    std::thread releaser([&] {
        eventually([&] { return m.stats(Device::cpu()).waiting == 1; });
        held.release();
    });
    Reservation r = m.reserve(Device::cpu(), 500, 10s);
    releaser.join();
    CHECK(calls.load() >= 1);
    CHECK(waiting_during_call.load() == 0);
    CHECK(m.stats(Device::cpu()).waits == 1);
}

TEST_CASE("64 threads reserving random sizes never exceed the budget, and all finish") {
    constexpr std::uint64_t budget = 1 << 20;
    MemoryManager m = cpu_manager(budget, 0.8);
    std::atomic<std::uint64_t> held{0}, max_held{0}, granted{0};
    std::atomic<bool> over{false};
    // A trimmable pool the pressure callback gives back, like an L1 cache.
    std::mutex cache_mutex;
    std::vector<Reservation> cache;
    m.add_pressure_callback([&](const PressureEvent&) -> std::uint64_t {
        const std::lock_guard lock(cache_mutex);
        std::uint64_t freed = 0;
        for (auto& r : cache) freed += r.bytes();
        cache.clear();
        return freed;
    });
    // The whole budget is held until some thread waits, so the run presses against the budget
    // however the scheduler orders the threads (a sanitizer build can run them one by one).
    std::optional<Reservation> gate = m.reserve(Device::cpu(), budget, 1s);
    std::vector<std::thread> threads;
    for (int t = 0; t < 64; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(1234 + t);
            std::uniform_int_distribution<std::uint64_t> size(1, budget / 3);
            for (int i = 0; i < 40; ++i) {
                const std::uint64_t bytes = i % 10 == 9 ? budget : size(rng);  // some take it all
                Reservation r = m.reserve(Device::cpu(), bytes, 60s);
                const std::uint64_t now = held.fetch_add(bytes) + bytes;
                if (now > budget) over = true;
                std::uint64_t prev = max_held.load();
                while (now > prev && !max_held.compare_exchange_weak(prev, now)) {
                }
                if (rng() % 4 == 0) std::this_thread::yield();
                held.fetch_sub(bytes);
                if (rng() % 8 == 0) {
                    if (auto extra = m.try_reserve(Device::cpu(), bytes / 4 + 1)) {
                        const std::lock_guard lock(cache_mutex);
                        cache.push_back(std::move(*extra));
                    }
                }
                ++granted;
            }
        });
    }
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (m.stats(Device::cpu()).waiting == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    REQUIRE(m.stats(Device::cpu()).waiting > 0);
    gate.reset();
    for (auto& th : threads) th.join();
    {
        const std::lock_guard lock(cache_mutex);
        cache.clear();
    }
    const MemoryStats s = m.stats(Device::cpu());
    CHECK(!over.load());
    CHECK(max_held.load() <= budget);
    CHECK(s.peak <= budget);
    CHECK(s.peak > budget / 2);  // the test did press against the budget
    CHECK(granted.load() == 64 * 40);
    CHECK(s.timeouts == 0);
    CHECK(s.in_use == 0);
    CHECK(s.waiting == 0);
    CHECK(s.waits > 0);
}

TEST_CASE("largest_fit picks the most units that fit the budget, threshold or free memory") {
    MemoryManager m = cpu_manager(1000, 0.8);
    CHECK(m.largest_fit(Device::cpu(), 100) == 10);
    CHECK(m.largest_fit(Device::cpu(), 100, 250) == 7);
    CHECK(m.largest_fit(Device::cpu(), 100, 250, FitBasis::threshold) == 5);
    CHECK(m.largest_fit(Device::cpu(), 100, 1001) == 0);
    Reservation r = m.reserve(Device::cpu(), 600, 1s);
    CHECK(m.largest_fit(Device::cpu(), 100, 0, FitBasis::available) == 4);
    CHECK(m.largest_fit(Device::cpu(), 100, 0, FitBasis::budget) == 10);
    CHECK(error_of([&] { m.largest_fit(Device::cpu(), 0); }).status() == Status::invalid_argument);
}

TEST_CASE("images allocated through the manager stay charged while any handle lives") {
    MemoryManager m = cpu_manager(1 << 20);
    Image copy;
    {
        Image img =
            m.allocate_image(100, 50, 3, PixelType::u8, std::chrono::steady_clock::now() + 1s);
        CHECK(m.in_use(Device::cpu()) == 100 * 50 * 3);
        CHECK(img.width() == 100);
        CHECK(img.row(49)[299] == 0);
        copy = img;
    }
    CHECK(m.in_use(Device::cpu()) == 100 * 50 * 3);
    copy = Image();
    CHECK(m.in_use(Device::cpu()) == 0);
    CHECK(error_of([&] {
              m.allocate_image(1024, 1024, 4, PixelType::u8, std::chrono::steady_clock::now());
          }).status() == Status::limit_exceeded);
}

TEST_CASE("CUDA devices come from the hooks, with GPU budgets and empty_cache under pressure") {
    std::atomic<int> emptied{0};
    CudaHooks hooks;
    hooks.device_count = [] { return 2; };
    hooks.total_bytes = [](int i) { return std::uint64_t(8 + 8 * i) << 30; };
    hooks.empty_cache = [&](int i) {
        if (i == 1) ++emptied;
    };
    set_cuda_hooks(hooks);
    struct Reset {
        ~Reset() { set_cuda_hooks({}); }
    } reset;
    CHECK(available_devices().size() == 3);
    CHECK(device_total_bytes(Device::cuda(1)) == 16ull << 30);

    MemoryOptions o;
    o.use_environment = false;
    o.cpu_budget = Budget{1 << 20, 0};
    o.gpu_budget = Budget{0, 0.5};
    MemoryManager m(o);
    REQUIRE(m.devices().size() == 3);
    CHECK(m.budget(Device::cuda(0)) == 4ull << 30);
    CHECK(m.budget(Device::cuda(1)) == 8ull << 30);
    Reservation a = m.reserve(Device::cuda(1), 7ull << 30, 1s);  // above 80 %
    CHECK(emptied.load() == 1);
    CHECK(m.in_use(Device::cuda(0)) == 0);
    CHECK(error_of([&] { m.reserve(Device::cuda(0), 5ull << 30, 1s); }).status() ==
          Status::limit_exceeded);
    set_cuda_hooks({});
    CHECK(available_devices().size() == 1);
}

TEST_CASE("metrics text reports usage, peak, budget and counters per device") {
    MemoryManager m = cpu_manager(1000);
    Reservation r = m.reserve(Device::cpu(), 250, 1s);
    CHECK(error_of([&] { m.reserve(Device::cpu(), 2000, 1s); }).status() == Status::limit_exceeded);
    const std::string text = m.metrics_text();
    CHECK(text.find("artistry_memory_used_bytes{device=\"cpu\"} 250\n") != std::string::npos);
    CHECK(text.find("artistry_memory_peak_bytes{device=\"cpu\"} 250\n") != std::string::npos);
    CHECK(text.find("artistry_memory_budget_bytes{device=\"cpu\"} 1000\n") != std::string::npos);
    CHECK(text.find("artistry_memory_refusals_total{device=\"cpu\"} 1\n") != std::string::npos);
    CHECK(text.find("# TYPE artistry_memory_waits_total counter") != std::string::npos);
}
