// Model manifests and sidecars: every entry of a JSON document through spec_from_json, as
// read_manifest does.

#include "fuzz_support.hpp"
#include "models/spec_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
    if (json.is_discarded()) return 0;
    auto one = [](const nlohmann::json& entry) {
        try {
            artistry::models::spec_from_json(entry, "/nonexistent/models", "fuzz.json");
        } catch (const artistry::Error&) {
        }
    };
    if (json.is_object() && json.contains("models")) {
        const auto& models = json["models"];
        if (models.is_array() || models.is_object())
            for (const auto& entry : models) one(entry);
    } else if (json.is_array()) {
        for (const auto& entry : json) one(entry);
    } else {
        one(json);  // a sidecar: one entry
    }
    return 0;
}
