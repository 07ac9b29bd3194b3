"""A model of batch throughput against worker count and cache hit rate, for clusters larger
than this machine: a discrete-event simulation of N one-thread workers taking requests from a
trace, each either computed (a miss) or served from the shared Redis tier (a hit), with the
per-task costs measured on this machine by bench/scale_out.py.

The trace is bench/cache's (the same generator and parameters, here in Python): 100,000
requests over 10,000 keys with Zipf popularity (s = 0.9) and 10 % one-off scans, result sizes
log-normal around 2 MiB. Assumptions, stated:
  - a miss costs the measured median task time of one 12 MP photo on one thread, scaled by the
    result's size (the effects are linear in pixels); a hit costs the measured time of the same
    task served from Redis, scaled the same way;
  - every task pays the measured Dask overhead per task;
  - Redis is one server moving at most `--redis-gbps` GB/s (hits and writes together); the
    Dask scheduler dispatches at most `--scheduler-rate` tasks per second whatever N (1000:
    Dask's documented cost of about 1 ms of scheduler time per task, the pessimistic end);
  - the shared tier holds `--cache-fraction` of the key space's bytes, least recently used out;
    two workers computing the same key at once both miss (no request coalescing).

    /usr/bin/python3 bench/scale_model.py [--measured bench/results/scale_out.json]
        [--plot docs/img/scale_model.png] [--out bench/results/scale_model.json]"""

import argparse
import bisect
import heapq
import json
import math
import os
import random
import statistics
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
MIB = 1 << 20


def make_trace(seed=1, keys=10_000, requests=100_000, bursts=100, burst_length=100, s=0.9):
    """bench/cache's trace: Zipf over `keys` with scans of one-off keys spliced in."""
    rng = random.Random(seed)
    cdf, total = [], 0.0
    for r in range(keys):
        total += 1.0 / (r + 1) ** s
        cdf.append(total)
    ranks = list(range(keys))
    rng.shuffle(ranks)
    sizes = [min(48 * MIB, max(16 * 1024, rng.lognormvariate(math.log(2 * MIB), 1.0)))
             for _ in range(keys + bursts * burst_length)]
    zipf_requests = requests - bursts * burst_length
    ids = [ranks[min(bisect.bisect_left(cdf, rng.random() * total), keys - 1)]
           for _ in range(zipf_requests)]
    starts = sorted(rng.randrange(zipf_requests) for _ in range(bursts))
    trace, z, next_scan = [], 0, keys
    for start in starts:
        while z < start:
            trace.append(ids[z])
            z += 1
        trace.extend(range(next_scan, next_scan + burst_length))
        next_scan += burst_length
    trace.extend(ids[z:])
    key_space = sum(sizes[:keys])
    return trace, sizes, key_space


def simulate(trace, sizes, workers, costs, capacity, redis_bytes_per_s, scheduler_rate):
    """Throughput (requests/s) and hit rate of `workers` one-thread workers on the trace."""
    cache, held = OrderedDict(), 0
    free = [(0.0, w) for w in range(workers)]
    heapq.heapify(free)
    moved = 0.0  # bytes through the Redis server: hits read, results written
    scheduler_free = 0.0
    hits = 0
    finish = 0.0
    done = []  # (time, key, size): results become visible to others when stored
    for key in trace:
        t, w = heapq.heappop(free)
        t = scheduler_free = max(t, scheduler_free + 1.0 / scheduler_rate)
        while done and done[0][0] <= t:  # results stored by now
            _, k, size = heapq.heappop(done)
            if k not in cache:
                cache[k] = size
                held += size
                while held > capacity:
                    _, old = cache.popitem(last=False)
                    held -= old
        size = sizes[key]
        scale = size / costs["bytes_12mp"]
        if capacity > 0:  # no shared tier: nothing goes through Redis
            moved += size
        if key in cache:
            cache.move_to_end(key)
            hits += 1
            end = t + costs["overhead_s"] + costs["hit_s"] * scale
        else:
            end = t + costs["overhead_s"] + costs["miss_s"] * scale
            heapq.heappush(done, (end, key, size))  # stored when computed
        finish = max(finish, end)
        heapq.heappush(free, (end, w))
    # One Redis server moves at most redis_bytes_per_s: past that it is the bottleneck.
    finish = max(finish, moved / redis_bytes_per_s)
    return len(trace) / finish, hits / len(trace)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--measured", default=os.path.join(HERE, "results", "scale_out.json"))
    parser.add_argument("--out", default=os.path.join(HERE, "results", "scale_model.json"))
    parser.add_argument("--plot", default=os.path.join(HERE, "..", "docs", "img",
                                                       "scale_model.png"))
    parser.add_argument("--redis-gbps", type=float, default=1.0)
    parser.add_argument("--scheduler-rate", type=float, default=1000.0)
    parser.add_argument("--cache-fractions", default="0,0.05,0.2,1.0")
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    with open(args.measured) as f:
        m = json.load(f)
    photos = 8
    costs = {
        "miss_s": m["task_s_median"]["1"],                      # one 12 MP photo, one thread
        "hit_s": m["redis_warm_fresh_workers_s"] * 2 / photos,  # the same from Redis
        "overhead_s": max(0.0, m["overhead_ms_per_task"]) / 1e3,
        "bytes_12mp": 12e6 * 3,
    }
    trace, sizes, key_space = make_trace(requests=args.requests)
    scheduler_rate = args.scheduler_rate
    counts = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    fractions = [float(x) for x in args.cache_fractions.split(",")]
    table = {}
    for fraction in fractions:
        capacity = fraction * key_space
        rows = []
        for n in counts:
            rate, hit = simulate(trace, sizes, n, costs, capacity, args.redis_gbps * 1e9,
                                 scheduler_rate)
            rows.append({"workers": n, "requests_per_s": rate, "hit_rate": hit})
        table[str(fraction)] = rows
    result = {"costs": costs, "redis_gbps": args.redis_gbps,
              "scheduler_rate": args.scheduler_rate, "requests": len(trace),
              "key_space_gib": key_space / (1 << 30), "by_cache_fraction": table}
    print(json.dumps(result, indent=2))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
        for fraction, rows in table.items():
            hit = statistics.mean(r["hit_rate"] for r in rows)
            label = (f"Redis holds {float(fraction):.0%} of the keys' bytes (hits {hit:.0%})"
                     if float(fraction) > 0 else "no shared tier")
            ax.plot([r["workers"] for r in rows], [r["requests_per_s"] for r in rows],
                    marker="o", label=label)
        ideal = [costs_rate(costs) * n for n in counts]
        ax.plot(counts, ideal, ls=":", color="grey", label="no cache, perfect scaling")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("workers (one thread each)")
        ax.set_ylabel("requests per second")
        ax.set_title("Modelled batch throughput (bench/scale_model.py)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        os.makedirs(os.path.dirname(args.plot), exist_ok=True)
        fig.savefig(args.plot)


def costs_rate(costs):
    """Requests per second of one worker with no cache, at the trace's mean result size."""
    mean_scale = 2.0 * MIB * math.exp(0.5) / costs["bytes_12mp"]
    return 1.0 / (costs["overhead_s"] + costs["miss_s"] * mean_scale)


if __name__ == "__main__":
    main()
