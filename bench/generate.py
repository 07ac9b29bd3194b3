"""Benchmarks of the generate operation on the tiny TorchScript pipeline the tests build
(tests/tools/make_tiny_diffusion.py; no real diffusion weights can be installed here):
  - pipeline overhead: a 20-step 512 × 512 text-to-image run with guidance, the share of the
    node's time spent outside the components (tokenizer, sampler arithmetic, guidance mixing,
    tensor copies, u8 conversion), median of 5;
  - a 4096 × 4096 output decoded under a 256 MiB working-memory budget (memory_mb) against the
    same decoded whole: the process's peak RSS above what it held before the run, each in a
    fresh process.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/generate.py [--out FILE]
Refuses to measure while the machine's load average is 0.5 or more."""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

OVERHEAD = r"""
import json, sys, numpy as np, artistry
e = artistry.Engine(threads=2, cache_tiers="none")
spec = lambda seed: json.dumps({"nodes": [{"id": "g", "op": "generate", "params": {
    "prompt": "a painting of a red cat in the snow", "steps": 20, "seed": seed,
    "width": 512, "height": 512, "guidance": 7.5}}]})
canvas = np.zeros((8, 8, 3), np.uint8)
e.run(spec(0), canvas)  # models loaded
out = []
for seed in range(1, 6):
    r = e.run(spec(seed), canvas)
    assert r.ok, r.error
    d = r.data["g"]
    out.append({"seconds": d["seconds"], "component_seconds": d["component_seconds"],
                "run_wall": r.wall_seconds})
print(json.dumps(out))
"""

BIG = r"""
import json, resource, sys, numpy as np, artistry
budget = int(sys.argv[1])
e = artistry.Engine(threads=2, cache_tiers="none")
canvas = np.zeros((8, 8, 3), np.uint8)
small = json.dumps({"nodes": [{"id": "g", "op": "generate", "params": {
    "prompt": "a cat", "steps": 1, "guidance": 1, "width": 64, "height": 64}}]})
assert e.run(small, canvas).ok  # models and libraries loaded
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
spec = json.dumps({"nodes": [{"id": "g", "op": "generate", "params": {
    "prompt": "a cat", "steps": 1, "guidance": 1, "width": 4096, "height": 4096,
    "memory_mb": budget}}]})
r = e.run(spec, canvas)
assert r.ok, r.error
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"before": before, "peak": peak, "data": r.data["g"],
                  "output_bytes": int(r.outputs["g"].nbytes)}))
"""


def run(script, env, *args):
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "results", "generate.json"))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load >= 0.5:
        sys.exit(f"load average {load:.2f}: measure on a quiet machine (under 0.5)")
    models = tempfile.mkdtemp(prefix="artistry-tiny-sd-")
    subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "tools",
                                                 "make_tiny_diffusion.py"), models], check=True)
    env = dict(os.environ, ARTISTRY_MODELS_DIR=models)
    runs = run(OVERHEAD, env)
    overhead = [1 - r["component_seconds"] / r["seconds"] for r in runs]
    tiled = run(BIG, env, 256)
    whole = run(BIG, env, 0)
    mib = 1 << 20
    result = {
        "machine": platform.node(), "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
        "load_before": load,
        "overhead_share_median": statistics.median(overhead),
        "node_seconds_median": statistics.median(r["seconds"] for r in runs),
        "component_seconds_median": statistics.median(r["component_seconds"] for r in runs),
        "run_wall_median": statistics.median(r["run_wall"] for r in runs),
        "tiled_4096": {"budget_mib": 256, "peak_above_before_mib":
                       (tiled["peak"] - tiled["before"]) / mib, "vae_tiles":
                       tiled["data"]["vae_tiles"], "output_mib": tiled["output_bytes"] / mib,
                       "seconds": tiled["data"]["seconds"]},
        "whole_4096": {"peak_above_before_mib": (whole["peak"] - whole["before"]) / mib,
                       "vae_tiles": whole["data"]["vae_tiles"],
                       "seconds": whole["data"]["seconds"]},
        "load_after": os.getloadavg()[0],
    }
    print(json.dumps(result, indent=2))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
