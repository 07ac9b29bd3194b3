// Stamps of verified model files: see verified_stamp.hpp.

#include "models/verified_stamp.hpp"

#include <sys/stat.h>

#include <fstream>
#include <span>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "util/atomic_file.hpp"

namespace artistry::models {
namespace {
namespace fs = std::filesystem;

fs::path stamp_path(const fs::path& file) {
    return file.parent_path() / ".verified" / (file.filename().string() + ".stamp");
}

}  // namespace

std::string file_stamp(const fs::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return {};
    const auto ns = [](const timespec& t) {
        return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec;
    };
    return fmt::format("{} {} {} {} {}", static_cast<long long>(st.st_size), ns(st.st_mtim),
                       ns(st.st_ctim), static_cast<unsigned long long>(st.st_ino),
                       static_cast<unsigned long long>(st.st_dev));
}

// The stamp file's one line: "<sha256> <file stamp>".
bool verified_stamp_matches(const fs::path& file, const std::string& sha256) {
    const std::string now = file_stamp(file);
    if (now.empty()) return false;
    std::ifstream in(stamp_path(file), std::ios::binary);
    std::string line;
    return in && std::getline(in, line) && line == sha256 + " " + now;
}

void record_verified_stamp(const fs::path& file, const std::string& sha256,
                           const std::string& stamp_before) {
    if (stamp_before.empty() || file_stamp(file) != stamp_before) return;
    const std::string line = sha256 + " " + stamp_before + "\n";
    const fs::path path = stamp_path(file);
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return;
    try {
        util::write_file_atomic(
            path.string(),
            std::span(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
    } catch (const Error&) {  // read-only folder: verified again next time
    }
}

}  // namespace artistry::models
