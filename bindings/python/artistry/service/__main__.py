"""python3 -m artistry.service NAME [--host H] [--port P] [--preload]: one service.
python3 -m artistry.service all: gateway, detect and segment, each in its own process, on their
default ports (or --port as the gateway's, the others after it); Ctrl-C stops them all."""

import argparse
import os
import signal
import subprocess
import sys
import time

from .common import PORTS


def serve_all(args):
    names = ("detect", "segment", "gateway")
    base = args.port
    ports = {n: (base + {"gateway": 0, "detect": 1, "segment": 2}[n]) if base else PORTS[n]
             for n in names}
    env = dict(os.environ)
    env.setdefault("ARTISTRY_DETECT_URL", f"http://{args.host}:{ports['detect']}")
    env.setdefault("ARTISTRY_SEGMENT_URL", f"http://{args.host}:{ports['segment']}")
    children = []
    for name in names:
        command = [sys.executable, "-m", "artistry.service", name, "--host", args.host,
                   "--port", str(ports[name])] + (["--preload"] if args.preload else [])
        children.append(subprocess.Popen(command, env=env))
        print(f"artistry.service: {name} on http://{args.host}:{ports[name]}", flush=True)

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:  # a service that dies takes the others down: the stack is one unit
        for name, child in zip(names, children):
            if child.poll() is not None:
                print(f"artistry.service: {name} exited with {child.returncode}; stopping",
                      file=sys.stderr, flush=True)
                stop()
        time.sleep(0.5)


def main():
    parser = argparse.ArgumentParser(prog="python3 -m artistry.service",
                                     description="Run an artistry HTTP service.")
    parser.add_argument("name", choices=["gateway", "detect", "segment", "generate", "all"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0,
                        help="default: the service's own (gateway 8000, detect 8001, "
                             "segment 8002)")
    parser.add_argument("--preload", action="store_true",
                        help="load the service's models at start instead of on first use")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    if args.name == "all":
        return serve_all(args)

    # A service sees many distinct images: a smaller memory tier than a desktop process keeps
    # resident memory in line (the disk tier still holds more). The environment wins.
    os.environ.setdefault("CACHE_MEMORY_SIZE_MB", "256")

    import uvicorn

    from . import create_app
    app = create_app(args.name, preload=args.preload)
    uvicorn.run(app, host=args.host, port=args.port or PORTS[args.name],
                log_level=args.log_level, access_log=False)


if __name__ == "__main__":
    main()
