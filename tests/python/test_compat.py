"""artistry.compat, called the way the old backend's callers call it."""

import asyncio
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import artistry
from artistry.compat import (CacheMetrics, EnhancedProgressManager, OptimizedCloudStorageManager,
                             OptimizedIntegratedProcessor, enable_legacy_imports, legacy_path,
                             legacy_metrics_text)

from servers import DOG, redis_server

OLD_EFFECTS = ["enhancedblackwhite", "popart", "retro8bit", "dithering", "color"]
HERE = os.path.dirname(os.path.abspath(__file__))


def photo(h=64, w=96):
    return np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_an_old_caller_runs_unchanged_against_the_installed_package():
    """cmake --install into a fresh prefix, then old_caller.py with only that prefix and the
    compat folder on PYTHONPATH: every probe of the old API passes."""
    build = os.environ.get("ARTISTRY_BUILD_DIR")
    if not build:
        pytest.skip("ARTISTRY_BUILD_DIR is not set (ctest sets it)")
    with tempfile.TemporaryDirectory() as prefix:
        subprocess.run(["cmake", "--install", build, "--prefix", prefix], check=True,
                       stdout=subprocess.DEVNULL)
        site = [os.path.join(root) for root, dirs, _ in os.walk(prefix) if "artistry" in dirs
                and os.path.exists(os.path.join(root, "artistry", "compat", "legacy"))]
        assert len(site) == 1, site
        env = dict(os.environ, PYTHONPATH=site[0])
        legacy = subprocess.run([sys.executable, "-m", "artistry.compat", "--path"], env=env,
                                check=True, capture_output=True, text=True).stdout.strip()
        assert legacy.startswith(prefix)
        env["PYTHONPATH"] = site[0] + os.pathsep + legacy
        env["ARTISTRY_CACHE_DIR"] = os.path.join(prefix, "cache")
        run = subprocess.run([sys.executable, os.path.join(HERE, "old_caller.py"), DOG],
                             env=env, capture_output=True, text=True, timeout=300)
        print(run.stdout, run.stderr)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "18 of 18 probes passed" in run.stdout


def test_old_module_paths_are_off_the_import_path_until_asked_for():
    check = "import importlib.util, sys; print(importlib.util.find_spec('optimized_storage'))"
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", "import artistry.compat; " + check], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "None"
    out = subprocess.run([sys.executable, "-c", "import artistry.compat as c; "
                          "c.enable_legacy_imports(); " + check], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert legacy_path() in out
    assert enable_legacy_imports() == legacy_path()


def test_process_effects_batch_async_returns_arrays_by_old_name():
    image = photo()
    results = asyncio.run(
        OptimizedIntegratedProcessor().process_effects_batch_async(image, OLD_EFFECTS, batch_size=2))
    assert list(results) == OLD_EFFECTS
    for name, out in results.items():
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8, name
        assert out.shape[:2] == image.shape[:2], name
    assert not np.array_equal(results["popart"], image)


def test_unknown_effects_are_named():
    with pytest.raises(artistry.NotFoundError, match="unknown effect 'sepiaa'"):
        OptimizedIntegratedProcessor().apply_effect(photo(), "sepiaa")


def test_large_images_go_through_the_tiled_processor_without_seams():
    processor = OptimizedIntegratedProcessor()
    image = np.ascontiguousarray(np.tile(photo(), (70, 45, 1))[:4100, :4100])  # > 4096²
    tiled = processor.process_large_image_optimized(image, "retro8bit")
    whole = processor.apply_effect(image, "retro8bit")
    assert np.array_equal(tiled, whole)


def test_gpu_figures_come_from_the_memory_manager():
    processor = OptimizedIntegratedProcessor()
    engine = processor.engine
    with engine.reserve(engine.memory_stats()["budget"] // 4, timeout=1):
        usage = processor.get_gpu_memory_usage()
    assert 0.24 < usage < 0.5  # the reservation shows
    assert processor.get_gpu_memory_usage() < usage


def test_environment_variables_keep_their_old_meaning(monkeypatch):
    monkeypatch.setenv("PARALLEL_BATCH_SIZE", "3")
    monkeypatch.setenv("GPU_MEMORY_THRESHOLD", "0.75")
    processor = OptimizedIntegratedProcessor()
    assert processor.batch_size == 3 and processor.memory_cleanup_threshold == 0.75
    monkeypatch.setenv("GPU_MEMORY_THRESHOLD", "lots")
    with pytest.raises(ValueError, match="GPU_MEMORY_THRESHOLD"):
        OptimizedIntegratedProcessor()
    monkeypatch.delenv("GPU_MEMORY_THRESHOLD")
    monkeypatch.setenv("ENABLE_PARALLEL_PROCESSING", "maybe")
    with pytest.raises(ValueError, match="ENABLE_PARALLEL_PROCESSING"):
        OptimizedIntegratedProcessor()


def test_cache_tiers_follow_the_old_rules():
    clock = [1000.0]
    metrics = CacheMetrics(clock=lambda: clock[0])
    storage = OptimizedCloudStorageManager()
    storage.cache_metrics = metrics
    assert storage.determine_cache_tier("k") == "cold"  # never seen
    metrics.record_miss("k")
    assert storage.determine_cache_tier("k") == "hot"  # within the last hour
    clock[0] += 2 * 3600
    assert storage.determine_cache_tier("k") == "warm"  # within the last day
    clock[0] += 2 * 86400
    assert storage.determine_cache_tier("k") == "cold"
    metrics.record_hit("k", "cloud")
    clock[0] += 2 * 86400
    assert storage.determine_cache_tier("k") == "warm"  # 2 accesses
    metrics.record_hit("k", "memory")
    clock[0] += 2 * 86400
    assert storage.determine_cache_tier("k") == "hot"  # 3 accesses
    assert metrics.get_metrics("k")["access_count"] == 3


def test_the_cloud_is_the_engines_shared_redis_tier(monkeypatch, tmp_path):
    """Bytes stored by one process's storage manager are read by another's through Redis (a
    real redis-server), not through disk or memory."""
    with redis_server() as url:
        monkeypatch.setenv("ARTISTRY_REDIS_URL", url)
        monkeypatch.setenv("ARTISTRY_CACHE_DIR", str(tmp_path / "a"))
        writer = OptimizedCloudStorageManager(artistry.Engine())
        asyncio.run(writer.upload_to_cloud("frame:1", b"\x89PNG result"))
        writer.engine.cache_flush()
        script = ("import asyncio, artistry; from artistry.compat import *; "
                  "s = OptimizedCloudStorageManager(artistry.Engine()); "
                  "print(asyncio.run(s.get_with_intelligent_cache('frame:1')), "
                  "s.engine.cache_stats()['redis']['hits'], 'frame:1' in s.memory_cache)")
        env = dict(os.environ, ARTISTRY_CACHE_DIR=str(tmp_path / "b"))
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        assert out == ["b'\\x89PNG", "result'", "1", "True"]


def test_progress_sends_the_old_payload_and_follows_a_run():
    async def main():
        manager = EnhancedProgressManager()
        sent = []

        async def send_update(session_id, data):
            sent.append(data)
        manager.send_update = send_update
        engine = artistry.Engine()
        await engine.run_async(["dither", "pop_art"], photo(256, 256),
                               progress=manager.progress_callback("run-1"))
        await asyncio.sleep(0.1)  # the callbacks' coroutines were scheduled on this loop
        return sent

    sent = asyncio.run(main())
    assert sent[0] == {"progress": sent[0]["progress"]}
    assert sent[-1]["progress"] == 100 and sent[-1]["eta_seconds"] == 0
    assert all(isinstance(u["eta_seconds"], int) for u in sent[1:])
    assert all(u["processing_rate"].endswith("%/s") for u in sent[1:])


def test_legacy_metrics_have_the_old_names():
    engine = artistry.Engine()
    fresh = np.random.default_rng().integers(0, 256, (32, 32, 3), dtype=np.uint8)  # not cached
    engine.run(["dither"], fresh)
    text = legacy_metrics_text(engine)
    for name in ("gpu_memory_used_bytes", "gpu_memory_total_bytes",
                 "processing_duration_seconds_bucket", "cache_hits_total", "cache_misses_total",
                 "parallel_time_saved_seconds", "total_processing_seconds"):
        assert f"\n{name}" in "\n" + text, name
    assert 'processing_duration_seconds_count{op="dither"} 1' in text
