// artistry.Image and numpy: zero-copy in (the array is kept alive), zero-copy out (the owner
// is the array's base).

#include <fmt/format.h>

#include "artistry/io.hpp"
#include "py_common.hpp"

namespace artistry::python {

std::shared_ptr<py::object> hold(py::object object) {
    return std::shared_ptr<py::object>(new py::object(std::move(object)), [](py::object* o) {
        // An engine thread may drop the last reference while the interpreter shuts down;
        // taking the GIL then ends the thread from inside this deleter (and aborts the
        // process). The object goes with the interpreter instead.
        if (!Py_IsInitialized() || _Py_IsFinalizing()) {
            o->release();
            delete o;
            return;
        }
        py::gil_scoped_acquire gil;
        delete o;
    });
}

Image image_from_array(const py::array& array) {
    PixelType type;
    // By value (numpy's ==), not identity: an array unpickled in another process (a Dask
    // worker) has its own dtype object.
    if (array.dtype().equal(py::dtype::of<std::uint8_t>()))
        type = PixelType::u8;
    else if (array.dtype().equal(py::dtype::of<float>()))
        type = PixelType::f32;
    else
        throw py::type_error(fmt::format("image: dtype {} is not supported (uint8 or float32)",
                                         py::str(array.dtype()).cast<std::string>()));
    if (array.ndim() != 2 && array.ndim() != 3)
        throw py::value_error(fmt::format(
            "image: shape must be (H, W, C) or (H, W), got {} dimensions", array.ndim()));
    const auto h = array.shape(0);
    const auto w = array.shape(1);
    const auto c = array.ndim() == 3 ? array.shape(2) : 1;
    if (c != 1 && c != 3 && c != 4)
        throw py::value_error(fmt::format("image: {} channels (1, 3 or 4)", c));
    if (h <= 0 || w <= 0) throw py::value_error("image: empty (a side is 0)");
    // The stride of an axis of length 1 is never used (numpy leaves it arbitrary, as in
    // mask[:, :, None]): only the others must be packed.
    const auto item = static_cast<py::ssize_t>(array.itemsize());
    const bool packed_pixels = (array.ndim() == 2 || c == 1 || array.strides(2) == item) &&
                               (w == 1 || array.strides(1) == c * item);
    const py::ssize_t row_stride = h == 1 ? w * c * item : array.strides(0);
    if (!packed_pixels || row_stride < w * c * item)
        throw py::value_error(
            "image: pixels must be C-contiguous within each row (use numpy.ascontiguousarray)");
    auto owner = hold(py::reinterpret_borrow<py::object>(array));
    return Image::wrap(const_cast<void*>(array.data()), static_cast<int>(w), static_cast<int>(h),
                       static_cast<int>(c), type, static_cast<std::size_t>(row_stride),
                       std::move(owner));
}

py::array array_from_image(const Image& image) {
    if (image.empty()) throw py::value_error("image is empty");
    auto* keep = new Image(image);  // shares the pixels; freed with the array's base
    py::capsule base(keep, [](void* p) { delete static_cast<Image*>(p); });
    const auto item = static_cast<py::ssize_t>(pixel_type_size(image.type()));
    const py::dtype dtype =
        image.type() == PixelType::u8 ? py::dtype::of<std::uint8_t>() : py::dtype::of<float>();
    return py::array(dtype, {image.height(), image.width(), image.channels()},
                     {static_cast<py::ssize_t>(image.stride()), image.channels() * item, item},
                     image.data(), base);
}

Image image_from_object(const py::handle& object) {
    if (py::isinstance<Image>(object)) return object.cast<Image>();
    if (py::isinstance<py::array>(object))
        return image_from_array(py::reinterpret_borrow<py::array>(object));
    throw py::type_error(fmt::format("image: expected a numpy array or artistry.Image, got {}",
                                     py::str(py::type::of(object)).cast<std::string>()));
}

namespace {

// probe_image, decode_image, encode_image: encoded bytes in memory (the services' uploads).
void bind_codecs(py::module_& m) {
    m.def(
        "probe_image",
        [](const py::bytes& data) {
            const std::string_view view = data;
            const auto* begin = reinterpret_cast<const std::uint8_t*>(view.data());
            const ImageInfo info = probe_image(std::span<const std::uint8_t>(begin, view.size()));
            py::dict d;
            d["format"] = info.format;
            d["width"] = info.width;
            d["height"] = info.height;
            d["channels"] = info.channels;
            return d;
        },
        py::arg("data"),
        "Format and size of an encoded image from its header alone (DecodeError when it is "
        "none).");
    m.def(
        "decode_image",
        [](const py::bytes& data, std::uint64_t max_pixels, int max_dimension,
           std::uint64_t max_file_bytes) {
            const std::string_view view = data;
            const auto* begin = reinterpret_cast<const std::uint8_t*>(view.data());
            LoadOptions options;
            options.max_pixels = max_pixels;
            options.max_dimension = max_dimension;
            options.max_file_bytes = max_file_bytes;
            Image image;
            {
                py::gil_scoped_release nogil;
                image = decode_image(std::span<const std::uint8_t>(begin, view.size()), options);
            }
            return array_from_image(image);
        },
        py::arg("data"), py::kw_only(), py::arg("max_pixels") = default_max_pixels,
        py::arg("max_dimension") = default_max_dimension,
        py::arg("max_file_bytes") = default_max_file_bytes,
        "Decode encoded bytes (JPEG, PNG, WebP, TIFF, BMP) to an H×W×C uint8 array. Images of "
        "more than max_pixels, or wider or taller than max_dimension, are refused from their "
        "header, and more than max_file_bytes of data before it is read (LimitExceededError).");
    m.def(
        "encode_image",
        [](const py::handle& image, const std::string& format, int quality) {
            const Image img = image_from_object(image);
            SaveOptions options;
            if (quality > 0) options.jpeg_quality = options.webp_quality = quality;
            std::vector<std::uint8_t> bytes;
            {
                py::gil_scoped_release nogil;
                bytes = encode_image(img, format, options);
            }
            return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        },
        py::arg("image"), py::arg("format") = "png", py::kw_only(), py::arg("quality") = 0,
        "Encode an array to bytes: png, jpeg, webp, tiff or bmp (quality 0: the default).");
}

}  // namespace

void bind_image(py::module_& m) {
    py::enum_<PixelType>(m, "PixelType").value("u8", PixelType::u8).value("f32", PixelType::f32);
    py::class_<Image>(m, "Image", "Pixels owned by the library or viewed from a numpy array.")
        .def(py::init([](const py::array& array) { return image_from_array(array); }),
             py::arg("array"),
             "View a numpy array (H×W×C or H×W, uint8 or float32) without copying; the array is "
             "kept alive and must not change while the image is used.")
        .def_static("zeros", &Image::allocate, py::arg("width"), py::arg("height"),
                    py::arg("channels") = 3, py::arg("type") = PixelType::u8)
        .def_property_readonly("width", &Image::width)
        .def_property_readonly("height", &Image::height)
        .def_property_readonly("channels", &Image::channels)
        .def_property_readonly("stride", &Image::stride)
        .def_property_readonly("owned",
                               [](const Image& i) { return i.storage() == Storage::owned; })
        .def("numpy", &array_from_image, "The pixels as a numpy array (no copy).")
        .def(
            "__array__",
            [](const Image& i, const py::object&, const py::object&) {
                return array_from_image(i);
            },
            py::arg("dtype") = py::none(), py::arg("copy") = py::none())
        .def("__repr__", [](const Image& i) {
            return fmt::format("<artistry.Image {}x{}x{} {}>", i.width(), i.height(), i.channels(),
                               pixel_type_name(i.type()));
        });
    m.def(
        "load_image",
        [](const std::string& path) {
            Image image;
            {
                py::gil_scoped_release nogil;
                image = load_image(path);
            }
            return array_from_image(image);
        },
        py::arg("path"),
        "Decode an image file to an H×W×C uint8 array (EXIF orientation applied).");
    m.def(
        "save_image",
        [](const py::handle& image, const std::string& path) {
            const Image img = image_from_object(image);
            py::gil_scoped_release nogil;
            save_image(img, path);
        },
        py::arg("image"), py::arg("path"),
        "Encode to a file; the format comes from the extension.");
    bind_codecs(m);
}

}  // namespace artistry::python
