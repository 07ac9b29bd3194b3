"""Benchmarks of the HTTP services, as a client runs them (whole processes, real HTTP on
loopback):
  - gateway overhead: /detect through the gateway against the same request sent to the detect
    service directly, interleaved, the same (cached) image so the engine's share is constant;
  - a detection request on a 640×480 photo through the gateway, every image new (no cache);
  - resident memory of the three services idle (models not loaded), with every model loaded
    (idle again after a detection, a segmentation and a cut-out), right after the runs and
    idle after them.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/services.py [--out FILE]
Refuses to measure while the machine's load average is 0.5 or more."""

import argparse
import json
import os
import platform
import statistics
import sys
import time

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))

import artistry  # noqa: E402
from servers import DOG, Service  # noqa: E402


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def timed(client, url, files, data=None):
    start = time.perf_counter()
    answer = client.post(url, files=files, data=data)
    elapsed = time.perf_counter() - start
    assert answer.status_code == 200, answer.text
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(HERE, "results", "services.json"))
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    if load >= 0.5:
        sys.exit(f"load average {load:.2f} >= 0.5: measure on a quiet machine")

    cache = os.path.join("/tmp", f"artistry-bench-{os.getpid()}")
    env = {"ARTISTRY_CACHE_DIR": cache}
    detect = Service("detect", env).start()
    segment = Service("segment", env).start()
    gateway = Service("gateway", dict(env, ARTISTRY_DETECT_URL=detect.url,
                                      ARTISTRY_SEGMENT_URL=segment.url)).start()
    procs = {"gateway": gateway, "detect": detect, "segment": segment}
    try:
        time.sleep(1.0)
        idle = {n: rss_mib(s.process.pid) for n, s in procs.items()}

        dog = artistry.decode_image(open(DOG, "rb").read())[48:528, 64:704].copy()
        same = artistry.encode_image(dog, "png")
        with httpx.Client(timeout=120) as client:
            # models loaded: a detection, a segmentation and a cut-out
            timed(client, gateway.url + "/detect", {"file": same})
            timed(client, gateway.url + "/segment", {"file": same}, {"points": "200,300"})
            timed(client, gateway.url + "/segment", {"file": same})
            time.sleep(3.5)  # idle: the services have given freed heap back
            loaded = {n: rss_mib(s.process.pid) for n, s in procs.items()}

            direct, through = [], []
            for _ in range(args.requests):  # interleaved: drift hits both alike
                direct.append(timed(client, detect.url + "/detect", {"file": same}))
                through.append(timed(client, gateway.url + "/detect", {"file": same}))

            fresh = []
            for i in range(min(args.requests, 100)):
                dog[0, 0, 0] = i % 256
                dog[0, 1, 0] = i // 256
                fresh.append(timed(client, gateway.url + "/detect",
                                   {"file": artistry.encode_image(dog, "png")}))
        busy = {n: rss_mib(s.process.pid) for n, s in procs.items()}
        cache_mib = {}
        for n, s in procs.items():
            for line in httpx.get(s.url + "/metrics").text.splitlines():
                if line.startswith('artistry_cache_bytes{tier="memory"}'):
                    cache_mib[n] = round(float(line.split()[-1]) / 2**20)
        time.sleep(3.5)
        after = {n: rss_mib(s.process.pid) for n, s in procs.items()}
    finally:
        for s in procs.values():
            s.stop()

    def ms(values):
        return round(statistics.median(values) * 1000, 2)

    result = {
        "machine": f"{platform.node()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_before": round(load, 2),
        "requests": args.requests,
        "detect_direct_p50_ms": ms(direct),
        "detect_gateway_p50_ms": ms(through),
        "gateway_overhead_p50_ms": round(ms(through) - ms(direct), 2),
        "detect_640x480_uncached_p50_ms": ms(fresh),
        "detect_640x480_uncached_p99_ms":
            round(sorted(fresh)[int(len(fresh) * 0.99) - 1] * 1000, 1),
        "rss_idle_mib": {k: round(v) for k, v in idle.items()},
        "rss_idle_total_mib": round(sum(idle.values())),
        "rss_models_loaded_mib": {k: round(v) for k, v in loaded.items()},
        "rss_models_loaded_total_mib": round(sum(loaded.values())),
        "rss_right_after_run_total_mib": round(sum(busy.values())),
        "rss_idle_after_run_mib": {k: round(v) for k, v in after.items()},
        "rss_idle_after_run_total_mib": round(sum(after.values())),
        "cache_memory_tier_mib": cache_mib,
    }
    print(json.dumps(result, indent=2))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
