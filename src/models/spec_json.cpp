// Model specs from manifest entries and sidecar JSON files.

#include "models/spec_json.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "artistry/error.hpp"

namespace artistry::models {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& where, const std::string& entry, const std::string& what) {
    throw Error(Status::invalid_argument,
                fmt::format("{}: model '{}': {}", where, entry.empty() ? "?" : entry, what));
}

std::string text_key(const json& j, const char* key, const std::string& where,
                     const std::string& entry, bool required) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
        if (required) bad(where, entry, fmt::format("key '{}' is missing", key));
        return {};
    }
    if (!it->is_string()) bad(where, entry, fmt::format("key '{}' must be a string", key));
    return it->get<std::string>();
}

std::vector<TensorSpec> tensors_key(const json& j, const char* key, const std::string& where,
                                    const std::string& entry) {
    std::vector<TensorSpec> out;
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (!it->is_array())
        bad(where, entry, fmt::format("key '{}' must be a list of {{name, shape}}", key));
    for (std::size_t i = 0; i < it->size(); ++i) {
        const json& t = (*it)[i];
        const std::string at = fmt::format("{}[{}]", key, i);
        if (!t.is_object())
            bad(where, entry, fmt::format("'{}' must be an object {{name, shape}}", at));
        TensorSpec spec;
        const auto name = t.find("name");
        if (name == t.end() || !name->is_string())
            bad(where, entry, fmt::format("'{}.name' must be a string", at));
        spec.name = name->get<std::string>();
        if (const auto shape = t.find("shape"); shape != t.end() && !shape->is_null()) {
            if (!shape->is_array()) bad(where, entry, fmt::format("'{}.shape' must be a list", at));
            for (const json& d : *shape) {
                if (!d.is_number_integer() || d.get<std::int64_t>() < -1 ||
                    d.get<std::int64_t>() == 0)
                    bad(where, entry,
                        fmt::format("'{}.shape' holds {}: sizes are positive integers or -1 (any)",
                                    at, d.dump()));
                spec.shape.push_back(d.get<std::int64_t>());
            }
        }
        out.push_back(std::move(spec));
    }
    return out;
}

}  // namespace

ModelSpec spec_from_json(const json& j, const fs::path& base_dir, const std::string& where) {
    if (!j.is_object())
        throw Error(Status::invalid_argument,
                    fmt::format("{}: a model entry must be a JSON object", where));
    ModelSpec spec;
    spec.name = text_key(j, "name", where, "", true);
    const std::string& name = spec.name;
    if (name.empty()) bad(where, name, "key 'name' is empty");
    spec.task = text_key(j, "task", where, name, false);
    const std::string file = text_key(j, "file", where, name, true);
    if (file.empty()) bad(where, name, "key 'file' is empty");
    spec.file = fs::path(file).is_absolute() ? fs::path(file) : base_dir / file;
    const std::string backend = text_key(j, "backend", where, name, false);
    if (backend == "onnx") {
        spec.backend = ModelBackend::onnx;
    } else if (backend == "torchscript") {
        spec.backend = ModelBackend::torchscript;
    } else if (backend.empty()) {
        const std::string ext = spec.file.extension().string();
        if (ext == ".onnx")
            spec.backend = ModelBackend::onnx;
        else if (ext == ".pt" || ext == ".ts" || ext == ".pth")
            spec.backend = ModelBackend::torchscript;
        else
            bad(where, name,
                fmt::format("key 'backend' is missing and the extension of '{}' does not "
                            "tell it (.onnx: onnx; .pt, .ts: torchscript)",
                            file));
    } else {
        bad(where, name,
            fmt::format("key 'backend' is '{}': expected 'onnx' or 'torchscript'", backend));
    }
    spec.inputs = tensors_key(j, "inputs", where, name);
    spec.outputs = tensors_key(j, "outputs", where, name);
    spec.layout = text_key(j, "layout", where, name, false);
    if (spec.layout.empty()) spec.layout = "nchw";
    if (spec.layout != "nchw" && spec.layout != "nhwc")
        bad(where, name,
            fmt::format("key 'layout' is '{}': expected 'nchw' or 'nhwc'", spec.layout));
    if (const auto s = j.find("scale"); s != j.end() && !s->is_null()) {
        if (!s->is_number_integer() || s->get<std::int64_t>() < 1 || s->get<std::int64_t>() > 16)
            bad(where, name,
                fmt::format("key 'scale' is {}: expected an integer in [1, 16]", s->dump()));
        spec.scale = s->get<int>();
    }
    spec.license = text_key(j, "license", where, name, false);
    spec.source = text_key(j, "source", where, name, false);
    if (spec.source.empty()) spec.source = text_key(j, "package", where, name, false);
    spec.sha256 = text_key(j, "sha256", where, name, false);
    if (!spec.sha256.empty() &&
        (spec.sha256.size() != 64 ||
         spec.sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos))
        bad(where, name, "key 'sha256' must be 64 hexadecimal digits");
    if (const auto b = j.find("bytes"); b != j.end() && !b->is_null()) {
        if (!b->is_number_unsigned() && !(b->is_number_integer() && b->get<std::int64_t>() >= 0))
            bad(where, name, fmt::format("key 'bytes' is {}: expected a byte count", b->dump()));
        spec.bytes = b->get<std::uint64_t>();
    }
    if (const auto h = j.find("fp16"); h != j.end() && !h->is_null()) {
        if (!h->is_boolean()) bad(where, name, "key 'fp16' must be true or false");
        spec.fp16 = h->get<bool>();
    }
    spec.form_of = text_key(j, "form_of", where, name, false);
    // Model-specific settings: the "extras" object plus any key the spec does not know
    // (scripts/fetch-models writes normalisation, anchors … at the top level).
    json extras = json::object();
    if (const auto x = j.find("extras"); x != j.end() && !x->is_null()) {
        if (!x->is_object()) bad(where, name, "key 'extras' must be an object");
        extras = *x;
    }
    static const std::set<std::string> known = {
        "name",    "task",   "backend", "file",   "inputs", "outputs", "layout", "scale",
        "license", "source", "package", "sha256", "bytes",  "fp16",    "extras", "form_of"};
    for (const auto& [key, value] : j.items())
        if (!known.count(key) && !extras.contains(key)) extras[key] = value;
    if (!extras.empty()) spec.extras = extras.dump();
    return spec;
}

std::vector<ModelSpec> read_manifest(const fs::path& manifest) {
    std::ifstream in(manifest, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!fs::exists(manifest, ec)) return {};
        throw Error(Status::decode_error,
                    fmt::format("cannot read model manifest '{}'", manifest.string()));
    }
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        throw Error(Status::decode_error, fmt::format("model manifest '{}' is not valid JSON: {}",
                                                      manifest.string(), e.what()));
    }
    const json* entries = &j;
    if (j.is_object()) {
        const auto it = j.find("models");
        if (it == j.end())
            throw Error(Status::decode_error,
                        fmt::format("model manifest '{}' has no \"models\"", manifest.string()));
        entries = &*it;
    }
    std::vector<ModelSpec> out;
    const fs::path base = manifest.parent_path();
    const std::string where = manifest.string();
    try {
        if (entries->is_array()) {
            for (const json& e : *entries) out.push_back(spec_from_json(e, base, where));
        } else if (entries->is_object()) {
            for (const auto& [name, e] : entries->items()) {
                json entry = e;
                if (entry.is_object() && !entry.contains("name")) entry["name"] = name;
                out.push_back(spec_from_json(entry, base, where));
            }
        } else {
            throw Error(Status::invalid_argument,
                        fmt::format("{}: \"models\" must be a list or an object", where));
        }
    } catch (const Error& e) {
        throw Error(Status::decode_error, e.what());  // a broken manifest is corrupt data
    }
    return out;
}

}  // namespace artistry::models

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

ModelSpec read_model_sidecar(const std::filesystem::path& model_file,
                             const std::filesystem::path& sidecar) {
    namespace fs = std::filesystem;
    fs::path path = sidecar;
    if (path.empty()) {
        fs::path with = model_file;
        with += ".json";
        fs::path replaced = model_file;
        replaced.replace_extension(".json");
        std::error_code ec;
        path = fs::exists(with, ec) ? with : replaced;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(Status::not_found,
                    fmt::format("no sidecar JSON for model '{}' (looked for '{}')",
                                model_file.string(), path.string()));
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error(Status::invalid_argument,
                    fmt::format("sidecar '{}' is not valid JSON: {}", path.string(), e.what()));
    }
    if (!j.is_object())
        throw Error(Status::invalid_argument,
                    fmt::format("sidecar '{}' must hold one JSON object", path.string()));
    // The sidecar describes this file: its own "file" key is optional.
    if (!j.contains("file")) j["file"] = fs::absolute(model_file).string();
    if (!j.contains("name")) j["name"] = model_file.stem().string();
    ModelSpec spec = models::spec_from_json(j, fs::absolute(path).parent_path(), path.string());
    spec.file = fs::absolute(spec.file).lexically_normal();
    return spec;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
