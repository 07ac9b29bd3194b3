#include "artistry/error.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

const char* status_name(Status status) noexcept {
    switch (status) {
        case Status::ok: return "ok";
        case Status::invalid_argument: return "invalid_argument";
        case Status::not_found: return "not_found";
        case Status::io_error: return "io_error";
        case Status::decode_error: return "decode_error";
        case Status::unsupported: return "unsupported";
        case Status::limit_exceeded: return "limit_exceeded";
        case Status::out_of_memory: return "out_of_memory";
        case Status::cancelled: return "cancelled";
        case Status::timeout: return "timeout";
        case Status::internal: return "internal";
    }
    return "unknown";
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
