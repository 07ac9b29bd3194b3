"""The C ABI from Python with ctypes only (no pybind11): list effects, run one on pixels.

usage: python3 examples/ffi/ctypes_effects.py path/to/libartistry_c.so
"""
import ctypes as C
import sys

lib = C.CDLL(sys.argv[1])


class ImageDesc(C.Structure):
    _fields_ = [("struct_size", C.c_size_t), ("data", C.c_void_p), ("width", C.c_int32),
                ("height", C.c_int32), ("channels", C.c_int32), ("elem_type", C.c_int32),
                ("stride", C.c_size_t)]


lib.art_version.restype = C.c_char_p
lib.art_last_error_message.restype = C.c_char_p
for name in ("art_effect_count", "art_effect_name", "art_engine_create", "art_image_wrap",
             "art_engine_run_effects", "art_result_output", "art_image_describe"):
    getattr(lib, name).restype = C.c_int32


def check(status):
    if status != 0:
        raise RuntimeError(lib.art_last_error_message().decode())


print("artistry", lib.art_version().decode())
count = C.c_size_t()
check(lib.art_effect_count(C.byref(count)))
names = []
for i in range(count.value):
    name = C.c_char_p()
    check(lib.art_effect_name(C.byref(name), C.c_size_t(i)))
    names.append(name.value.decode())
print("effects:", ", ".join(names))

w, h = 32, 16
pixels = (C.c_uint8 * (w * h * 3))(*[(i * 7) % 256 for i in range(w * h * 3)])
desc = ImageDesc(C.sizeof(ImageDesc), C.cast(pixels, C.c_void_p), w, h, 3, 0, w * 3)
engine, image, result, out = C.c_void_p(), C.c_void_p(), C.c_void_p(), C.c_void_p()
check(lib.art_engine_create(C.byref(engine), None))
check(lib.art_image_wrap(C.byref(image), C.byref(desc)))  # zero-copy: `pixels` outlives the run
effects = (C.c_char_p * 1)(b"dither")
check(lib.art_engine_run_effects(C.byref(result), engine, effects, C.c_size_t(1), image, None))
check(lib.art_result_output(C.byref(out), result, b"dither"))
got = ImageDesc(C.sizeof(ImageDesc))
check(lib.art_image_describe(C.byref(got), out))
row = C.string_at(got.data, got.width * got.channels)
print(f"dither: {got.width}x{got.height}x{got.channels}, first values {list(row[:6])}")
bad = C.c_void_p()
status = lib.art_image_wrap(C.byref(bad), None)
print(f"error path: status {status}: {lib.art_last_error_message().decode()}")
for free, handle in (("art_image_free", out), ("art_result_free", result),
                     ("art_image_free", image), ("art_engine_free", engine)):
    getattr(lib, free)(handle)
