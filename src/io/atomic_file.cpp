// Whole-file reads and all-or-nothing writes.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "io/io_internal.hpp"

namespace artistry::io {

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
            throw Error(Status::io_error, fmt::format("cannot read '{}': {}", path, std::strerror(err)));
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), chunk, chunk + n);
    }
    ::close(fd);
    return bytes;
}

void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes) {
    std::string tmp = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0)
        throw Error(Status::io_error,
                    fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    const auto fail = [&](const char* what) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return Error(Status::io_error,
                     fmt::format("cannot write '{}': {} ({})", path, std::strerror(err), what));
    };
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw fail("write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fchmod(fd, 0644) != 0) throw fail("chmod");
    if (::fsync(fd) != 0) throw fail("fsync");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error(Status::io_error, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw Error(Status::io_error, fmt::format("cannot write '{}': {}", path, std::strerror(err)));
    }
}

}  // namespace artistry::io
