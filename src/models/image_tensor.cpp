// Image ⇄ tensor conversion for image models (artistry/models.hpp).

#include "artistry/models.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "artistry/error.hpp"
#include "models/model_impl.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

Tensor image_to_tensor(const Image& image, const std::string& layout) {
    if (image.type() != PixelType::u8 || image.channels() < 3)
        throw Error(Status::invalid_argument, "image_to_tensor needs u8 RGB or RGBA pixels");
    const int w = image.width(), h = image.height(), c = image.channels();
    const bool nchw = layout != "nhwc";
    Tensor t(nchw ? std::vector<std::int64_t>{1, 3, h, w} : std::vector<std::int64_t>{1, h, w, 3});
    const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    for (int y = 0; y < h; ++y) {
        const std::uint8_t* p = image.row(y);
        for (int x = 0; x < w; ++x, p += c) {
            const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(w) +
                                  static_cast<std::size_t>(x);
            for (std::size_t k = 0; k < 3; ++k) {
                if (nchw)
                    t.values[k * plane + i] = p[k];
                else
                    t.values[i * 3 + k] = p[k];
            }
        }
    }
    return t;
}

Image tensor_to_image(const Tensor& tensor, const std::string& layout) {
    const bool nchw = layout != "nhwc";
    const auto& s = tensor.shape;
    if (s.size() != 4 || s[0] != 1 || (nchw ? s[1] : s[3]) != 3)
        throw Error(
            Status::invalid_argument,
            fmt::format("expected one RGB image tensor {} ({}), got shape {}",
                        nchw ? "[1, 3, H, W]" : "[1, H, W, 3]", layout, models::shape_text(s)));
    const int h = static_cast<int>(nchw ? s[2] : s[1]);
    const int w = static_cast<int>(nchw ? s[3] : s[2]);
    Image out = Image::allocate(w, h, 3);
    const std::size_t plane = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    const auto to_u8 = [](float v) {
        // NaN becomes 0: a broken model output must not be undefined behaviour here.
        if (!(v > 0.f)) return std::uint8_t{0};
        return static_cast<std::uint8_t>(std::min(255.f, std::nearbyint(v)));
    };
    for (int y = 0; y < h; ++y) {
        std::uint8_t* p = out.row(y);
        for (int x = 0; x < w; ++x, p += 3) {
            const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(w) +
                                  static_cast<std::size_t>(x);
            for (std::size_t k = 0; k < 3; ++k)
                p[k] = to_u8(nchw ? tensor.values[k * plane + i] : tensor.values[i * 3 + k]);
        }
    }
    return out;
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
