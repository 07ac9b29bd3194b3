"""The old Artistry backend's Python API, kept so its callers run unchanged on the engine.

    processor = OptimizedIntegratedProcessor()
    results = await processor.process_effects_batch_async(
        image, ["enhancedblackwhite", "popart", "retro8bit", "dithering", "color"], batch_size=2)
    results["popart"]                       # numpy array

Effect names are the old ones (the engine's own names are accepted too). Where the engine does
not yet expose a feature the old class had, the call is implemented on what exists and its
docstring says so.
"""

import asyncio
import json
import time
from collections import OrderedDict

import numpy as np

import artistry

# Old effect name → (engine effect, parameters that reproduce the old look).
EFFECTS = {
    "enhancedblackwhite": ("enhanced_bw", {}),
    "popart": ("pop_art", {}),
    "retro8bit": ("retro_8bit", {}),
    "dithering": ("dither", {}),
    "color": ("color", {"preset": "vintage"}),
}


def _as_array(image):
    """numpy array (H×W×C uint8) as is; anything array-like (a PIL image) through numpy."""
    if isinstance(image, np.ndarray):
        return image
    if hasattr(image, "convert"):  # PIL.Image: the old backend's usual input
        image = image.convert("RGBA" if "A" in getattr(image, "mode", "") else "RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _graph(effects):
    if isinstance(effects, str):
        effects = [effects]
    nodes = []
    for name in effects:
        op, params = EFFECTS.get(name, (name, {}))
        nodes.append({"id": name, "op": op, "params": params})
    return json.dumps({"nodes": nodes, "outputs": [n["id"] for n in nodes]})


def _outputs(result):
    """A run's outputs by old name; a run where nothing finished raises its first error."""
    if not result.outputs and result.error:
        raise artistry.ArtistryError(result.error)
    return dict(result.outputs)


class OptimizedIntegratedProcessor:
    """Runs several effects of one image, sharing work and running them in parallel."""

    def __init__(self, engine=None):
        self.engine = engine if engine is not None else artistry.default_engine()

    async def process_effects_batch_async(self, image, effects, batch_size=None):
        """All `effects` of `image` as {name: numpy array}; batch_size effects run at once
        (None: the engine's default, PARALLEL_BATCH_SIZE). The work runs in the engine's
        threads; the event loop stays free."""
        result = await self.engine.run_async(_graph(effects), _as_array(image),
                                             max_parallel=int(batch_size or 0))
        return _outputs(result)

    def process_with_memory_management(self, image, effects):
        """As process_effects_batch_async, synchronously. Every effect reserves its memory
        estimate from the engine's budget (ARTISTRY_MEMORY_BUDGET) before it runs, so concurrent
        calls wait for memory instead of running out of it; empty_cache calls are not needed."""
        return _outputs(self.engine.run(_graph(effects), _as_array(image)))

    def process_large_image_optimized(self, image, effect):
        """One effect of a large image, without seams. Until the engine exposes its tiled
        processor to Python, this runs the whole-image path: seam-free by construction (no
        quadrants), but the whole image is in memory."""
        name = effect if isinstance(effect, str) else effect[0]
        return _outputs(self.engine.run(_graph([name]), _as_array(image)))[name]

    def cleanup_gpu_memory(self):
        """Frees cached device memory. This build runs on the CPU and holds no device caches,
        so there is nothing to free; kept so callers run unchanged."""
        return None

    def get_gpu_memory_usage(self):
        """Fraction (0..1) of the GPU memory budget in use: 0.0 in this CPU-only build."""
        return 0.0


class OptimizedCloudStorageManager:
    """A result cache with hot/warm/cold tiers by access frequency.

    The engine's tiered cache (memory/disk/Redis) is not exposed to Python yet; this keeps the
    old interface on an in-process LRU store so callers keep working. Tiers: a key read at
    least HOT_ACCESSES times within WINDOW_SECONDS is "hot", at least WARM_ACCESSES "warm",
    else "cold"."""

    HOT_ACCESSES = 3  # the old backend's table: hot at 3 accesses, warm at 2
    WARM_ACCESSES = 2
    WINDOW_SECONDS = 3600.0

    def __init__(self, max_entries=1024):
        self.max_entries = max_entries
        self._values = OrderedDict()
        self._accesses = {}
        self.hits = 0
        self.misses = 0

    def _recent(self, key, now):
        times = [t for t in self._accesses.get(key, []) if now - t <= self.WINDOW_SECONDS]
        self._accesses[key] = times
        return times

    def determine_cache_tier(self, key):
        """"hot", "warm" or "cold" from how often `key` was read recently."""
        count = len(self._recent(key, time.monotonic()))
        if count >= self.HOT_ACCESSES:
            return "hot"
        if count >= self.WARM_ACCESSES:
            return "warm"
        return "cold"

    async def get_with_intelligent_cache(self, key, fetch_func=None):
        """The cached value of `key`; on a miss, `fetch_func()` (sync or async) when given,
        stored for next time, else None."""
        self._recent(key, time.monotonic()).append(time.monotonic())
        if key in self._values:
            self.hits += 1
            self._values.move_to_end(key)
            return self._values[key]
        self.misses += 1
        if fetch_func is None:
            return None
        value = fetch_func()
        if asyncio.iscoroutine(value):
            value = await value
        await self.set_with_intelligent_cache(key, value)
        return value

    async def set_with_intelligent_cache(self, key, value):
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)

    def get_cache_stats(self):
        total = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses,
                "hit_rate": self.hits / total if total else 0.0, "entries": len(self._values)}


class EnhancedProgressManager:
    """Per-session progress with an ETA, in the old dict shape. progress is in percent
    (0..100); processing_rate is percent per second since the session's first update."""

    def __init__(self):
        self._sessions = {}

    async def update_progress_with_eta(self, session_id, progress, message=None):
        now = time.monotonic()
        start, start_progress = self._sessions.setdefault(session_id, (now, float(progress)))
        elapsed = now - start
        gained = float(progress) - start_progress
        rate = gained / elapsed if elapsed > 0 and gained > 0 else 0.0
        if progress >= 100:
            eta = 0.0
        elif rate > 0:
            eta = (100.0 - float(progress)) / rate
        else:
            eta = None  # not known until progress moves
        return {"session_id": session_id, "progress": progress, "eta_seconds": eta,
                "processing_rate": rate, "elapsed_seconds": elapsed, "message": message}

    def clear_session(self, session_id):
        self._sessions.pop(session_id, None)
