#pragma once
// Pretrained models as graph nodes: a model store reads the manifest that scripts/fetch-models
// writes (or a user's own .pt/.onnx file with a sidecar JSON), loads each model on first use
// (once, however many threads ask at the same moment), keeps it with its weights counted
// against the memory manager, drops the least recently used ones under memory pressure, and
// runs inference from any thread.
//
// Backends: TorchScript (LibTorch) and ONNX (OpenCV dnn). This header has neither's types; the
// library is usable without them (a build with ARTISTRY_WITH_TORCH=OFF refuses TorchScript
// models with Status::unsupported and a message saying so).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "artistry/memory.hpp"
#include "artistry/version.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

struct EffectContext;  // artistry/effect.hpp

enum class ModelBackend : std::uint8_t { torchscript, onnx };
const char* model_backend_name(ModelBackend backend) noexcept;  // "torchscript", "onnx"

// Dense float32 tensor, row-major (the last dimension varies fastest).
struct Tensor {
    std::vector<std::int64_t> shape;
    std::vector<float> values;

    Tensor() = default;
    Tensor(std::vector<std::int64_t> shape_, std::vector<float> values_);  // sizes must agree
    explicit Tensor(std::vector<std::int64_t> shape_);                     // zero-filled
    std::int64_t elements() const noexcept;
};

// One input or output of a model. -1 in a shape: any size (dynamic).
struct TensorSpec {
    std::string name;
    std::vector<std::int64_t> shape;
};

// A manifest entry (models/manifest.json) or a sidecar (<model>.json next to a user's file).
// JSON keys: name, task, backend ("torchscript" | "onnx"), file (relative to the manifest's
// folder), inputs/outputs ([{name, shape}]), layout ("nchw" | "nhwc"), scale (upscalers),
// license, source (package@version), sha256, bytes, fp16 (may run in half precision on CUDA),
// form_of (the model this one is another form of), extras (an object of model-specific
// settings: normalisation, anchors …, kept as JSON text).
struct ModelSpec {
    std::string name;  // "isnet", "esrgan-slim-x4", "blazeface-front"
    std::string task;  // "matting", "upscale", "face_detection", ...
    ModelBackend backend = ModelBackend::onnx;
    std::filesystem::path file;  // absolute once loaded from a manifest or sidecar
    std::vector<TensorSpec> inputs;
    std::vector<TensorSpec> outputs;
    std::string layout = "nchw";
    int scale = 1;  // upscalers: output size / input size
    std::string license;
    std::string source;
    std::string sha256;       // of `file`; checked at load when not empty
    std::uint64_t bytes = 0;  // of `file`; checked at load when not 0
    bool fp16 = false;        // TorchScript on CUDA: weights and inputs in half precision
    std::string extras;       // JSON object text, "" when the entry has none
    // Another form of the model named here ("isnet-ts", TorchScript, is a form of "isnet",
    // ONNX): asking the store for "isnet" gives whichever installed form is preferred.
    std::string form_of;
};

// A loaded model. Thread-safe: run() may be called from many threads at once.
class Model {
  public:
    virtual ~Model() = default;
    virtual const ModelSpec& spec() const noexcept = 0;
    // Inputs in the order of spec().inputs; outputs in the order of spec().outputs. Wrong
    // count or shape → Error(invalid_argument) naming the model and the tensor.
    virtual std::vector<Tensor> run(const std::vector<Tensor>& inputs) const = 0;
    // Memory the loaded weights hold (what the store reserves for them).
    virtual std::uint64_t weight_bytes() const noexcept = 0;
    virtual Device device() const noexcept = 0;
};

// Loads one model file now (no store, no cache): a manifest entry or a user's file.
// Errors: not_found (missing file), decode_error (truncated, corrupt or wrong sha256, naming the
// file),
// unsupported (a backend this build lacks), invalid_argument (spec inconsistent with the file).
std::shared_ptr<Model> load_model(const ModelSpec& spec, Device device = Device::cpu(),
                                  int intra_op_threads = 0);

// Reads a sidecar JSON (or, when `sidecar` is empty, <model_file>.json, then the file with its
// extension replaced by .json); backend from the model file's extension (.pt/.ts: torchscript,
// .onnx: onnx) when the sidecar does not say. Error(invalid_argument) naming the key at fault.
ModelSpec read_model_sidecar(const std::filesystem::path& model_file,
                             const std::filesystem::path& sidecar = {});

struct ModelStoreOptions {
    // Folder with manifest.json. Empty: ARTISTRY_MODELS_DIR, else $XDG_DATA_HOME/artistry/models,
    // else ~/.local/share/artistry/models.
    std::filesystem::path dir;
    // Weights are reserved here (device() of each model) and dropped under its pressure. Null:
    // no accounting.
    std::shared_ptr<MemoryManager> memory;
    Device device = Device::cpu();  // TorchScript models; ONNX ones run on the CPU (OpenCV dnn)
    // Threads one inference may use. 0: ARTISTRY_MODEL_THREADS, else the machine's cores.
    int intra_op_threads = 0;
    // Names loaded at construction (errors thrown then). Empty: ARTISTRY_PRELOAD
    // (comma-separated; "all" for every installed model) when use_environment.
    std::vector<std::string> preload;
    bool use_environment = true;
    // Which form serves a model installed in several (ModelSpec::form_of): "name=form" pairs,
    // comma-separated ("isnet=isnet-ts"). Empty: ARTISTRY_MODEL_FORMS when use_environment,
    // else the model itself (ONNX ISNet: the faster form on the machines measured).
    std::string forms;
};

struct ModelStoreStats {
    std::uint64_t loads = 0;      // models read from disk
    std::uint64_t hits = 0;       // get() served by a loaded model
    std::uint64_t evictions = 0;  // dropped under pressure or by trim()
    std::uint64_t loaded = 0;     // models held now
    std::uint64_t loaded_bytes = 0;
    double load_seconds = 0;  // summed
};

// The models a process (or an engine) has: installed ones from the manifest, user files
// registered by add(). Thread-safe.
class ModelStore {
  public:
    explicit ModelStore(ModelStoreOptions options = {});
    ~ModelStore();
    ModelStore(const ModelStore&) = delete;
    ModelStore& operator=(const ModelStore&) = delete;

    const std::filesystem::path& dir() const noexcept;
    // Installed and registered models, sorted by name. A missing manifest: none, not an error;
    // an unreadable one: Error(decode_error) naming the file.
    std::vector<ModelSpec> available() const;
    // The spec `name` stands for: the model itself, or its preferred form (ModelSpec::form_of).
    std::optional<ModelSpec> find(const std::string& name) const;
    bool has(const std::string& name) const;
    // Registers a user's model (replaces one of the same name that is not loaded).
    void add(ModelSpec spec);

    // The loaded model; loads it the first time (one load even when 16 threads ask at once;
    // the others wait for it). Reserves its weight bytes with the memory manager first: when
    // they do not fit, the least recently used idle models are dropped, then it waits up to
    // `wait` for memory. Error(not_found) names the model and the folder searched.
    std::shared_ptr<const Model> get(const std::string& name,
                                     std::chrono::milliseconds wait = std::chrono::seconds(60));
    bool loaded(const std::string& name) const;
    void preload(const std::vector<std::string>& names);  // "all": every available model
    // Drops idle models (least recently used first) until `bytes` are freed; returns the bytes
    // freed. A model in use (a caller holds it) is never dropped; it goes when released.
    std::uint64_t trim(std::uint64_t bytes);
    ModelStoreStats stats() const;
    std::string metrics_text() const;  // Prometheus: artistry_models_*

    // The process's store (options from the environment), made on first use. Effects use it
    // unless their context names another.
    static ModelStore& shared();
    // The store an effect uses: its context's, else shared().
    static ModelStore& of(const EffectContext& ctx);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Pixels to model tensors and back, for effects that run image models: RGB u8 values 0..255 as
// float, in the model's layout ("nchw": [1,3,H,W]; "nhwc": [1,H,W,3]), batch 1.

// The first three channels of a u8 image (RGB or RGBA), values unchanged (0..255).
Tensor image_to_tensor(const Image& image, const std::string& layout);

// A [1,3,H,W] / [1,H,W,3] tensor as u8 RGB: each value rounded and clipped to 0..255.
// Error(invalid_argument) naming the shape when it is not one RGB image in that layout.
Image tensor_to_image(const Tensor& tensor, const std::string& layout);

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
