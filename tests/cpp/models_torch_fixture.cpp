// Writes the tiny TorchScript model models_test loads. A file of its own: LibTorch pulls in
// glog, whose CHECK macro would shadow doctest's.

#include <filesystem>

#include <torch/script.h>

namespace artistry::test {

// forward(x) = (x * [1, 2, 3, 4] + 1, x.sum(dim=1)): a parameter of 4 floats, two outputs.
void write_torchscript_affine(const std::filesystem::path& file) {
    torch::jit::Module m("Affine");
    m.register_parameter("w", torch::tensor({1.f, 2.f, 3.f, 4.f}), false);
    m.define(R"(
def forward(self, x):
    return (x * self.w + 1.0, x.sum(dim=1))
)");
    m.save(file.string());
}

}  // namespace artistry::test
