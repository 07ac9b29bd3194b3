#pragma once
// CacheOptions completed from the environment (code first, then ARTISTRY_* and the old
// backend's CACHE_MEMORY_SIZE_MB).

#include <string>

#include "artistry/cache.hpp"

namespace artistry::cache {

struct CacheConfig {
    CacheOptions options;  // the caller's, with every optional and zero filled in
    bool enabled = true;
    bool memory = true;
    bool admission = true;
    bool disk = true;
    bool redis = false;
};

// Error(invalid_argument) names the variable or option that is not understood.
CacheConfig resolve_cache_config(const CacheOptions& options);

// $XDG_CACHE_HOME/artistry, else $HOME/.cache/artistry, else <temp>/artistry-cache-<uid>.
std::string default_cache_dir();

}  // namespace artistry::cache
