#pragma once
// `artistry models`: the pretrained models this machine has, and which are loaded.

namespace artistry::cli {

int models_command(bool json);

}  // namespace artistry::cli
