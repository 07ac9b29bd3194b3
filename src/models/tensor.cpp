// Tensor construction and the small shared helpers of the model runtime.

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "models/model_impl.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

std::int64_t count_elements(const std::vector<std::int64_t>& shape) {
    std::int64_t n = 1;
    for (const auto d : shape) {
        if (d < 0)
            throw Error(Status::invalid_argument, fmt::format("tensor shape {} has a negative size",
                                                              models::shape_text(shape)));
        n *= d;
    }
    return n;
}

}  // namespace

const char* model_backend_name(ModelBackend backend) noexcept {
    return backend == ModelBackend::torchscript ? "torchscript" : "onnx";
}

Tensor::Tensor(std::vector<std::int64_t> shape_, std::vector<float> values_)
    : shape(std::move(shape_)), values(std::move(values_)) {
    const auto n = count_elements(shape);
    if (static_cast<std::int64_t>(values.size()) != n)
        throw Error(Status::invalid_argument,
                    fmt::format("tensor shape {} holds {} values, given {}",
                                models::shape_text(shape), n, values.size()));
}

Tensor::Tensor(std::vector<std::int64_t> shape_)
    : shape(std::move(shape_)), values(static_cast<std::size_t>(count_elements(shape))) {}

std::int64_t Tensor::elements() const noexcept {
    std::int64_t n = 1;
    for (const auto d : shape) n *= d;
    return n;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry

namespace artistry::models {

std::string shape_text(const std::vector<std::int64_t>& shape) {
    return fmt::format("[{}]", fmt::join(shape, ", "));
}

void check_inputs(const ModelSpec& spec, const std::vector<Tensor>& inputs) {
    // A spec without inputs (a user's file described loosely) leaves the checks to the backend.
    if (spec.inputs.empty()) {
        for (const Tensor& t : inputs)
            if (static_cast<std::int64_t>(t.values.size()) != t.elements())
                throw Error(Status::invalid_argument,
                            fmt::format("model '{}': an input has shape {} but {} values",
                                        spec.name, shape_text(t.shape), t.values.size()));
        return;
    }
    if (inputs.size() != spec.inputs.size())
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}' takes {} input(s), given {}", spec.name,
                                spec.inputs.size(), inputs.size()));
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = inputs[i];
        const TensorSpec& want = spec.inputs[i];
        bool ok = t.shape.size() == want.shape.size();
        for (std::size_t d = 0; ok && d < t.shape.size(); ++d)
            ok = t.shape[d] > 0 && (want.shape[d] < 0 || want.shape[d] == t.shape[d]);
        if (!ok)
            throw Error(
                Status::invalid_argument,
                fmt::format("model '{}': input '{}' must have shape {} (-1: any size), "
                            "given {}",
                            spec.name, want.name, shape_text(want.shape), shape_text(t.shape)));
        if (static_cast<std::int64_t>(t.values.size()) != t.elements())
            throw Error(Status::invalid_argument,
                        fmt::format("model '{}': input '{}' has shape {} but {} values", spec.name,
                                    want.name, shape_text(t.shape), t.values.size()));
    }
}

int resolve_threads(int requested) {
    if (requested > 0) return requested;
    if (const char* env = std::getenv("ARTISTRY_MODEL_THREADS"); env != nullptr && *env != 0) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end == env || *end != 0 || n < 1 || n > 1024)
            throw Error(Status::invalid_argument,
                        fmt::format("ARTISTRY_MODEL_THREADS must be a whole number in [1, 1024], "
                                    "not '{}'",
                                    env));
        return static_cast<int>(n);
    }
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace artistry::models
