#pragma once
// Helpers shared by the cache tests, their peer process and bench/cache: deterministic images,
// a clock the test moves by hand, child processes, a throwaway redis-server.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "artistry/cache.hpp"
#include "artistry/image.hpp"

extern char** environ;

namespace artistry::test {

// Pixels that depend on the seed and the position (no two seeds give the same image).
inline Image pattern_image(int width, int height, int channels, std::uint32_t seed,
                           PixelType type = PixelType::u8) {
    Image image = Image::allocate(width, height, channels, type);
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width * channels; ++x) {
            const std::uint32_t v = (static_cast<std::uint32_t>(x) * 2654435761u) ^
                                    (static_cast<std::uint32_t>(y) * 40503u) ^ (seed * 97u);
            if (type == PixelType::u8)
                image.row(y)[x] = static_cast<std::uint8_t>(v >> 7);
            else
                image.row_as<float>(y)[x] = static_cast<float>(v % 1000) / 999.0f;
        }
    }
    return image;
}

// The key a node "blur" v2 with fixed parameters gives over an image.
inline CacheKey result_key(const Image& input) {
    return make_cache_key({content_hash(input)}, "blur", 2, "radius=3;sigma=1.5");
}

// A clock the test advances; copies share the time.
struct ManualClock {
    std::shared_ptr<std::atomic<std::int64_t>> seconds =
        std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
    CacheClock clock() const {
        auto s = seconds;
        return
            [s] { return std::chrono::system_clock::time_point(std::chrono::seconds(s->load())); };
    }
    void advance(std::chrono::seconds d) const { seconds->fetch_add(d.count()); }
};

// Runs argv (argv[0] a path) and returns its standard output; exit_code receives the status.
inline std::string run_process(const std::vector<std::string>& args, int* exit_code = nullptr) {
    int fds[2];
    if (::pipe(fds) != 0) return {};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; rc == 0 && (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
        if (n < 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = -1;
    if (rc == 0) ::waitpid(pid, &status, 0);
    if (exit_code != nullptr) *exit_code = rc == 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

inline std::string find_redis_server() {
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    path += ":/usr/bin:/usr/sbin:/usr/local/bin";
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t end = std::min(path.find(':', start), path.size());
        const std::string candidate = path.substr(start, end - start) + "/redis-server";
        if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return {};
}

inline int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

// A command on a fresh connection; the reply's integer, or its string in `text`.
inline long long redis_command(int port, const std::string& cmd, std::string* text = nullptr) {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == nullptr || c->err) {
        if (c) redisFree(c);
        return -1000;
    }
    redisSetTimeout(c, tv);
    auto* r = static_cast<redisReply*>(redisCommand(c, cmd.c_str()));
    long long value = -1000;
    if (r != nullptr) {
        if (r->type == REDIS_REPLY_INTEGER) value = r->integer;
        if ((r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && text)
            *text = std::string(r->str, r->len);
        freeReplyObject(r);
    }
    redisFree(c);
    return value;
}

// A redis-server of its own on 127.0.0.1 and a free port, killed with the object.
class RedisServer {
  public:
    RedisServer() : binary_(find_redis_server()), port_(free_port()) {}
    ~RedisServer() { kill(); }

    bool installed() const { return !binary_.empty(); }
    int port() const { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

    // Starts it and waits for PING; returns an empty string, or what went wrong.
    std::string start() {
        const std::string port = std::to_string(port_);
        std::vector<std::string> args = {
            binary_,        "--port", port,          "--bind", "127.0.0.1",  "--save", "",
            "--appendonly", "no",     "--daemonize", "no",     "--loglevel", "warning"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        const int rc = posix_spawn(&pid_, binary_.c_str(), &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) return error_ = "cannot start " + binary_;
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        std::string pong;
        while (std::chrono::steady_clock::now() < end) {
            if (redis_command(port_, "PING", &pong) == -1000 && pong == "PONG") return error_ = {};
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return error_ = "redis-server did not answer PING on port " + port;
    }
    const std::string& start_error() const { return error_; }
    void kill() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    void pause() { ::kill(pid_, SIGSTOP); }
    void resume() { ::kill(pid_, SIGCONT); }

  private:
    std::string binary_;
    int port_ = 0;
    pid_t pid_ = -1;
    std::string error_;
};

}  // namespace artistry::test
