#pragma once
// The one way the library writes a file all-or-nothing (outputs, streamed outputs, disk cache
// entries, model stamps): a temporary file beside the target, written, synced to disk, renamed
// over the target, and the folder synced, so a crash leaves the old file or the new one, never
// part of either.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace artistry::util {

inline constexpr std::size_t output_buffer_bytes = std::size_t{1} << 20;  // stream()'s buffer

class AtomicOutput {
  public:
    // Creates an unnamed file in path's folder (O_TMPFILE), else "<path>.tmp-XXXXXX". Throws
    // Error(io_error) naming `path`.
    explicit AtomicOutput(std::string path);
    ~AtomicOutput();  // removes the temporary file unless committed
    AtomicOutput(const AtomicOutput&) = delete;
    AtomicOutput& operator=(const AtomicOutput&) = delete;

    const std::string& path() const noexcept { return path_; }
    // For messages (the file may have no name until commit).
    const std::string& temp_path() const noexcept { return temp_; }
    int fd() const noexcept { return fd_; }
    // A buffered stream on the file (made on first use); writers use either it or fd()/write().
    std::FILE* stream();
    // Writes all of `bytes` at the file's position through fd(). Throws Error(io_error).
    void write(std::span<const std::uint8_t> bytes);
    // Flushes, syncs to disk, closes, renames into place and syncs the folder. Throws
    // Error(io_error); the temporary file is removed then too.
    void commit();

  private:
    std::string path_;
    std::string temp_;
    int fd_ = -1;
    std::FILE* file_ = nullptr;
    std::unique_ptr<char[]> buffer_;
    bool committed_ = false;
    bool unnamed_ = false;  // O_TMPFILE: no name until commit
    void name_unnamed();
};

// The whole file; Error(io_error) naming it when it cannot be read.
std::vector<std::uint8_t> read_file(const std::string& path);

// Writes bytes so that `path` appears whole or not at all (AtomicOutput).
void write_file_atomic(const std::string& path, std::span<const std::uint8_t> bytes);

}  // namespace artistry::util
