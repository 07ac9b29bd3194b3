"""Batches of photos and images larger than one machine across Dask workers.

    from dask.distributed import Client
    import artistry.distributed as ad

    client = Client("tcp://scheduler:8786")
    ad.setup(client, redis_url="redis://cache:6379/0")   # one engine per worker
    batch = ad.submit_batch(client, paths, ["pop_art", "dither"], "/shared/out")
    ad.progress(batch)                                  # Dask's own progress bar
    for r in batch.results():                           # in input order
        print(r["input"], r["outputs"], r["cached"])

    ad.run_banded(client, "/shared/scan.tif", ["color"], "/shared/scan-graded.tif")

Each worker holds one artistry.Engine (ArtistryPlugin) with a CPU budget of a share of the
worker's memory limit and the shared Redis tier, so a result one worker computed is a hit on
every other. A batch is one Dask task per image; a task's outputs are written atomically under
names that depend only on the input and the node, so a task rerun after its worker died writes
the same bytes over them and nothing is duplicated or half-written. Before computing, a task
looks for its encoded outputs in the engine's cache (memory, disk, Redis) under a key of the
input's bytes, the graph, the format and the library's version: work the shared cache holds is
never redone, not even decoded.

A large image is split into bands of output rows for chains whose every effect is point or
local (Engine.plan_row_bands gives the halo each band reads beyond its rows); the bands run on
the workers and come back in order to one streaming writer, so the file's bytes equal a single
process's Engine.run_tiled_file. A chain with an effect that needs the whole image or the rows
above (error diffusion, a global palette) runs as one streamed task.

Every function here takes client=None to run in this process with one engine: the same code
and bytes, without Dask.
"""

import hashlib
import itertools
import json
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np

import artistry

PLUGIN_NAME = "artistry"
_EXTENSIONS = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp", "tiff": "tif",
               "tif": "tif", "bmp": "bmp"}
_local = threading.local()
_local_engine_lock = threading.Lock()
_local_engine = None


# ---------------------------------------------------------------------------------------------
# Engines on the workers


def engine_options(*, threads=0, memory_fraction=0.6, memory_budget=None, redis_url="",
                   cache_tiers="", cache_dir="", cache_memory_mb=0):
    """The engine every worker makes. memory_budget (bytes or "2GiB") wins over memory_fraction
    of the worker's memory limit; threads 0 takes the worker's thread count."""
    if not 0 < memory_fraction <= 1:
        raise ValueError(f"memory_fraction must be in (0, 1], got {memory_fraction}")
    return {"threads": threads, "memory_fraction": memory_fraction,
            "memory_budget": memory_budget, "redis_url": redis_url, "cache_tiers": cache_tiers,
            "cache_dir": cache_dir, "cache_memory_mb": cache_memory_mb}


def _make_engine(options, nthreads=0, memory_limit=0):
    budget = options.get("memory_budget")
    if budget is None and memory_limit:
        budget = max(64 << 20, int(memory_limit * options["memory_fraction"]))
    return artistry.Engine(threads=options["threads"] or nthreads, memory_budget=budget,
                           redis_url=options["redis_url"], cache_tiers=options["cache_tiers"],
                           cache_dir=options["cache_dir"],
                           cache_memory_mb=options["cache_memory_mb"])


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # artistry works without Dask; only this module's client side needs it
    WorkerPlugin = object


class ArtistryPlugin(WorkerPlugin):
    """One engine per worker, sized to the worker: threads from its thread count, the CPU budget
    a share of its memory limit, the cache tiers (Redis among them) from the client's options."""

    name = PLUGIN_NAME

    def __init__(self, options=None):
        self.options = options or engine_options()
        self.engine = None
        self.running = {}  # batch id → {input: {"fraction", "eta_seconds"}} of running tasks

    def setup(self, worker):
        limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None) or 0
        self.engine = _make_engine(self.options, worker.state.nthreads, limit)

    def teardown(self, worker):
        if self.engine is not None:
            self.engine.cache_flush()  # pending disk and Redis writes reach their tiers
            self.engine = None


def setup(client, **options):
    """Give every worker of the client (and every worker that joins later) its engine."""
    client.register_worker_plugin(ArtistryPlugin(engine_options(**options)), name=PLUGIN_NAME)


def engine():
    """This worker's engine (inside a task), or this process's own outside Dask."""
    try:
        from distributed import get_worker
        plugin = get_worker().plugins.get(PLUGIN_NAME)
    except (ImportError, ValueError):
        plugin = None
    if plugin is not None and plugin.engine is not None:
        return plugin.engine
    global _local_engine
    with _local_engine_lock:
        if _local_engine is None:
            _local_engine = _make_engine(getattr(_local, "options", None) or engine_options())
        return _local_engine


def local_engine(**options):
    """Set the options of the engine tasks run on when client=None (before the first run)."""
    global _local_engine
    with _local_engine_lock:
        _local.options = engine_options(**options)
        _local_engine = _make_engine(_local.options)
    return _local_engine


# ---------------------------------------------------------------------------------------------
# One image: the task


def _read_input(item):
    """(name, bytes or None, array or None) of an input: a path, a file:// or http(s):// URL, or
    an (name, array) pair."""
    name = _read_name(item)
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], np.ndarray):
        return name, None, item[1]
    text = os.fspath(item)
    if text.startswith(("http://", "https://")):
        import urllib.request
        with urllib.request.urlopen(text, timeout=60) as response:
            return name, response.read(), None
    if text.startswith("file://"):
        text = text[len("file://"):]
    with open(text, "rb") as f:
        return name, f.read(), None


def _input_digest(data, array):
    h = hashlib.blake2b(digest_size=20)
    if data is not None:
        h.update(b"bytes:")
        h.update(data)
    else:
        a = np.ascontiguousarray(array)
        h.update(f"array:{a.dtype}:{a.shape}:".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _graph_json(graph):
    if isinstance(graph, artistry.Graph):
        return graph.to_json()
    if isinstance(graph, str):  # canonical: the same graph gives the same cache key
        return artistry.Graph.from_json(graph).to_json()
    nodes = []  # each effect on the input, as Engine.run takes a list of names
    for item in graph:
        name, params = (item, {}) if isinstance(item, str) else item
        nodes.append({"id": name, "op": name, "params": dict(params)})
    return artistry.Graph.from_json(json.dumps({"nodes": nodes})).to_json()


def _output_key(digest, graph_json, fmt, quality):
    h = hashlib.blake2b(digest_size=20)
    for part in (digest, graph_json, fmt, str(quality), artistry.__version__):
        h.update(part.encode())
        h.update(b"\0")
    return "batch:" + h.hexdigest()


def _cancelled(event, last_check):
    """Whether the batch's cancel event is set, asked of the scheduler at most 4 times a second."""
    if event is None or time.monotonic() - last_check[0] < 0.25:
        return False
    last_check[0] = time.monotonic()
    try:
        return event.is_set()
    except Exception:  # the scheduler is away for a moment: keep going
        return False


def _progress_board():
    """This worker's {batch id: {input: progress}} of its running tasks (ArtistryPlugin), or
    None outside a worker."""
    try:
        from distributed import get_worker
        plugin = get_worker().plugins.get(PLUGIN_NAME)
    except (ImportError, ValueError):
        return None
    return getattr(plugin, "running", None)


def _running_tasks(batch_id, dask_worker=None):
    """Run on every worker by Batch.progress: the batch's running tasks there."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME) if dask_worker is not None else None
    board = getattr(plugin, "running", None) or {}
    return dict(board.get(batch_id, {}))


def process_image(item, graph_json, out_dir, fmt="png", quality=92, batch_id=None):
    """The task: one input through the graph, its outputs written to out_dir as
    <name>_<node>.<ext>. Returns {"input", "outputs" {node: path}, "data" {node: JSON text},
    "cached", "seconds", "worker"}."""
    start = time.perf_counter()
    name, data, array = _read_input(item)
    eng = engine()
    digest = _input_digest(data, array)
    key = _output_key(digest, graph_json, fmt, quality)
    ext = _EXTENSIONS[fmt]
    os.makedirs(out_dir, exist_ok=True)

    def path_of(node):
        return os.path.join(out_dir, f"{name}_{node}.{ext}")

    worker = _worker_address()
    hit = eng.cache_get(key)
    if hit is not None:
        manifest = json.loads(hit[0])
        blobs = {node: eng.cache_get(f"{key}:{node}") for node in manifest["outputs"]}
        if all(b is not None for b in blobs.values()):
            for node, blob in blobs.items():
                artistry.write_file(path_of(node), blob[0])
            return {"input": name, "outputs": {n: path_of(n) for n in manifest["outputs"]},
                    "data": manifest["data"], "cached": True,
                    "seconds": time.perf_counter() - start, "worker": worker}

    image = artistry.decode_image(data) if data is not None else array
    cancel = _cancel_event(batch_id)
    last_check = [time.monotonic()]
    board = _progress_board() if batch_id else None
    mine = board.setdefault(batch_id, {}) if board is not None else None

    def progress(event):  # on engine threads: a dict store, read by Batch.progress
        if not event["node"]:
            return
        mine[name] = {"fraction": event["fraction"], "eta_seconds": event["eta_seconds"]}

    try:
        run = eng.submit(graph_json, image, progress=progress if mine is not None else None)
        while not run.wait(0.1):
            if _cancelled(cancel, last_check):
                run.cancel()
        result = run.result()
    finally:
        if mine is not None:
            mine.pop(name, None)
            if not mine:
                board.pop(batch_id, None)
    if result.status == "cancelled" or (cancel is not None and result.status != "ok"
                                        and _cancelled(cancel, [0.0])):
        raise artistry.CancelledError(f"{name}: the batch was cancelled")
    if not result.ok:
        raise artistry.ArtistryError(f"{name}: {result.error}")

    outputs, blobs = {}, {}
    for node, pixels in result.outputs.items():
        blob = artistry.encode_image(pixels, fmt, quality=quality)
        artistry.write_file(path_of(node), blob)
        outputs[node] = path_of(node)
        blobs[node] = blob
    data_out = {n: text for n, text in result.data.items()}
    for node, blob in blobs.items():
        eng.cache_put(f"{key}:{node}", blob)
    eng.cache_put(key, json.dumps({"outputs": sorted(outputs), "data": data_out}).encode())
    return {"input": name, "outputs": outputs, "data": data_out, "cached": False,
            "seconds": time.perf_counter() - start, "worker": worker}


def _worker_address():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return None


def _cancel_event(batch_id):
    if batch_id is None:
        return None
    try:
        from distributed import Event, get_worker
        get_worker()
        return Event(f"artistry-cancel-{batch_id}")
    except (ImportError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# A batch


class Batch:
    """Images going through one graph as Dask tasks (or finished, in this process)."""

    def __init__(self, client, futures, batch_id, local_results=None, names=()):
        self.client = client
        self.futures = futures
        self.names = list(names)
        self.id = batch_id
        self._local = local_results
        self._started = time.monotonic()

    def __len__(self):
        return len(self.futures) if self._local is None else len(self._local)

    def results(self, timeout=None):
        """Every task's result, in input order; raises the first task's error."""
        if self._local is not None:
            return list(self._local)
        return self.client.gather(self.futures, errors="raise") if timeout is None else \
            [f.result(timeout=timeout) for f in self.futures]

    def cancel(self):
        """Stop the batch: running engine runs are cancelled, queued tasks dropped."""
        if self.client is None:
            return
        from distributed import Event
        Event(f"artistry-cancel-{self.id}", client=self.client).set()
        self.client.cancel(self.futures)

    def progress(self):
        """{"done", "total", "running" {input: fraction}, "eta_seconds"}: finished tasks from
        Dask, running ones from their engines' progress events and ETAs (asked of every
        worker: call it every second or so, not in a tight loop)."""
        total = len(self)
        if self._local is not None:
            return {"done": total, "total": total, "running": {}, "eta_seconds": 0.0}
        finished = {n for n, f in zip(self.names, self.futures) if f.done()}
        done = len(finished)
        running = {}
        for board in self.client.run(_running_tasks, self.id).values():
            running.update({k: v for k, v in board.items() if k not in finished})
        elapsed = time.monotonic() - self._started
        left_running = sum(e["eta_seconds"] for e in running.values())
        waiting = max(0, total - done - len(running))
        per_task = elapsed / done if done else 0.0
        slots = max(1, sum(self.client.nthreads().values()))
        eta = (left_running + waiting * per_task * slots) / slots if done < total else 0.0
        return {"done": done, "total": total,
                "running": {k: v["fraction"] for k, v in running.items()},
                "eta_seconds": eta}


def submit_batch(client, inputs, graph, out_dir, *, format="png", quality=92, retries=3):
    """Start one task per input (paths, file:// or http(s):// URLs on storage every worker
    reads, or (name, array) pairs); returns a Batch at once. client=None runs the batch here
    before returning, as many images at once as this process's engine has threads."""
    fmt = format.lower()
    if fmt not in _EXTENSIONS:
        raise ValueError(f"format must be one of {sorted(_EXTENSIONS)}, got {format!r}")
    graph_json = _graph_json(graph)  # a bad graph fails here, not in every task
    inputs = list(inputs)
    names = [_read_name(i) for i in inputs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"inputs share names, so their outputs would overwrite each other: "
                         f"{duplicates[:5]}")
    batch_id = uuid.uuid4().hex[:12]
    out_dir = os.path.abspath(out_dir)
    if client is None:  # as many images at once as the engine has threads
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max(1, engine().threads)) as pool:
            results = list(pool.map(
                lambda item: process_image(item, graph_json, out_dir, fmt, quality), inputs))
        return Batch(None, [], batch_id, results, names)
    futures = [client.submit(process_image, item, graph_json, out_dir, fmt, quality, batch_id,
                             key=f"artistry-{batch_id}-{n}", retries=retries, pure=False)
               for n, item in enumerate(inputs)]
    return Batch(client, futures, batch_id, names=names)


def run_batch(client, inputs, graph, out_dir, **options):
    """submit_batch, then its results in input order."""
    return submit_batch(client, inputs, graph, out_dir, **options).results()


def _read_name(item):
    """The name outputs are written under: an array's given name, a path's or URL's stem."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], np.ndarray):
        return str(item[0])
    text = os.fspath(item)
    return Path(text.split("?")[0]).stem or "image"


def progress(batch, **options):
    """Dask's own progress bar over the batch's tasks (a notebook widget or a text bar)."""
    if batch.client is None:
        return None
    from distributed import progress as dask_progress
    return dask_progress(batch.futures, **options)


# ---------------------------------------------------------------------------------------------
# One large image in bands of rows


def _band_task(effects, input_path, y0, y1):
    return engine().run_tiled_rows(effects, input_path, y0, y1)


def _whole_task(effects, input_path, output_path):
    return engine().run_tiled_file(effects, input_path, output_path)


def plan_bands(effects, input_path, *, workers=1, band_rows=0, memory_bytes=0):
    """The row bands a banded run uses: [(y0, y1)], or [] when the chain runs as one task.
    band_rows 0: sized so a band's input, output and working copy take at most a quarter of
    memory_bytes (a worker's limit; 0: 256 MiB each), and at least 4 bands per worker."""
    plan = engine().plan_row_bands(effects)
    if not plan["bandable"]:
        return []
    info = artistry.probe_image(_head(input_path))
    width, height = info["width"], info["height"]
    if band_rows <= 0:
        budget = (memory_bytes or 1 << 30) // 4
        by_memory = max(16, budget // (width * 4 * 3) - 2 * plan["halo"])
        by_spread = max(16, -(-height // (4 * max(1, workers))))
        band_rows = int(min(by_memory, by_spread))
    return [(y, min(height, y + band_rows)) for y in range(0, height, band_rows)]


def _head(path, size=1 << 16):
    with open(path, "rb") as f:
        return f.read(size)


def run_banded(client, input_path, effects, output_path, *, band_rows=0, quality=92,
               in_flight=0):
    """The chain over a large image (JPEG, PNG or TIFF on storage every worker reads) into
    output_path (JPEG, PNG or TIFF). Bandable chains run as bands of rows over the workers,
    written in order by one streaming writer here; the file's bytes equal
    Engine.run_tiled_file's. Others run as one streamed task. At most `in_flight` bands (0: two
    per worker thread) are computed or waiting to be written at once, which bounds this
    process's memory too. Returns {"bands", "banded", "reason", "seconds"}."""
    start = time.perf_counter()
    input_path, output_path = os.path.abspath(input_path), os.path.abspath(output_path)
    effects = [e if isinstance(e, str) else (e[0], dict(e[1])) for e in effects]
    limits = [w.get("memory_limit", 0) for w in client.scheduler_info()["workers"].values()] \
        if client is not None else []
    nthreads = sum(client.nthreads().values()) if client is not None else 1
    bands = plan_bands(effects, input_path, workers=max(1, nthreads), band_rows=band_rows,
                       memory_bytes=min(limits) if limits and min(limits) else 0)
    if not bands:
        reason = engine().plan_row_bands(effects)["reason"]
        if client is None:
            _whole_task(effects, input_path, output_path)
        else:
            client.submit(_whole_task, effects, input_path, output_path, pure=False).result()
        return {"bands": 1, "banded": False, "reason": reason,
                "seconds": time.perf_counter() - start}

    info = artistry.probe_image(_head(input_path))
    width, height = info["width"], info["height"]
    first = (_band_task(effects, input_path, *bands[0]) if client is None else
             client.submit(_band_task, effects, input_path, *bands[0], pure=False).result())
    with artistry.ImageWriter(output_path, width, height, first.shape[2],
                              quality=quality) as writer:
        writer.write(first)
        if client is None:
            for y0, y1 in bands[1:]:
                writer.write(_band_task(effects, input_path, y0, y1))
        else:
            _write_bands_in_order(client, writer, effects, input_path, bands[1:],
                                  in_flight or 2 * max(1, nthreads))
    return {"bands": len(bands), "banded": True, "reason": "",
            "seconds": time.perf_counter() - start}


def _write_bands_in_order(client, writer, effects, input_path, bands, in_flight):
    """Keeps at most in_flight band tasks going and writes their rows in order as they come."""
    pending = iter(bands)
    window = []
    try:
        for y0, y1 in itertools.islice(pending, in_flight):
            window.append(client.submit(_band_task, effects, input_path, y0, y1, pure=False))
        while window:
            rows = window.pop(0).result()
            nxt = next(pending, None)
            if nxt is not None:
                window.append(client.submit(_band_task, effects, input_path, *nxt, pure=False))
            writer.write(rows)
            del rows
    except BaseException:
        client.cancel(window)
        raise
