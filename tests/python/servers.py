"""Real servers for the tests: artistry services and redis-server as child processes on
loopback ports chosen at random, stopped when the test is done."""

import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx

DOG = "/usr/share/darknet/data/dog.jpg"  # Debian's darknet package


def artistry_cli():
    """The build's artistry CLI (ARTISTRY_BUILD_DIR, set by ctest); the test skips without it."""
    import pytest
    build = os.environ.get("ARTISTRY_BUILD_DIR")
    path = os.path.join(build, "artistry") if build else None
    if not path or not os.path.exists(path):
        pytest.skip("the artistry CLI of the build (ARTISTRY_BUILD_DIR) is needed")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not come up in {seconds} s")


class Service:
    """python3 -m artistry.service NAME on a random loopback port."""

    def __init__(self, name, env=None, port=None):
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, **(env or {}))
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "artistry.service", self.name, "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def live():
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.process.stderr.read().decode()}")
            try:
                return httpx.get(self.url + "/livez", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        wait_until(live, 60, self.name)
        return self

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def services(*specs):
    """Starts (name, env) services in order; yields them; stops them all."""
    started = []
    try:
        for name, env in specs:
            started.append(Service(name, env).start())
        yield started
    finally:
        for service in reversed(started):
            service.stop()


@contextlib.contextmanager
def redis_server():
    """A throwaway redis-server (no persistence) on a random port; yields its URL."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False
    try:
        wait_until(up, 10, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
