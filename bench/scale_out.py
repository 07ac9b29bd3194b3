"""Benchmarks of artistry.distributed on this machine (a LocalCluster of worker processes on
loopback, as a user on one machine would start it):
  - a batch of 12 MP photos through three effects (JPEG out, cache off): 1 worker of one
    thread, 2 workers of one thread each, and one process with a 2-thread engine running two
    images at once (no Dask) — parallel efficiency, and what Dask and the worker plumbing cost;
  - scheduler overhead per image task: a batch of tiny images, the wall time per task on the
    cluster less the time the engine spent on it;
  - the same batch again on fresh workers sharing a redis-server (every output from Redis).
Cluster start-up is timed apart from the batches.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/scale_out.py [--out FILE]
Refuses to measure while the machine's load average is 0.5 or more."""

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))

import artistry  # noqa: E402
import artistry.distributed as ad  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from servers import redis_server  # noqa: E402

GRAPH = ["enhanced_bw", "pop_art", ("dither", {"method": "bayer8"})]
PHOTOS = 8


def make_photos(folder):
    """8 distinct 4000×3000 photos: the test photos resized up (OpenCV-free: by repetition of
    rows and columns, then a shift so each differs)."""
    data = os.path.join(HERE, "..", "tests", "data")
    sources = sorted(f for f in os.listdir(data) if f.endswith(".jpg"))
    paths = []
    for i in range(PHOTOS):
        src = artistry.load_image(os.path.join(data, sources[i % len(sources)]))
        ys = (np.arange(3000) * src.shape[0] // 3000 + i) % src.shape[0]
        xs = (np.arange(4000) * src.shape[1] // 4000 + 7 * i) % src.shape[1]
        big = np.ascontiguousarray(src[ys][:, xs])
        path = os.path.join(folder, f"photo{i}.jpg")
        artistry.save_image(big, path)
        paths.append(path)
    return paths


def cluster(workers, redis_url=""):
    start = time.perf_counter()
    c = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                     memory_limit="6GiB", dashboard_address=None, silence_logs=40)
    client = Client(c)
    ad.setup(client, redis_url=redis_url, cache_tiers="memory,redis" if redis_url else "none")
    return c, client, time.perf_counter() - start


def timed_batch(client, inputs, graph, out, repeats):
    times = []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        results = ad.run_batch(client, inputs, graph, out, format="jpeg")
        times.append(time.perf_counter() - start)
    return times, results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "results", "scale_out.json"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load >= 0.5:
        sys.exit(f"load average {load:.2f}: measure on a quiet machine (under 0.5)")

    work = tempfile.mkdtemp(prefix="artistry-bench-dist-")
    try:
        photos = make_photos(work)
        out = os.path.join(work, "out")
        result = {"machine": platform.node(), "cpus": os.cpu_count(),
                  "date": time.strftime("%Y-%m-%d"), "load_before": load,
                  "photos": f"{PHOTOS} × 4000×3000 JPEG", "graph": str(GRAPH)}

        # one process, a 2-thread engine, two images at once (no Dask)
        ad.local_engine(threads=2, cache_tiers="none")
        single, _ = timed_batch(None, photos, GRAPH, out, args.repeats)

        runs = {}
        for workers in (1, 2):
            c, client, startup = cluster(workers)
            try:
                timed_batch(client, photos[:2], GRAPH, out, 1)  # warm the workers' engines
                times, results = timed_batch(client, photos, GRAPH, out, args.repeats)
                runs[workers] = {"startup_s": startup, "batch_s": times,
                                 "task_s_median": statistics.median(r["seconds"]
                                                                    for r in results)}
                if workers == 2:
                    tiny = [(f"t{i}", np.full((32, 32, 3), i % 256, np.uint8))
                            for i in range(400)]
                    ad.run_batch(client, tiny[:20], ["color"], out + "-tiny")
                    start = time.perf_counter()
                    tiny_results = ad.run_batch(client, tiny, ["color"], out + "-tiny")
                    wall = time.perf_counter() - start
                    in_task = statistics.mean(r["seconds"] for r in tiny_results)
                    runs["overhead_ms_per_task"] = (wall * 2 / len(tiny) - in_task) * 1e3
                    runs["tiny_task_ms"] = in_task * 1e3
            finally:
                client.close()
                c.close()

        with redis_server() as url:
            c, client, _ = cluster(2, url)
            try:
                cold, _ = timed_batch(client, photos, GRAPH, out, 1)
                client.restart()
                warm, warm_results = timed_batch(client, photos, GRAPH, out, 1)
                assert all(r["cached"] for r in warm_results)
            finally:
                client.close()
                c.close()

        med = {k: statistics.median(v["batch_s"]) for k, v in runs.items() if isinstance(k, int)}
        result.update({
            "single_process_2_threads_s": statistics.median(single),
            "one_worker_s": med[1], "two_workers_s": med[2],
            "startup_s": {str(k): runs[k]["startup_s"] for k in (1, 2)},
            "task_s_median": {str(k): runs[k]["task_s_median"] for k in (1, 2)},
            "speedup_two_vs_one_worker": med[1] / med[2],
            "parallel_efficiency": med[1] / med[2] / 2,
            "two_workers_vs_single_process": statistics.median(single) / med[2],
            "overhead_ms_per_task": runs["overhead_ms_per_task"],
            "tiny_task_ms": runs["tiny_task_ms"],
            "redis_cold_s": cold[0], "redis_warm_fresh_workers_s": warm[0],
            "redis_speedup": cold[0] / warm[0],
            "load_after": os.getloadavg()[0],
        })
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
