"""Converts a TensorFlow.js *layers* model (model.json topology + weights manifest + .bin shards)
into an ONNX graph written with onnx.helper.

The Keras model is channels-last; the ONNX graph takes NCHW (the layout OpenCV dnn and the
library use), so kernels are transposed and channel axes remapped. Height and width stay
dynamic. Only the layer vocabulary the supported packages use is accepted; anything else is an
error naming the layer, never a silent approximation.

  tfjs_layers_to_onnx.py MODEL.json OUT.onnx
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


class ConversionError(Exception):
    pass


def read_weights(model_dir, manifest):
    """{weight name: float32 array} from the shards, in manifest order."""
    weights = {}
    for group in manifest:
        blob = b""
        for shard in group["paths"]:
            with open(os.path.join(model_dir, shard), "rb") as f:
                blob += f.read()
        offset = 0
        for w in group["weights"]:
            if w.get("dtype", "float32") != "float32" or "quantization" in w:
                raise ConversionError(f"weight {w['name']}: only unquantised float32 is supported, "
                                      f"got dtype {w.get('dtype')} quantization {w.get('quantization')}")
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            end = offset + 4 * count
            if end > len(blob):
                raise ConversionError(f"weight {w['name']} runs past the end of shards {group['paths']}")
            weights[w["name"]] = np.frombuffer(blob, "<f4", count, offset).reshape(w["shape"]).astype(np.float32)
            offset = end
        if offset != len(blob):
            raise ConversionError(f"shards {group['paths']} hold {len(blob)} bytes, manifest uses {offset}")
    return weights


class Builder:
    def __init__(self, weights):
        self.weights = weights
        self.used = set()
        self.nodes = []
        self.initializers = []

    def weight(self, layer, kind):
        key = f"{layer}/{kind}"
        if key not in self.weights:
            raise ConversionError(f"layer {layer}: weight {key} is not in the weights manifest")
        self.used.add(key)
        return self.weights[key]

    def constant(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output


def same_pads(kernel, dilation):
    """TensorFlow 'same' padding for stride 1: the odd pixel goes to the end."""
    pads_begin, pads_end = [], []
    for k, d in zip(kernel, dilation):
        total = (k - 1) * d
        pads_begin.append(total // 2)
        pads_end.append(total - total // 2)
    return pads_begin + pads_end


def channel_axis(layer, axis):
    if axis in (-1, 3):
        return 1
    raise ConversionError(f"layer {layer}: concatenation over axis {axis} (only channels is supported)")


def convert_layer(b, layer, inputs):
    cls, name, cfg = layer["class_name"], layer["name"], layer["config"]
    if cls == "Conv2D":
        if cfg.get("data_format", "channels_last") != "channels_last":
            raise ConversionError(f"layer {name}: data_format {cfg['data_format']} is not supported")
        if list(cfg["strides"]) != [1, 1] and cfg["padding"] == "same":
            raise ConversionError(f"layer {name}: 'same' padding with strides {cfg['strides']} is not supported")
        if cfg.get("groups", 1) != 1:
            raise ConversionError(f"layer {name}: grouped convolution is not supported")
        kernel = b.weight(name, "kernel")  # [kh, kw, in, out]
        kh, kw = kernel.shape[:2]
        attrs = {"kernel_shape": [kh, kw], "strides": list(cfg["strides"]),
                 "dilations": list(cfg["dilation_rate"])}
        if cfg["padding"] == "same":
            attrs["pads"] = same_pads([kh, kw], cfg["dilation_rate"])
        elif cfg["padding"] != "valid":
            raise ConversionError(f"layer {name}: padding {cfg['padding']} is not supported")
        args = [inputs[0], b.constant(f"{name}.weight", np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))]
        if cfg.get("use_bias", True):
            args.append(b.constant(f"{name}.bias", b.weight(name, "bias")))
        out = b.node("Conv", args, name if cfg.get("activation", "linear") == "linear" else f"{name}.conv", **attrs)
        return activation(b, name, cfg.get("activation", "linear"), out)
    if cls == "Activation":
        return activation(b, name, cfg["activation"], inputs[0], final=True)
    if cls == "Add":
        out = inputs[0]
        for i, other in enumerate(inputs[1:]):
            out = b.node("Add", [out, other], name if i == len(inputs) - 2 else f"{name}.{i}")
        return out
    if cls == "Concatenate":
        return b.node("Concat", inputs, name, axis=channel_axis(name, cfg.get("axis", -1)))
    if cls == "UpSampling2D":
        if cfg.get("interpolation", "nearest") != "nearest":
            raise ConversionError(f"layer {name}: interpolation {cfg['interpolation']} is not supported")
        sy, sx = cfg["size"]
        scales = b.constant(f"{name}.scales", np.array([1, 1, sy, sx], np.float32))
        # asymmetric + floor: output pixel (y, x) copies input (y // sy, x // sx), as Keras does.
        return b.node("Resize", [inputs[0], "", scales], name, mode="nearest",
                      coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    raise ConversionError(f"layer {name}: Keras layer class {cls} is not supported by this converter")


def activation(b, name, kind, x, final=False):
    if kind == "linear":
        return b.node("Identity", [x], name) if final else x
    if kind not in ACTIVATIONS:
        raise ConversionError(f"layer {name}: activation {kind} is not supported")
    return b.node(ACTIVATIONS[kind], [x], name)


def convert(model_json_path, out_path, input_name="input", output_name="output"):
    with open(model_json_path, encoding="utf-8") as f:
        model = json.load(f)
    if model.get("format") != "layers-model":
        raise ConversionError(f"{model_json_path}: format {model.get('format')!r}, expected 'layers-model'")
    config = model["modelTopology"]["model_config"]
    if config["class_name"] not in ("Functional", "Model"):
        raise ConversionError(f"{model_json_path}: model class {config['class_name']} is not supported")
    graph_cfg = config["config"]
    weights = read_weights(os.path.dirname(model_json_path), model["weightsManifest"])
    if len(graph_cfg["input_layers"]) != 1 or len(graph_cfg["output_layers"]) != 1:
        raise ConversionError(f"{model_json_path}: only one input and one output are supported")

    b = Builder(weights)
    tensor_of = {}  # Keras layer name → ONNX tensor name
    channels_in = None
    for layer in graph_cfg["layers"]:
        name = layer["name"]
        if layer["class_name"] == "InputLayer":
            shape = layer["config"]["batch_input_shape"]
            if len(shape) != 4:
                raise ConversionError(f"input {name}: rank {len(shape)}, expected an NHWC image")
            channels_in = shape[3]
            tensor_of[name] = input_name
            continue
        nodes = layer["inbound_nodes"]
        if len(nodes) != 1:
            raise ConversionError(f"layer {name}: shared layers (called {len(nodes)} times) are not supported")
        inputs = []
        for ref in nodes[0]:
            if ref[0] not in tensor_of:
                raise ConversionError(f"layer {name}: input {ref[0]} is not defined before it")
            inputs.append(tensor_of[ref[0]])
        tensor_of[name] = convert_layer(b, layer, inputs)

    unused = sorted(set(weights) - b.used)
    if unused:
        raise ConversionError(f"{model_json_path}: weights not used by any layer: {unused}")
    last = tensor_of[graph_cfg["output_layers"][0][0]]
    b.node("Identity", [last], output_name)
    channels_out = None
    for layer in graph_cfg["layers"]:
        if layer["name"] == graph_cfg["output_layers"][0][0]:
            channels_out = layer["config"].get("filters")
    graph = helper.make_graph(
        b.nodes, os.path.basename(os.path.dirname(os.path.abspath(model_json_path))),
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", channels_in, "H", "W"])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", channels_out, "H_out", "W_out"])],
        b.initializers)
    onnx_model = helper.make_model(graph, producer_name="artistry tools/models/tfjs_layers_to_onnx.py",
                                   opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 7  # readable by OpenCV 4.6 and onnxruntime 1.17
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, out_path)
    return onnx_model


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        convert(sys.argv[1], sys.argv[2])
    except (ConversionError, OSError, KeyError, ValueError) as e:
        print(f"tfjs_layers_to_onnx: {e}", file=sys.stderr)
        sys.exit(1)
