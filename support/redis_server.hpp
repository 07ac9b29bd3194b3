#pragma once
// A throwaway redis-server on 127.0.0.1 and a free port, and one-command queries to it: the
// cache's Redis tier in the tests and in bench/cache.

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
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

extern char** environ;

namespace artistry::support {

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

}  // namespace artistry::support
