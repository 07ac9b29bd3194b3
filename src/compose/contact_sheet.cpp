// Contact sheet: the input and its renderings side by side, labelled.

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "artistry/compose.hpp"
#include "artistry/error.hpp"
#include "artistry/opencv.hpp"

namespace artistry {
inline namespace ARTISTRY_ABI_NAMESPACE {

namespace {

// Fits an image into w×h (aspect kept, centred) over a checkerboard where it is transparent.
void draw_cell(const Image& image, cv::Mat& cell) {
    cv::Mat src = as_mat(image);
    if (image.type() == PixelType::f32) src.convertTo(src, CV_8U, 255.0);
    if (src.channels() == 1)
        cv::cvtColor(src, src, cv::COLOR_GRAY2RGBA);
    else if (src.channels() == 3)
        cv::cvtColor(src, src, cv::COLOR_RGB2RGBA);
    const double scale = std::min(static_cast<double>(cell.cols) / src.cols,
                                  static_cast<double>(cell.rows) / src.rows);
    const int w = std::max(1, static_cast<int>(std::lround(src.cols * scale)));
    const int h = std::max(1, static_cast<int>(std::lround(src.rows * scale)));
    cv::Mat fitted;
    cv::resize(src, fitted, {w, h}, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    const int ox = (cell.cols - w) / 2, oy = (cell.rows - h) / 2;
    for (int y = 0; y < h; ++y) {
        const auto* s = fitted.ptr<cv::Vec4b>(y);
        auto* d = cell.ptr<cv::Vec3b>(y + oy) + ox;
        for (int x = 0; x < w; ++x) {
            const int check = ((x / 12) + (y / 12)) % 2 ? 205 : 150;
            const int a = s[x][3];
            for (int c = 0; c < 3; ++c)
                d[x][c] = static_cast<std::uint8_t>((s[x][c] * a + check * (255 - a) + 127) / 255);
        }
    }
}

}  // namespace

Image make_contact_sheet(const std::vector<Image>& images, const std::vector<std::string>& labels,
                         const ContactSheetOptions& options) {
    if (images.empty()) throw Error(Status::invalid_argument, "contact sheet: no images");
    if (labels.size() != images.size())
        throw Error(Status::invalid_argument, fmt::format("contact sheet: {} images but {} labels",
                                                          images.size(), labels.size()));
    for (const auto& img : images)
        if (img.empty()) throw Error(Status::invalid_argument, "contact sheet: an image is empty");
    if (options.cell_width < 32 || options.cell_width > 4096 || options.padding < 0 ||
        options.padding > 512 || options.columns < 0)
        throw Error(Status::invalid_argument,
                    "contact sheet: cell_width must be 32..4096, padding 0..512");

    const int n = static_cast<int>(images.size());
    const int cell_w = options.cell_width;
    const int cell_h =
        std::max(16, static_cast<int>(std::lround(static_cast<double>(cell_w) * images[0].height() /
                                                  images[0].width())));
    const int cols =
        options.columns > 0
            ? std::min(options.columns, n)
            : std::clamp(static_cast<int>(std::ceil(std::sqrt(n * 16.0 / 9.0 * cell_h / cell_w))),
                         1, n);
    const int rows = (n + cols - 1) / cols;
    const int pad = options.padding;
    const double font_scale = cell_w / 640.0 * 1.1;
    const int thickness = std::max(1, static_cast<int>(std::lround(font_scale * 2)));
    int baseline = 0;
    const cv::Size text =
        cv::getTextSize("Ag", cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline);
    const int label_h = text.height + baseline + pad;

    cv::Mat sheet(pad + rows * (cell_h + label_h + pad), pad + cols * (cell_w + pad), CV_8UC3,
                  cv::Scalar(28, 28, 30));
    for (int i = 0; i < n; ++i) {
        const int x = pad + (i % cols) * (cell_w + pad);
        const int y = pad + (i / cols) * (cell_h + label_h + pad);
        cv::Mat cell = sheet(cv::Rect(x, y, cell_w, cell_h));
        draw_cell(images[static_cast<std::size_t>(i)], cell);
        cv::putText(sheet, labels[static_cast<std::size_t>(i)],
                    {x, y + cell_h + pad / 2 + text.height}, cv::FONT_HERSHEY_SIMPLEX, font_scale,
                    cv::Scalar(235, 235, 235), thickness, cv::LINE_AA);
    }
    return from_mat(sheet);
}

}  // namespace ARTISTRY_ABI_NAMESPACE
}  // namespace artistry
