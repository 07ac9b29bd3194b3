"""Writes the fuzzers' seed corpora (fuzz/seeds/<target>/) from the test photos and specs:
small encodings of the photos in every format and layout the readers handle, EXIF blocks,
graph specs, .cube LUTs, model manifests, cache entries and image descriptors. Run once;
the seeds are committed.  /usr/bin/python3 fuzz/make_seeds.py"""

import json
import os
import shutil
import struct
import subprocess

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
PHOTOS = [os.path.join(ROOT, "tests", "data", n) for n in ("fruits.jpg", "chicky_512.png")]


def put(target, name, data, prefix=b""):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(prefix + data)


def exif_block(orientation, big_endian=False):
    e = ">" if big_endian else "<"
    head = b"MM\x00*" if big_endian else b"II*\x00"
    return head + struct.pack(e + "IH", 8, 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1,
                                                            orientation, 0) + struct.pack(e + "I", 0)


def jpeg_with_exif(jpeg, orientation):
    payload = b"Exif\x00\x00" + exif_block(orientation)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def images():
    out = {}
    for path in PHOTOS:
        base = os.path.splitext(os.path.basename(path))[0]
        img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        small = cv2.resize(img, (24, 16), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small[:, :, :3], cv2.COLOR_BGR2GRAY)
        rgba = cv2.cvtColor(small[:, :, :3], cv2.COLOR_BGR2BGRA)
        rgba[:, :12, 3] = 128
        enc = lambda ext, im, params=(): cv2.imencode(ext, im, list(params))[1].tobytes()
        out[f"{base}.jpg"] = enc(".jpg", small[:, :, :3], (cv2.IMWRITE_JPEG_QUALITY, 60))
        out[f"{base}-progressive.jpg"] = enc(".jpg", small[:, :, :3],
                                             (cv2.IMWRITE_JPEG_PROGRESSIVE, 1))
        out[f"{base}-grey.jpg"] = enc(".jpg", grey)
        out[f"{base}-exif6.jpg"] = jpeg_with_exif(out[f"{base}.jpg"], 6)
        out[f"{base}.png"] = enc(".png", small[:, :, :3])
        out[f"{base}-rgba.png"] = enc(".png", rgba)
        out[f"{base}-grey16.png"] = enc(".png", grey.astype(np.uint16) * 257)
        out[f"{base}.webp"] = enc(".webp", small[:, :, :3], (cv2.IMWRITE_WEBP_QUALITY, 50))
        out[f"{base}.tif"] = enc(".tif", small[:, :, :3])
        out[f"{base}-rgba.tif"] = enc(".tif", rgba)
        out[f"{base}.bmp"] = enc(".bmp", small[:, :, :3])
    return out


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    encoded = images()
    for name, data in encoded.items():
        put("decode", name, data, b"\x00")          # budget byte 0: no allocation limit
        put("decode", "tight-" + name, data, b"\x0c")  # a 4 KiB budget: allocations fail
        if name.endswith((".jpg", ".png", ".tif")):
            put("stream", name, data, b"\x03")       # bands of 4 rows
    for o in range(1, 9):
        put("exif", f"le-{o}", exif_block(o))
        put("exif", f"be-{o}", exif_block(o, True))

    graphs = [os.path.join(ROOT, "examples", "graphs", n)
              for n in os.listdir(os.path.join(ROOT, "examples", "graphs"))]
    for path in graphs:
        put("graph", os.path.basename(path), open(path, "rb").read())
    specs = {
        "chain.json": {"nodes": [{"id": "bw", "op": "enhanced_bw", "params": {"filter": "red"}},
                                 {"id": "d", "op": "dither", "in": ["bw"],
                                  "params": {"levels": 2}}], "outputs": ["d"]},
        "fanout.json": {"nodes": [{"id": "p", "op": "pop_art"}, {"id": "r", "op": "retro_8bit"},
                                  {"id": "c", "op": "color", "params": {"preset": "vintage"}}]},
        "composite.json": {"nodes": [{"id": "s", "op": "segment",
                                      "params": {"points": "10,10"}},
                                     {"id": "bw", "op": "enhanced_bw"},
                                     {"id": "m", "op": "composite", "in": ["bw", "s"]}]},
    }
    for name, spec in specs.items():
        put("graph", name, json.dumps(spec).encode())

    cube3 = "TITLE \"seed\"\nLUT_3D_SIZE 2\nDOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 1 1\n" + "".join(
        f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1))
    cube1 = "LUT_1D_SIZE 3\n0 0 0\n0.6 0.5 0.4\n1 1 1\n"
    shaper = ("LUT_1D_SIZE 2\nLUT_1D_INPUT_RANGE 0 1\nLUT_3D_SIZE 2\n0 0 0\n1 1 1\n" +
              "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)))
    put("cube", "3d.cube", cube3.encode())
    put("cube", "1d.cube", cube1.encode())
    put("cube", "shaper.cube", shaper.encode())

    manifest = os.path.expanduser("~/.local/share/artistry/models/manifest.json")
    if os.path.exists(manifest):
        data = json.load(open(manifest))
        put("manifest", "installed.json", json.dumps(data).encode())
        entries = data["models"] if isinstance(data, dict) else data
        entries = entries.values() if isinstance(entries, dict) else entries
        for i, entry in enumerate(list(entries)[:4]):
            put("manifest", f"sidecar-{i}.json", json.dumps(entry).encode())
    put("manifest", "minimal.json", json.dumps({"models": [{
        "name": "m", "file": "m.onnx", "format": "onnx",
        "inputs": [{"name": "x", "shape": [1, 3, 8, 8]}],
        "outputs": [{"name": "y", "shape": [1, 1, 8, 8]}]}]}).encode())

    pixels = bytes(range(24))
    header = lambda w, h, c, t, e: bytes([1]) + struct.pack("<HHBBBB", w, h, c, t, e, 1)
    put("cache_entry", "raw-u8", header(4, 2, 3, 0, 0) + pixels)
    put("cache_entry", "raw-f32", header(2, 1, 3, 1, 0) + struct.pack("<6f", *[0.5] * 6))
    for enc, name in ((1, "zstd"), (2, "delta-zstd")):
        packed = subprocess.run(["zstd", "-q", "-c"], input=pixels, capture_output=True,
                                check=True).stdout
        put("cache_entry", name, header(4, 2, 3, 0, enc) + packed)
    put("cache_entry", "not-an-entry", b"\x00" + b"ART" + bytes(80))

    desc = lambda w, h, c, t, stride, copy: struct.pack("<iiiiIB", w, h, c, t, stride, copy)
    put("capi_image", "rgb", desc(4, 2, 3, 0, 0, 0) + bytes(24))
    put("capi_image", "rgba-stride", desc(3, 2, 4, 0, 16, 1) + bytes(32))
    put("capi_image", "f32", desc(2, 2, 1, 1, 0, 1) + bytes(16))
    put("capi_image", "bad-stride", desc(4, 2, 3, 0, 5, 0) + bytes(24))
    put("capi_image", "huge", desc(65535, 65535, 4, 0, 0, 1) + bytes(8))


if __name__ == "__main__":
    main()
