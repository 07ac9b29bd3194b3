#pragma once
// What the benchmarks share: a clock moved by hand (cache policy simulations), a throwaway
// redis-server (the cache's L3 tier) and a procedural photo-like image streamed to a file in
// bands (images larger than memory).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <tbb/parallel_for.h>
#include <unistd.h>

#include "artistry/cache.hpp"
#include "artistry/stream.hpp"

extern char** environ;

namespace artistry::bench {

// A wall clock that stands still until advanced; copies share the time.
class SteppedClock {
  public:
    CacheClock clock() const {
        return [s = seconds_] {
            return std::chrono::system_clock::time_point(std::chrono::seconds(s->load()));
        };
    }
    void advance(std::chrono::seconds d) const { seconds_->fetch_add(d.count()); }

  private:
    std::shared_ptr<std::atomic<std::int64_t>> seconds_ =
        std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
};

// A redis-server of its own on 127.0.0.1, stopped with the object.
class RedisServer {
  public:
    RedisServer() = default;
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;
    ~RedisServer() { stop(); }

    // Starts it on a free port and waits until it answers PING; an empty string, or why not.
    std::string start() {
        const std::string binary = find_binary();
        if (binary.empty()) return "redis-server not installed";
        port_ = free_port();
        const std::string port = std::to_string(port_);
        std::vector<std::string> args = {
            binary,         "--port", port,          "--bind", "127.0.0.1",  "--save", "",
            "--appendonly", "no",     "--daemonize", "no",     "--loglevel", "warning"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t quiet;
        posix_spawn_file_actions_init(&quiet);
        posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
        const int rc = posix_spawn(&pid_, binary.c_str(), &quiet, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&quiet);
        if (rc != 0) {
            pid_ = -1;
            return "cannot start " + binary;
        }
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < end) {
            if (reply("PING") == "PONG") return {};
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return "redis-server did not answer PING on port " + port;
    }

    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

    // The byte length of the value at `key` (0 when there is none), or -1 without an answer.
    long long value_bytes(const std::string& key) const {
        const std::string n = reply("STRLEN " + key);
        return n.empty() ? -1 : std::stoll(n);
    }

  private:
    static std::string find_binary() {
        const char* env = std::getenv("PATH");
        const std::string path = std::string(env ? env : "") + ":/usr/bin:/usr/sbin:/usr/local/bin";
        for (std::size_t start = 0; start <= path.size();) {
            const std::size_t end = std::min(path.find(':', start), path.size());
            const std::string candidate = path.substr(start, end - start) + "/redis-server";
            if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
            start = end + 1;
        }
        return {};
    }

    // A port the kernel has just handed out, so most likely free.
    static int free_port() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        int port = 0;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
            port = ntohs(addr.sin_port);
        ::close(fd);
        return port;
    }

    // One command on a fresh connection: its status, string or integer reply as text; empty
    // when there is no answer.
    std::string reply(const std::string& command) const {
        const timeval timeout{1, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, timeout);
        if (c == nullptr || c->err) {
            if (c) redisFree(c);
            return {};
        }
        redisSetTimeout(c, timeout);
        auto* r = static_cast<redisReply*>(redisCommand(c, command.c_str()));
        std::string text;
        if (r != nullptr && r->type == REDIS_REPLY_INTEGER) text = std::to_string(r->integer);
        if (r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
            text.assign(r->str, r->len);
        if (r != nullptr) freeReplyObject(r);
        redisFree(c);
        return text;
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    int port_ = 0;
    pid_t pid_ = -1;
};

// A w × h JPEG of rings, gradients and hash noise, written in bands of rows (the image never
// exists whole), rows of a band in parallel.
inline void write_procedural_jpeg(const std::string& path, int w, int h, int jpeg_quality) {
    auto writer = ImageWriter::create(path, w, h, 3, SaveOptions{jpeg_quality, 1, 92});
    constexpr int band = 256;
    for (int y0 = 0; y0 < h; y0 += band) {
        Image img = Image::allocate(w, std::min(band, h - y0), 3);
        tbb::parallel_for(0, img.height(), [&](int y) {
            std::uint8_t* p = img.row(y);
            const int ay = y0 + y;
            for (int x = 0; x < w; ++x, p += 3) {
                const std::uint32_t n = (static_cast<std::uint32_t>(x) * 73856093u) ^
                                        (static_cast<std::uint32_t>(ay) * 19349663u);
                const int noise = static_cast<int>((n * 2654435761u) >> 28) - 8;
                const double r = std::hypot(x - w / 2.0, ay - h / 2.0);
                const int v = static_cast<int>(128 + 100 * std::sin(r / 97.0)) + noise;
                p[0] = static_cast<std::uint8_t>(std::clamp(v + x * 60 / w, 0, 255));
                p[1] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
                p[2] = static_cast<std::uint8_t>(std::clamp(255 * ay / h + noise, 0, 255));
            }
        });
        writer->write_rows(img);
    }
    writer->finish();
}

}  // namespace artistry::bench
