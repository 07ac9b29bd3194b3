#pragma once
// The one exception type of the C++ API. Its status is the code the C ABI returns.

#include <exception>
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
// Status values are 0 .. status_count - 1 (the C enum and the Python table are checked
// against this: capi/src/errors-c.cpp, tests/python).
inline constexpr int status_count = 11;

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

// What an exception means as a status: the one mapping the executor (a node's error_status),
// the C ABI (art_status) and the Python module (its exception classes) use.
//   Error                  → its status, its message
//   std::bad_alloc         → out_of_memory, "out of memory"
//   cv::Exception          → internal ("OpenCV: " + its message); OpenCV's StsNoMem → out_of_memory
//   std::invalid_argument  → invalid_argument, its message
//   other std::exception   → internal, its message
//   anything else          → internal, "unknown exception"
// A null pointer maps to ok with an empty message.
struct ExceptionStatus {
    Status status = Status::ok;
    std::string message;
};
ExceptionStatus exception_status(const std::exception_ptr& error) noexcept;

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
