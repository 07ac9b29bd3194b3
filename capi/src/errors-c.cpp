// Errors, versions and strings of the C ABI. Exceptions become statuses through
// artistry::exception_status (src/core/error.cpp), the mapping the engine and Python use too.

#include <fmt/format.h>

#include "artistry/artistry.hpp"
#include "capi_internal.hpp"

// The C codes are artistry::Status, value for value (artistry.h promises it).
namespace {
using artistry::Status;
constexpr bool same(int c, Status s) {
    return c == static_cast<int>(s);
}
static_assert(same(ART_OK, Status::ok));
static_assert(same(ART_INVALID_ARGUMENT, Status::invalid_argument));
static_assert(same(ART_NOT_FOUND, Status::not_found));
static_assert(same(ART_IO_ERROR, Status::io_error));
static_assert(same(ART_DECODE_ERROR, Status::decode_error));
static_assert(same(ART_UNSUPPORTED, Status::unsupported));
static_assert(same(ART_LIMIT_EXCEEDED, Status::limit_exceeded));
static_assert(same(ART_OUT_OF_MEMORY, Status::out_of_memory));
static_assert(same(ART_CANCELLED, Status::cancelled));
static_assert(same(ART_TIMEOUT, Status::timeout));
static_assert(same(ART_INTERNAL, Status::internal));
static_assert(ART_INTERNAL + 1 == artistry::status_count,
              "artistry::Status has a value artistry.h lacks: add its ART_ code");
}  // namespace

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
    const auto failure = exception_status(std::current_exception());
    return record(static_cast<art_status>(failure.status), failure.message.c_str());
}

void check_struct_size(std::size_t given, const char* name, const char* init_macro,
                       std::span<const ShippedSize> accepted) {
    std::string sizes;
    for (const auto& s : accepted) {
        if (s.size == given) return;
        if (!sizes.empty()) sizes += ", ";
        sizes += fmt::format("{} (the {} header)", s.size, s.release);
    }
    throw Error(Status::invalid_argument,
                fmt::format("{}: struct_size {} is not one this library accepts: {}; "
                            "initialise the struct with {}",
                            name, given, sizes, init_macro));
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
    if (status < 0 || status >= artistry::status_count) return "unknown";
    return artistry::status_name(static_cast<artistry::Status>(status));
}

void art_string_free(char* text) {
    delete[] text;
}

}  // extern "C"
