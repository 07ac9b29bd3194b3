// Engine settings from options and environment variables.

#include "graph/engine_config.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "graph/worker_arena.hpp"

namespace artistry::graph {

namespace {

std::optional<std::string> env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
}

std::optional<int> env_count(const char* name) {
    const auto text = env(name);
    if (!text) return std::nullopt;
    int value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size() || value < 1)
        throw Error(Status::invalid_argument,
                    fmt::format("environment variable {} must be a positive integer, got '{}'",
                                name, *text));
    return value;
}

std::optional<bool> env_flag(const char* name) {
    const auto text = env(name);
    if (!text) return std::nullopt;
    std::string t;
    for (char c : *text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "0" || t == "no" || t == "off") return false;
    throw Error(
        Status::invalid_argument,
        fmt::format("environment variable {} must be true or false, got '{}'", name, *text));
}

}  // namespace

EngineConfig resolve_engine_config(const EngineOptions& options) {
    if (options.threads < 0 || options.max_parallel < 0)
        throw Error(Status::invalid_argument,
                    "EngineOptions: threads and max_parallel must be 0 (default) or positive");
    const bool use_env = options.use_environment;
    EngineConfig c;
    c.threads = options.threads;
    if (c.threads == 0 && use_env) c.threads = env_count("ARTISTRY_THREADS").value_or(0);
    if (c.threads == 0) c.threads = default_thread_count();

    c.max_parallel = options.max_parallel;
    if (c.max_parallel == 0 && use_env) {
        if (auto v = env_count("ARTISTRY_MAX_PARALLEL"))
            c.max_parallel = *v;
        else if (env_flag("ENABLE_PARALLEL_PROCESSING") == false)
            c.max_parallel = 1;
        else
            c.max_parallel = env_count("PARALLEL_BATCH_SIZE").value_or(0);
    }
    if (c.max_parallel == 0) c.max_parallel = c.threads;
    return c;
}

}  // namespace artistry::graph
