"""Runs effects on a photo with `import artistry` and saves them.

usage: PYTHONPATH=build/release/python python3 examples/python/effects.py INPUT OUTDIR
"""
import sys

import artistry

image = artistry.load_image(sys.argv[1])  # H×W×C uint8 numpy array
engine = artistry.Engine()
result = engine.run(["enhanced_bw", "pop_art"], image,
                    params={"enhanced_bw": {"filter": "red"}},
                    progress=lambda e: print(f"progress {e['fraction']:.0%}") if not e["node"] else None)
for name, pixels in result.outputs.items():
    path = f"{sys.argv[2]}/py_{name}.png"
    artistry.save_image(pixels, path)
    print(f"{name}: {pixels.shape} -> {path}")
