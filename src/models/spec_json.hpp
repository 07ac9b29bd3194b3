#pragma once
// ModelSpec from JSON: manifest entries (models/manifest.json) and sidecars.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "artistry/models.hpp"

namespace artistry::models {

// One entry; `file` is made absolute against base_dir. `where` names the JSON file for messages.
// Error(invalid_argument) naming the file, the entry and the key at fault.
ModelSpec spec_from_json(const nlohmann::json& entry, const std::filesystem::path& base_dir,
                         const std::string& where);

// Every entry of a manifest: a list of entries, {"models": [...]} or {"models": {name: entry}}.
// A missing file: none; an unreadable or malformed one: Error(decode_error) naming it.
std::vector<ModelSpec> read_manifest(const std::filesystem::path& manifest);

}  // namespace artistry::models
