// Whole-file reads and all-or-nothing writes (AtomicOutput).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "util/atomic_file.hpp"

namespace artistry::util {

std::vector<std::uint8_t> read_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        throw Error(err == ENOENT ? Status::not_found : Status::io_error,
                    fmt::format("cannot open '{}': {}", path, std::strerror(err)));
    }
    std::vector<std::uint8_t> bytes;
    std::uint8_t chunk[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            throw Error(Status::io_error,
                        fmt::format("cannot read '{}': {}", path, std::strerror(err)));
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), chunk, chunk + n);
    }
    ::close(fd);
    return bytes;
}

namespace {

Error write_error(const std::string& path, const char* what, int err) {
    return Error(Status::io_error,
                 fmt::format("cannot write '{}': {} ({})", path, std::strerror(err), what));
}

std::string folder_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash + 1);
}

}  // namespace

// An unnamed file in the destination's folder (O_TMPFILE) when the filesystem has them: a
// process killed mid-write then leaves nothing behind. It gets a name only at commit, just
// before the rename. Elsewhere, a named "<path>.tmp-XXXXXX" that a kill can leave behind (never
// under the final name).
AtomicOutput::AtomicOutput(std::string path)
    : path_(std::move(path)), temp_(path_ + ".tmp-XXXXXX") {
#ifdef O_TMPFILE
    if (::access("/proc/self/fd", X_OK) == 0) {
        fd_ = ::open(folder_of(path_).c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd_ >= 0) {
            unnamed_ = true;
            return;
        }
    }
#endif
    fd_ = ::mkostemp(temp_.data(), O_CLOEXEC);
    if (fd_ < 0) throw write_error(path_, "create a temporary file", errno);
}

AtomicOutput::~AtomicOutput() {
    if (committed_) return;
    if (file_ != nullptr)
        std::fclose(file_);
    else if (fd_ >= 0)
        ::close(fd_);
    if (!unnamed_) ::unlink(temp_.c_str());
}

// Links the unnamed file under a fresh temporary name in its folder.
void AtomicOutput::name_unnamed() {
    const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
    for (unsigned attempt = 0; attempt < 100; ++attempt) {
        temp_ = fmt::format("{}.tmp-{:08x}", path_,
                            static_cast<unsigned>(::getpid()) * 2654435761u + attempt * 40503u +
                                static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(this)));
        if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temp_.c_str(), AT_SYMLINK_FOLLOW) == 0) {
            unnamed_ = false;
            return;
        }
        if (errno != EEXIST) throw write_error(path_, "link the temporary file", errno);
    }
    throw write_error(path_, "link the temporary file", EEXIST);
}

std::FILE* AtomicOutput::stream() {
    if (file_ == nullptr) {
        file_ = ::fdopen(fd_, "wb");
        if (file_ == nullptr) throw write_error(path_, "fdopen", errno);
        buffer_ = std::make_unique<char[]>(output_buffer_bytes);
        std::setvbuf(file_, buffer_.get(), _IOFBF, output_buffer_bytes);
    }
    return file_;
}

void AtomicOutput::write(std::span<const std::uint8_t> bytes) {
    if (file_ != nullptr && std::fflush(file_) != 0) throw write_error(path_, "write", errno);
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw write_error(path_, "write", n < 0 ? errno : EIO);
        done += static_cast<std::size_t>(n);
    }
}

void AtomicOutput::commit() {
    if (file_ != nullptr && std::fflush(file_) != 0) throw write_error(path_, "write", errno);
    if (::fchmod(fd_, 0644) != 0) throw write_error(path_, "chmod", errno);
    if (::fsync(fd_) != 0) throw write_error(path_, "fsync", errno);
    if (unnamed_) name_unnamed();
    const int closed = file_ != nullptr ? std::fclose(file_) : ::close(fd_);
    file_ = nullptr;
    fd_ = -1;
    if (closed != 0) throw write_error(path_, "close", errno);
    if (::rename(temp_.c_str(), path_.c_str()) != 0) throw write_error(path_, "rename", errno);
    committed_ = true;
    // The rename itself reaches the disk with the folder; failing that is no reason to fail
    // the write, which is in place.
    if (const int dir = ::open(folder_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
    AtomicOutput out(path);
    out.write(bytes);
    out.commit();
}

}  // namespace artistry::util
