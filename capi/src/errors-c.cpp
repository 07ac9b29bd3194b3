// Errors, versions and strings of the C ABI: the exception → status mapping lives here only.

#include <new>
#include <opencv2/core.hpp>

#include "artistry/artistry.hpp"
#include "capi_internal.hpp"

namespace {

struct LastError {
    art_status status = ART_OK;
    std::string message;
};

LastError& last_error() noexcept {
    thread_local LastError error;
    return error;
}

art_status record(art_status status, const char* message) noexcept {
    auto& e = last_error();
    e.status = status;
    try {
        e.message = message;
    } catch (...) {
        e.message.clear();  // the status still says what happened
    }
    return status;
}

}  // namespace

namespace artistry::capi {

void clear_error() noexcept {
    auto& e = last_error();
    e.status = ART_OK;
    e.message.clear();
}

art_status translate_current_exception() noexcept {
    try {
        throw;
    } catch (const Error& e) {
        return record(static_cast<art_status>(e.status()), e.what());
    } catch (const cv::Exception& e) {
        return record(ART_INTERNAL, (std::string("OpenCV: ") + e.what()).c_str());
    } catch (const std::bad_alloc&) {
        return record(ART_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception& e) {
        return record(ART_INTERNAL, e.what());
    } catch (...) {
        return record(ART_INTERNAL, "unknown exception");
    }
}

void require_struct_size(std::size_t given, std::size_t known, const char* what) {
    if (given != known)
        throw Error(Status::invalid_argument,
                    std::string(what) + ": unknown struct_size " + std::to_string(given) +
                        " (this library knows " + std::to_string(known) +
                        "; initialise it with its _INIT macro)");
}

char* dup_string(const std::string& text) {
    char* copy = new char[text.size() + 1];
    std::memcpy(copy, text.c_str(), text.size() + 1);
    return copy;
}

}  // namespace artistry::capi

extern "C" {

const char* art_version(void) {
    return artistry::version();
}

uint32_t art_abi_version(void) {
    return ART_ABI_VERSION;
}

const char* art_last_error_message(void) {
    return last_error().message.c_str();
}

art_status art_last_error_status(void) {
    return last_error().status;
}

const char* art_status_name(art_status status) {
    if (status < ART_OK || status > ART_INTERNAL) return "unknown";
    return artistry::status_name(static_cast<artistry::Status>(status));
}

void art_string_free(char* text) {
    delete[] text;
}

}  // extern "C"
