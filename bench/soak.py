"""Soak: many runs at once with random cancellations, then many runs in a row with the
process's resident memory sampled; memory must stay flat.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/soak.py [--concurrent 200] [--sequential 10000]
Writes bench/results/soak.json."""

import argparse
import json
import os
import random
import sys
import time

import numpy as np

import artistry

GRAPHS = [
    ["dither"], ["pop_art", "retro_8bit"], ["enhanced_bw", "color"],
    json.dumps({"nodes": [{"id": "bw", "op": "enhanced_bw"},
                          {"id": "d", "op": "dither", "in": ["bw"], "params": {"levels": 2}}]}),
    json.dumps({"nodes": [{"id": "p", "op": "pop_art"}, {"id": "r", "op": "retro_8bit"},
                          {"id": "c", "op": "color", "params": {"preset": "vintage"}}]}),
]


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def concurrent(n, rng):
    """n runs submitted at once over 3 engines, a quarter cancelled at a random moment."""
    engines = [artistry.Engine(threads=2) for _ in range(3)]
    images = [rng.integers(0, 256, (rng.integers(200, 1400), rng.integers(200, 1400), 3),
                           dtype=np.uint8) for _ in range(16)]
    runs = []
    start = time.perf_counter()
    for i in range(n):
        engine = engines[i % 3]
        runs.append(engine.submit(GRAPHS[i % len(GRAPHS)], images[i % len(images)]))
    cancelled = 0
    for run in runs:
        if rng.random() < 0.25:
            time.sleep(float(rng.random()) * 0.002)
            run.cancel()
            cancelled += 1
    statuses = {}
    for run in runs:
        status = run.result().status
        statuses[status] = statuses.get(status, 0) + 1
    bad = {s: c for s, c in statuses.items() if s not in ("ok", "cancelled")}
    return {"runs": n, "engines": 3, "cancel_requests": cancelled, "statuses": statuses,
            "unexpected": bad, "seconds": round(time.perf_counter() - start, 2)}


def sequential(n, rng):
    """n runs one after the other on one engine (cache off: every run computes), RSS sampled
    every n/50 runs after a warm-up; the slope of a least-squares line through the samples."""
    engine = artistry.Engine(threads=2)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    samples = []
    start = time.perf_counter()
    for i in range(n):
        result = engine.run(GRAPHS[i % len(GRAPHS)], image)
        if not result.ok:
            raise SystemExit(f"run {i} failed: {result.error}")
        if i >= n // 10 and i % max(1, n // 50) == 0:
            samples.append((i, rss_mib()))
    xs = np.array([s[0] for s in samples], float)
    ys = np.array([s[1] for s in samples], float)
    slope = float(np.polyfit(xs, ys, 1)[0]) if len(samples) > 1 else 0.0
    return {"runs": n, "seconds": round(time.perf_counter() - start, 1),
            "rss_first_mib": round(ys[0], 1), "rss_last_mib": round(ys[-1], 1),
            "rss_max_mib": round(ys.max(), 1),
            "slope_kib_per_1000_runs": round(slope * 1024 * 1000, 1),
            "samples": [[int(x), round(y, 1)] for x, y in samples]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=10000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "soak.json"))
    args = parser.parse_args()
    os.environ["ARTISTRY_CACHE"] = "off"
    rng = np.random.default_rng(2026)
    random.seed(2026)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": f"{os.cpu_count()} cores",
              "concurrent": concurrent(args.concurrent, rng),
              "sequential": sequential(args.sequential, rng)}
    print(json.dumps({k: v if k != "sequential" else {a: b for a, b in v.items()
                                                      if a != "samples"}
                      for k, v in result.items()}, indent=2))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    return 0 if not result["concurrent"]["unexpected"] else 1


if __name__ == "__main__":
    sys.exit(main())
