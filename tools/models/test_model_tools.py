"""Tests of the model tools on small synthetic models (no download, a few seconds):
python3 -m pytest tools/models"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import manifest  # noqa: E402
import onnx_fp16_to_fp32  # noqa: E402
import onnx_to_torch  # noqa: E402
import reassemble_chunks  # noqa: E402
import runners  # noqa: E402
import tfjs_layers_to_onnx  # noqa: E402

cv2 = pytest.importorskip("cv2")


# ---- TF.js layers → ONNX -------------------------------------------------------------------

def conv_layer(name, inbound, filters, k, padding="same", activation="linear"):
    return {"class_name": "Conv2D", "name": name, "inbound_nodes": [[[inbound, 0, 0, {}]]],
            "config": {"filters": filters, "kernel_size": [k, k], "strides": [1, 1], "padding": padding,
                       "data_format": "channels_last", "dilation_rate": [1, 1],
                       "activation": activation, "use_bias": True}}


def write_tfjs(folder, layers, weights, output):
    """A layers-model folder: model.json + one shard holding `weights` in order."""
    blob = b"".join(np.ascontiguousarray(w, "<f4").tobytes() for _, w in weights)
    (folder / "group1-shard1of1.bin").write_bytes(blob)
    model = {
        "format": "layers-model",
        "modelTopology": {"model_config": {"class_name": "Functional", "config": {
            "name": "m", "layers": layers, "input_layers": [["in", 0, 0]], "output_layers": [[output, 0, 0]]}}},
        "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": [
            {"name": n, "shape": list(w.shape), "dtype": "float32"} for n, w in weights]}],
    }
    (folder / "model.json").write_text(json.dumps(model))
    return str(folder / "model.json")


def keras_conv(x, kernel, bias):
    """Keras Conv2D 'same', stride 1, on NCHW torch tensors: TensorFlow puts the odd pad last."""
    k = kernel.shape[0]
    x = F.pad(x, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2))
    w = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
    return F.conv2d(x, w, torch.from_numpy(bias))


def test_tfjs_layers_match_keras_semantics(tmp_path):
    rng = np.random.default_rng(1)
    weights = [("a/kernel", rng.normal(0, 0.3, (3, 3, 3, 4)).astype(np.float32)),
               ("a/bias", rng.normal(0, 0.1, 4).astype(np.float32)),
               ("b/kernel", rng.normal(0, 0.3, (2, 2, 4, 4)).astype(np.float32)),  # even: asymmetric pad
               ("b/bias", rng.normal(0, 0.1, 4).astype(np.float32)),
               ("c/kernel", rng.normal(0, 0.3, (1, 1, 8, 3)).astype(np.float32)),
               ("c/bias", rng.normal(0, 0.1, 3).astype(np.float32))]
    layers = [
        {"class_name": "InputLayer", "name": "in", "inbound_nodes": [], "config": {"batch_input_shape": [None, None, None, 3]}},
        conv_layer("a", "in", 4, 3, activation="relu"),
        conv_layer("b", "a", 4, 2),
        {"class_name": "Add", "name": "sum", "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]], "config": {}},
        {"class_name": "Concatenate", "name": "cat", "inbound_nodes": [[["sum", 0, 0, {}], ["b", 0, 0, {}]]], "config": {"axis": -1}},
        {"class_name": "UpSampling2D", "name": "up", "inbound_nodes": [[["cat", 0, 0, {}]]],
         "config": {"size": [2, 2], "data_format": "channels_last", "interpolation": "nearest"}},
        conv_layer("c", "up", 3, 1, padding="valid"),
    ]
    model_json = write_tfjs(tmp_path, layers, weights, "c")
    out = str(tmp_path / "m.onnx")
    tfjs_layers_to_onnx.convert(model_json, out)

    x = rng.uniform(0, 1, (1, 3, 7, 9)).astype(np.float32)
    w = dict(weights)
    t = torch.from_numpy(x)
    a = F.relu(keras_conv(t, w["a/kernel"], w["a/bias"]))
    b = keras_conv(a, w["b/kernel"], w["b/bias"])
    cat = torch.cat([a + b, b], 1)
    up = cat.repeat_interleave(2, 2).repeat_interleave(2, 3)
    expected = keras_conv(up, w["c/kernel"], w["c/bias"]).numpy()

    (got,), _ = runners.opencv(out, {"input": x}, ["output"])
    assert got.shape == (1, 3, 14, 18)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_tfjs_unknown_layer_is_named(tmp_path):
    layers = [
        {"class_name": "InputLayer", "name": "in", "inbound_nodes": [], "config": {"batch_input_shape": [None, None, None, 3]}},
        {"class_name": "Lambda", "name": "weird", "inbound_nodes": [[["in", 0, 0, {}]]], "config": {}},
    ]
    model_json = write_tfjs(tmp_path, layers, [], "weird")
    with pytest.raises(tfjs_layers_to_onnx.ConversionError, match="weird.*Lambda"):
        tfjs_layers_to_onnx.convert(model_json, str(tmp_path / "m.onnx"))


# ---- chunk reassembly ------------------------------------------------------------------------

def write_chunks(dist, data, cut, offsets=None):
    """Two chunk files named by their sha256, listed last-first in resources.json."""
    dist.mkdir()
    parts = [data[:cut], data[cut:]]
    offsets = offsets or [[0, cut], [cut, len(data)]]
    chunks = []
    for part, span in zip(parts, offsets):
        h = hashlib.sha256(part).hexdigest()
        (dist / h).write_bytes(part)
        chunks.append({"hash": h, "offsets": span})
    (dist / "resources.json").write_text(json.dumps({"/models/x": {"chunks": chunks[::-1], "size": len(data)}}))


def test_reassembly_orders_chunks_and_checks_pin(tmp_path):
    data = os.urandom(1000)
    write_chunks(tmp_path / "dist", data, 600)
    out = tmp_path / "x.bin"
    digest = reassemble_chunks.reassemble(str(tmp_path / "dist"), "/models/x", str(out),
                                          hashlib.sha256(data).hexdigest())
    assert out.read_bytes() == data and digest == hashlib.sha256(data).hexdigest()
    with pytest.raises(reassemble_chunks.ReassemblyError, match="pinned"):
        reassemble_chunks.reassemble(str(tmp_path / "dist"), "/models/x", str(out), "0" * 64)


def test_reassembly_rejects_gap_and_bad_chunk(tmp_path):
    data = os.urandom(1000)
    write_chunks(tmp_path / "gap", data, 600, offsets=[[0, 600], [601, 1001]])
    with pytest.raises(reassemble_chunks.ReassemblyError, match="gap"):
        reassemble_chunks.reassemble(str(tmp_path / "gap"), "/models/x", str(tmp_path / "o"))
    write_chunks(tmp_path / "bad", data, 600)
    victim = next(p for p in (tmp_path / "bad").iterdir() if p.name != "resources.json")
    victim.write_bytes(b"tampered" + victim.read_bytes()[8:])
    with pytest.raises(reassemble_chunks.ReassemblyError, match="does not hash"):
        reassemble_chunks.reassemble(str(tmp_path / "bad"), "/models/x", str(tmp_path / "o"))


# ---- fp16 → fp32, and ONNX → TorchScript ----------------------------------------------------

def fp16_model(path, rng):
    """input(f32) → Cast16 → Conv(fp16 weights) → Add(fp16 Constant) → Relu → Cast32 → output,
    plus a side output; nodes stored out of order, as the ISNet export does."""
    w = rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float16)
    b = rng.normal(0, 0.1, 4).astype(np.float16)
    shift = np.full((1, 4, 1, 1), 0.25, np.float16)
    nodes = [
        helper.make_node("Cast", ["relu"], ["output"], to=TensorProto.FLOAT),
        helper.make_node("Relu", ["sum"], ["relu"]),
        helper.make_node("Cast", ["conv"], ["side"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["conv", "shift"], ["sum"]),
        helper.make_node("Constant", [], ["shift"], value=numpy_helper.from_array(shift)),
        helper.make_node("Conv", ["x16", "w", "b"], ["conv"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Cast", ["input"], ["x16"], to=TensorProto.FLOAT16),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8]),
         helper.make_tensor_value_info("side", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)
    return w.astype(np.float32), b.astype(np.float32), float(shift.flat[0])


def test_fp16_to_fp32_runs_in_opencv_and_torch(tmp_path):
    rng = np.random.default_rng(2)
    src, dst, ts = str(tmp_path / "h.onnx"), str(tmp_path / "f.onnx"), str(tmp_path / "f.pt")
    w, b, shift = fp16_model(src, rng)
    onnx_fp16_to_fp32.convert(src, dst, ("output",))
    m = onnx.load(dst)
    assert [o.name for o in m.graph.output] == ["output"]
    assert not [n for n in m.graph.node if n.op_type == "Cast"]
    assert all(t.data_type == TensorProto.FLOAT for t in m.graph.initializer)

    x = rng.uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    expected = F.relu(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=1) + shift).numpy()
    (got,), _ = runners.opencv(dst, {"input": x}, ["output"])
    np.testing.assert_allclose(got, expected, atol=1e-5)

    onnx_to_torch.convert(dst, ts, [1, 3, 8, 8])
    (got_ts,), _ = runners.torchscript(ts, {"input": x}, ["output"])
    np.testing.assert_allclose(got_ts, expected, atol=1e-5)


def test_fp16_unknown_output_is_named(tmp_path):
    src = str(tmp_path / "h.onnx")
    fp16_model(src, np.random.default_rng(3))
    with pytest.raises(onnx_fp16_to_fp32.ConversionError, match="nope"):
        onnx_fp16_to_fp32.convert(src, str(tmp_path / "f.onnx"), ("nope",))


# ---- manifest --------------------------------------------------------------------------------

def test_manifest_install_verify_and_corruption(tmp_path):
    models = tmp_path / "models"
    staged = tmp_path / "staged.onnx"
    staged.write_bytes(b"weights" * 100)
    entry = {"name": "m", "task": "t", "backend": "onnx", "file": "m/m.onnx", "inputs": [], "outputs": [],
             "layout": "nchw", "scale": 1, "license": "MIT", "source": "p@1",
             "sha256": manifest.sha256_of(staged), "bytes": staged.stat().st_size,
             "conversion": {"recipe_id": "r1"}, "checks": {"psnr_db_opencv": 90.0}}
    manifest.install(str(models), entry, str(staged), ["m"])
    doc = json.loads((models / "manifest.json").read_text())
    assert doc["version"] == 1 and doc["models"][0]["name"] == "m"
    assert manifest.current(str(models), "m", "r1", True) is None
    assert manifest.current(str(models), "m", "r2", True) == "installed by another recipe version"
    assert manifest.current(str(models), "other", "r1", True) == "not installed"
    (models / "m" / "m.onnx").write_bytes(b"Weights" * 100)
    assert "sha256" in manifest.current(str(models), "m", "r1", True)
    assert not [p for p in os.listdir(models) if p.startswith(".manifest.")]  # no temp left


def test_manifest_rejects_garbage(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(manifest.ManifestError, match="not valid JSON"):
        manifest.read(str(tmp_path))
