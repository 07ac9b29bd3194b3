#pragma once
// Pixels to model tensors and back, for effects that run image models: RGB u8 values 0..255
// as float, in the model's layout ("nchw": [1,3,H,W]; "nhwc": [1,H,W,3]), batch 1.

#include <string>

#include "artistry/image.hpp"
#include "artistry/models.hpp"

namespace artistry::models {

// The first three channels of a u8 image (RGB or RGBA), values unchanged (0..255).
Tensor image_to_tensor(const Image& image, const std::string& layout);

// A [1,3,H,W] / [1,H,W,3] tensor as u8 RGB: each value rounded and clipped to 0..255.
// Error(invalid_argument) naming the shape when it is not one RGB image in that layout.
Image tensor_to_image(const Tensor& tensor, const std::string& layout);

}  // namespace artistry::models
