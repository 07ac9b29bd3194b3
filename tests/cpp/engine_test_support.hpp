#pragma once
// What the engine and model suites share: an engine that ignores the environment and the cache,
// and the check that skips a test, saying why, when a real model is not installed.

#include <doctest/doctest.h>

#include <string>

#include "artistry/engine.hpp"
#include "artistry/models.hpp"

namespace artistry::test {

inline EngineOptions quiet_engine() {
    EngineOptions o;
    o.use_environment = false;
    o.threads = 2;
    o.cache_options.enabled = false;
    return o;
}

inline bool have_model(const std::string& name) {
    if (ModelStore::shared().has(name)) return true;
    MESSAGE("skipped: model '" << name << "' is not installed in "
                               << ModelStore::shared().dir().string()
                               << " (scripts/fetch-models installs it)");
    return false;
}

}  // namespace artistry::test
