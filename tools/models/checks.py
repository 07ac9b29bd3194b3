"""Checks a converted or copied model really computes what its source computes.

Each check returns a dict of measured figures (stored in the manifest entry under "checks") and
raises CheckFailed when a figure is outside its bound.
"""
import glob
import os

import numpy as np

import runners


class CheckFailed(Exception):
    pass


PSNR_MIN_DB = 40.0
MATTING_MAX_DIFF = 1e-3


def read_rgb(path):
    """HxWx3 uint8 RGB (alpha dropped)."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except ImportError:
        import cv2
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise CheckFailed(f"cannot read image {path}")
        return bgr[:, :, ::-1].copy()


def resize_rgb(rgb, width, height):
    """Bilinear; both runtimes of a check get the same pixels, so the choice only has to be fixed."""
    try:
        from PIL import Image
        return np.asarray(Image.fromarray(rgb).resize((width, height), Image.BILINEAR))
    except ImportError:
        import cv2
        return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)


def find_photo():
    """A real photo with a person in it: $ARTISTRY_CHECK_PHOTO, else scikit-image's astronaut
    (public domain, installed by scripts/install-deps), else the shared fixtures."""
    candidates = [os.environ.get("ARTISTRY_CHECK_PHOTO", "")]
    try:
        import skimage
        candidates.append(os.path.join(os.path.dirname(skimage.__file__), "data", "astronaut.png"))
    except ImportError:
        pass
    candidates += sorted(glob.glob("/usr/lib/python3/dist-packages/skimage/data/astronaut.png"))
    for c in candidates:
        if c and os.path.isfile(c):
            return c
    raise CheckFailed("no check photo: set ARTISTRY_CHECK_PHOTO to a photo of a person "
                      "(or install python3-skimage)")


def psnr(a, b):
    if a.shape != b.shape:
        raise CheckFailed(f"output shape {a.shape} differs from the expected image's {b.shape}")
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def to_image(nchw):
    return np.clip(np.rint(nchw[0].transpose(1, 2, 0)), 0, 255).astype(np.uint8)


def upscale(model_path, m, package_dir, node_modules, threads):
    """PSNR of the model's output on the package's own sample against its expected result."""
    source = read_rgb(os.path.join(package_dir, m["sample_input"]))
    expected = read_rgb(os.path.join(package_dir, m["sample_expected"]))
    x = source.astype(np.float32).transpose(2, 0, 1)[None].copy()
    figures = {"sample": m["sample_expected"]}
    (ort_out,), ort_s = runners.onnxruntime(model_path, {"input": x}, ["output"], node_modules, threads)
    figures["psnr_db_onnxruntime"] = round(psnr(to_image(ort_out), expected), 2)
    figures["seconds_onnxruntime"] = round(ort_s, 3)
    if runners.have_opencv():
        (cv_out,), cv_s = runners.opencv(model_path, {"input": x}, ["output"], threads)
        figures["psnr_db_opencv"] = round(psnr(to_image(cv_out), expected), 2)
        figures["seconds_opencv"] = round(cv_s, 3)
        # Height and width are free: an odd, non-square input must scale exactly.
        odd = x[:, :, :37, :53]
        (odd_out,), _ = runners.opencv(model_path, {"input": odd}, ["output"], threads)
        s = m["scale"]
        if odd_out.shape != (1, 3, 37 * s, 53 * s):
            raise CheckFailed(f"37x53 input gave {odd_out.shape[2:]} in OpenCV, "
                              f"expected {(37 * s, 53 * s)}")
    low = min(v for k, v in figures.items() if k.startswith("psnr_db"))
    if low < PSNR_MIN_DB:
        raise CheckFailed(f"PSNR {low:.2f} dB against {m['sample_expected']}, "
                          f"needs >= {PSNR_MIN_DB} dB: the conversion is wrong")
    return figures


def matting(model_path, reference_path, node_modules, threads, backend="onnx"):
    """Max abs difference between the converted model (OpenCV dnn and onnxruntime, or
    TorchScript) and the original model in onnxruntime, on one real photo."""
    photo = find_photo()
    rgb = resize_rgb(read_rgb(photo), 1024, 1024)
    x = ((rgb.astype(np.float32) - 128.0) / 256.0).transpose(2, 0, 1)[None].copy()
    (ref,), ref_s = runners.onnxruntime(reference_path, {"input": x}, ["output"], node_modules, threads)
    figures = {"photo": os.path.basename(photo), "seconds_reference_onnxruntime": round(ref_s, 3)}
    if backend == "torchscript":
        (ts,), ts_s = runners.torchscript(model_path, {"input": x}, ["output"], threads)
        figures["max_abs_diff_torchscript"] = float(np.abs(ts - ref).max())
        figures["mask_pixels_differing_at_0.5"] = int(((ts > 0.5) != (ref > 0.5)).sum())
        figures["seconds_torchscript_first_call"] = round(ts_s, 3)
    else:
        (ort,), ort_s = runners.onnxruntime(model_path, {"input": x}, ["output"], node_modules, threads)
        figures["max_abs_diff_onnxruntime"] = float(np.abs(ort - ref).max())
        figures["seconds_onnxruntime"] = round(ort_s, 3)
    if backend == "onnx" and runners.have_opencv():
        (cv,), cv_s = runners.opencv(model_path, {"input": x}, ["output"], threads)
        figures["max_abs_diff_opencv"] = float(np.abs(cv - ref).max())
        figures["mask_pixels_differing_at_0.5"] = int(((cv > 0.5) != (ref > 0.5)).sum())
        figures["seconds_opencv"] = round(cv_s, 3)
    figures["foreground_fraction"] = round(float((ref > 0.5).mean()), 4)
    worst = max(v for k, v in figures.items() if k.startswith("max_abs_diff"))
    if worst >= MATTING_MAX_DIFF:
        raise CheckFailed(f"matting model differs from the original by {worst:.2e} on {photo} "
                          f"(bound {MATTING_MAX_DIFF:g}): the conversion is wrong")
    return figures


def blazeface_anchors(spec):
    centres = []
    for layer in spec["layers"]:
        g = layer["grid"]
        for y in range(g):
            for x in range(g):
                for _ in range(layer["per_cell"]):
                    centres.append(((x + spec["center_offset"]) / g, (y + spec["center_offset"]) / g))
    return np.array(centres, np.float32)


def face_detection(model_path, m, node_modules, threads):
    """Runs the detector on a photo of a person; decodes with the manifest's anchors. The best
    face must pass the score threshold, and OpenCV must agree with onnxruntime."""
    photo = find_photo()
    extras = m["extras"]
    size = extras["anchors"]["input_size"]
    rgb = read_rgb(photo)
    x = ((resize_rgb(rgb, size, size).astype(np.float32) - 127.5) / 127.5)[None].copy()
    names = [o["name"] for o in m["outputs"]]
    outs, ort_s = runners.onnxruntime(model_path, {m["inputs"][0]["name"]: x}, names, node_modules, threads)
    figures = {"photo": os.path.basename(photo), "seconds_onnxruntime": round(ort_s, 4)}
    if runners.have_opencv():
        cv_outs, cv_s = runners.opencv(model_path, {m["inputs"][0]["name"]: x}, names, threads)
        figures["max_abs_diff_opencv"] = float(max(np.abs(a - b).max() for a, b in zip(outs, cv_outs)))
        figures["seconds_opencv"] = round(cv_s, 4)
        if figures["max_abs_diff_opencv"] > 1e-3:
            raise CheckFailed(f"OpenCV and onnxruntime differ by {figures['max_abs_diff_opencv']:.2e}")
    by_name = dict(zip(names, outs))
    logits = np.concatenate([by_name[n].reshape(-1) for n in extras["scores"]])
    regs = np.concatenate([by_name[n].reshape(-1, 16) for n in extras["regressors"]])
    anchors = blazeface_anchors(extras["anchors"])
    if len(anchors) != len(logits):
        raise CheckFailed(f"{len(anchors)} anchors for {len(logits)} scores")
    scores = 1 / (1 + np.exp(-np.clip(logits, -80, 80)))
    best = int(np.argmax(scores))
    cx, cy = regs[best, 0] / size + anchors[best, 0], regs[best, 1] / size + anchors[best, 1]
    w, h = regs[best, 2] / size, regs[best, 3] / size
    box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    figures["best_score"] = round(float(scores[best]), 4)
    figures["best_box_xyxy"] = [round(float(v), 4) for v in box]
    figures["faces_over_threshold"] = int((scores >= extras["score_threshold"]).sum())
    if scores[best] < extras["score_threshold"] or not (0 <= cx <= 1 and 0 <= cy <= 1 and 0 < w < 1):
        raise CheckFailed(f"no face found in {photo} (best score {scores[best]:.3f}, "
                          f"box {box}): the model or its anchor description is wrong")
    return figures
