// The model runtime: specs from sidecars and manifests, the ONNX and TorchScript backends, and
// the store (one load under concurrent first calls, eviction under memory pressure, preload).

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "artistry/error.hpp"
#include "artistry/models.hpp"
#include "models/sha256.hpp"
#include "models/verified_stamp.hpp"
#include "test_support.hpp"

#ifdef ARTISTRY_TEST_WITH_TORCH
namespace artistry::test {
void write_torchscript_affine(const std::filesystem::path& file);  // models_torch_fixture.cpp
}
#endif

using namespace artistry;
using artistry::test::error_of;
using artistry::test::TempDir;
namespace fs = std::filesystem;

namespace {

const fs::path tiny_dir = ARTISTRY_TINY_MODELS_DIR;

std::string sha_of(const std::string& text) {
    return models::sha256_hex({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

ModelSpec tiny_spec(const std::string& stem) {
    return read_model_sidecar(tiny_dir / (stem + ".onnx"));
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// A models folder with the three tiny models and a manifest listing them.
struct ModelsDir {
    TempDir tmp;
    ModelsDir() {
        nlohmann::json list = nlohmann::json::array();
        for (const char* stem : {"tiny_x2", "affine", "nhwc"}) {
            fs::copy_file(tiny_dir / (std::string(stem) + ".onnx"),
                          tmp.path / (std::string(stem) + ".onnx"));
            std::ifstream in(tiny_dir / (std::string(stem) + ".json"));
            list.push_back(nlohmann::json::parse(in));
        }
        write_text(tmp.path / "manifest.json", nlohmann::json{{"models", list}}.dump(2));
    }
    ModelStoreOptions options() const {
        ModelStoreOptions o;
        o.dir = tmp.path;
        o.use_environment = false;
        return o;
    }
};

// A TorchScript spec whose file is no archive: enough to reach the backend's loader.
ModelSpec torchscript_spec_in(const fs::path& dir) {
    write_text(dir / "m.pt", "PK");
    ModelSpec spec;
    spec.name = "ts";
    spec.backend = ModelBackend::torchscript;
    spec.file = dir / "m.pt";
    return spec;
}

std::shared_ptr<MemoryManager> small_memory(std::uint64_t bytes) {
    MemoryOptions o;
    o.use_environment = false;
    o.devices = {DeviceBudget{Device::cpu(), Budget{bytes, 0}, 1 << 30}};
    o.pressure_threshold = 0.8;
    return std::make_shared<MemoryManager>(o);
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-4 test vectors, in one piece or streamed") {
    CHECK(sha_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(sha_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const std::string million(1000000, 'a');
    CHECK(sha_of(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    // Fed in uneven pieces that straddle block boundaries: the same digest.
    models::Sha256 h;
    const auto* p = reinterpret_cast<const std::uint8_t*>(million.data());
    std::size_t done = 0;
    for (std::size_t step = 1; done < million.size(); step = step * 3 % 1000 + 1) {
        const auto n = std::min(step, million.size() - done);
        h.update({p + done, n});
        done += n;
    }
    CHECK(models::to_hex(h.finish()) == sha_of(million));
}

TEST_CASE("a sidecar describes a user's model file") {
    const ModelSpec spec = tiny_spec("tiny_x2");
    CHECK(spec.name == "tiny-x2");
    CHECK(spec.task == "upscale");
    CHECK(spec.backend == ModelBackend::onnx);
    CHECK(spec.scale == 2);
    CHECK(spec.file == fs::absolute(tiny_dir / "tiny_x2.onnx").lexically_normal());
    REQUIRE(spec.inputs.size() == 1);
    CHECK(spec.inputs[0].name == "image");
    CHECK(spec.inputs[0].shape == std::vector<std::int64_t>{1, 3, -1, -1});

    TempDir tmp;
    const fs::path model = tmp.path / "m.pt";
    write_text(model, "not used");
    const auto error_for = [&](const std::string& json) {
        write_text(tmp.path / "m.json", json);
        return error_of([&] { read_model_sidecar(model); });
    };
    // Backend from the extension when the sidecar does not say; name from the file's stem.
    write_text(tmp.path / "m.json", R"({"inputs": [{"name": "x", "shape": [1, 4]}]})");
    const ModelSpec guessed = read_model_sidecar(model);
    CHECK(guessed.backend == ModelBackend::torchscript);
    CHECK(guessed.name == "m");

    auto e = error_for(R"({"backend": "tflite"})");
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "'backend'"));
    CHECK(contains(e.what(), "tflite"));
    e = error_for(R"({"inputs": [{"name": "x", "shape": [1, 0]}]})");
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "inputs[0].shape"));
    e = error_for(R"({"layout": "chw"})");
    CHECK(contains(e.what(), "'layout'"));
    e = error_for(R"({"scale": "two"})");
    CHECK(contains(e.what(), "'scale'"));
    e = error_for(R"({"sha256": "abc"})");
    CHECK(contains(e.what(), "'sha256'"));
    e = error_for(R"({"inputs": {"name": "x"}})");
    CHECK(contains(e.what(), "'inputs'"));
    e = error_for(R"({"name": 5})");
    CHECK(contains(e.what(), "'name'"));
    e = error_for("{ not json");
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "m.json"));

    e = error_of([&] { read_model_sidecar(tmp.path / "other.onnx"); });
    CHECK(e.status() == Status::not_found);
    CHECK(contains(e.what(), "other"));
}

TEST_CASE("an ONNX model runs, with outputs in the spec's order, from many threads") {
    const auto model = load_model(tiny_spec("affine"));
    CHECK(model->device() == Device::cpu());
    CHECK(model->weight_bytes() >= fs::file_size(tiny_dir / "affine.onnx"));
    const auto out = model->run({Tensor({1, 4}, {1, 2, 3, -4})});
    REQUIRE(out.size() == 2);
    CHECK(out[0].shape == std::vector<std::int64_t>{1, 4});
    CHECK(out[0].values == std::vector<float>{1, 4, 9, 16});  // "sq" is listed first
    CHECK(out[1].values == std::vector<float>{3, 5, 7, -7});  // "y" = 2x + 1

    // The 2x upscaler: any input size, the output twice as large; same bytes from 8 threads.
    const auto up = load_model(tiny_spec("tiny_x2"));
    Tensor in({1, 3, 13, 9});
    for (std::size_t i = 0; i < in.values.size(); ++i) in.values[i] = static_cast<float>(i % 251);
    const auto ref = up->run({in});
    REQUIRE(ref.size() == 1);
    CHECK(ref[0].shape == std::vector<std::int64_t>{1, 3, 26, 18});
    std::atomic<int> same{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int k = 0; k < 5; ++k)
                if (up->run({in})[0].values == ref[0].values) ++same;
        });
    for (auto& t : threads) t.join();
    CHECK(same == 40);

    const auto nhwc = load_model(tiny_spec("nhwc"));
    CHECK(nhwc->spec().layout == "nhwc");
    const auto halved = nhwc->run({Tensor({1, 2, 2, 3}, std::vector<float>(12, 8.f))});
    CHECK(halved[0].shape == std::vector<std::int64_t>{1, 2, 2, 3});
    CHECK(halved[0].values == std::vector<float>(12, 4.f));
}

TEST_CASE("wrong inputs are refused with the model and the tensor named") {
    const auto model = load_model(tiny_spec("affine"));
    auto e = error_of([&] { model->run({Tensor({1, 5})}); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "'affine'"));
    CHECK(contains(e.what(), "'x'"));
    CHECK(contains(e.what(), "[1, 5]"));
    e = error_of([&] { model->run({Tensor({1, 4}), Tensor({1, 4})}); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "takes 1 input"));
    e = error_of([&] { model->run({Tensor({2, 2})}); });
    CHECK(e.status() == Status::invalid_argument);
    // The upscaler wants 3 colour channels.
    const auto up = load_model(tiny_spec("tiny_x2"));
    e = error_of([&] { up->run({Tensor({1, 4, 8, 8})}); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "'image'"));
    // Still usable after a refusal.
    CHECK(model->run({Tensor({1, 4}, {0, 0, 0, 1})})[1].values == std::vector<float>{1, 1, 1, 3});
    // Tensor itself refuses values that disagree with the shape.
    CHECK(error_of([] { Tensor({1, 4}, {1, 2, 3}); }).status() == Status::invalid_argument);
}

TEST_CASE("missing, truncated and corrupt model files are clear errors naming the file") {
    TempDir tmp;
    ModelSpec spec = tiny_spec("tiny_x2");
    const auto bytes = test::file_bytes(spec.file.string());

    spec.file = tmp.path / "gone.onnx";
    auto e = error_of([&] { load_model(spec); });
    CHECK(e.status() == Status::not_found);
    CHECK(contains(e.what(), "gone.onnx"));

    spec.file = tmp.path / "half.onnx";
    test::write_bytes(spec.file.string(), {bytes.begin(), bytes.begin() + bytes.size() / 2});
    e = error_of([&] { load_model(spec); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "half.onnx"));

    spec.file = tmp.path / "noise.onnx";
    std::vector<std::uint8_t> noise(bytes.size());
    for (std::size_t i = 0; i < noise.size(); ++i)
        noise[i] = static_cast<std::uint8_t>(i * 131 + 7);
    test::write_bytes(spec.file.string(), noise);
    e = error_of([&] { load_model(spec); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "noise.onnx"));

    // With the size and digest in the spec, truncation and corruption are caught before parsing.
    spec.file = tmp.path / "half.onnx";
    spec.bytes = bytes.size();
    e = error_of([&] { load_model(spec); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "truncated"));
    spec.file = tmp.path / "flipped.onnx";
    auto flipped = bytes;
    flipped[flipped.size() / 2] ^= 1;
    test::write_bytes(spec.file.string(), flipped);
    spec.sha256 = models::sha256_hex(bytes);
    e = error_of([&] { load_model(spec); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "sha256"));
    CHECK(contains(e.what(), "flipped.onnx"));
    spec.file = tmp.path / "good.onnx";
    test::write_bytes(spec.file.string(), bytes);
    CHECK(load_model(spec)->spec().sha256 == spec.sha256);  // the right digest passes

    // A spec naming an output the file does not have.
    ModelSpec wrong = tiny_spec("tiny_x2");
    wrong.outputs = {{"logits", {1, 3, -1, -1}}};
    e = error_of([&] { load_model(wrong); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "'logits'"));
    wrong = tiny_spec("tiny_x2");
    wrong.inputs = {{"pixels", {1, 3, -1, -1}}};
    e = error_of([&] { load_model(wrong); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "'pixels'"));
}

TEST_CASE("a verified model file is not hashed again until it changes") {
    TempDir tmp;
    ModelSpec spec = tiny_spec("tiny_x2");
    const auto bytes = test::file_bytes(spec.file.string());
    spec.file = tmp.path / "x2.onnx";
    test::write_bytes(spec.file.string(), bytes);
    spec.sha256 = models::sha256_hex(bytes);
    const fs::path stamp = tmp.path / ".verified" / "x2.onnx.stamp";

    CHECK(load_model(spec));  // hashed in full, then stamped
    REQUIRE(fs::exists(stamp));
    CHECK(models::verified_stamp_matches(spec.file, spec.sha256));

    // The same bytes rewritten with the old mtime: ctime moved, so the stamp no longer holds.
    const auto mtime = fs::last_write_time(spec.file);
    auto flipped = bytes;
    flipped[flipped.size() / 2] ^= 1;
    test::write_bytes(spec.file.string(), flipped);
    fs::last_write_time(spec.file, mtime);
    CHECK_FALSE(models::verified_stamp_matches(spec.file, spec.sha256));
    const auto e = error_of([&] { load_model(spec); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "sha256"));

    // Restored: hashed in full again (the stamp of the corrupt file was never written), passes.
    test::write_bytes(spec.file.string(), bytes);
    CHECK_FALSE(models::verified_stamp_matches(spec.file, spec.sha256));
    CHECK(load_model(spec));
    CHECK(models::verified_stamp_matches(spec.file, spec.sha256));

    // A stamp for another digest does not vouch for this one.
    CHECK_FALSE(models::verified_stamp_matches(spec.file, sha_of("another file")));
    // A folder that cannot hold stamps only costs the hash: loading still works and checks.
    fs::remove_all(tmp.path / ".verified");
    test::write_bytes((tmp.path / ".verified").string(), {1, 2, 3});  // a file in the way
    CHECK(load_model(spec));
    CHECK_FALSE(models::verified_stamp_matches(spec.file, spec.sha256));
}

TEST_CASE("a TorchScript model without the LibTorch module is refused naming the module") {
    TempDir tmp;
    const ModelSpec spec = torchscript_spec_in(tmp.path);
    const fs::path missing = tmp.path / "nowhere" / "libartistry_torch.so";
    ::setenv("ARTISTRY_TORCH_MODULE", missing.c_str(), 1);
    const auto e = error_of([&] { load_model(spec); });
    ::unsetenv("ARTISTRY_TORCH_MODULE");
    CHECK(e.status() == Status::unsupported);
    CHECK(contains(e.what(), "libartistry_torch.so"));
    CHECK(contains(e.what(), missing.string()));
    CHECK(contains(e.what(), "ARTISTRY_TORCH_MODULE"));
}

TEST_CASE("the store lists the manifest and loads a model once under 16 concurrent first calls") {
    ModelsDir dir;
    ModelStore store(dir.options());
    const auto all = store.available();
    REQUIRE(all.size() == 3);
    CHECK(all[0].name == "affine");  // sorted by name
    CHECK(all[2].name == "tiny-x2");
    CHECK(all[2].file == dir.tmp.path / "tiny_x2.onnx");
    CHECK(store.has("nhwc-half"));
    CHECK_FALSE(store.loaded("tiny-x2"));

    std::vector<std::shared_ptr<const Model>> got(16);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i)
        threads.emplace_back([&, i] {
            ++ready;
            while (ready < 16) std::this_thread::yield();
            got[static_cast<std::size_t>(i)] = store.get("tiny-x2");
        });
    for (auto& t : threads) t.join();
    for (const auto& m : got) CHECK(m == got[0]);
    auto s = store.stats();
    CHECK(s.loads == 1);
    CHECK(s.hits == 15);
    CHECK(s.loaded == 1);
    CHECK(s.loaded_bytes == got[0]->weight_bytes());
    CHECK(s.load_seconds > 0);
    CHECK(store.loaded("tiny-x2"));
    const std::string metrics = store.metrics_text();
    CHECK(contains(metrics, "artistry_models_loads_total 1\n"));
    CHECK(contains(metrics, "artistry_models_hits_total 15\n"));
    CHECK(contains(metrics, "# TYPE artistry_models_loaded gauge"));
    CHECK(contains(metrics, "artistry_models_weight_bytes{model=\"tiny-x2\"}"));

    auto e = error_of([&] { store.get("esrgan-huge"); });
    CHECK(e.status() == Status::not_found);
    CHECK(contains(e.what(), "esrgan-huge"));
    CHECK(contains(e.what(), dir.tmp.path.string()));

    // A failed load reaches every caller, and a later call tries again.
    ModelSpec broken = tiny_spec("tiny_x2");
    broken.name = "broken";
    broken.file = dir.tmp.path / "missing.onnx";
    store.add(broken);
    std::atomic<int> failures{0};
    threads.clear();
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            if (error_of([&] { store.get("broken"); }).status() == Status::not_found) ++failures;
        });
    for (auto& t : threads) t.join();
    CHECK(failures == 4);
    fs::copy_file(dir.tmp.path / "tiny_x2.onnx", dir.tmp.path / "missing.onnx");
    CHECK(store.get("broken")->spec().name == "broken");
    // A loaded model cannot be replaced under its users.
    CHECK(error_of([&] { store.add(broken); }).status() == Status::invalid_argument);
}

TEST_CASE("a model installed in two forms is served by the preferred one") {
    TempDir tmp;
    nlohmann::json list = nlohmann::json::array();
    for (const char* name : {"affine", "affine-alt"}) {
        fs::copy_file(tiny_dir / "affine.onnx", tmp.path / (std::string(name) + ".onnx"));
        std::ifstream in(tiny_dir / "affine.json");
        auto entry = nlohmann::json::parse(in);
        entry["name"] = name;
        entry["file"] = std::string(name) + ".onnx";
        list.push_back(entry);
    }
    list[1]["form_of"] = "affine";
    write_text(tmp.path / "manifest.json", nlohmann::json{{"models", list}}.dump(2));
    ModelStoreOptions o;
    o.dir = tmp.path;
    o.use_environment = false;

    {  // Both forms are listed; with no choice, the model itself serves its name.
        ModelStore store(o);
        REQUIRE(store.available().size() == 2);
        CHECK(store.available()[1].form_of == "affine");
        CHECK(store.find("affine")->name == "affine");
        CHECK(store.find("affine-alt")->name == "affine-alt");  // a form asked by name is itself
    }
    o.forms = "other=x, affine=affine-alt";
    ModelStore store(o);
    CHECK(store.find("affine")->name == "affine-alt");
    CHECK_FALSE(store.loaded("affine"));
    const auto model = store.get("affine");
    CHECK(model->spec().name == "affine-alt");
    CHECK(store.loaded("affine"));
    CHECK(store.get("affine") == model);  // one load serves both names
    CHECK(store.stats().loads == 1);

    o.forms = "affine=no-such-form";  // a choice that is not installed leaves the default
    CHECK(ModelStore(o).find("affine")->name == "affine");
}

TEST_CASE("under a small memory budget the least recently used idle model is dropped") {
    ModelsDir dir;
    const auto size = [](const char* stem) { return load_model(tiny_spec(stem))->weight_bytes(); };
    // Room for the upscaler plus one small model, not for all three.
    const std::uint64_t budget = size("tiny_x2") + size("affine") + size("nhwc") - 1;
    auto memory = small_memory(budget);
    auto options = dir.options();
    options.memory = memory;
    ModelStore store(options);

    auto up = store.get("tiny-x2");  // held: in use, never dropped
    CHECK(memory->in_use(Device::cpu()) == up->weight_bytes());
    store.get("affine");  // idle as soon as the call returns
    CHECK(store.loaded("affine"));
    store.get("nhwc-half");  // does not fit: affine (idle, least recent) goes
    CHECK(store.loaded("nhwc-half"));
    CHECK_FALSE(store.loaded("affine"));
    CHECK(store.loaded("tiny-x2"));
    CHECK(store.stats().evictions >= 1);
    CHECK(memory->peak(Device::cpu()) <= budget);

    // Nothing idle is left to drop and the holder keeps its model: the wait times out.
    auto small = store.get("nhwc-half");
    auto e = error_of([&] { store.get("affine", std::chrono::milliseconds(50)); });
    CHECK(e.status() == Status::timeout);
    CHECK(contains(e.what(), "'affine'"));
    small.reset();
    CHECK(store.get("affine", std::chrono::milliseconds(50)) != nullptr);

    // The memory manager's pressure reaches the store: idle weights go, the held one stays.
    const auto before = store.stats().evictions;
    memory->relieve_pressure(Device::cpu(), budget);
    CHECK(store.stats().evictions > before);
    CHECK(store.loaded("tiny-x2"));
    CHECK(memory->in_use(Device::cpu()) == up->weight_bytes());
    const auto up_bytes = up->weight_bytes();
    up.reset();
    CHECK(store.trim(1 << 30) >= up_bytes);
    CHECK(store.stats().loaded == 0);
    CHECK(memory->in_use(Device::cpu()) == 0);
    CHECK(store.get("tiny-x2") != nullptr);  // reloads on demand
    CHECK(store.stats().loads >= 4);
}

TEST_CASE("trim drops idle models least recently used first and reports the bytes") {
    ModelsDir dir;
    ModelStore store(dir.options());
    const auto affine = store.get("affine")->weight_bytes();
    const auto nhwc = store.get("nhwc-half")->weight_bytes();
    auto held = store.get("tiny-x2");
    CHECK(store.trim(1) == affine);  // the oldest idle one only
    CHECK_FALSE(store.loaded("affine"));
    CHECK(store.loaded("nhwc-half"));
    CHECK(store.trim(1 << 30) == nhwc);
    CHECK(store.loaded("tiny-x2"));  // held by the caller
    CHECK(store.trim(1 << 30) == 0);
    CHECK(store.stats().evictions == 2);
    CHECK(store.stats().loaded_bytes == held->weight_bytes());
}

TEST_CASE("preload loads models when the store is made, from options or ARTISTRY_PRELOAD") {
    ModelsDir dir;
    auto options = dir.options();
    options.preload = {"affine"};
    {
        ModelStore store(options);
        CHECK(store.loaded("affine"));
        CHECK_FALSE(store.loaded("tiny-x2"));
        CHECK(store.stats().loads == 1);
    }
    options.preload = {"all"};
    {
        ModelStore store(options);
        CHECK(store.stats().loaded == 3);
    }
    options.preload = {"nope"};
    CHECK(error_of([&] { ModelStore store(options); }).status() == Status::not_found);

    options.preload.clear();
    options.use_environment = true;
    ::setenv("ARTISTRY_PRELOAD", " nhwc-half , tiny-x2", 1);
    {
        ModelStore store(options);
        CHECK(store.loaded("nhwc-half"));
        CHECK(store.loaded("tiny-x2"));
        CHECK_FALSE(store.loaded("affine"));
    }
    ::unsetenv("ARTISTRY_PRELOAD");
}

TEST_CASE("a manifest that is missing means no models; a broken one is an error naming it") {
    TempDir tmp;
    ModelStoreOptions o;
    o.dir = tmp.path;
    o.use_environment = false;
    ModelStore empty(o);
    CHECK(empty.available().empty());
    CHECK(error_of([&] { empty.get("isnet"); }).status() == Status::not_found);

    write_text(tmp.path / "manifest.json", R"({"models": [{"name": "x", "file": "x.onnx",)");
    ModelStore broken(o);
    auto e = error_of([&] { broken.available(); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "manifest.json"));
    write_text(tmp.path / "manifest.json",
               R"({"models": [{"name": "x", "file": "x.onnx", "backend": "tf"}]})");
    ModelStore wrong(o);
    e = error_of([&] { wrong.get("x"); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "'backend'"));
    // The name → entry form, and files resolved against the manifest's folder.
    write_text(tmp.path / "manifest.json", R"({"models": {"x": {"file": "sub/x.onnx"}}})");
    ModelStore keyed(o);
    REQUIRE(keyed.find("x"));
    CHECK(keyed.find("x")->file == tmp.path / "sub" / "x.onnx");
}

#ifdef ARTISTRY_TEST_WITH_TORCH
TEST_CASE("a TorchScript model made here loads, runs and refuses bad inputs") {
    TempDir tmp;
    const fs::path file = tmp.path / "affine.pt";
    test::write_torchscript_affine(file);
    write_text(tmp.path / "affine.json",
               R"({"name": "ts-affine", "inputs": [{"name": "x", "shape": [1, 4]}],
                   "outputs": [{"name": "y", "shape": [1, 4]}, {"name": "total", "shape": [1]}]})");
    const ModelSpec spec = read_model_sidecar(file);
    CHECK(spec.backend == ModelBackend::torchscript);
    const auto model = load_model(spec, Device::cpu(), 1);
    CHECK(model->weight_bytes() == 4 * sizeof(float));
    const auto out = model->run({Tensor({1, 4}, {1, 1, 1, 2})});
    REQUIRE(out.size() == 2);
    CHECK(out[0].values == std::vector<float>{2, 3, 4, 9});
    CHECK(out[1].shape == std::vector<std::int64_t>{1});
    CHECK(out[1].values == std::vector<float>{5});

    auto e = error_of([&] { model->run({Tensor({1, 3})}); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "'x'"));
    // A spec that allows any size leaves the check to LibTorch: its error is translated.
    ModelSpec loose = spec;
    loose.inputs[0].shape = {1, -1};
    const auto any = load_model(loose, Device::cpu(), 1);
    e = error_of([&] { any->run({Tensor({1, 3})}); });
    CHECK(e.status() == Status::invalid_argument);
    CHECK(contains(e.what(), "ts-affine"));

    const auto bytes = test::file_bytes(file.string());
    test::write_bytes((tmp.path / "cut.pt").string(),
                      {bytes.begin(), bytes.begin() + bytes.size() / 3});
    ModelSpec cut = spec;
    cut.file = tmp.path / "cut.pt";
    e = error_of([&] { load_model(cut); });
    CHECK(e.status() == Status::decode_error);
    CHECK(contains(e.what(), "cut.pt"));

    // Through a store, under 16 concurrent first calls: one load.
    ModelStoreOptions o;
    o.dir = tmp.path;
    o.use_environment = false;
    o.intra_op_threads = 1;
    ModelStore store(o);
    store.add(spec);
    std::vector<std::thread> threads;
    std::atomic<int> right{0};
    for (int i = 0; i < 16; ++i)
        threads.emplace_back([&] {
            if (store.get("ts-affine")->run({Tensor({1, 4}, {0, 0, 0, 0})})[0].values ==
                std::vector<float>{1, 1, 1, 1})
                ++right;
        });
    for (auto& t : threads) t.join();
    CHECK(right == 16);
    CHECK(store.stats().loads == 1);
}
#else
TEST_CASE("without LibTorch a TorchScript model is refused as unsupported") {
    TempDir tmp;
    const ModelSpec spec = torchscript_spec_in(tmp.path);
    const auto e = error_of([&] { load_model(spec); });
    CHECK(e.status() == Status::unsupported);
    CHECK(contains(e.what(), "LibTorch"));
    CHECK(contains(e.what(), "libartistry_torch.so"));
}
#endif
