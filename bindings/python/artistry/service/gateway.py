"""The gateway (:8000): the effects processor itself, and one front door to the model services.
Requests for /detect, /faces and /segment go through one pooled httpx.AsyncClient (20
keep-alive connections, 50 at most, timeouts on every phase), made at startup and closed at
shutdown. A service that is down answers 503 with Retry-After; /health says "degraded" and
names it, and recovers by itself when the service is back (no gateway restart).

A service may run as several replicas (ARTISTRY_DETECT_URL=http://a:8001,http://b:8001):
requests go to them in turn, and one that refuses the connection is skipped for the next.
Replicas sharing a Redis tier (ARTISTRY_REDIS_URL) share their results: what one computed is
a hit on the others."""

import asyncio
import itertools

import httpx
from fastapi import Request
from fastapi.responses import Response

from .common import ServiceError, device_name, make_app
from .routes import add_effects_routes

# Routes forwarded, by service; generate only when ARTISTRY_GENERATE_URL names it (a gateway
# without a diffusion pipeline is not "degraded").
FORWARDED = {"detect": ("/detect", "/faces"), "segment": ("/segment",)}
OPTIONAL = {"generate": ("/generate",)}

LIMITS = httpx.Limits(max_keepalive_connections=20, max_connections=50, keepalive_expiry=30)
TIMEOUT = httpx.Timeout(connect=2.0, read=120.0, write=30.0, pool=10.0)
_PASSED_HEADERS = ("content-type", "x-artistry-data", "retry-after")


def create_gateway_app(engine, config):
    forwarded = dict(FORWARDED)
    forwarded.update({k: v for k, v in OPTIONAL.items() if k in config.configured})

    async def health():
        """The services' health aggregated: "degraded" names those that are down."""
        if app.state.client is None:
            return {"status": "starting", "service": "gateway", "device": device_name(engine)}
        states = dict(await asyncio.gather(*(probe(s) for s in forwarded)))
        down = sorted(s for s, v in states.items() if v["status"] != "ok")
        return {"status": "degraded" if down else "ok", "service": "gateway",
                "device": device_name(engine), "down": down, "services": states}

    app = make_app("gateway", "artistry gateway", engine, config, health=health,
                   ready=lambda: None if getattr(app.state, "client", None) else
                   "the gateway's HTTP client is not started")
    add_effects_routes(app)
    app.state.client = None

    @app.on_event("startup")
    async def start_client():
        app.state.client = httpx.AsyncClient(limits=LIMITS, timeout=TIMEOUT)

    @app.on_event("shutdown")
    async def close_client():
        client, app.state.client = app.state.client, None
        if client is not None:
            await client.aclose()

    turns = {service: itertools.count() for service in forwarded}

    async def forward(service, request: Request):
        client = app.state.client
        if client is None:
            raise ServiceError(503, "the gateway is starting or stopping", "busy",
                               {"Retry-After": "1"})
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() in ("content-type", "accept")}
        body = await request.body()
        replicas = config.replicas[service]
        first = next(turns[service])
        for attempt in range(len(replicas)):
            base = replicas[(first + attempt) % len(replicas)]
            try:
                upstream = await client.post(base + request.url.path,
                                             params=request.query_params, content=body,
                                             headers=headers)
                break
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                failure = f"{base}: {type(error).__name__}"  # not reached it: try the next
            except (httpx.RemoteProtocolError, httpx.ReadError) as error:
                raise ServiceError(503, f"the {service} service is unavailable at {base}: "
                                   f"{type(error).__name__}", "unavailable",
                                   {"Retry-After": "5"}) from None
            except httpx.TimeoutException:
                raise ServiceError(504, f"the {service} service did not answer in time",
                                   "timeout") from None
        else:
            raise ServiceError(503, f"the {service} service is unavailable at {failure}",
                               "unavailable", {"Retry-After": "5"})
        passed = {k: v for k, v in upstream.headers.items() if k.lower() in _PASSED_HEADERS}
        return Response(content=upstream.content, status_code=upstream.status_code,
                        headers=passed)

    for service, paths in forwarded.items():
        for path in paths:
            async def route(request: Request, _service=service):
                return await forward(_service, request)
            route.__name__ = f"forward_{path.strip('/')}"
            app.add_api_route(path, route, methods=["POST"],
                              summary=f"forwarded to the {service} service")

    async def probe(service):
        """A service is up while any of its replicas is; each replica's state is listed."""
        states = await asyncio.gather(*(probe_replica(u) for u in config.replicas[service]))
        up = [s for s in states if s["status"] == "ok"]
        state = dict(up[0] if up else states[0])
        if len(states) > 1:
            state["replicas"] = states
        return service, state

    async def probe_replica(url):
        try:
            answer = await app.state.client.get(url + "/health", timeout=2.0)
            body = answer.json()
            status = body.get("status", "unknown") if answer.status_code == 200 else "down"
            return {"status": status, "url": url, "device": body.get("device")}
        except (httpx.HTTPError, ValueError) as error:
            return {"status": "down", "url": url, "error": type(error).__name__}

    @app.get("/services")
    async def services():
        """Each forwarded service's health, as /health aggregates it."""
        return dict(await asyncio.gather(*(probe(s) for s in forwarded)))

    return app
