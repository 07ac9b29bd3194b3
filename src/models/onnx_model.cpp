// The ONNX backend on OpenCV dnn. A cv::dnn::Net is not thread-safe (forward() writes its own
// blobs), so a model keeps a small pool of Net instances: a call leases one, made on demand up
// to the pool's size, and waits when all are busy.

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "artistry/error.hpp"
#include "models/model_impl.hpp"

namespace artistry::models {
namespace {

// One instance per four cores, at most four: a forward pass already spreads over OpenCV's
// threads, so more instances only pay off for small models on many cores.
std::size_t default_pool_size() {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return std::clamp<std::size_t>(cores / 4, 1, 4);
}

std::string first_line(const std::string& text) {
    const auto nl = text.find('\n');
    return nl == std::string::npos ? text : text.substr(0, nl);
}

std::string cv_message(const cv::Exception& e) {
    return e.err.empty() ? first_line(e.what()) : e.err;
}

class OnnxModel final : public Model {
  public:
    OnnxModel(ModelSpec spec, const std::vector<std::uint8_t>& bytes, std::size_t pool_size)
        : spec_(std::move(spec)), pool_size_(pool_size), file_bytes_(bytes.size()) {
        free_.push_back(make_net(bytes));
        created_ = 1;
        if (pool_size_ > 1) bytes_ = bytes;  // for the instances made later
        check_names(*free_.front());
    }

    const ModelSpec& spec() const noexcept override { return spec_; }
    // Each instance holds its own copy of the weights; the pool may grow to pool_size_.
    std::uint64_t weight_bytes() const noexcept override {
        return file_bytes_ * pool_size_ + bytes_.size();
    }
    Device device() const noexcept override { return Device::cpu(); }

    std::vector<Tensor> run(const std::vector<Tensor>& inputs) const override {
        check_inputs(spec_, inputs);
        auto net = lease();
        std::vector<Tensor> out;
        try {
            out = forward(*net, inputs);
        } catch (const cv::Exception& e) {
            // A failed forward may leave the instance half-updated: drop it, not reuse it.
            give_back(nullptr);
            throw Error(Status::invalid_argument,
                        fmt::format("model '{}' could not run on input(s) {}: {}", spec_.name,
                                    input_shapes(inputs), cv_message(e)));
        } catch (...) {
            give_back(nullptr);
            throw;
        }
        give_back(std::move(net));
        return out;
    }

  private:
    std::unique_ptr<cv::dnn::Net> make_net(const std::vector<std::uint8_t>& bytes) const {
        try {
            auto net = std::make_unique<cv::dnn::Net>(cv::dnn::readNetFromONNX(
                reinterpret_cast<const char*>(bytes.data()), bytes.size()));
            if (net->empty()) throw cv::Exception(0, "the network is empty", "", "", 0);
            net->setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            net->setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
            return net;
        } catch (const cv::Exception& e) {
            throw Error(Status::decode_error,
                        fmt::format("model '{}': '{}' is not a valid ONNX model (truncated, "
                                    "corrupt, or using operators OpenCV dnn lacks): {}",
                                    spec_.name, spec_.file.string(), cv_message(e)));
        }
    }

    // The spec must match the file: every named output is a tensor of the graph.
    void check_names(cv::dnn::Net& net) const {
        for (const auto& o : spec_.outputs)
            if (net.getLayerId(o.name) < 0)
                throw Error(Status::invalid_argument,
                            fmt::format("model '{}': '{}' has no output '{}'", spec_.name,
                                        spec_.file.string(), o.name));
        for (const auto& i : spec_.inputs) {
            try {
                net.setInput(cv::Mat(), i.name);
            } catch (const cv::Exception&) {
                throw Error(Status::invalid_argument,
                            fmt::format("model '{}': '{}' has no input '{}'", spec_.name,
                                        spec_.file.string(), i.name));
            }
        }
    }

    std::unique_ptr<cv::dnn::Net> lease() const {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (!free_.empty()) {
                auto net = std::move(free_.back());
                free_.pop_back();
                return net;
            }
            if (created_ < pool_size_) {
                ++created_;
                lock.unlock();
                try {
                    auto net = make_net(bytes_);
                    return net;
                } catch (...) {
                    lock.lock();
                    --created_;
                    throw;
                }
            }
            returned_.wait(lock);
        }
    }

    // null: the leased instance is dropped (a fresh one is made when needed).
    void give_back(std::unique_ptr<cv::dnn::Net> net) const {
        {
            std::lock_guard lock(mutex_);
            if (net)
                free_.push_back(std::move(net));
            else
                --created_;
        }
        returned_.notify_one();
    }

    std::vector<Tensor> forward(cv::dnn::Net& net, const std::vector<Tensor>& inputs) const {
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const Tensor& t = inputs[i];
            std::vector<int> sizes(t.shape.begin(), t.shape.end());
            cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), CV_32F);
            std::memcpy(blob.ptr<float>(), t.values.data(), t.values.size() * sizeof(float));
            net.setInput(blob, spec_.inputs.empty() ? std::string() : spec_.inputs[i].name);
        }
        std::vector<cv::Mat> outs;
        if (spec_.outputs.empty()) {
            outs.push_back(net.forward());
        } else {
            std::vector<cv::String> names;
            for (const auto& o : spec_.outputs) names.push_back(o.name);
            net.forward(outs, names);
        }
        std::vector<Tensor> result;
        result.reserve(outs.size());
        for (std::size_t k = 0; k < outs.size(); ++k) {
            const cv::Mat& m = outs[k];
            std::vector<std::int64_t> shape(m.size.p, m.size.p + m.dims);
            // OpenCV keeps at least two dimensions: a fixed spec shape of the same size wins.
            if (k < spec_.outputs.size()) {
                const auto& want = spec_.outputs[k].shape;
                const bool fixed = !want.empty() && std::all_of(want.begin(), want.end(),
                                                                [](auto d) { return d > 0; });
                std::int64_t n = 1;
                for (auto d : want) n *= d;
                if (fixed && n == static_cast<std::int64_t>(m.total())) shape = want;
            }
            Tensor t(std::move(shape));
            const cv::Mat c = m.isContinuous() ? m : m.clone();
            std::memcpy(t.values.data(), c.ptr<float>(), t.values.size() * sizeof(float));
            result.push_back(std::move(t));
        }
        return result;
    }

    static std::string input_shapes(const std::vector<Tensor>& inputs) {
        std::vector<std::string> s;
        for (const auto& t : inputs) s.push_back(shape_text(t.shape));
        return fmt::format("{}", fmt::join(s, ", "));
    }

    ModelSpec spec_;
    std::size_t pool_size_;
    std::uint64_t file_bytes_;
    std::vector<std::uint8_t> bytes_;
    mutable std::mutex mutex_;
    mutable std::condition_variable returned_;
    mutable std::vector<std::unique_ptr<cv::dnn::Net>> free_;
    mutable std::size_t created_ = 0;
};

}  // namespace

std::uint64_t estimate_weight_bytes(const ModelSpec& spec, std::uint64_t file_bytes) {
    // TorchScript archives store the tensors uncompressed; ONNX nets copy them per instance.
    if (spec.backend == ModelBackend::torchscript) return file_bytes;
    const auto pool = default_pool_size();
    return file_bytes * pool + (pool > 1 ? file_bytes : 0);
}

std::shared_ptr<Model> load_onnx(const ModelSpec& spec, const std::vector<std::uint8_t>& bytes) {
    return std::make_shared<OnnxModel>(spec, bytes, default_pool_size());
}

}  // namespace artistry::models
