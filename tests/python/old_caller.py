"""A caller of the old backend, written the way its code used it (the old import paths, the
old names, attributes and awaits), run unchanged against the installed artistry package with
the compat folder on PYTHONPATH. Prints one line per probe and exits non-zero if any failed.

    PYTHONPATH=<site-packages>:$(python3 -m artistry.compat --path) python3 old_caller.py IMG
"""

import asyncio
import os
import sys
import time
import traceback

import numpy as np

from optimized_integrated_processor import OptimizedIntegratedProcessor
from optimized_storage import OptimizedCloudStorageManager, CacheMetrics
from integrated_processor import IntegratedProcessor
from storage import CloudStorageManager
from main_optimized import create_optimized_app
from optimized_integrated_processor import EnhancedProgressManager

results = []


def probe(name):
    def wrap(fn):
        try:
            value = fn()
            if asyncio.iscoroutine(value):
                value = asyncio.run(value)
            ok = value is not False
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            ok = False
        results.append(ok)
        print(("ok   " if ok else "FAIL ") + name, flush=True)
        return fn
    return wrap


def load(path):
    import artistry
    return artistry.load_image(path)


image = load(sys.argv[1])
small = np.ascontiguousarray(image[::4, ::4])
EFFECTS = ["enhancedblackwhite", "popart", "retro8bit", "dithering", "color"]
processor = OptimizedIntegratedProcessor()


@probe("processor attributes have the old defaults")
def _():
    return (processor.enable_memory_optimization is True
            and processor.memory_cleanup_threshold == 0.8 and processor.batch_size == 2)


@probe("process_effects_batch_async returns {name: ndarray} for the five old effects")
async def _():
    out = await processor.process_effects_batch_async(small, EFFECTS, batch_size=2)
    return (list(out) == EFFECTS and all(isinstance(v, np.ndarray) for v in out.values())
            and all(v.shape[:2] == small.shape[:2] for v in out.values()))


@probe("process_effect_async returns one array")
async def _():
    out = await processor.process_effect_async(small, "popart")
    return isinstance(out, np.ndarray) and not np.array_equal(out[..., :3], small)


@probe("remove_background_async returns RGBA with a transparent background")
async def _():
    out = await processor.remove_background_async(small)
    return out.shape[2] == 4 and out[..., 3].min() == 0 and out[..., 3].max() == 255


@probe("await process_with_memory_management runs the effects on the cut-out")
async def _():
    out = await processor.process_with_memory_management(small, ["dithering", "popart"])
    cutout = await processor.remove_background_async(small)
    plain = processor.apply_effect(small, "popart")
    return (set(out) == {"dithering", "popart"} and out["dithering"].shape[2] == 4
            and np.array_equal(out["dithering"][..., 3], cutout[..., 3])
            and not np.array_equal(out["popart"], plain))


@probe("apply_effect is synchronous")
def _():
    return isinstance(processor.apply_effect(small, "retro8bit"), np.ndarray)


@probe("process_large_image_optimized is seam-free (equals the whole-image run)")
def _():
    big = np.ascontiguousarray(np.tile(small, (12, 12, 1))[:4200, :4200])
    tiled = processor.process_large_image_optimized(big, "dithering")
    return np.array_equal(tiled, processor.apply_effect(big, "dithering"))


@probe("cleanup_gpu_memory and get_gpu_memory_usage come from the memory manager")
def _():
    processor.cleanup_gpu_memory()
    usage = processor.get_gpu_memory_usage()
    return isinstance(usage, float) and 0.0 <= usage <= 1.0


@probe("the older class names still work")
def _():
    return IntegratedProcessor is OptimizedIntegratedProcessor and \
        CloudStorageManager is OptimizedCloudStorageManager


storage = OptimizedCloudStorageManager()


@probe("cache_policies are the old table")
def _():
    return storage.cache_policies == {"hot": {"ttl": 604800, "priority": 100},
                                      "warm": {"ttl": 259200, "priority": 50},
                                      "cold": {"ttl": 86400, "priority": 10}}


@probe("a key never seen is cold; one read just now is hot (the old rules)")
async def _():
    key = f"effect:popart:{time.time()}"
    before = storage.determine_cache_tier(key)
    assert await storage.get_with_intelligent_cache(key) is None
    return before == "cold" and storage.determine_cache_tier(key) == "hot"


@probe("cache_metrics.get_metrics has access_count and last_access_hours")
def _():
    metrics = storage.cache_metrics.get_metrics("effect:popart")
    return {"access_count", "last_access_hours"} <= set(metrics) and \
        isinstance(storage.cache_metrics, CacheMetrics)


@probe("bytes in the cloud tiers are read back, counted and promoted to memory_cache")
async def _():
    key = f"result:{time.time()}"
    await storage.upload_to_cloud(key, b"png bytes")
    storage.engine.cache_flush()
    data = await storage.get_from_cloud(key)
    again = await storage.get_with_intelligent_cache(key)
    return data == b"png bytes" and again == b"png bytes" and key in storage.memory_cache \
        and storage.cache_metrics.hits >= 1


@probe("memory_cache takes assignment and membership")
def _():
    storage.memory_cache["direct"] = b"x"
    return "direct" in storage.memory_cache and storage.memory_cache["direct"] == b"x"


progress = EnhancedProgressManager()
sent = []


async def capture(session_id, data):
    sent.append((session_id, data))

progress.send_update = capture


@probe("update_progress_with_eta sends the old payload through send_update")
async def _():
    await progress.update_progress_with_eta("s", 10)
    await asyncio.sleep(0.05)
    await progress.update_progress_with_eta("s", 50)
    first, second = sent[0][1], sent[1][1]
    return (first == {"progress": 10} and isinstance(second["eta_seconds"], int)
            and second["processing_rate"].endswith("%/s") and "s" in progress.progress_history)


@probe("create_optimized_app builds the app with /health")
def _():
    app = create_optimized_app()
    return any(getattr(r, "path", "") == "/health" for r in app.routes)


@probe("ENABLE_GPU_OPTIMIZATION=garbage is refused, naming the variable")
def _():
    os.environ["ENABLE_GPU_OPTIMIZATION"] = "garbage"
    try:
        OptimizedIntegratedProcessor()
        return False
    except ValueError as error:
        return "ENABLE_GPU_OPTIMIZATION" in str(error)
    finally:
        del os.environ["ENABLE_GPU_OPTIMIZATION"]


@probe("ENABLE_GPU_OPTIMIZATION=false turns cleanup off; GPU_MEMORY_THRESHOLD is the trigger")
def _():
    os.environ["ENABLE_GPU_OPTIMIZATION"] = "false"
    os.environ["GPU_MEMORY_THRESHOLD"] = "0.7"
    try:
        p = OptimizedIntegratedProcessor()
        return p.enable_memory_optimization is False and p.memory_cleanup_threshold == 0.7 \
            and p.cleanup_gpu_memory() == 0
    finally:
        del os.environ["ENABLE_GPU_OPTIMIZATION"], os.environ["GPU_MEMORY_THRESHOLD"]


print(f"{sum(results)} of {len(results)} probes passed")
sys.exit(0 if all(results) else 1)
