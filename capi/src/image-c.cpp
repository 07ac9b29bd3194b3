// art_image: pixels in and out as plain descriptors.

#include "artistry/io.hpp"
#include "capi_internal.hpp"

using artistry::Error;
using artistry::Image;
using artistry::PixelType;
using artistry::Status;
using namespace artistry::capi;

namespace {

PixelType pixel_type(art_elem_type type) {
    switch (type) {
        case ART_ELEM_U8:
            return PixelType::u8;
        case ART_ELEM_F32:
            return PixelType::f32;
        default:
            throw Error(Status::invalid_argument, "unknown elem_type " + std::to_string(type) +
                                                      " (ART_ELEM_U8 or ART_ELEM_F32)");
    }
}

void check_shape(int32_t width, int32_t height, int32_t channels) {
    if (width <= 0 || height <= 0)
        throw Error(Status::invalid_argument, "image size " + std::to_string(width) + "x" +
                                                  std::to_string(height) + " must be positive");
    if (channels != 1 && channels != 3 && channels != 4)
        throw Error(Status::invalid_argument,
                    "channels " + std::to_string(channels) + " must be 1, 3 or 4");
}

// Validates a caller's descriptor and views its pixels (no copy).
Image view_of(const art_image_desc* desc) {
    require(desc, "desc");
    const art_image_desc defaults = ART_IMAGE_DESC_INIT;
    const art_image_desc d = read_struct(desc, defaults);
    require(d.data, "desc->data");
    check_shape(d.width, d.height, d.channels);
    const PixelType type = pixel_type(d.elem_type);
    const std::size_t row = static_cast<std::size_t>(d.width) *
                            static_cast<std::size_t>(d.channels) * artistry::pixel_type_size(type);
    const std::size_t stride = d.stride == 0 ? row : d.stride;
    if (stride < row)
        throw Error(Status::invalid_argument, "stride " + std::to_string(stride) +
                                                  " is less than a row (" + std::to_string(row) +
                                                  " bytes)");
    return Image::wrap(d.data, d.width, d.height, d.channels, type, stride);
}

art_status hand_out(art_image** out, Image image) {
    *out = new art_image{std::move(image)};
    return ART_OK;
}

}  // namespace

extern "C" {

art_status art_image_new(art_image** out, int32_t width, int32_t height, int32_t channels,
                         art_elem_type elem_type) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    check_shape(width, height, channels);
    return hand_out(out, Image::allocate(width, height, channels, pixel_type(elem_type)));
    ART_CATCH
}

art_status art_image_wrap(art_image** out, const art_image_desc* desc) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    return hand_out(out, view_of(desc));
    ART_CATCH
}

art_status art_image_copy(art_image** out, const art_image_desc* desc) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    return hand_out(out, view_of(desc).clone());
    ART_CATCH
}

art_status art_image_load(art_image** out, const char* path) {
    ART_TRY
    require(out, "out");
    *out = nullptr;
    require(path, "path");
    return hand_out(out, artistry::load_image(path));
    ART_CATCH
}

art_status art_image_save(const art_image* image, const char* path) {
    ART_TRY
    require(image, "image");
    require(path, "path");
    artistry::save_image(image->image, path);
    ART_CATCH
}

art_status art_image_describe(art_image_desc* out, const art_image* image) {
    ART_TRY
    require(out, "out");
    checked_struct_size<art_image_desc>(out->struct_size);
    require(image, "image");
    const Image& img = image->image;
    art_image_desc d = ART_IMAGE_DESC_INIT;
    d.data = img.data();
    d.width = img.width();
    d.height = img.height();
    d.channels = img.channels();
    d.elem_type = img.type() == PixelType::u8 ? ART_ELEM_U8 : ART_ELEM_F32;
    d.stride = img.stride();
    write_struct(out, d);
    ART_CATCH
}

void art_image_free(art_image* image) {
    delete image;
}

}  // extern "C"
