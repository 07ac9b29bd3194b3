"""The Redis tier behind a loopback proxy that can delay, stall or refuse: runs finish within
their deadlines with the tier marked down, and the tier comes back by itself."""

import os
import socket
import threading
import time

import numpy as np
import pytest

import artistry

from servers import redis_server


class FaultyProxy:
    """TCP proxy on a random loopback port: mode "pass" forwards, "delay" holds each chunk for
    `delay` seconds, "stall" reads and never forwards, "refuse" closes every connection."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.mode = "pass"
        self.delay = 2.0
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), 2)
            except OSError:
                client.close()
                continue
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self.mode == "stall":
                    continue
                if self.mode == "delay":
                    time.sleep(self.delay)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def drop_connections(self):
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sockets = []

    def close(self):
        self.closed = True
        self.drop_connections()
        self.listener.close()


@pytest.fixture
def proxied_engine(monkeypatch, tmp_path):
    with redis_server() as url:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        proxy = FaultyProxy(port)
        monkeypatch.setenv("ARTISTRY_REDIS_URL", f"redis://127.0.0.1:{proxy.port}/0")
        monkeypatch.setenv("ARTISTRY_CACHE_TIERS", "redis")  # no tier above to hide a fault
        monkeypatch.setenv("ARTISTRY_CACHE_DIR", str(tmp_path))
        try:
            yield artistry.Engine(), proxy
        finally:
            proxy.close()


def photo(seed):
    return np.random.default_rng(seed).integers(0, 256, (96, 128, 3), dtype=np.uint8)


def timed_run(engine, seed):
    start = time.perf_counter()
    result = engine.run(["dither", "pop_art"], photo(seed))
    engine.cache_flush()  # the tier's writes too: they must not hang either
    return result, time.perf_counter() - start


@pytest.mark.parametrize("fault", ["stall", "delay", "refuse"])
def test_runs_finish_in_time_with_the_tier_down_and_it_recovers(proxied_engine, fault):
    engine, proxy = proxied_engine
    result, _ = timed_run(engine, 1)
    assert result.ok and engine.cache_stats()["redis"]["puts"] >= 2
    assert engine.cache_stats()["redis"]["up"]

    proxy.mode = fault
    proxy.drop_connections()  # pooled connections see the fault too
    for seed in (2, 3, 4):
        result, seconds = timed_run(engine, seed)
        assert result.ok, result.error
        assert seconds < 5.0, f"{fault}: a run took {seconds:.1f} s"
    stats = engine.cache_stats()["redis"]
    assert not stats["up"]
    assert stats["errors"] + stats["unavailable"] >= 1

    proxy.mode = "pass"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the tier retries with backoff and reconnects
        engine.cache_put("probe", b"back")
        engine.cache_flush()
        hit = engine.cache_get("probe")
        if hit is not None and hit[1] == "redis" and engine.cache_stats()["redis"]["up"]:
            break
        time.sleep(0.25)
    else:
        pytest.fail(f"the redis tier did not come back after {fault}")
    result, _ = timed_run(engine, 5)
    assert result.ok
    again, _ = timed_run(engine, 5)
    assert again.ok and all(n["status"] == "cached" for n in again.nodes)
