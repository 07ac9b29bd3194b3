#pragma once
// The one exception type of the C++ API. Its status is the code the C ABI returns.

#include <stdexcept>
#include <string>

#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

enum class Status : int {
    ok = 0,
    invalid_argument = 1,  // a parameter, spec or option is wrong
    not_found = 2,         // a file, effect or node that does not exist
    io_error = 3,          // reading or writing failed
    decode_error = 4,      // a file is truncated, corrupt or not an image
    unsupported = 5,       // a format, pixel type or feature this build cannot handle
    limit_exceeded = 6,    // a size limit (pixel count, budget) refused the request
    out_of_memory = 7,
    cancelled = 8,
    timeout = 9,
    internal = 10,
};

// Short stable name of a status ("invalid_argument"), for messages and logs.
const char* status_name(Status status) noexcept;

class Error : public std::runtime_error {
public:
    Error(Status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
