#pragma once
// What the backends share inside src/models: reading and checking a model file, checking
// inputs against the spec, and the per-backend loaders (load.cpp picks one).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "artistry/models.hpp"

namespace artistry::models {

// The file's bytes, checked against spec.bytes and spec.sha256 when they are set.
// not_found: no such file; io_error: unreadable; decode_error: wrong size or digest.
std::vector<std::uint8_t> read_model_file(const ModelSpec& spec);

// Count and shapes of `inputs` against spec.inputs (-1 matches any size), and each tensor's
// values against its shape. Error(invalid_argument) naming the model and the tensor.
void check_inputs(const ModelSpec& spec, const std::vector<Tensor>& inputs);

std::string shape_text(const std::vector<std::int64_t>& shape);  // "[1, 3, -1, -1]"

// Threads one inference may use: requested, else ARTISTRY_MODEL_THREADS, else the cores.
int resolve_threads(int requested);

// What a model's weights will hold once loaded, from its file size (reserved before loading).
std::uint64_t estimate_weight_bytes(const ModelSpec& spec, std::uint64_t file_bytes);

std::shared_ptr<Model> load_onnx(const ModelSpec& spec, const std::vector<std::uint8_t>& bytes);
// Through libartistry_torch.so, loaded on first use (torch_loader.cpp); Error(unsupported)
// naming the module when it is not installed.
std::shared_ptr<Model> load_torchscript(const ModelSpec& spec,
                                        const std::vector<std::uint8_t>& bytes, Device device,
                                        int threads);

}  // namespace artistry::models
