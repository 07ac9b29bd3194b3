#pragma once
// Shared helpers for the C++ test suites.

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <unistd.h>

#include "artistry/error.hpp"
#include "artistry/image.hpp"
#include "artistry/io.hpp"

namespace artistry::test {

// Photos copied into the repository (tests/data/README.md says where from).
inline std::string data_path(const std::string& name) {
    return std::string(ARTISTRY_TEST_DATA_DIR) + "/" + name;
}

inline Image load_data(const std::string& name) { return load_image(data_path(name)); }

// The larger shared fixtures beside the repository (not committed); empty when absent.
inline std::string shared_fixture(const std::string& name) {
    const char* env = std::getenv("ARTISTRY_FIXTURES");
    const std::filesystem::path dir =
        env ? std::filesystem::path(env)
            : std::filesystem::path(ARTISTRY_SOURCE_DIR) / ".." / "shared" / "fixtures" / "images";
    const auto p = dir / name;
    return std::filesystem::exists(p) ? p.string() : std::string();
}

// The error a call throws, or Error(Status::ok, "no error") when it throws none.
inline Error error_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const Error& e) {
        return e;
    }
    return Error(Status::ok, "no error");
}

// A fresh empty folder under the system temp dir, removed when the object goes away.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("artistry-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
        std::filesystem::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

}  // namespace artistry::test
