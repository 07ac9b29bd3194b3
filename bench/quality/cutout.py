#!/usr/bin/python3
"""Cut-out edge quality: does a cut-out carry its old background onto a new one?

Each real subject is cut out of its photo once (ISNet); that matte α₀ and the photo's colours I
define the subject layer. The layer is composited over saturated backgrounds G (green, magenta,
blue, a foliage texture): C = α₀·I + (1 − α₀)·G. The library then cuts C out again (α₁, F₁),
and the error is measured between the cut-out over white, α₁·F₁ + (1 − α₁)·255, and the subject
over white, α₀·I + (1 − α₀)·255, in the edge band 0 < α₀ < 1: mean CIEDE2000, and the mean
absolute error in 8-bit codes. A cut-out that keeps C's colours at its edges carries G there.

Variants: raw colours (decontaminate=false), the library's estimate (blur fusion, the
default), and the reference: the same α₁ with the foreground colour estimated by the published
multi-level method (Germer et al. 2020, what PyMatting and rembg use), implemented here in
numpy since PyMatting is not packaged for Debian.

Usage: /usr/bin/python3 bench/quality/cutout.py [--python-path build/release/python]
           [--label after] [--out bench/results/quality-cutout.json] [--crops DIR]
Run twice with --python-path pointing at two builds (before and after a change) and the same
--out to compare them; each run adds or replaces its label's entries.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "images")
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"

SUBJECTS = {
    "squirrel": os.path.join(FIXTURES, "squirrel_cls.jpg"),
    "butterfly": os.path.join(FIXTURES, "butterfly.jpg"),
    "eagle": "/usr/share/darknet/data/eagle.jpg",  # Debian package darknet
    "dog": "/usr/share/darknet/data/dog.jpg",
}


def backgrounds(h, w):
    """Saturated backgrounds of h × w: three plain colours and green foliage."""
    out = {
        "green": np.broadcast_to(np.array([0, 200, 0], np.float64), (h, w, 3)),
        "magenta": np.broadcast_to(np.array([255, 0, 255], np.float64), (h, w, 3)),
        "blue": np.broadcast_to(np.array([30, 60, 255], np.float64), (h, w, 3)),
    }
    import cv2  # only for reading and resizing the texture

    grass = cv2.imread(os.path.join(SKIMAGE, "grass.png"), cv2.IMREAD_GRAYSCALE)
    grass = cv2.resize(grass, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float64) / 255
    out["foliage"] = np.stack([20 + 60 * grass, 60 + 190 * grass, 10 + 50 * grass], axis=2)
    return out


# ---- the reference: multi-level foreground estimation (Germer et al. 2020) ------------------


def _nearest(a, h, w):
    ys = np.minimum((np.arange(h) * a.shape[0]) // h, a.shape[0] - 1)
    xs = np.minimum((np.arange(w) * a.shape[1]) // w, a.shape[1] - 1)
    return a[ys][:, xs]


def estimate_foreground_ml(image, alpha, regularization=1e-5, small_iterations=10,
                           big_iterations=2, small_size=32, gradient_weight=1.0):
    """F from image (h × w × 3 in [0, 1]) and alpha (h × w in [0, 1]); red-black Gauss–Seidel
    sweeps of the published per-pixel 2 × 2 systems, coarse to fine."""
    h0, w0 = alpha.shape
    levels = int(np.ceil(np.log2(max(h0, w0))))
    F = np.broadcast_to(image.reshape(-1, 3).mean(0), (1, 1, 3)).copy()
    B = F.copy()
    for level in range(levels + 1):
        h = round(h0 ** (level / levels))
        w = round(w0 ** (level / levels))
        I = _nearest(image, h, w)
        a = _nearest(alpha, h, w)
        F = _nearest(F, h, w).copy()
        B = _nearest(B, h, w).copy()
        iterations = small_iterations if (w <= small_size and h <= small_size) else big_iterations
        parity = (np.arange(h)[:, None] + np.arange(w)[None, :]) % 2
        ap = np.pad(a, 1, mode="edge")
        neighbours = [(0, 1), (2, 1), (1, 0), (1, 2)]
        weights = [regularization + gradient_weight * np.abs(a - ap[dy:dy + h, dx:dx + w])
                   for dy, dx in neighbours]
        a0, a1 = a, 1 - a
        a00 = a0 * a0 + sum(weights)
        a11 = a1 * a1 + sum(weights)
        a01 = a0 * a1
        det = a00 * a11 - a01 * a01
        for _ in range(iterations):
            for colour in (0, 1):
                Fp = np.pad(F, ((1, 1), (1, 1), (0, 0)), mode="edge")
                Bp = np.pad(B, ((1, 1), (1, 1), (0, 0)), mode="edge")
                b0 = a0[..., None] * I
                b1 = a1[..., None] * I
                for wgt, (dy, dx) in zip(weights, neighbours):
                    b0 = b0 + wgt[..., None] * Fp[dy:dy + h, dx:dx + w]
                    b1 = b1 + wgt[..., None] * Bp[dy:dy + h, dx:dx + w]
                nf = np.clip((a11[..., None] * b0 - a01[..., None] * b1) / det[..., None], 0, 1)
                nb = np.clip((a00[..., None] * b1 - a01[..., None] * b0) / det[..., None], 0, 1)
                sel = (parity == colour)[..., None]
                F = np.where(sel, nf, F)
                B = np.where(sel, nb, B)
    return F


# ---- measuring ----------------------------------------------------------------------------


def over_white(alpha, colour):
    return alpha[..., None] * colour + (1 - alpha[..., None]) * 255.0


def edge_errors(result, truth, band):
    lab_r = rgb2lab(np.clip(result, 0, 255)[band][None] / 255.0)
    lab_t = rgb2lab(np.clip(truth, 0, 255)[band][None] / 255.0)
    return {
        "ciede2000": float(deltaE_ciede2000(lab_r, lab_t).mean()),
        "mae": float(np.abs(result[band] - truth[band]).mean()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python-path", default=os.path.join(ROOT, "build", "release", "python"))
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "quality-cutout.json"))
    ap.add_argument("--crops", default="", help="write before/after crops of each case here")
    ap.add_argument("--reference", action="store_true", help="also run the multi-level reference")
    ap.add_argument("--subjects", default=",".join(SUBJECTS), help="comma-separated subset")
    ap.add_argument("--truth-dir", default=os.path.join(ROOT, "build", "quality-truth"),
                    help="where the subjects' mattes are kept between runs")
    args = ap.parse_args()
    sys.path.insert(0, args.python_path)
    import artistry  # noqa: E402

    names = {p["name"] for p in artistry.effect("remove_background")["params"]}
    has_flag = "decontaminate" in names
    rows = []
    for subject, path in SUBJECTS.items():
        if subject not in args.subjects.split(","):
            continue
        if not os.path.exists(path):
            print(f"skip {subject}: {path} missing", file=sys.stderr)
            continue
        photo = artistry.load_image(path)[..., :3].astype(np.float64)
        a0 = subject_matte(artistry, args.truth_dir, subject, photo)
        band = (a0 > 0) & (a0 < 1)
        truth = over_white(a0, photo)
        for bg_name, bg in backgrounds(*a0.shape).items():
            comp = np.rint(a0[..., None] * photo + (1 - a0[..., None]) * bg).astype(np.uint8)
            variants = {"raw": {"decontaminate": False}} if has_flag else {"raw": {}}
            if has_flag:
                variants["estimated"] = {}
            for variant, extra in variants.items():
                t0 = time.perf_counter()
                cut = artistry.apply_effect("remove_background", comp,
                                            {"model": "isnet", **extra})
                seconds = time.perf_counter() - t0
                a1 = cut[..., 3].astype(np.float64) / 255.0
                result = over_white(a1, cut[..., :3].astype(np.float64))
                row = {"label": args.label, "subject": subject, "background": bg_name,
                       "variant": variant, "edge_pixels": int(band.sum()), "seconds": seconds,
                       **edge_errors(result, truth, band)}
                rows.append(row)
                print(json.dumps(row))
                if args.crops:
                    save_crop(args.crops, f"{args.label}-{subject}-{bg_name}-{variant}", result)
            if args.reference and variant == "estimated":
                f = estimate_foreground_ml(comp / 255.0, a1) * 255.0
                row = {"label": "reference", "subject": subject, "background": bg_name,
                       "variant": "multi-level", "edge_pixels": int(band.sum()),
                       **edge_errors(over_white(a1, f), truth, band)}
                rows.append(row)
                print(json.dumps(row))
    write(args.out, args.label, rows)


def subject_matte(artistry, folder, subject, photo):
    """α₀ in [0, 1]: the library's ISNet matte of the photo, made once and kept in `folder`,
    so that every build compared is measured against the same subject layer."""
    import cv2

    path = os.path.join(folder, subject + "_alpha.png")
    if not os.path.exists(path):
        a = artistry.apply_effect("remove_background", photo.astype(np.uint8),
                                  {"model": "isnet", "mode": "alpha"})
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(path, a.reshape(a.shape[0], a.shape[1]))
    return cv2.imread(path, cv2.IMREAD_GRAYSCALE).astype(np.float64) / 255.0


def save_crop(folder, name, image):
    import cv2

    os.makedirs(folder, exist_ok=True)
    bgr = np.clip(np.rint(image), 0, 255).astype(np.uint8)[..., ::-1]
    cv2.imwrite(os.path.join(folder, name + ".png"), bgr)


def write(path, label, rows):
    data = {"rows": []}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    labels = {label} | ({"reference"} if any(r["label"] == "reference" for r in rows) else set())
    data["rows"] = [r for r in data["rows"] if r["label"] not in labels] + rows
    data.setdefault("runs", {})[label] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "load": os.getloadavg()[0],
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


if __name__ == "__main__":
    main()
