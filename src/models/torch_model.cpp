// The TorchScript backend on LibTorch (the only file that includes it), built as its own shared
// module (libartistry_torch.so) that the core loads on first use: see torch_module.hpp.
// Inference runs under InferenceMode in eval mode; the module is shared by all threads (forward
// of a scripted module with no state changes is thread-safe). On CUDA the weights live on the
// GPU, in FP16 when the spec allows it, and the memory manager learns about the devices through
// the CudaHooks the module hands the core.

#include <algorithm>
#include <mutex>
#include <sstream>

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include "artistry/error.hpp"
#include "models/model_impl.hpp"
#include "models/torch_module.hpp"

// Set by CMake when the LibTorch found was built with CUDA.
#ifdef ARTISTRY_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#define ARTISTRY_HAVE_CUDA 1
#endif

namespace artistry::models {
namespace {

std::string first_line(const std::string& text) {
    const auto nl = text.find('\n');
    return nl == std::string::npos ? text : text.substr(0, nl);
}

// The interpreter puts the TorchScript traceback first and the cause on the last line.
std::string last_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    const auto nl = text.rfind('\n');
    return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::string torch_message(const c10::Error& e) {
    return first_line(e.what_without_backtrace());
}

// Process-wide LibTorch settings, made once: the intra-op pool size is global in LibTorch, so
// the first load decides it (ARTISTRY_MODEL_THREADS or the option), and later ones keep it.
void configure_torch_once(int threads) {
    static std::once_flag once;
    std::call_once(once, [threads] {
        at::set_num_threads(std::max(1, threads));
#ifdef ARTISTRY_HAVE_CUDA
        if (torch::cuda::is_available())
            at::globalContext().setBenchmarkCuDNN(true);  // fixed tile shapes: pick the fastest
#endif
    });
}

bool torch_cuda_hooks(CudaHooks& hooks) {
#ifdef ARTISTRY_HAVE_CUDA
    if (!torch::cuda::is_available()) return false;
    hooks.device_count = [] { return static_cast<int>(torch::cuda::device_count()); };
    hooks.total_bytes = [](int index) -> std::uint64_t {
        return at::cuda::getDeviceProperties(index)->totalGlobalMem;
    };
    hooks.empty_cache = [](int) { c10::cuda::CUDACachingAllocator::emptyCache(); };
    return true;
#else
    (void)hooks;
    return false;
#endif
}

c10::Device torch_device(Device device, const ModelSpec& spec) {
    if (device.kind == DeviceKind::cpu) return c10::Device(c10::kCPU);
    if (!torch::cuda::is_available() ||
        device.index >= static_cast<int>(torch::cuda::device_count()))
        throw Error(Status::unsupported,
                    fmt::format("model '{}': device {} is not available to LibTorch ({} CUDA "
                                "device(s))",
                                spec.name, device.name(), torch::cuda::device_count()));
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(device.index));
}

class TorchModel final : public Model {
  public:
    TorchModel(ModelSpec spec, torch::jit::Module module, Device device, c10::Device where)
        : spec_(std::move(spec)), module_(std::move(module)), device_(device), where_(where) {
        half_ = spec_.fp16 && where_.is_cuda();
        module_.eval();
        module_.to(where_, half_ ? torch::kHalf : torch::kFloat);
        for (const auto& p : module_.parameters()) weights_ += p.nbytes();
        for (const auto& b : module_.buffers()) weights_ += b.nbytes();
    }

    const ModelSpec& spec() const noexcept override { return spec_; }
    std::uint64_t weight_bytes() const noexcept override { return weights_; }
    Device device() const noexcept override { return device_; }

    std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override {
        check_inputs(spec_, inputs);
        try {
            c10::InferenceMode guard;
            std::vector<torch::jit::IValue> args;
            args.reserve(inputs.size());
            for (const Tensor& t : inputs) {
                auto cpu =
                    torch::from_blob(const_cast<float*>(t.values.data()), t.shape, torch::kFloat);
                // to() copies unless device and type already match: clone so the module never
                // writes into the caller's values.
                auto x = cpu.to(where_, half_ ? torch::kHalf : torch::kFloat);
                args.emplace_back(x.is_same(cpu) ? cpu.clone() : x);
            }
            // forward() is non-const in the API only; scripted inference does not mutate it.
            auto& module = const_cast<torch::jit::Module&>(module_);
            return collect(module.forward(std::move(args)));
        } catch (const Error&) {
            throw;
        } catch (const c10::Error& e) {
            throw Error(Status::invalid_argument,
                        fmt::format("model '{}' could not run on its inputs: {}", spec_.name,
                                    torch_message(e)));
        } catch (const std::exception& e) {  // the interpreter's errors (JITException …)
            throw Error(Status::invalid_argument,
                        fmt::format("model '{}' could not run on its inputs: {}", spec_.name,
                                    last_line(e.what())));
        }
    }

  private:
    Tensor to_tensor(const at::Tensor& value, const std::string& what) const {
        if (!value.is_floating_point())
            throw Error(Status::invalid_argument,
                        fmt::format("model '{}': output {} is not a floating-point tensor",
                                    spec_.name, what));
        const auto cpu = value.to(c10::kCPU, torch::kFloat).contiguous();
        std::vector<std::int64_t> shape(cpu.sizes().begin(), cpu.sizes().end());
        Tensor t(std::move(shape));
        std::copy_n(cpu.data_ptr<float>(), t.values.size(), t.values.begin());
        return t;
    }

    // A tensor, a tuple or list of tensors (in spec order), or a dict keyed by output name.
    std::vector<Tensor> collect(const torch::jit::IValue& result) const {
        std::vector<Tensor> out;
        if (result.isTensor()) {
            out.push_back(to_tensor(result.toTensor(), "0"));
        } else if (result.isTuple() || result.isList()) {
            const auto items =
                result.isTuple() ? result.toTupleRef().elements().vec() : result.toListRef().vec();
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (!items[i].isTensor())
                    throw Error(
                        Status::invalid_argument,
                        fmt::format("model '{}': output {} is not a tensor", spec_.name, i));
                out.push_back(to_tensor(items[i].toTensor(), std::to_string(i)));
            }
        } else if (result.isGenericDict()) {
            const auto dict = result.toGenericDict();
            for (const auto& o : spec_.outputs) {
                const auto it = dict.find(o.name);
                if (it == dict.end() || !it->value().isTensor())
                    throw Error(
                        Status::invalid_argument,
                        fmt::format("model '{}' returned no tensor '{}'", spec_.name, o.name));
                out.push_back(to_tensor(it->value().toTensor(), "'" + o.name + "'"));
            }
            return out;
        } else {
            throw Error(
                Status::invalid_argument,
                fmt::format("model '{}' returned a {}, not tensors", spec_.name, result.tagKind()));
        }
        if (!spec_.outputs.empty() && out.size() != spec_.outputs.size())
            throw Error(Status::invalid_argument,
                        fmt::format("model '{}' returned {} output(s), its spec lists {}",
                                    spec_.name, out.size(), spec_.outputs.size()));
        return out;
    }

    ModelSpec spec_;
    torch::jit::Module module_;
    Device device_;
    c10::Device where_;
    bool half_ = false;
    std::uint64_t weights_ = 0;
};

std::shared_ptr<Model> load_module_model(const ModelSpec& spec,
                                         const std::vector<std::uint8_t>& bytes, Device device,
                                         int threads) {
    configure_torch_once(threads);
    const c10::Device where = torch_device(device, spec);
    torch::jit::Module module;
    try {
        std::istringstream in(
            std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
        module = torch::jit::load(in, where);
    } catch (const c10::Error& e) {
        throw Error(Status::decode_error,
                    fmt::format("model '{}': '{}' is not a valid TorchScript archive (truncated or "
                                "corrupt): {}",
                                spec.name, spec.file.string(), torch_message(e)));
    } catch (const std::exception& e) {
        throw Error(Status::decode_error,
                    fmt::format("model '{}': '{}' could not be read as TorchScript: {}", spec.name,
                                spec.file.string(), first_line(e.what())));
    }
    try {
        return std::make_shared<TorchModel>(spec, std::move(module), device, where);
    } catch (const c10::Error& e) {
        throw Error(Status::invalid_argument,
                    fmt::format("model '{}': preparing '{}' for {} failed: {}", spec.name,
                                spec.file.string(), device.name(), torch_message(e)));
    }
}

}  // namespace
}  // namespace artistry::models

// The module's one exported symbol (the build gives everything else hidden visibility).
extern "C" __attribute__((visibility("default"))) const artistry::models::TorchModuleApi*
artistry_torch_module() {
    using namespace artistry::models;
    static const TorchModuleApi api{torch_module_abi, torch_module_build, &load_module_model,
                                    &torch_cuda_hooks};
    return &api;
}
