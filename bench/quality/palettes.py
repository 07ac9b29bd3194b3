#!/usr/bin/python3
"""Adaptive palettes against pngquant (libimagequant): accuracy and whole-process time.

Each photo (PNG, since pngquant reads only PNG) is reduced to N colours with Floyd–Steinberg
dithering by `pngquant --speed 3 --floyd=1 N` and by the artistry CLI
(`artistry run PHOTO -e dither -p dither.palette=adaptive -p dither.colors_count=N
-p dither.adaptive_method=M`) for each adaptive method M, PNG in and PNG out, whole processes as
a user runs them. The tools alternate within one run, REPS times each; wall time is the median.

Accuracy: the mean CIEDE2000 between the result and the photo after blurring both with a
Gaussian of σ = 1.5 px, which stands for looking at the dots from a distance. The blur is in
linear light: that is where the dots of a dither mix (a screen or the eye averages their light,
not their sRGB codes), and both dithers compared aim at the photo's light (artistry diffuses in
linear light; pngquant in its own gamma-adjusted space). Blurring sRGB codes instead moves the
figures by a few hundredths (measured on these photos) and changes no ranking.

Each case (a photo and a colour count) starts only once the machine is quiet (1-minute load
average below 0.5; the script waits, and records the load at the start of each case and before
and after the whole run in the JSON). Errors are computed after all timing, so they do not load
the machine while it is timed.

Usage: /usr/bin/python3 bench/quality/palettes.py [--build build/release] [--reps 3]
           [--colors 4,16,64,256] [--out bench/results/quality-palettes.json]
           [--plot docs/images/palettes-error.png] [--crop docs/images/palettes-crop.png]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage.color import deltaE_ciede2000, rgb2lab

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "images")
PHOTOS = ["colorfulcups_2560.jpg", "fallenleaf_2560.jpg", "bythewater_1920.jpg"]
BIG = ("bythewater_4096x2304", "bythewater_1920.jpg", 4096, 2304)  # 9.4 MP, made by vips resize
METHODS = ["hull_kmeans", "median_cut", "kmeans"]
QUIET_LOAD = 0.5


def load_average():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_until_quiet(limit):
    """Sleeps until the 1-minute load average is below `limit`; returns it."""
    waited = 0
    while (load := load_average()) >= limit:
        if waited % 60 == 0:
            print(f"waiting for a quiet machine: load {load:.2f}", file=sys.stderr, flush=True)
        time.sleep(5)
        waited += 5
    return load


def make_inputs(work):
    """The photos as PNG under work/, and the 9.4 MP one resized with vips. Name → path."""
    os.makedirs(work, exist_ok=True)
    out = {}
    for name in PHOTOS:
        src = os.path.join(FIXTURES, name)
        if not os.path.exists(src):
            sys.exit(f"missing fixture {src}")
        png = os.path.join(work, os.path.splitext(name)[0] + ".png")
        if not os.path.exists(png):
            subprocess.run(["vips", "copy", src, png], check=True)
        out[os.path.splitext(name)[0]] = png
    label, name, w, h = BIG
    png = os.path.join(work, label + ".png")
    if not os.path.exists(png):
        src = os.path.join(FIXTURES, name)
        head = subprocess.run(["vipsheader", "-f", "width", src], capture_output=True, text=True)
        sw = int(head.stdout)
        sh = int(subprocess.run(["vipsheader", "-f", "height", src], capture_output=True,
                                text=True).stdout)
        subprocess.run(["vips", "resize", src, png, str(w / sw), "--vscale", str(h / sh)],
                       check=True)
    out[label] = png
    return out


def commands(cli, photo, n, outdir):
    """Tool name → (command, output file) for one photo and colour count."""
    stem = os.path.splitext(os.path.basename(photo))[0]
    os.makedirs(outdir, exist_ok=True)
    cmds = {}
    pq_out = os.path.join(outdir, f"{stem}_pngquant_{n}.png")
    cmds["pngquant"] = (["pngquant", "--speed", "3", "--floyd=1", str(n), "-o", pq_out,
                         "--force", photo], pq_out)
    for m in METHODS:
        d = os.path.join(outdir, f"{m}_{n}")
        cmds[f"artistry {m}"] = ([cli, "run", photo, "-e", "dither",
                                  "-p", "dither.palette=adaptive",
                                  "-p", f"dither.colors_count={n}",
                                  "-p", f"dither.adaptive_method={m}",
                                  "--no-cache", "--quiet", "-o", d],
                                 os.path.join(d, f"{stem}_dither.png"))
    return cmds


def timed(cmd):
    """Wall seconds of one whole process, and its peak RSS in MiB (GNU time)."""
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return wall, int(r.stderr.strip().splitlines()[-1]) / 1024


def load_rgb(path, artistry):
    img = artistry.load_image(path)
    return np.ascontiguousarray(img[..., :3])


def to_linear(u8):
    v = u8.astype(np.float32) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def blurred_lab(u8):
    """CIELAB of the image blurred with σ = 1.5 px in linear light (edges: nearest)."""
    lin = to_linear(u8)
    b = np.stack([gaussian_filter(lin[..., c], 1.5, mode="nearest") for c in range(3)], -1)
    b = np.clip(b, 0, 1)
    srgb = np.where(b <= 0.0031308, b * 12.92, 1.055 * b ** (1 / 2.4) - 0.055)
    return rgb2lab(srgb)


def measure(args, cli, inputs, work):
    """The timed runs: results[photo][n][tool] = {runs, rss}; and the outputs' paths."""
    results, outputs = {}, {}
    load_before = wait_until_quiet(args.quiet_load)
    for label, photo in inputs.items():
        results[label], outputs[label] = {}, {}
        for n in args.colors:
            # Quiet again before each case: a build started meanwhile would skew it.
            load = wait_until_quiet(args.quiet_load)
            cmds = commands(cli, photo, n, os.path.join(work, "out", label))
            runs = {t: [] for t in cmds}
            rss = {t: [] for t in cmds}
            for _ in range(args.reps):
                for tool, (cmd, _) in cmds.items():
                    w, m = timed(cmd)
                    runs[tool].append(w)
                    rss[tool].append(m)
            results[label][n] = {t: {"wall_runs_s": [round(x, 3) for x in runs[t]],
                                     "wall_s": round(statistics.median(runs[t]), 3),
                                     "peak_rss_mib": round(statistics.median(rss[t]), 1),
                                     "load_before": load}
                                 for t in cmds}
            outputs[label][n] = {t: out for t, (_, out) in cmds.items()}
            print(label, n, {t: results[label][n][t]["wall_s"] for t in cmds}, flush=True)
    return results, outputs, load_before, load_average()


def add_errors(results, outputs, inputs, artistry):
    for label, photo in inputs.items():
        ref = blurred_lab(load_rgb(photo, artistry))
        for n, tools in outputs[label].items():
            for tool, path in tools.items():
                e = float(deltaE_ciede2000(ref, blurred_lab(load_rgb(path, artistry))).mean())
                results[label][n][tool]["ciede2000"] = round(e, 4)
            pq = results[label][n]["pngquant"]
            for tool, r in results[label][n].items():
                r["wall_vs_pngquant"] = round(r["wall_s"] / pq["wall_s"], 3)
                r["error_vs_pngquant"] = round(r["ciede2000"] / pq["ciede2000"], 3)
            print(label, n, {t: r["ciede2000"] for t, r in results[label][n].items()}, flush=True)


def plot(results, colors, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    labels = list(results)
    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.6), sharey=False)
    for ax, label in zip(axes, labels):
        for tool in results[label][colors[0]]:
            ys = [results[label][n][tool]["ciede2000"] for n in colors]
            ax.plot(colors, ys, marker="o", label=tool)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(colors)
        ax.set_xticklabels([str(n) for n in colors])
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("colours")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("mean CIEDE2000, blurred σ=1.5 px")
    axes[-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def crop_figure(outputs, inputs, artistry, path, label="colorfulcups_2560", n=16):
    """Photo, pngquant and artistry (hull_kmeans) at n colours: the same crop, 2× enlarged."""
    rows, cols = slice(560, 760), slice(1180, 1480)
    parts = [load_rgb(inputs[label], artistry)[rows, cols],
             load_rgb(outputs[label][n]["pngquant"], artistry)[rows, cols],
             load_rgb(outputs[label][n]["artistry hull_kmeans"], artistry)[rows, cols]]
    gap = np.full((parts[0].shape[0], 6, 3), 255, np.uint8)
    strip = np.concatenate([parts[0], gap, parts[1], gap, parts[2]], 1)
    strip = np.repeat(np.repeat(strip, 2, 0), 2, 1)
    artistry.save_image(np.ascontiguousarray(strip), path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--colors", default="4,16,64,256")
    ap.add_argument("--quiet-load", type=float, default=QUIET_LOAD,
                    help="start timing once the 1-minute load average is below this")
    ap.add_argument("--work", default="/tmp/artistry-palettes")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "quality-palettes.json"))
    ap.add_argument("--plot", default=os.path.join(ROOT, "docs", "images", "palettes-error.png"))
    ap.add_argument("--crop", default=os.path.join(ROOT, "docs", "images", "palettes-crop.png"))
    args = ap.parse_args()
    args.colors = [int(c) for c in args.colors.split(",")]
    if args.reps < 1 or any(not 2 <= n <= 256 for n in args.colors):
        sys.exit("--reps must be at least 1 and --colors each in [2, 256]")
    cli = os.path.join(args.build, "artistry")
    if not os.access(cli, os.X_OK):
        sys.exit(f"no artistry CLI at {cli} (build it, or pass --build)")
    sys.path.insert(0, os.path.join(args.build, "python"))
    import artistry  # noqa: E402

    inputs = make_inputs(args.work)
    results, outputs, load_before, load_after = measure(args, cli, inputs, args.work)
    add_errors(results, outputs, inputs, artistry)
    pq_version = subprocess.run(["pngquant", "--version"], capture_output=True,
                                text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    doc = {
        "what": __doc__.splitlines()[0],
        "machine": f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "command": " ".join(["/usr/bin/python3", "bench/quality/palettes.py"] + sys.argv[1:]),
        "artistry_commit": commit,
        "pngquant": pq_version,
        "metric": "mean CIEDE2000 (skimage) after a Gaussian blur of sigma 1.5 px in linear "
                  "light of both the result and the photo",
        "reps": args.reps,
        "load_before": load_before,
        "load_after": load_after,
        "inputs": {k: os.path.basename(v) for k, v in inputs.items()},
        "results": {label: {str(n): r for n, r in per.items()} for label, per in results.items()},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    plot(results, args.colors, args.plot)
    if 16 in args.colors and "colorfulcups_2560" in outputs:
        crop_figure(outputs, inputs, artistry, args.crop)
    print(f"wrote {args.out}, {args.plot}, {args.crop}")


if __name__ == "__main__":
    main()
