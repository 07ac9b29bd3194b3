"""The object detector's check (task object_detection): the converted TorchScript CenterNet
against the original TF.js graph model run by TF.js's own CPU backend, on one real photo; then
the manifest's decode must find the objects the photo shows.

Also usable by hand, to see what the installed model finds and how fast
(threads: $ARTISTRY_FETCH_THREADS, default 1):
  check_detection.py MODELS_DIR/centernet/centernet.pt IMAGE...
"""
import os
import sys
import time

import numpy as np

import checks
import runners
import sources

PHOTO = "/usr/share/darknet/data/dog.jpg"
# What dog.jpg shows (a dog, a bicycle, a pickup truck that COCO models call car or truck).
EXPECTED = [("dog",), ("bicycle",), ("car", "truck")]
# keypoints are sigmoid scores in 0..1; wh are distances in 512-pixel units (up to ~500), where
# float32 summation order alone moves them by ~1e-3.
MAX_DIFF = {"keypoints": 1e-3, "wh": 1e-2}
WARM_UP_RUNS = 3  # TorchScript's profiling executor optimises the graph over the first calls
TIMED_RUNS = 5


def peaks_at_least(heat, threshold):
    """Flat indices into H x W x C of the cells that are >= threshold and equal to the max of
    their 3x3 neighbourhood in their class plane (the border sees only the image), best first.
    The same as thresholding the top-k of the max-pool peaks, but looking only at the few cells
    over the threshold."""
    h, w, c = heat.shape
    ys, xs, cs = np.nonzero(heat >= threshold)
    keep = np.ones(len(ys), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ny, nx = np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)
            keep &= heat[ys, xs, cs] >= heat[ny, nx, cs]
    flat = (ys * w + xs) * c + cs
    flat = flat[keep]
    return flat[np.argsort(-heat.reshape(-1)[flat], kind="stable")]


def iou(box, boxes):
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def decode(keypoints, wh, extras, image_w, image_h):
    """The manifest's decode: peaks of the heatmap (equal to their 3x3 max), the top
    max_detections over the flattened [H, W, classes] array, score threshold, box from the
    (left, top, right, bottom) distances around stride * (x, y), per-class NMS, boxes scaled to
    the image. Returns [(label, score, [x0, y0, x1, y1])], best first."""
    heat = keypoints[0]
    dist = wh[0]
    grid_h, grid_w, classes = heat.shape
    stride = extras["stride"]
    top = peaks_at_least(heat, extras["score_threshold"])[:extras["max_detections"]]
    cls = top % classes
    pos = top // classes
    y, x = pos // grid_w, pos % grid_w
    l, t, r, b = (dist[y, x, k] for k in range(4))
    boxes = np.stack([stride * x - l, stride * y - t, stride * x + r, stride * y + b], 1).astype(np.float64)
    boxes *= [image_w / (grid_w * stride), image_h / (grid_h * stride)] * 2
    scores = heat.reshape(-1)[top]
    found = []
    for c in np.unique(cls):
        idx = np.nonzero(cls == c)[0]  # already in descending score order
        while len(idx):
            best, idx = idx[0], idx[1:]
            found.append((extras["classes"][c], float(scores[best]), boxes[best]))
            idx = idx[iou(boxes[best], boxes[idx]) <= extras["nms_iou"]]
    found.sort(key=lambda d: -d[1])
    return [(label, score, [round(float(v), 1) for v in box]) for label, score, box in found]


def model_input(photo, m):
    rgb = checks.read_rgb(photo)
    _, h, w, _ = m["inputs"][0]["shape"]
    x = checks.resize_rgb(rgb, w, h).astype(np.float32)[None]
    norm = m["extras"]["normalize"]
    x = (x - np.float32(norm["mean"])) / np.float32(norm["std"])
    return np.ascontiguousarray(x, np.float32), rgb.shape[1], rgb.shape[0]


def timed_torchscript(model_path, x, threads):
    """([outputs], seconds of the first call, mean seconds of a warm call)."""
    import torch

    torch.set_num_threads(threads)
    module = torch.jit.load(model_path, map_location="cpu").eval()
    t = torch.from_numpy(x)
    with torch.no_grad():
        started = time.perf_counter()
        outs = module(t)
        first = time.perf_counter() - started
        for _ in range(WARM_UP_RUNS - 1):
            module(t)
        started = time.perf_counter()
        for _ in range(TIMED_RUNS):
            module(t)
        warm = (time.perf_counter() - started) / TIMED_RUNS
    return [o.numpy() for o in outs], first, warm


def object_detection(model_path, m, package_dir, node_modules, threads):
    """Max abs difference of both outputs against TF.js on dog.jpg, and the decoded detections
    must include a dog, a bicycle and a car or truck."""
    if not os.path.isfile(PHOTO):
        raise checks.CheckFailed(f"no check photo {PHOTO}: install Debian's darknet package "
                                 "(apt-get install darknet), whose sample photos the detector check uses")
    extras = m["extras"]
    x, image_w, image_h = model_input(PHOTO, m)
    names = [o["name"] for o in m["outputs"]]
    ref, ref_s, version = runners.tfjs(os.path.join(package_dir, m["from"]), {m["tfjs_input"]: x},
                              m["tfjs_outputs"], node_modules)
    ts, first_s, warm_s = timed_torchscript(model_path, x, threads)
    figures = {"photo": os.path.basename(PHOTO), "reference": f"TF.js {version}, cpu backend",
               "seconds_reference_tfjs": round(ref_s, 3),
               "seconds_torchscript_first_call": round(first_s, 3),
               "ms_torchscript_warm": round(warm_s * 1e3, 1), "threads": threads}
    for name, a, b, spec in zip(names, ts, ref, m["outputs"]):
        if list(a.shape) != spec["shape"] or list(b.shape) != spec["shape"]:
            raise checks.CheckFailed(f"output {name}: TorchScript {list(a.shape)}, TF.js {list(b.shape)}, "
                                     f"sources.json says {spec['shape']}")
        figures[f"max_abs_diff_{name}"] = float(np.abs(a - b).max())
    started = time.perf_counter()
    found = decode(ts[0], ts[1], extras, image_w, image_h)
    figures["ms_decode"] = round((time.perf_counter() - started) * 1e3, 1)
    ref_found = decode(ref[0], ref[1], extras, image_w, image_h)
    figures["detections"] = len(found)
    figures["detections_tfjs"] = len(ref_found)
    figures["labels_found"] = sorted({d[0] for d in found})
    figures["found"] = [{"label": d[0], "score": round(d[1], 3), "box_xyxy": d[2]} for d in found]
    for name in names:
        bound = MAX_DIFF.get(name, 1e-3)
        if figures[f"max_abs_diff_{name}"] > bound:
            raise checks.CheckFailed(f"output {name} differs from TF.js by {figures[f'max_abs_diff_{name}']:.2e} "
                                     f"on {PHOTO} (bound {bound:g}): the conversion is wrong")
    missing = [" or ".join(want) for want in EXPECTED if not set(want) & set(figures["labels_found"])]
    if missing:
        raise checks.CheckFailed(f"no {', '.join(missing)} found in {PHOTO} (found {figures['labels_found']}): "
                                 "the model or its decode description is wrong")
    return figures


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    m = sources.model(sources.load(), "centernet")
    for photo in argv[1:]:
        x, w, h = model_input(photo, m)
        outs, _, warm = timed_torchscript(argv[0], x, int(os.environ.get("ARTISTRY_FETCH_THREADS", "1")))
        started = time.perf_counter()
        found = decode(outs[0], outs[1], m["extras"], w, h)
        print(f"{photo}: forward {warm * 1e3:.1f} ms (mean of {TIMED_RUNS} warm runs), "
              f"decode {(time.perf_counter() - started) * 1e3:.1f} ms")
        for label, score, box in found:
            print(f"  {label:<14} {score:.3f} {box}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
