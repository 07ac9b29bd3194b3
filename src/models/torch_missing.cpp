// TorchScript in a build without LibTorch (ARTISTRY_WITH_TORCH=OFF): refused, saying why.

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "models/model_impl.hpp"

namespace artistry::models {

std::shared_ptr<Model> load_torchscript(const ModelSpec& spec, const std::vector<std::uint8_t>&,
                                        Device, int) {
    throw Error(Status::unsupported,
                fmt::format("model '{}' is TorchScript, and this build of artistry lacks LibTorch "
                            "(configure with -DARTISTRY_WITH_TORCH=ON)",
                            spec.name));
}

}  // namespace artistry::models
