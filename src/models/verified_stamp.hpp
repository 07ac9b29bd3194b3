#pragma once
// Model integrity without rehashing: after a model file's sha256 has been checked, a stamp of
// what the file was then (size, mtime, ctime, inode, device) is kept beside it, in
// <folder>/.verified/<file>.stamp. A later load whose file still matches the stamp and whose
// spec wants the same digest skips the hash; any change to the file (a write moves ctime, which
// no caller can set back) makes the next load hash it in full again.

#include <filesystem>
#include <string>

namespace artistry::models {

// True when `file` is unchanged since it was verified to have `sha256` (lower-case hex).
bool verified_stamp_matches(const std::filesystem::path& file, const std::string& sha256);

// What the file is now (size, times, inode, device); "" when it cannot be read. Taken before the
// bytes are read and hashed, so that a file changed meanwhile is never stamped.
std::string file_stamp(const std::filesystem::path& file);

// Records that `file` has `sha256`, when it is still as `stamp_before` described it. Best
// effort: a folder that cannot be written (a read-only system install) only means the next
// load hashes again.
void record_verified_stamp(const std::filesystem::path& file, const std::string& sha256,
                           const std::string& stamp_before);

}  // namespace artistry::models
