#pragma once
// Opt-in cv::Mat interop. Include only if your program uses OpenCV itself.

#include <opencv2/core.hpp>

#include "artistry/error.hpp"
#include "artistry/image.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

// A cv::Mat header over the image's pixels (no copy). Channel order stays RGB(A).
inline cv::Mat as_mat(const Image& image) {
    if (image.empty()) return {};
    const int depth = image.type() == PixelType::u8 ? CV_8U : CV_32F;
    return cv::Mat(image.height(), image.width(), CV_MAKETYPE(depth, image.channels()),
                   image.data(), image.stride());
}

// An Image viewing a cv::Mat's pixels; the Mat's buffer is kept alive by the image.
inline Image from_mat(const cv::Mat& mat) {
    if (mat.empty()) return {};
    if (mat.depth() != CV_8U && mat.depth() != CV_32F)
        throw Error(Status::unsupported,
                    "from_mat: only 8-bit and 32-bit float Mats are supported");
    if (mat.channels() != 1 && mat.channels() != 3 && mat.channels() != 4)
        throw Error(Status::unsupported, "from_mat: only 1, 3 or 4 channels are supported");
    auto keep = std::make_shared<cv::Mat>(mat);
    return Image::wrap(keep->data, mat.cols, mat.rows, mat.channels(),
                       mat.depth() == CV_8U ? PixelType::u8 : PixelType::f32, mat.step[0], keep);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
