// Real accounting: the library's own image allocations are charged to the budget through
// AllocationScope, so in_use and peak follow real pixels, and the budget still holds when many
// threads allocate at once.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "artistry/engine.hpp"
#include "artistry/error.hpp"
#include "artistry/memory.hpp"
#include "fake_effects.hpp"
#include "test_support.hpp"

using namespace artistry;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<MemoryManager> manager(const char* budget) {
    MemoryOptions mo;
    mo.use_environment = false;
    mo.cpu_budget = Budget::parse(budget);
    mo.pressure_threshold = 1.0;
    return std::make_shared<MemoryManager>(mo);
}

Deadline in(std::chrono::milliseconds d) {
    return std::chrono::steady_clock::now() + d;
}

constexpr std::uint64_t mib = std::uint64_t{1} << 20;

}  // namespace

TEST_CASE("a scope charges its images: in_use follows the pixels, then the scope's end") {
    const auto m = manager("64MiB");
    const Device cpu = Device::cpu();
    Image survivor;
    {
        const AllocationScope scope(m.get(), m->reserve(cpu, mib, 1s), in(1s));
        CHECK(m->in_use(cpu) == mib);
        Image big = Image::allocate(1000, 1000, 3);  // 3 000 000 bytes: beyond the reservation
        CHECK(scope.charged() == 3000000);
        CHECK(m->in_use(cpu) == 3000000);  // grown, not 1 MiB + 3 MB: it drew on it first
        survivor = Image::allocate(500, 500, 3);
        CHECK(m->in_use(cpu) == 3750000);
        big = Image();
        CHECK(scope.charged() == 750000);
        // Freed pixels refill the account up to its opening reservation; the rest is free.
        CHECK(scope.reserved() == mib - 750000);
        CHECK(m->in_use(cpu) == mib);
        CHECK(scope.peak_charged() == 3750000);
        {
            const AllocationScope inactive;  // nests without charging or hiding the outer one
            Image more = Image::allocate(100, 100, 4);
            CHECK(scope.charged() == 750000 + 40000);
        }
    }
    CHECK(m->in_use(cpu) == 0);  // the account went back whole; the survivor is its holder's
    CHECK(m->peak(cpu) == 3750000);
    Image outside = Image::allocate(1000, 1000, 3);
    CHECK(m->in_use(cpu) == 0);  // no scope, no charge
}

TEST_CASE("a charge over the whole budget fails clearly; a short deadline times out") {
    const auto m = manager("1MiB");
    {
        const AllocationScope scope(m.get(), Reservation(), in(1s));
        const Error e = test::error_of([] { Image::allocate(2000, 2000, 3); });
        CHECK(e.status() == Status::limit_exceeded);
        CHECK(std::string(e.what()).find("2000x2000x3") != std::string::npos);
    }
    Reservation hog = m->reserve(Device::cpu(), 900 * 1024, 1s);
    {
        const AllocationScope scope(m.get(), Reservation(), in(50ms));
        CHECK(test::error_of([] { Image::allocate(300, 300, 3); }).status() == Status::timeout);
    }
    CHECK(m->in_use(Device::cpu()) == 900 * 1024);
}

TEST_CASE("a charge that must wait gets the memory another scope frees") {
    const auto m = manager("4MiB");
    std::atomic<bool> holding{false};
    std::thread other([&] {
        const AllocationScope scope(m.get(), Reservation(), in(5s));
        Image held = Image::allocate(1000, 1000, 3);
        holding = true;
        std::this_thread::sleep_for(100ms);
    });
    while (!holding) std::this_thread::yield();
    {
        const AllocationScope scope(m.get(), Reservation(), in(5s));
        const Image mine = Image::allocate(1000, 1000, 3);  // waits for the other's release
        CHECK(m->in_use(Device::cpu()) == 3000000);
    }
    other.join();
    CHECK(m->stats(Device::cpu()).waits >= 1);
    CHECK(m->peak(Device::cpu()) <= 4 * mib);
}

TEST_CASE("many threads allocating under scopes never exceed the budget") {
    const auto m = manager("8MiB");
    constexpr int threads = 16;
    std::atomic<std::uint64_t> charged_peak{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            try {
                std::mt19937 rng(static_cast<unsigned>(t));
                const AllocationScope scope(m.get(), m->reserve(Device::cpu(), 64 * 1024, 10s),
                                            in(10s));
                // One image at a time: holding pixels while waiting for more could deadlock
                // any budget (each thread waits for what the others hold).
                for (int i = 0; i < 40; ++i) {
                    const int side = 64 + static_cast<int>(rng() % 448);
                    const Image img = Image::allocate(side, side, 3);
                    // A helper thread joining the same account charges it too.
                    if (i % 10 == 0) {
                        std::thread helper([account = scope.account()] {
                            const AllocationScope joined(account);
                            const Image tmp = Image::allocate(200, 200, 4);
                        });
                        helper.join();
                    }
                }
                std::uint64_t seen = charged_peak.load();
                while (seen < scope.peak_charged() &&
                       !charged_peak.compare_exchange_weak(seen, scope.peak_charged())) {
                }
            } catch (const Error&) {
                ++failures;
            }
        });
    for (auto& th : pool) th.join();
    const MemoryStats s = m->stats(Device::cpu());
    CHECK(failures == 0);
    CHECK(s.peak <= 8 * mib);
    CHECK(s.in_use == 0);
    CHECK(charged_peak.load() > 64 * 1024);  // real allocations went past the estimates
}

TEST_CASE("the engine charges a node's real allocations, beyond its estimate") {
    EffectRegistry registry;
    EffectInfo e;
    e.name = "scratchy";
    e.summary = "copies through a scratch buffer four times its input";
    e.describe = [](const Params&, int, int, const EffectContext&) { return EffectPlan{}; };
    e.render = [](const Image& img, const Params&, const EffectContext&) {
        const Image scratch = Image::allocate(img.width() * 2, img.height() * 2, img.channels());
        return img.clone();
    };
    registry.add(e);
    EngineOptions o;
    o.registry = &registry;
    o.threads = 2;
    o.use_environment = false;
    o.cache_options.enabled = false;
    o.memory = manager("16MiB");
    o.memory_wait_seconds = 10;
    Engine engine(o);
    const Graph g = Graph::Builder()
                        .node("a", "scratchy")
                        .node("b", "scratchy", {"a"})
                        .output("b")
                        .build(registry);
    const Image input = Image::allocate(400, 300, 3);
    const std::uint64_t scratch = 800 * 600 * 3;
    {
        const Result r = engine.run(g, input);
        REQUIRE(r.ok());
        CHECK(o.memory->peak(Device::cpu()) >= scratch);  // seen although the estimate was 0
        CHECK(o.memory->in_use(Device::cpu()) == 0);
    }
    // Eight concurrent runs whose scratch buffers do not all fit at once: they wait, all
    // finish, and the budget holds.
    o.memory->reset_peak(Device::cpu());
    std::vector<RunHandle> runs;
    for (int i = 0; i < 8; ++i) runs.push_back(engine.submit(g, Image::allocate(800, 600, 3)));
    for (auto& h : runs) CHECK(h.result().ok());
    CHECK(o.memory->peak(Device::cpu()) <= 16 * mib);
    CHECK(o.memory->peak(Device::cpu()) >= 4 * 800 * 600 * 3);
    CHECK(o.memory->in_use(Device::cpu()) == 0);
}
