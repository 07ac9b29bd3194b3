#pragma once
// Shared helpers for the C++ test suites.

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "artistry/effect.hpp"
#include "artistry/error.hpp"
#include "artistry/image.hpp"
#include "artistry/io.hpp"

namespace artistry::test {

// Photos copied into the repository (tests/data/README.md says where from).
inline std::string data_path(const std::string& name) {
    return std::string(ARTISTRY_TEST_DATA_DIR) + "/" + name;
}

inline Image load_data(const std::string& name) {
    return load_image(data_path(name));
}

// The larger shared fixtures beside the repository (not committed); empty when absent.
inline std::string shared_fixture(const std::string& name) {
    const char* env = std::getenv("ARTISTRY_FIXTURES");
    const std::filesystem::path dir =
        env ? std::filesystem::path(env)
            : std::filesystem::path(ARTISTRY_SOURCE_DIR) / ".." / "shared" / "fixtures" / "images";
    const auto p = dir / name;
    return std::filesystem::exists(p) ? p.string() : std::string();
}

inline std::vector<std::uint8_t> file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

inline void write_bytes(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// One effect family registered in a registry of its own (an effect's test links only its
// module), callable like the effect: fx(image, params, ctx).
class EffectUnderTest {
  public:
    // Registration happens on first use, so namespace-scope instances do not depend on the
    // effect module's own statics being initialised first.
    EffectUnderTest(std::string name, void (*register_family)(EffectRegistry&))
        : name_(std::move(name)), register_family_(register_family) {}
    Image operator()(const Image& image, const ParamMap& params = {},
                     const EffectContext& ctx = {}) const {
        return apply_effect(registry(), name_, image, params, ctx);
    }
    const EffectRegistry& registry() const {
        std::call_once(once_, [this] { register_family_(registry_); });
        return registry_;
    }

  private:
    std::string name_;
    void (*register_family_)(EffectRegistry&);
    mutable std::once_flag once_;
    mutable EffectRegistry registry_;
};

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
