"""The old Artistry backend's Python API, kept so its callers run unchanged on the engine.

    from artistry.compat import OptimizedIntegratedProcessor
    processor = OptimizedIntegratedProcessor()
    results = await processor.process_effects_batch_async(
        image, ["enhancedblackwhite", "popart", "retro8bit", "dithering", "color"], batch_size=2)
    results["popart"]                       # numpy array

Everything here stands on the engine, nothing is re-implemented: effects run as one engine
graph (shared work once, independent effects in parallel), the storage manager's memory cache
and "cloud" are the engine's tiered cache (memory tier; disk and Redis tiers), GPU figures and
cleanup come from the engine's memory manager, and large images go through its tiled processor.

Old import paths (`from optimized_integrated_processor import ...`, `optimized_storage`,
`main_optimized`, `integrated_processor`, `storage`) are thin modules in a folder of their own,
never on the import path unless asked for: run old code with
`PYTHONPATH=$(python3 -m artistry.compat --path)`, or call `enable_legacy_imports()` first.
"""

import asyncio
import functools
import json
import os
import time

import numpy as np

import artistry

# Old effect name → (engine effect, parameters that reproduce the old look).
EFFECTS = {
    "enhancedblackwhite": ("enhanced_bw", {}),
    "popart": ("pop_art", {}),
    "retro8bit": ("retro_8bit", {}),
    "dithering": ("dither", {}),
    "color": ("color", {"preset": "vintage"}),
    "backgroundremoval": ("remove_background", {}),
    "background_removal": ("remove_background", {}),
}

# The old backend split images larger than this into quadrants; the engine tiles them instead.
LARGE_IMAGE_PIXELS = 4096 * 4096

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_flag(name, default):
    """A boolean environment variable as the old backend read it ("true"/"false"); anything
    else is an error naming the variable rather than a silent default."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise artistry.InvalidArgumentError(
        f"{name}={value!r}: expected true or false (also 1/0, yes/no, on/off)", 1)


def env_number(name, default, kind=float, low=None, high=None):
    """A numeric environment variable; out of range or not a number is an error naming it."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = kind(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
    except ValueError:
        raise artistry.InvalidArgumentError(
            f"{name}={value!r}: expected a {kind.__name__}", 1) from None
    if (low is not None and number < low) or (high is not None and number > high):
        raise artistry.InvalidArgumentError(f"{name}={value!r}: must be in [{low}, {high}]", 1)
    return number


@functools.lru_cache(maxsize=1)
def _engine_names():
    """The registry's effect names, read once (the registry does not change in a process)."""
    return frozenset(e["name"] for e in artistry.effects())


def engine_effect(name):
    """(engine op, parameters) of an old or engine effect name; NotFoundError names it."""
    if name in EFFECTS:
        return EFFECTS[name]
    if name in _engine_names():
        return name, {}
    raise artistry.NotFoundError(
        f"unknown effect '{name}': the old names are {', '.join(sorted(EFFECTS))}, and every "
        "engine effect name works too", 2)


def _as_array(image):
    """numpy array (H×W×C uint8) as is; a PIL image (the old backend's usual input) or anything
    array-like through numpy."""
    if isinstance(image, np.ndarray):
        return image
    if hasattr(image, "convert"):
        image = image.convert("RGBA" if "A" in getattr(image, "mode", "") else "RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _graph(effects, source=None):
    """The engine graph of old-named effects: one node per effect, each reading `source` (a
    node of its own, e.g. background removal) when given, else the input image."""
    if isinstance(effects, str):
        effects = [effects]
    nodes = []
    if source is not None:
        op, params = engine_effect(source)
        nodes.append({"id": source, "op": op, "params": params})
    for name in effects:
        op, params = engine_effect(name)
        node = {"id": name, "op": op, "params": params}
        if source is not None:
            node["in"] = [source]
        nodes.append(node)
    return {"nodes": nodes, "outputs": list(dict.fromkeys(effects))}


def _outputs(result, names):
    """The run's outputs by old name; a failed effect raises its error, as the old code did."""
    if not result.ok:
        raise artistry.ArtistryError(result.error)
    return {name: result.outputs[name] for name in names}


class OptimizedIntegratedProcessor:
    """The old effects processor: several effects of one image, shared work once, independent
    effects in parallel, every effect's memory reserved from the engine's budget before it runs
    (so concurrent requests wait for memory rather than run out of it).

    Attributes as the old class had them: enable_memory_optimization (ENABLE_GPU_OPTIMIZATION,
    default true), memory_cleanup_threshold (GPU_MEMORY_THRESHOLD, default 0.8: the usage
    above which cleanup runs), batch_size (PARALLEL_BATCH_SIZE, default 2)."""

    def __init__(self, engine=None):
        self.engine = engine if engine is not None else artistry.default_engine()
        self.enable_memory_optimization = env_flag("ENABLE_GPU_OPTIMIZATION", True)
        self.enable_parallel_processing = env_flag("ENABLE_PARALLEL_PROCESSING", True)
        self.memory_cleanup_threshold = env_number("GPU_MEMORY_THRESHOLD", 0.8, float, 0.0, 1.0)
        self.batch_size = int(env_number("PARALLEL_BATCH_SIZE", 2, int, 1, 1024))

    def _parallel(self, batch_size):
        if not self.enable_parallel_processing:
            return 1
        return int(batch_size if batch_size is not None else self.batch_size)

    async def process_effects_batch_async(self, image, effects, batch_size=2):
        """{effect name: numpy array} for every effect of `image`; batch_size effects run at
        once. The work runs in the engine's threads; the event loop stays free."""
        names = [effects] if isinstance(effects, str) else list(effects)
        result = await self.engine.run_async(json.dumps(_graph(names)), _as_array(image),
                                             max_parallel=self._parallel(batch_size))
        return _outputs(result, names)

    async def process_effect_async(self, image, effect_name):
        """One effect of `image` (numpy array), off the event loop."""
        results = await self.process_effects_batch_async(image, [effect_name], batch_size=1)
        return results[effect_name]

    async def remove_background_async(self, image):
        """The subject cut out: an RGBA array (ISNet when installed, else the classical
        matte)."""
        return await self.process_effect_async(image, "remove_background")

    def apply_effect(self, image, effect):
        """One effect of `image`, synchronously."""
        name = effect if isinstance(effect, str) else effect[0]
        result = self.engine.run(json.dumps(_graph([name])), _as_array(image))
        return _outputs(result, [name])[name]

    async def process_with_memory_management(self, image, effects):
        """The background removed first, then every effect run on the cut-out, batch_size at a
        time (max_parallel), with cleanup before and after when enable_memory_optimization is
        on. One engine graph: the
        background is removed once however many effects read it, and every effect's memory is
        reserved from the engine's budget before it runs (what the old cleanups approximated).
        Returns {effect: array}."""
        names = [effects] if isinstance(effects, str) else list(effects)
        self.cleanup_gpu_memory()
        graph = json.dumps(_graph(names, source="remove_background"))
        run = await self.engine.run_async(graph, _as_array(image),
                                          max_parallel=self._parallel(None))
        results = _outputs(run, names)
        self.cleanup_gpu_memory()
        return results

    def process_large_image_optimized(self, image, effect):
        """One effect of a large image. Above 4096×4096 pixels it runs through the engine's
        tiled processor (bands and tiles with halos, bytes identical to the whole-image run,
        memory bounded by the band) where the old code cut quadrants with seams; smaller images
        run whole."""
        name = effect if isinstance(effect, str) else effect[0]
        array = _as_array(image)
        if array.shape[0] * array.shape[1] <= LARGE_IMAGE_PIXELS:
            return self.apply_effect(array, name)
        op, params = engine_effect(name)
        return self.engine.run_tiled([(op, params)], array)

    def cleanup_gpu_memory(self):
        """What torch.cuda.empty_cache() did for the old code, through the memory manager: its
        pressure callbacks run on every device with nothing to free beyond the GPU allocator's
        idle blocks, so cached results and loaded models stay. Nothing when
        enable_memory_optimization is off. Returns the bytes the callbacks report freed."""
        if not self.enable_memory_optimization:
            return 0
        return sum(self.engine.relieve_pressure(device, 0) for device in self.engine.devices())

    def get_gpu_memory_usage(self):
        """Fraction (0..1) of the compute device's budget in use, from the memory manager: the
        first GPU when there is one, else the CPU budget (this build's compute device)."""
        devices = self.engine.devices()
        device = next((d for d in devices if d.startswith("cuda")), "cpu")
        stats = self.engine.memory_stats(device)
        return stats["in_use"] / stats["budget"] if stats["budget"] else 0.0


IntegratedProcessor = OptimizedIntegratedProcessor  # the name before the optimisation


class CacheMetrics:
    """Per-key access counts and recency, and the hit/miss totals, as the old storage manager
    kept them. get_metrics(key) → {'access_count', 'last_access_hours', 'hits', 'misses'}."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._keys = {}
        self.hits = 0
        self.misses = 0
        self.hits_by_source = {}

    def _entry(self, key):
        return self._keys.setdefault(key, {"access_count": 0, "last_access": None,
                                           "hits": 0, "misses": 0})

    def record_hit(self, key, source="memory"):
        entry = self._entry(key)
        entry["access_count"] += 1
        entry["hits"] += 1
        entry["last_access"] = self._clock()
        self.hits += 1
        self.hits_by_source[source] = self.hits_by_source.get(source, 0) + 1

    def record_miss(self, key):
        entry = self._entry(key)
        entry["access_count"] += 1
        entry["misses"] += 1
        entry["last_access"] = self._clock()
        self.misses += 1

    def get_metrics(self, key):
        entry = self._keys.get(key)
        if entry is None or entry["last_access"] is None:
            return {"access_count": 0, "last_access_hours": float("inf"), "hits": 0,
                    "misses": 0}
        hours = max(0.0, self._clock() - entry["last_access"]) / 3600.0
        return {"access_count": entry["access_count"], "last_access_hours": hours,
                "hits": entry["hits"], "misses": entry["misses"]}

    @property
    def hit_rate(self):
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


class _MemoryTier:
    """The storage manager's `memory_cache`, a mapping over the engine cache's memory tier:
    `key in memory_cache` looks at that tier alone; reading returns the bytes; storing puts them
    in the engine's cache (memory first, written through to disk and Redis)."""

    def __init__(self, engine):
        self._engine = engine

    def __contains__(self, key):
        return self._engine.cache_in_memory(_key(key))

    def __getitem__(self, key):
        hit = self._engine.cache_get(_key(key)) if key in self else None
        if hit is None:
            raise KeyError(key)
        return hit[0]

    def __setitem__(self, key, data):
        self._engine.cache_put(_key(key), bytes(data))

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        self._engine.cache_erase(_key(key))

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default


def _key(key):
    return "compat:" + str(key)


class OptimizedCloudStorageManager:
    """The old storage manager on the engine's tiered cache. `memory_cache` is its memory
    tier, `get_from_cloud` reads the tiers below it (disk, and Redis when ARTISTRY_REDIS_URL
    is set, shared between processes), and `cache_policies` are the old hot/warm/cold TTLs
    and priorities (the engine's own cache applies the same table)."""

    def __init__(self, engine=None):
        self.engine = engine if engine is not None else artistry.default_engine()
        self.cache_metrics = CacheMetrics()
        self.cache_policies = {
            "hot": {"ttl": 7 * 24 * 3600, "priority": 100},
            "warm": {"ttl": 3 * 24 * 3600, "priority": 50},
            "cold": {"ttl": 24 * 3600, "priority": 10},
        }
        self.memory_cache = _MemoryTier(self.engine)

    def determine_cache_tier(self, key):
        """The old rules: hot at 3+ accesses or one within the last hour; warm at 2+ or one
        within the last day; else cold."""
        metrics = self.cache_metrics.get_metrics(key)
        if metrics["access_count"] >= 3 or metrics["last_access_hours"] < 1:
            return "hot"
        if metrics["access_count"] >= 2 or metrics["last_access_hours"] < 24:
            return "warm"
        return "cold"

    async def get_from_cloud(self, key):
        """The bytes stored under `key` in the engine's cache (disk, then Redis; a hit is
        promoted to memory by the engine), or None. Off the event loop."""
        hit = await asyncio.get_running_loop().run_in_executor(
            None, self.engine.cache_get, _key(key))
        return None if hit is None else hit[0]

    async def upload_to_cloud(self, key, data):
        """Stores bytes under `key` in every tier of the engine's cache."""
        await asyncio.get_running_loop().run_in_executor(
            None, self.engine.cache_put, _key(key), bytes(data))

    async def get_with_intelligent_cache(self, key):
        """The memory tier first, then the lower tiers; hits and misses are recorded per key and
        a hot key's bytes are kept in memory, as the old flow did."""
        if key in self.memory_cache:
            data = self.memory_cache.get(key)
            if data is not None:
                self.cache_metrics.record_hit(key, "memory")
                return data
        data = await self.get_from_cloud(key)
        if data:
            self.cache_metrics.record_hit(key, "cloud")
            if self.determine_cache_tier(key) == "hot":
                self.memory_cache[key] = data
        else:
            self.cache_metrics.record_miss(key)
        return data

    async def set_with_intelligent_cache(self, key, data):
        await self.upload_to_cloud(key, data)

    def get_cache_stats(self):
        """The manager's hit rate and the engine cache's tiers."""
        return {"hits": self.cache_metrics.hits, "misses": self.cache_metrics.misses,
                "hit_rate": self.cache_metrics.hit_rate,
                "hits_by_source": dict(self.cache_metrics.hits_by_source),
                "tiers": self.engine.cache_stats()}


CloudStorageManager = OptimizedCloudStorageManager  # the name before the optimisation


class EnhancedProgressManager:
    """Progress per session with an ETA, sent through send_update in the old payload:
    {'progress'} on a session's first update, then {'progress', 'eta_seconds' (int),
    'processing_rate' ("12.5%/s")}. `progress_history[session_id]['start_time']` is when the
    session started. send_update sends to the connections registered with connect() (objects
    with an async send_json, such as a FastAPI WebSocket); override it to send elsewhere."""

    def __init__(self):
        self.progress_history = {}
        self.active_connections = {}

    def connect(self, session_id, connection):
        self.active_connections.setdefault(session_id, []).append(connection)

    def disconnect(self, session_id, connection=None):
        if connection is None:
            self.active_connections.pop(session_id, None)
        elif connection in self.active_connections.get(session_id, []):
            self.active_connections[session_id].remove(connection)

    def start_session(self, session_id, start_time=None):
        self.progress_history[session_id] = {"start_time": start_time or time.time()}

    def clear_session(self, session_id):
        self.progress_history.pop(session_id, None)

    async def send_update(self, session_id, update_data):
        for connection in list(self.active_connections.get(session_id, [])):
            try:
                await connection.send_json(update_data)
            except Exception:  # noqa: BLE001  (a closed socket leaves the session's list)
                self.disconnect(session_id, connection)

    async def update_progress_with_eta(self, session_id, progress):
        now = time.time()
        if session_id in self.progress_history:
            elapsed = now - self.progress_history[session_id]["start_time"]
            rate = progress / elapsed if elapsed > 0 else 0
            eta = (100 - progress) / rate if rate > 0 else 0
            update = {"progress": progress, "eta_seconds": int(eta),
                      "processing_rate": f"{rate:.1f}%/s"}
        else:
            self.start_session(session_id, now)
            update = {"progress": progress}
        await self.send_update(session_id, update)

    def progress_callback(self, session_id, loop=None):
        """An engine progress callback (Engine.run / run_async progress=) that sends the run's
        percentage through update_progress_with_eta on `loop` (the running one by default),
        at most once per whole percent."""
        loop = loop or asyncio.get_running_loop()
        last = [-1]

        def on_event(event):
            percent = int(event["fraction"] * 100)
            if percent > last[0]:
                last[0] = percent
                asyncio.run_coroutine_threadsafe(
                    self.update_progress_with_eta(session_id, percent), loop)
        return on_event


def legacy_metrics_text(engine=None):
    """The old dashboards' metrics in Prometheus text, from the engine's own:
    gpu_memory_used_bytes / gpu_memory_total_bytes (by device; the device's memory),
    processing_duration_seconds (histogram by op), cache_hits_total / cache_misses_total (every
    tier's hits; misses that no tier could serve), parallel_time_saved_seconds and
    total_processing_seconds."""
    engine = engine if engine is not None else artistry.default_engine()
    lines = []

    def metric(name, kind, help_text, samples):
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(samples)

    memory = [engine.memory_stats(d) for d in engine.devices()]
    metric("gpu_memory_used_bytes", "gauge", "Bytes in use on the compute device.",
           [f'gpu_memory_used_bytes{{device="{m["device"]}"}} {m["in_use"]}' for m in memory])
    metric("gpu_memory_total_bytes", "gauge", "Memory of the compute device.",
           [f'gpu_memory_total_bytes{{device="{m["device"]}"}} {m["total"]}' for m in memory])
    engine_text = engine.metrics_text()
    histogram = [line[len("artistry_"):] for line in engine_text.splitlines()
                 if line.startswith("artistry_processing_duration_seconds")]
    metric("processing_duration_seconds", "histogram", "Seconds per effect, by op.", histogram)
    stats = engine.cache_stats()
    tiers = [stats[t] for t in ("memory", "disk", "redis") if stats.get(t, {}).get("enabled")]
    hits = sum(t["hits"] for t in tiers)
    misses = tiers[-1]["misses"] if tiers else 0
    metric("cache_hits_total", "counter", "Cache lookups served by some tier.",
           [f"cache_hits_total {hits}"])
    metric("cache_misses_total", "counter", "Cache lookups no tier could serve.",
           [f"cache_misses_total {misses}"])
    saved = _sample(engine_text, "artistry_parallel_time_saved_seconds")
    total = _sample(engine_text, "artistry_run_duration_seconds_sum")
    metric("parallel_time_saved_seconds", "counter",
           "Seconds saved by running independent effects at once.",
           [f"parallel_time_saved_seconds {saved}"])
    metric("total_processing_seconds", "counter", "Seconds spent in runs.",
           [f"total_processing_seconds {total}"])
    return "\n".join(lines) + "\n"


def _sample(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return line.split()[-1]
    return "0"


def legacy_path():
    """The folder holding the old module paths (optimized_integrated_processor, …)."""
    return os.path.join(os.path.dirname(__file__), "legacy")


def enable_legacy_imports():
    """Puts the old module paths on sys.path (for code that cannot set PYTHONPATH)."""
    import sys
    path = legacy_path()
    if path not in sys.path:
        sys.path.append(path)
    return path
