#pragma once
// Helpers shared by the cache tests and their peer process: deterministic images, child
// processes; the hand-moved clock and the throwaway redis-server come from support/.

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
#include "manual_clock.hpp"
#include "redis_server.hpp"

extern char** environ;

namespace artistry::test {

using support::find_redis_server;
using support::free_port;
using support::ManualClock;
using support::redis_command;
using support::RedisServer;

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

}  // namespace artistry::test
