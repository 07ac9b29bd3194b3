"""Run a model in the runtimes the checks compare: onnxruntime-node (the reference for ONNX,
through ort_run.js), TensorFlow.js on its CPU backend (the reference for TF.js graph models,
through tfjs_run.js), OpenCV dnn and TorchScript (what the library itself uses)."""
import importlib.util
import json
import os
import subprocess
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


class RunError(Exception):
    pass


def onnxruntime(model_path, feeds, outputs, node_modules, threads=1):
    """feeds: {name: float32 array}; returns ([arrays in `outputs` order], seconds)."""
    if not node_modules or not os.path.isdir(os.path.join(node_modules, "onnxruntime-node")):
        raise RunError(f"onnxruntime-node is not installed under {node_modules}")
    with tempfile.TemporaryDirectory(prefix="ort-") as work:
        inputs = []
        for i, (name, value) in enumerate(feeds.items()):
            file = os.path.join(work, f"in{i}.f32")
            np.ascontiguousarray(value, dtype="<f4").tofile(file)
            inputs.append({"name": name, "shape": list(value.shape), "file": file})
        request = os.path.join(work, "request.json")
        with open(request, "w") as f:
            json.dump({"model": model_path, "threads": threads, "inputs": inputs,
                       "outputs": outputs, "out_dir": work}, f)
        env = dict(os.environ, NODE_PATH=node_modules)
        proc = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), request],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RunError(f"onnxruntime-node failed on {model_path}: {proc.stderr.strip()}")
        reply = json.loads(proc.stdout.strip().splitlines()[-1])
        arrays = [np.fromfile(o["file"], dtype="<f4").reshape(o["shape"]) for o in reply["outputs"]]
        return arrays, reply["seconds"]


def tfjs(model_json, feeds, outputs, node_modules):
    """A TF.js graph model (model.json + shards) on TF.js's pure-JS CPU backend; feeds:
    {input node: float32 array}, outputs: node names; returns ([arrays], seconds, TF.js version)."""
    if not node_modules or not os.path.isdir(os.path.join(node_modules, "@tensorflow", "tfjs-converter")):
        raise RunError(f"@tensorflow/tfjs-converter is not installed under {node_modules}")
    with tempfile.TemporaryDirectory(prefix="tfjs-") as work:
        inputs = []
        for i, (name, value) in enumerate(feeds.items()):
            file = os.path.join(work, f"in{i}.f32")
            np.ascontiguousarray(value, dtype="<f4").tofile(file)
            inputs.append({"name": name, "shape": list(value.shape), "file": file})
        request = os.path.join(work, "request.json")
        with open(request, "w") as f:
            json.dump({"model": model_json, "inputs": inputs, "outputs": outputs, "out_dir": work}, f)
        env = dict(os.environ, NODE_PATH=node_modules)
        proc = subprocess.run(["node", os.path.join(HERE, "tfjs_run.js"), request],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RunError(f"TF.js failed on {model_json}: {proc.stderr.strip()}")
        reply = json.loads(proc.stdout.strip().splitlines()[-1])
        arrays = [np.fromfile(o["file"], dtype="<f4").reshape(o["shape"]) for o in reply["outputs"]]
        return arrays, reply["seconds"], reply.get("tfjs", "?")


def opencv(model_path, feeds, outputs, threads=1):
    """The same through OpenCV dnn; returns ([arrays], seconds of forward())."""
    import cv2  # python3-opencv; imported here so the other checks work without it

    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromONNX(model_path)
    for name, value in feeds.items():
        net.setInput(np.ascontiguousarray(value, dtype=np.float32), name)
    started = time.perf_counter()
    arrays = net.forward(outputs)
    return [np.asarray(a) for a in arrays], time.perf_counter() - started


def torchscript(model_path, feeds, outputs, threads=1):
    """The same through TorchScript (inputs in `feeds` order, outputs in the module's order);
    returns ([arrays], seconds of the first call, which includes the JIT's warm-up)."""
    import torch

    torch.set_num_threads(threads)
    module = torch.jit.load(model_path, map_location="cpu").eval()
    args = [torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for v in feeds.values()]
    started = time.perf_counter()
    with torch.no_grad():
        result = module(*args)
    seconds = time.perf_counter() - started
    result = result if isinstance(result, (tuple, list)) else (result,)
    if len(result) != len(outputs):
        raise RunError(f"{model_path} returned {len(result)} outputs, expected {len(outputs)}")
    return [r.numpy() for r in result], seconds


def have_opencv():
    return importlib.util.find_spec("cv2") is not None
