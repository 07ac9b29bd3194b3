#include "artistry/error.hpp"

#include <new>
#include <opencv2/core.hpp>

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

static_assert(static_cast<int>(Status::internal) == status_count - 1,
              "status_count must follow the last Status");

const char* status_name(Status status) noexcept {
    switch (status) {
        case Status::ok:
            return "ok";
        case Status::invalid_argument:
            return "invalid_argument";
        case Status::not_found:
            return "not_found";
        case Status::io_error:
            return "io_error";
        case Status::decode_error:
            return "decode_error";
        case Status::unsupported:
            return "unsupported";
        case Status::limit_exceeded:
            return "limit_exceeded";
        case Status::out_of_memory:
            return "out_of_memory";
        case Status::cancelled:
            return "cancelled";
        case Status::timeout:
            return "timeout";
        case Status::internal:
            return "internal";
    }
    return "unknown";
}

namespace {

ExceptionStatus classify(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const Error& e) {
        return {e.status(), e.what()};
    } catch (const std::bad_alloc&) {
        return {Status::out_of_memory, "out of memory"};
    } catch (const cv::Exception& e) {
        return {e.code == cv::Error::StsNoMem ? Status::out_of_memory : Status::internal,
                std::string("OpenCV: ") + e.what()};
    } catch (const std::invalid_argument& e) {
        return {Status::invalid_argument, e.what()};
    } catch (const std::exception& e) {
        return {Status::internal, e.what()};
    } catch (...) {
        return {Status::internal, "unknown exception"};
    }
}

}  // namespace

ExceptionStatus exception_status(const std::exception_ptr& error) noexcept {
    if (!error) return {};
    try {
        return classify(error);
    } catch (...) {  // copying the message ran out of memory: the status still says why
        return {Status::out_of_memory, {}};
    }
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
