#!/usr/bin/python3
"""Before/after crops of cut-out edges, for docs/images/cutout-edges.jpg.

Usage: /usr/bin/python3 bench/quality/cutout_figure.py BEFORE_PYTHON_PATH AFTER_PYTHON_PATH OUT.jpg
Each build's Python module (build/<preset>/python) cuts out the same cases in its own process;
the figure puts them side by side, 2× enlarged: the squirrel photo composited over white (the
contact sheet's cut-out), and the eagle moved onto a green background and cut out again.
"""

import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SQUIRREL = os.path.join(ROOT, "..", "shared", "fixtures", "images", "squirrel_cls.jpg")
EAGLE = "/usr/share/darknet/data/eagle.jpg"
# (name, crop rows, crop columns)
CASES = [("squirrel", slice(100, 330), slice(120, 330)), ("eagle", slice(60, 300), slice(60, 300))]


def render(python_path, folder):
    """In a child process: the cases' cut-outs over white, saved as PNG in folder."""
    sys.path.insert(0, python_path)
    import artistry
    import cv2

    os.makedirs(folder, exist_ok=True)
    squirrel = artistry.load_image(SQUIRREL)[..., :3]
    out = artistry.apply_effect("remove_background", squirrel,
                                {"model": "isnet", "background": "#ffffff"})
    cv2.imwrite(os.path.join(folder, "squirrel.png"), out[..., ::-1])
    eagle = artistry.load_image(EAGLE)[..., :3].astype(np.float64)
    alpha = artistry.apply_effect("remove_background", eagle.astype(np.uint8),
                                  {"model": "isnet", "mode": "alpha"})
    a = alpha.reshape(alpha.shape[:2]).astype(np.float64)[..., None] / 255
    green = np.array([0.0, 200.0, 0.0])
    moved = np.rint(a * eagle + (1 - a) * green).astype(np.uint8)
    out = artistry.apply_effect("remove_background", moved,
                                {"model": "isnet", "background": "#ffffff"})
    cv2.imwrite(os.path.join(folder, "eagle.png"), out[..., ::-1])


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--render":
        render(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    import cv2

    before, after, out = sys.argv[1:]
    folders = []
    for label, path in (("before", before), ("after", after)):
        folder = os.path.join(ROOT, "build", "cutout-figure", label)
        subprocess.run([sys.executable, __file__, "--render", path, folder], check=True)
        folders.append(folder)
    rows = []
    for name, ys, xs in CASES:
        crops = [cv2.imread(os.path.join(f, name + ".png"))[ys, xs] for f in folders]
        crops = [cv2.resize(c, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC) for c in crops]
        gap = np.full((crops[0].shape[0], 12, 3), 255, np.uint8)
        rows.append(np.hstack([crops[0], gap, crops[1]]))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 12), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    cv2.imwrite(out, np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(out)


if __name__ == "__main__":
    main()
