// load_model: read and check the file once, then hand its bytes to the backend.

#include <fstream>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "models/model_impl.hpp"
#include "models/sha256.hpp"
#include "models/verified_stamp.hpp"

namespace artistry::models {
namespace fs = std::filesystem;

std::vector<std::uint8_t> read_model_file(const ModelSpec& spec) {
    const std::string path = spec.file.string();
    std::error_code ec;
    if (spec.file.empty())
        throw Error(Status::invalid_argument, fmt::format("model '{}' names no file", spec.name));
    if (!fs::exists(spec.file, ec))
        throw Error(Status::not_found,
                    fmt::format("model '{}': file '{}' does not exist (reinstall it with "
                                "scripts/fetch-models)",
                                spec.name, path));
    if (fs::is_directory(spec.file, ec))
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}': '{}' is a folder, not a model file", spec.name, path));
    const std::string stamp_before = file_stamp(spec.file);
    std::ifstream in(spec.file, std::ios::binary | std::ios::ate);
    if (!in)
        throw Error(Status::io_error, fmt::format("model '{}': cannot open '{}' (reinstall it with "
                                                  "scripts/fetch-models)",
                                                  spec.name, path));
    const auto size = static_cast<std::uint64_t>(in.tellg());
    if (spec.bytes != 0 && size != spec.bytes)
        throw Error(Status::decode_error,
                    fmt::format("model '{}': '{}' is {} bytes, its spec says {} ({}; reinstall "
                                "it with scripts/fetch-models)",
                                spec.name, path, size, spec.bytes,
                                size < spec.bytes ? "truncated" : "not the expected file"));
    std::vector<std::uint8_t> bytes(size);
    in.seekg(0);
    if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
        throw Error(Status::io_error,
                    fmt::format("model '{}': reading '{}' failed", spec.name, path));
    if (!spec.sha256.empty()) {
        std::string want = spec.sha256;
        for (auto& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        // Checked after the read: a file changed while it was read no longer matches its stamp.
        if (verified_stamp_matches(spec.file, want)) return bytes;
        const std::string got = sha256_hex(bytes);
        if (got != want)
            throw Error(Status::decode_error,
                        fmt::format("model '{}': '{}' has sha256 {}, its spec says {} (corrupt or "
                                    "a different file; reinstall it with scripts/fetch-models)",
                                    spec.name, path, got, want));
        record_verified_stamp(spec.file, want, stamp_before);
    }
    return bytes;
}

}  // namespace artistry::models

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

std::shared_ptr<Model> load_model(const ModelSpec& spec, Device device, int intra_op_threads) {
    const auto bytes = models::read_model_file(spec);
    if (spec.backend == ModelBackend::onnx) return models::load_onnx(spec, bytes);
    return models::load_torchscript(spec, bytes, device, models::resolve_threads(intra_op_threads));
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
