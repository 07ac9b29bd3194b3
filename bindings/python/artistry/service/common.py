"""What every artistry HTTP service shares: configuration from the environment, the health,
liveness, readiness and metrics routes, request limits, admission through the engine's memory
manager, and the mapping from engine errors to HTTP answers."""

import asyncio
import concurrent.futures
import ctypes
import ctypes.util
import json
import os
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

import artistry
from artistry import compat

# Default ports, as the old backend had them (effects are served by the gateway itself).
PORTS = {"gateway": 8000, "detect": 8001, "segment": 8002, "generate": 8004}


class ServiceError(Exception):
    """An HTTP answer with a JSON body {"error": message, "status": kind}."""

    def __init__(self, http_status, message, kind="invalid_argument", headers=None):
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.kind = kind
        self.headers = headers or {}


class Config:
    """Service settings, from keyword arguments, else the environment, else the defaults:

    ARTISTRY_SERVICE_MAX_UPLOAD_MB      largest request body (413 above), default 50
    ARTISTRY_SERVICE_MAX_MEGAPIXELS     largest image (413 above, from its header), default 50
    ARTISTRY_SERVICE_QUEUE_SECONDS      how long a request waits for memory (503 after), 10
    ARTISTRY_SERVICE_ADMISSION_FRACTION share of the CPU budget admitted requests may hold, 0.5
    ARTISTRY_SERVICE_ALLOWED_FILES      folders whose files a graph may name (os.pathsep list);
                                        none by default: a request cannot make it read files
    ARTISTRY_DETECT_URL, ARTISTRY_SEGMENT_URL, ARTISTRY_GENERATE_URL
                                        where the gateway finds the services (default
                                        http://127.0.0.1:<port>); a comma-separated list
                                        names replicas, taken in turn
    """

    def __init__(self, **overrides):
        env = os.environ.get
        self.max_upload_bytes = int(overrides.get(
            "max_upload_bytes",
            compat.env_number("ARTISTRY_SERVICE_MAX_UPLOAD_MB", 50.0, float, 0.001) * 2**20))
        self.max_megapixels = float(overrides.get(
            "max_megapixels", compat.env_number("ARTISTRY_SERVICE_MAX_MEGAPIXELS", 50.0, float,
                                                0.001)))
        self.queue_seconds = float(overrides.get(
            "queue_seconds", compat.env_number("ARTISTRY_SERVICE_QUEUE_SECONDS", 10.0, float, 0)))
        self.admission_fraction = float(overrides.get(
            "admission_fraction",
            compat.env_number("ARTISTRY_SERVICE_ADMISSION_FRACTION", 0.5, float, 0.01, 1.0)))
        allowed = overrides.get("allowed_files", env("ARTISTRY_SERVICE_ALLOWED_FILES", ""))
        if isinstance(allowed, str):
            allowed = [p for p in allowed.split(os.pathsep) if p]
        self.allowed_files = [os.path.realpath(p) for p in allowed]
        self.urls = {}      # service → its first replica's URL
        self.replicas = {}  # service → every replica's URL
        self.configured = set()  # services whose URL was given (the gateway forwards to them)
        for name in ("detect", "segment", "generate"):
            default = f"http://127.0.0.1:{PORTS[name]}"
            value = overrides.get(f"{name}_url", env(f"ARTISTRY_{name.upper()}_URL"))
            if value:
                self.configured.add(name)
            value = value or default
            urls = value if isinstance(value, (list, tuple)) else value.split(",")
            urls = [u.strip().rstrip("/") for u in urls if u.strip()]
            if not urls:
                raise ValueError(f"ARTISTRY_{name.upper()}_URL names no URL")
            self.replicas[name] = urls
            self.urls[name] = urls[0]
        self.preload = bool(overrides.get("preload", False))


# ---- metrics: per-route request counts and latency histograms, Prometheus text

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class RequestMetrics:
    def __init__(self, service):
        self.service = service
        self.counts = {}  # (route, method, code) → n
        self.latency = {}  # route → [bucket counts..., sum, count]
        self.rejected = {}  # reason → n
        self.in_flight = 0

    def observe(self, route, method, code, seconds):
        key = (route, method, str(code))
        self.counts[key] = self.counts.get(key, 0) + 1
        h = self.latency.setdefault(route, [0] * len(_BUCKETS) + [0.0, 0])
        for i, bound in enumerate(_BUCKETS):
            if seconds <= bound:
                h[i] += 1
        h[-2] += seconds
        h[-1] += 1

    def reject(self, reason):
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def text(self):
        s = self.service
        out = ["# HELP artistry_http_requests_total HTTP requests by route, method and code.",
               "# TYPE artistry_http_requests_total counter"]
        for (route, method, code), n in sorted(self.counts.items()):
            out.append(f'artistry_http_requests_total{{service="{s}",route="{route}",'
                       f'method="{method}",code="{code}"}} {n}')
        out += ["# HELP artistry_http_request_duration_seconds Request latency by route.",
                "# TYPE artistry_http_request_duration_seconds histogram"]
        for route, h in sorted(self.latency.items()):
            labels = f'service="{s}",route="{route}"'
            for bound, n in zip(_BUCKETS, h):
                out.append(f'artistry_http_request_duration_seconds_bucket{{{labels},le="{bound}"}}'
                           f" {n}")
            out.append(f'artistry_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} '
                       f"{h[-1]}")
            out.append(f"artistry_http_request_duration_seconds_sum{{{labels}}} {h[-2]}")
            out.append(f"artistry_http_request_duration_seconds_count{{{labels}}} {h[-1]}")
        out += ["# HELP artistry_http_rejected_total Requests refused before any work, by reason.",
                "# TYPE artistry_http_rejected_total counter"]
        for reason, n in sorted(self.rejected.items()):
            out.append(f'artistry_http_rejected_total{{service="{s}",reason="{reason}"}} {n}')
        out += ["# HELP artistry_http_in_flight Requests being handled now.",
                "# TYPE artistry_http_in_flight gauge",
                f'artistry_http_in_flight{{service="{s}"}} {self.in_flight}']
        return "\n".join(out) + "\n"


# ---- admission: a request's buffers held on the engine's CPU budget while it runs

class Admission:
    """Bounds a service's in-flight work through the engine's memory manager. A request holds a
    reservation of its own buffers (upload, decoded pixels, outputs, encoded answer) on the
    CPU budget the engine's nodes also draw from, so the two share one bound. Admitted
    requests together hold at most `fraction` of the budget, which leaves the rest to the
    nodes they run and so guarantees progress. Over that, a request queues (first come, first
    served) until its deadline, then ServiceError 503 with Retry-After."""

    def __init__(self, engine, config, metrics):
        self.engine = engine
        self.config = config
        self.metrics = metrics
        self.limit = int(engine.memory_stats("cpu")["budget"] * config.admission_fraction)
        self.admitted = 0
        self._queue = asyncio.Condition()
        # Reservations may wait; they wait here, not on the event loop or its default pool.
        self._waits = concurrent.futures.ThreadPoolExecutor(max_workers=8,
                                                            thread_name_prefix="admission")

    def _busy(self, reason):
        self.metrics.reject(reason)
        retry = max(1, int(self.config.queue_seconds / 2))
        return ServiceError(503, f"the service is at its memory budget ({reason}); retry later",
                            "busy", {"Retry-After": str(retry)})

    def hold(self, nbytes):
        """An async context: the reservation of nbytes, released when the block ends."""
        return _Held(self, max(1, int(nbytes)))

    async def _enter(self, nbytes):
        if nbytes > self.limit:
            raise ServiceError(413, f"the request needs {nbytes >> 20} MiB, more than this "
                               f"service admits at once ({self.limit >> 20} MiB)",
                               "limit_exceeded")
        deadline = time.monotonic() + self.config.queue_seconds
        async with self._queue:
            try:
                await asyncio.wait_for(
                    self._queue.wait_for(lambda: self.admitted + nbytes <= self.limit),
                    timeout=max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise self._busy("queue deadline") from None
            self.admitted += nbytes
        try:
            left = max(0.0, deadline - time.monotonic())
            return await asyncio.get_running_loop().run_in_executor(
                self._waits, lambda: self.engine.reserve(nbytes, timeout=left))
        except (artistry.TimeoutError, artistry.LimitExceededError):
            await self._leave(nbytes)
            raise self._busy("memory budget") from None
        except BaseException:
            await self._leave(nbytes)
            raise

    async def _leave(self, nbytes):
        async with self._queue:
            self.admitted -= nbytes
            self._queue.notify_all()


class _Held:
    def __init__(self, admission, nbytes):
        self.admission = admission
        self.nbytes = nbytes
        self.reservation = None

    async def __aenter__(self):
        self.reservation = await self.admission._enter(self.nbytes)
        return self

    async def __aexit__(self, *exc):
        self.reservation.release()
        await self.admission._leave(self.nbytes)


# ---- errors

_HTTP_BY_KIND = {"invalid_argument": 400, "not_found": 400, "decode_error": 400,
                 "unsupported": 400, "limit_exceeded": 413, "timeout": 503,
                 "out_of_memory": 503, "cancelled": 503, "io_error": 500, "internal": 500}


def engine_error(error):
    """ServiceError for an exception the engine raised (its message kept)."""
    kind = artistry.status_name(getattr(error, "status", 10))
    return ServiceError(_HTTP_BY_KIND.get(kind, 500), str(error), kind)


def run_error(result):
    """ServiceError for a run that did not finish: the first failed node's kind and message."""
    for node in result.nodes:
        if node["status"] == "failed" and not node["cause"]:
            kind = node.get("error_status") or "internal"
            return ServiceError(_HTTP_BY_KIND.get(kind, 500), result.error, kind)
    return ServiceError(500, result.error or "the run failed", "internal")


def error_response(error):
    headers = dict(error.headers)
    return JSONResponse({"error": error.message, "status": error.kind},
                        status_code=error.http_status, headers=headers)


# ---- requests: size limits, images, parameters

class BodyLimit:
    """ASGI middleware: a body larger than max_bytes answers 413 before the route reads it
    (from Content-Length when given, else while it streams in)."""

    def __init__(self, app, max_bytes, metrics):
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = ServiceError(413, f"the request body is larger than "
                                 f"{self.max_bytes / 2**20:g} MiB "
                                 "(ARTISTRY_SERVICE_MAX_UPLOAD_MB)", "limit_exceeded")
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                self.metrics.reject("upload size")
                return await error_response(too_large)(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        started = False

        async def tracked_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, tracked_send)
        except _TooLarge:
            self.metrics.reject("upload size")
            if not started:
                await error_response(too_large)(scope, receive, send)


class _TooLarge(Exception):
    pass


def check_image(data, config, metrics):
    """The header of an uploaded image: 400 when it is none, 413 above the megapixel limit."""
    if not data:
        raise ServiceError(400, "no image: send the file in the multipart field 'file'")
    try:
        info = artistry.probe_image(data)
    except artistry.ArtistryError as error:
        raise ServiceError(400, f"the upload is not a readable image: {error}",
                           "decode_error") from None
    megapixels = info["width"] * info["height"] / 1e6
    if megapixels > config.max_megapixels:
        metrics.reject("megapixels")
        raise ServiceError(413, f"the image is {info['width']}×{info['height']} "
                           f"({megapixels:.1f} MP), more than {config.max_megapixels:g} MP "
                           "(ARTISTRY_SERVICE_MAX_MEGAPIXELS)", "limit_exceeded")
    return info


async def decode(data):
    """Decoded pixels, off the event loop (the GIL is released while it decodes)."""
    try:
        return await asyncio.get_running_loop().run_in_executor(None, artistry.decode_image,
                                                                data)
    except artistry.ArtistryError as error:
        raise ServiceError(400, f"the upload is not a readable image: {error}",
                           "decode_error") from None


async def encode_png(array):
    return await asyncio.get_running_loop().run_in_executor(None, artistry.encode_image, array,
                                                            "png")


def parse_bool(name, value, default):
    if value is None or value == "":
        return default
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ServiceError(400, f"{name}={value!r}: expected true or false")


def parse_number(name, value, kind=float):
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ServiceError(400, f"{name}={value!r}: expected a {kind.__name__}") from None


async def field(request, name, form=None):
    """A parameter from the query string, else the multipart/urlencoded form."""
    if name in request.query_params:
        return request.query_params[name]
    if form is not None and name in form:
        value = form[name]
        return value if isinstance(value, str) else None
    return None


async def upload(form):
    """The uploaded image's bytes: the multipart field 'file' (or 'image')."""
    item = form.get("file") or form.get("image")
    if item is None or isinstance(item, str):
        raise ServiceError(400, "no image: send the file in the multipart field 'file'")
    return await item.read()


async def read_form(request):
    content_type = request.headers.get("content-type", "")
    if "multipart/form-data" not in content_type and \
            "application/x-www-form-urlencoded" not in content_type:
        raise ServiceError(400, "send a multipart/form-data body with the image in 'file'")
    try:
        return await request.form()
    except _TooLarge:
        raise
    except Exception as error:  # noqa: BLE001  (a malformed body is the client's error)
        raise ServiceError(400, f"the form could not be read: {error}") from None


def request_bytes(info, outputs=1, extra=0, upload_bytes=0):
    """A request's own buffers: the upload, the decoded RGBA pixels, each output and its
    encoded answer."""
    pixels = info["width"] * info["height"]
    return upload_bytes + pixels * 4 * (1 + 2 * outputs) + extra


# ---- the heap: model runs fast while busy, memory given back while idle

class HeapKeeper:
    """Model runs free and reallocate large activations on every request; glibc returning them
    to the kernel and faulting them in again costs a run a third of its time (the CLI keeps
    them for the same reason). So while requests come, freed memory stays in the heap
    (mmap threshold 64 MiB, trim threshold 512 MiB; MALLOC_*_ environment settings win), and
    once the service has been idle for `idle_seconds` malloc_trim gives it back, so an idle
    service is small again. Without glibc it does nothing."""

    def __init__(self, idle_seconds=2.0):
        self.idle_seconds = idle_seconds
        self._trim = None
        self._timer = None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            self._trim = libc.malloc_trim
            if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
                libc.mallopt(-3, 64 << 20)  # M_MMAP_THRESHOLD
            if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
                libc.mallopt(-1, 512 << 20)  # M_TRIM_THRESHOLD
        except (OSError, AttributeError):
            self._trim = None
        self.trims = 0

    def busy(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def idle(self):
        """Called when the last in-flight request finished: trim after idle_seconds."""
        if self._trim is None:
            return
        self.busy()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.idle_seconds, lambda: loop.run_in_executor(
            None, self._trim_now))

    def _trim_now(self):
        self._trim(0)
        self.trims += 1


# ---- the app

def device_name(engine):
    return "cuda" if any(d.startswith("cuda") for d in engine.devices()) else "cpu"


def make_app(name, title, engine, config, models=(), ready=None, health=None):
    """A FastAPI app with /health, /livez, /readyz and /metrics, request metrics, the body
    limit and the error mapping. `models`: the installed models the service needs (ready once
    they are loaded or loadable); `ready`: an extra readiness check returning a reason or
    None; `health`: an async function answering /health in place of the models' report."""
    app = FastAPI(title=title, version=artistry.__version__)
    metrics = RequestMetrics(name)
    app.state.engine = engine
    app.state.config = config
    app.state.metrics = metrics
    app.state.admission = Admission(engine, config, metrics)
    app.state.name = name
    heap = app.state.heap = HeapKeeper()

    @app.middleware("http")
    async def observe(request: Request, call_next):
        start = time.perf_counter()
        metrics.in_flight += 1
        heap.busy()
        try:
            response = await call_next(request)
        finally:
            metrics.in_flight -= 1
            if metrics.in_flight == 0:
                heap.idle()
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.observe(path, request.method, response.status_code,
                        time.perf_counter() - start)
        return response

    app.add_middleware(BodyLimit, max_bytes=config.max_upload_bytes, metrics=metrics)

    @app.exception_handler(ServiceError)
    async def service_error(request, error):
        return error_response(error)

    @app.exception_handler(artistry.ArtistryError)
    async def artistry_error(request, error):
        return error_response(engine_error(error))

    def missing_models():
        installed = set(engine.models_available())
        return [m for m in models if m not in installed]

    async def models_health():
        missing = missing_models()
        return {"status": "ok" if not missing else "degraded", "service": name,
                "device": device_name(engine), "version": artistry.__version__,
                "models": {m: ("loaded" if engine.model_loaded(m) else
                               "missing" if m in missing else "installed") for m in models}}

    app.add_api_route("/health", health or models_health, methods=["GET"])

    @app.get("/livez")
    async def livez():
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        reasons = [f"model '{m}' is not installed (scripts/fetch-models)"
                   for m in missing_models()]
        if ready is not None:
            reason = ready()
            if reason:
                reasons.append(reason)
        if reasons:
            return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
        return {"status": "ready"}

    @app.get("/metrics")
    async def metrics_route():
        text = metrics.text() + engine.metrics_text() + compat.legacy_metrics_text(engine)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    if config.preload and models:
        @app.on_event("startup")
        async def preload():
            await asyncio.get_running_loop().run_in_executor(None, engine.preload, list(models))

    return app


def json_header(data):
    """Structured data for a response header (compact JSON, ASCII only)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def png_response(data, structured=None):
    headers = {"X-Artistry-Data": json_header(structured)} if structured is not None else None
    return Response(content=data, media_type="image/png", headers=headers)
