#pragma once
// `artistry effects`: every effect with its parameters, as text or as docs/effects.md.

#include <string>

#include <CLI/CLI.hpp>

namespace artistry::cli {

struct EffectsArgs {
    bool markdown = false;
    std::string images_dir;
    std::string images_note;
};

CLI::App* add_effects_command(CLI::App& app, EffectsArgs& args);
void effects_command(const EffectsArgs& args);

}  // namespace artistry::cli
