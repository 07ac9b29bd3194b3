// Whole-file reads and all-or-nothing writes (AtomicOutput).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
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

}  // namespace

AtomicOutput::AtomicOutput(std::string path)
    : path_(std::move(path)), temp_(path_ + ".tmp-XXXXXX") {
    fd_ = ::mkostemp(temp_.data(), O_CLOEXEC);
    if (fd_ < 0) throw write_error(path_, "create a temporary file", errno);
}

AtomicOutput::~AtomicOutput() {
    if (committed_) return;
    if (file_ != nullptr)
        std::fclose(file_);
    else if (fd_ >= 0)
        ::close(fd_);
    ::unlink(temp_.c_str());
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
    const int closed = file_ != nullptr ? std::fclose(file_) : ::close(fd_);
    file_ = nullptr;
    fd_ = -1;
    if (closed != 0) throw write_error(path_, "close", errno);
    if (::rename(temp_.c_str(), path_.c_str()) != 0) throw write_error(path_, "rename", errno);
    committed_ = true;
    // The rename itself reaches the disk with the folder; failing that is no reason to fail
    // the write, which is in place.
    const auto slash = path_.rfind('/');
    const std::string folder = slash == std::string::npos ? "." : path_.substr(0, slash + 1);
    if (const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
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
