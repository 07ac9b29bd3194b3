"""artistry.distributed on real components over loopback: a LocalCluster of worker processes
and a real redis-server. Batches give the bytes a single process gives, survive a killed
worker, are served from Redis on fresh workers, and a large image banded over the workers
equals the single-process streamed run."""

import filecmp
import glob
import os
import signal
import time

import numpy as np
import pytest

import artistry
import artistry.distributed as ad

from servers import redis_server as _redis_server

distributed = pytest.importorskip("distributed", reason="python3-distributed is not installed")

PHOTOS = os.path.join(os.path.dirname(__file__), "../data")
GRAPH = ["pop_art", "dither", "retro_8bit"]
NODES = 3


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """20 photos of about 0.5 MP: crops and flips of the test photos, as JPEG and PNG."""
    folder = tmp_path_factory.mktemp("photos")
    sources = sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")))
    assert len(sources) >= 5, f"test photos missing under {PHOTOS}"
    paths = []
    for i in range(20):
        image = artistry.load_image(sources[i % len(sources)])
        h, w = image.shape[:2]
        crop = image[(i * 37) % max(1, h - 600):][:600, (i * 53) % max(1, w - 800):][:, :800]
        crop = np.ascontiguousarray(crop[:, ::-1] if i % 3 == 1 else crop)
        crop[:16, :16] = 12 * i  # every photo distinct, the small ones included
        path = folder / f"photo{i:02d}.{'png' if i % 2 else 'jpg'}"
        artistry.save_image(np.ascontiguousarray(crop), str(path))
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def redis_url():
    with _redis_server() as url:
        yield url


def _cluster(**options):
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                    memory_limit="1.5GiB", dashboard_address=None,
                                    silence_logs=40, **options)


def _files(folder):
    return sorted(p for p in os.listdir(folder))


def test_a_batch_on_two_workers_equals_a_single_process_run(photos, redis_url, tmp_path):
    ad.local_engine(cache_tiers="none")
    single = ad.run_batch(None, photos, GRAPH, tmp_path / "single")
    with _cluster() as cluster, distributed.Client(cluster) as client:
        ad.setup(client, redis_url=redis_url, cache_tiers="memory,redis")
        results = ad.run_batch(client, photos, GRAPH, tmp_path / "dask")
    assert [r["input"] for r in results] == [r["input"] for r in single]
    assert len({r["worker"] for r in results}) == 2  # both workers took tasks
    for mine, theirs in zip(results, single):
        assert mine["outputs"].keys() == theirs["outputs"].keys() and len(mine["outputs"]) == NODES
        for node, path in mine["outputs"].items():
            assert filecmp.cmp(path, theirs["outputs"][node], shallow=False), path
    assert _files(tmp_path / "dask") == _files(tmp_path / "single")


def test_a_worker_killed_mid_batch_leaves_every_output_whole_and_none_twice(photos, tmp_path):
    out = tmp_path / "out"
    with _cluster() as cluster, distributed.Client(cluster) as client:
        ad.setup(client, cache_tiers="none")
        pids = client.run(os.getpid)
        batch = ad.submit_batch(client, photos, GRAPH, out)
        deadline = time.monotonic() + 60
        while not any(f.done() for f in batch.futures) and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = sorted(pids.items())[0]
        os.kill(victim[1], signal.SIGKILL)  # its running task dies with it
        results = batch.results()
        assert victim[0] not in client.run(os.getpid)  # the nanny started a new process
    assert len(results) == len(photos)
    expected = sorted(os.path.basename(p) for r in results for p in r["outputs"].values())
    assert _files(out) == expected  # every output, no temporary or duplicate file
    for name in expected:
        with open(out / name, "rb") as f:
            image = artistry.decode_image(f.read())
        assert image.shape[0] > 0


def test_a_second_batch_on_fresh_workers_is_served_from_redis(photos, tmp_path):
    with _redis_server() as redis_url, _cluster() as cluster, \
            distributed.Client(cluster) as client:
        ad.setup(client, redis_url=redis_url, cache_tiers="memory,redis")
        start = time.perf_counter()
        first = ad.run_batch(client, photos, GRAPH, tmp_path / "first")
        cold = time.perf_counter() - start
        assert not any(r["cached"] for r in first)
        client.restart()  # fresh worker processes: empty memory tiers, the same Redis
        start = time.perf_counter()
        second = ad.run_batch(client, photos, GRAPH, tmp_path / "second")
        warm = time.perf_counter() - start
        hits = client.run(lambda: ad.engine().cache_stats()["redis"]["hits"])
    assert all(r["cached"] for r in second)
    # each image: its manifest and its three outputs, every one a Redis hit
    assert sum(hits.values()) >= len(photos) * (1 + NODES)
    for a, b in zip(first, second):
        for node in a["outputs"]:
            assert filecmp.cmp(a["outputs"][node], b["outputs"][node], shallow=False)
    assert cold >= 3 * warm, f"cold {cold:.2f} s, from Redis {warm:.2f} s"


def _big_image(path, width, height):
    """A large photo-like PNG, written band by band (never whole in memory)."""
    tile = artistry.load_image(os.path.join(PHOTOS, "fruits.jpg"))
    th, tw = tile.shape[:2]
    with artistry.ImageWriter(str(path), width, height, 3) as writer:
        for y0 in range(0, height, 512):
            rows = np.empty((min(512, height - y0), width, 3), np.uint8)
            for r in range(rows.shape[0]):
                y = (y0 + r) % th
                line = tile[y]
                reps = -(-width // tw)
                rows[r] = np.tile(line, (reps, 1))[:width] if (y0 + r) // th % 2 == 0 else \
                    np.tile(line[::-1], (reps, 1))[:width]
            writer.write(rows)


def test_a_large_image_banded_over_the_workers_equals_the_single_process_run(tmp_path):
    source = tmp_path / "big.png"
    _big_image(source, 8000, 5000)  # 40 MP
    chain = [("color", {"preset": "vivid"}), ("retro_8bit", {}),
             ("dither", {"method": "bayer8"})]
    single = tmp_path / "single.png"
    artistry.Engine(threads=2, cache_tiers="none").run_tiled_file(chain, str(source), str(single))
    limit = 768 << 20
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  memory_limit=limit, dashboard_address=None,
                                  silence_logs=40) as cluster, \
            distributed.Client(cluster) as client:
        ad.setup(client, cache_tiers="none")
        report = ad.run_banded(client, str(source), chain, str(tmp_path / "banded.png"))
        import resource
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    assert report["banded"] and report["bands"] >= 8
    assert filecmp.cmp(single, tmp_path / "banded.png", shallow=False)
    for worker, peak in peaks.items():
        assert peak < limit, f"{worker} peaked at {peak >> 20} MiB"


def test_a_chain_that_needs_the_whole_image_runs_as_one_task(tmp_path):
    source = tmp_path / "img.png"
    _big_image(source, 1200, 900)
    single, banded = tmp_path / "single.png", tmp_path / "banded.png"
    artistry.Engine(threads=1, cache_tiers="none").run_tiled_file(["dither"], str(source),
                                                                   str(single))
    report = ad.run_banded(None, str(source), ["dither"], str(banded))
    assert not report["banded"] and "sequential" in report["reason"]
    assert filecmp.cmp(single, banded, shallow=False)


def test_bad_batches_fail_before_any_task_runs(photos, tmp_path):
    with pytest.raises(artistry.ArtistryError, match="no_such_effect"):
        ad.submit_batch(None, photos[:1], ["no_such_effect"], tmp_path)
    with pytest.raises(ValueError, match="share names"):
        ad.submit_batch(None, [photos[0], photos[0]], GRAPH, tmp_path)
    with pytest.raises(ValueError, match="format"):
        ad.submit_batch(None, photos[:1], GRAPH, tmp_path, format="gif")
    assert not os.path.exists(tmp_path / "photo00_pop_art.png")


def test_in_memory_arrays_and_cancellation(photos, tmp_path):
    arrays = [(f"a{i}", artistry.load_image(p)) for i, p in enumerate(photos[:4])]
    with _cluster() as cluster, distributed.Client(cluster) as client:
        ad.setup(client, cache_tiers="none")
        results = ad.run_batch(client, arrays, ["pop_art"], tmp_path / "arrays")
        assert [r["input"] for r in results] == ["a0", "a1", "a2", "a3"]
        big = [(f"b{i}", np.full((3000, 3000, 3), 20 * i, np.uint8)) for i in range(8)]
        batch = ad.submit_batch(client, big, ["dither", "pop_art", "retro_8bit"], tmp_path / "c")
        deadline = time.monotonic() + 30
        state = batch.progress()
        while not state["running"] and time.monotonic() < deadline:
            time.sleep(0.1)
            state = batch.progress()
        # the running tasks' engines report their progress; the rest wait
        assert state["total"] == 8 and state["done"] < 8 and state["running"], state
        assert all(0 <= f <= 1 for f in state["running"].values())
        batch.cancel()
        with pytest.raises(Exception):
            batch.results()
        time.sleep(1.0)
        written = os.listdir(tmp_path / "c") if os.path.exists(tmp_path / "c") else []
    assert len(written) < 3 * len(big)  # the batch stopped before its end
    for name in written:  # and what it wrote is whole
        with open(tmp_path / "c" / name, "rb") as f:
            assert artistry.decode_image(f.read()).shape == (3000, 3000, 3)
