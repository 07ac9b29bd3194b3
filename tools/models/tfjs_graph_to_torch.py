"""Converts a TensorFlow.js *graph* model (model.json with `modelTopology.node` + weights
manifest + .bin shards) into a TorchScript module, traced at one input size.

A small interpreter: each TensorFlow node becomes the torch call that computes the same thing.
The graph is NHWC; the module permutes its input to NCHW once, runs every op channels-first
(kernels transposed, channel axes remapped) and permutes the outputs back, so each output has
the shape and layout TF.js gives it. Weights are dequantised (fp16, uint8/uint16 affine) to
float32 and held as the module's parameters, so `.to(device, dtype)` moves and casts them all;
no tensor is baked into the trace. Only the nodes the requested outputs need are converted, and
only the operators the supported models use are implemented; any other is an error naming it.

  tfjs_graph_to_torch.py MODEL.json OUT.pt N,H,W,C OUTPUT_NODE[,OUTPUT_NODE...]
"""
import base64
import json
import os
import re
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F


class ConversionError(ValueError):
    pass


# Bytes per element of each stored dtype (after quantization, if any).
STORED_BYTES = {"float32": 4, "int32": 4, "bool": 1, "float16": 2, "uint8": 1, "uint16": 2}
NUMPY = {"float32": "<f4", "int32": "<i4", "bool": "u1", "float16": "<f2", "uint8": "u1", "uint16": "<u2"}


def read_weights(model_dir, manifest):
    """{weight name: numpy array} from the shards: float32 and int32 as stored, fp16 widened to
    float32, uint8/uint16 affine-quantised values dequantised (q * scale + min)."""
    weights = {}
    for group in manifest:
        blob = b""
        for shard in group["paths"]:
            with open(os.path.join(model_dir, shard), "rb") as f:
                blob += f.read()
        offset = 0
        for w in group["weights"]:
            q = w.get("quantization")
            stored = q["dtype"] if q else w.get("dtype", "float32")
            if stored not in STORED_BYTES:
                raise ConversionError(f"weight {w['name']}: stored dtype {stored} is not supported")
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            end = offset + STORED_BYTES[stored] * count
            if end > len(blob):
                raise ConversionError(f"weight {w['name']} runs past the end of shards {group['paths']}")
            raw = np.frombuffer(blob, NUMPY[stored], count, offset)
            if q and stored in ("uint8", "uint16"):
                raw = raw.astype(np.float64) * q["scale"] + q["min"]
            want = w.get("dtype", "float32")
            value = raw.astype(np.float32 if want == "float32" else NUMPY[want])
            weights[w["name"]] = value.reshape(w["shape"])
            offset = end
        if offset != len(blob):
            raise ConversionError(f"shards {group['paths']} hold {len(blob)} bytes, manifest uses {offset}")
    return weights


def attr(node, key, default=None):
    """One attribute of a TF node, decoded from the JSON form of its AttrValue."""
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(v).decode() for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    for k in ("i", "f", "b", "type"):
        if k in a:
            return int(a[k]) if k == "i" else a[k]
    return default


def source(name):
    """An input reference 'node' or 'node:0' → 'node' (every supported op has one output;
    control inputs, '^node', are skipped by the callers)."""
    m = re.fullmatch(r"([^:]+)(?::(\d+))?", name)
    if int(m.group(2) or 0) != 0:
        raise ConversionError(f"input {name}: only a node's first output is supported")
    return m.group(1)


NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def channel_axis(axis, rank=4):
    axis = int(axis)
    if axis < 0:
        axis += rank
    if rank != 4 or axis not in NHWC_TO_NCHW_AXIS:
        raise ConversionError(f"axis {axis} of a rank-{rank} tensor is not supported")
    return NHWC_TO_NCHW_AXIS[axis]


def same_pads(size, k, stride, dilation):
    """TensorFlow 'SAME': output ceil(size / stride); the odd pixel of padding goes at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


ACTIVATIONS = {"Relu": F.relu, "Relu6": F.relu6, "Sigmoid": torch.sigmoid}
# A fused activation applies to the convolution's own fresh output: in place, one big
# allocation fewer per layer.
ACTIVATIONS_IN_PLACE = {"Relu": torch.relu_, "Relu6": lambda y: F.relu6(y, inplace=True),
                        "Sigmoid": torch.sigmoid_}


class Conv:
    """Conv2D / DepthwiseConv2dNative, optionally fused with BiasAdd and an activation."""

    def __init__(self, node, weights, depthwise):
        if attr(node, "data_format", "NHWC") != "NHWC":
            raise ConversionError(f"data_format {attr(node, 'data_format')} is not supported")
        strides, dil = attr(node, "strides", [1, 1, 1, 1]), attr(node, "dilations", [1, 1, 1, 1])
        if strides[0] != 1 or strides[3] != 1 or dil[0] != 1 or dil[3] != 1:
            raise ConversionError(f"strides {strides} / dilations {dil} are not supported")
        self.stride, self.dilation = strides[1:3], dil[1:3]
        self.padding = attr(node, "padding", "VALID")
        if self.padding not in ("SAME", "VALID"):
            raise ConversionError(f"padding {self.padding} is not supported")
        kernel = weights(node["input"][1])
        kh, kw, cin, cout = kernel.shape
        if depthwise:  # [kh, kw, in, multiplier] → [in * multiplier, 1, kh, kw]; TF orders c * m + j
            self.weight = np.ascontiguousarray(kernel.transpose(2, 3, 0, 1)).reshape(cin * cout, 1, kh, kw)
            self.groups = cin
        else:  # [kh, kw, in, out] → [out, in, kh, kw]
            self.weight = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
            self.groups = 1
        self.kernel = (kh, kw)
        # A 1x1, stride-1 convolution is a matrix product over the channels (no padding either way).
        self.pointwise = (kh, kw) == (1, 1) and self.stride == [1, 1] and self.groups == 1
        fused = attr(node, "fused_ops", [])
        self.bias, self.activation = None, None
        if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            if not fused or fused[0] != "BiasAdd" or len(fused) > 2 or attr(node, "num_args", 1) != 1:
                raise ConversionError(f"fused ops {fused} are not supported (BiasAdd [+ activation] only)")
            self.bias = weights(node["input"][2]).astype(np.float32)
            if len(fused) == 2:
                if fused[1] not in ACTIVATIONS:
                    raise ConversionError(f"fused activation {fused[1]} is not supported")
                self.activation = fused[1]

    def __call__(self, x, w, b):
        if self.pointwise:
            # Channels-last memory: the [N*H*W, C] matrix is a view; one GEMM with the bias.
            n, c, h, wd = x.shape
            rows = x.permute(0, 2, 3, 1).reshape(n * h * wd, c)
            y = F.linear(rows, w, b).reshape(n, h, wd, w.shape[0]).permute(0, 3, 1, 2)
            return ACTIVATIONS_IN_PLACE[self.activation](y) if self.activation else y
        pad = (0, 0)
        if self.padding == "SAME":
            (ht, hb), (wl, wr) = (same_pads(int(x.shape[2 + i]), self.kernel[i], self.stride[i], self.dilation[i])
                                  for i in range(2))
            if ht == hb and wl == wr:
                pad = (ht, wl)
            else:
                x = F.pad(x, (wl, wr, ht, hb))
        y = F.conv2d(x, w, b, stride=self.stride, padding=pad, dilation=self.dilation, groups=self.groups)
        return ACTIVATIONS_IN_PLACE[self.activation](y) if self.activation else y


def resize_bilinear(x, size, align_corners, half_pixel):
    h, w = int(x.shape[2]), int(x.shape[3])
    oh, ow = size
    if align_corners or half_pixel:
        # TF's half-pixel and align-corners rules are PyTorch's align_corners False and True.
        return F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=bool(align_corners))
    # TF's legacy rule: source = dest * in / out. For an integer factor s, output s*i + j is
    # x[i] + (j / s) (x[i+1] - x[i]), the last row repeating; built from slices, so the trace
    # holds no index tensor (the module stays movable to any device).
    if oh % h or ow % w or oh // h != ow // w:
        raise ConversionError(f"legacy bilinear resize {h}x{w} → {oh}x{ow}: only one integer factor is supported")
    s = oh // h
    if s == 1:
        return x.clone()  # a fresh tensor, as every op's result is (later steps may write into it)
    for dim in (2, 3):
        n = x.shape[dim]
        nxt = torch.cat([x.narrow(dim, 1, n - 1), x.narrow(dim, n - 1, 1)], dim)
        diff = nxt - x
        parts = [x] + [x + diff * (j / s) for j in range(1, s)]
        y = torch.stack(parts, dim + 1)
        shape = list(x.shape)
        shape[dim] *= s
        x = y.reshape(shape)
    return x


class GraphModule(torch.nn.Module):
    def __init__(self, model_json, outputs):
        super().__init__()
        with open(model_json, encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("format") not in (None, "graph-model"):
            raise ConversionError(f"{model_json} is a {doc.get('format')}, not a graph-model")
        nodes = {n["name"]: n for n in doc["modelTopology"]["node"]}
        raw = read_weights(os.path.dirname(model_json), doc["weightsManifest"])
        for o in outputs:
            if o not in nodes:
                raise ConversionError(f"output node {o} is not in the graph")
        self.output_nodes = list(outputs)

        # The nodes the outputs need, in dependency order.
        order, state = [], {}

        def visit(name):
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise ConversionError(f"the graph has a cycle through {name}")
            state[name] = 1
            if name not in nodes:
                raise ConversionError(f"node {name} is referenced but not defined")
            for i in nodes[name].get("input", []):
                if not i.startswith("^"):
                    visit(source(i))
            state[name] = 2
            order.append(name)

        stack_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(stack_limit, 10 * len(nodes) + 100))
        try:
            for o in outputs:
                visit(o)
        finally:
            sys.setrecursionlimit(stack_limit)

        unknown = sorted({nodes[n]["op"] for n in order} - set(OPS) - {"Const", "Placeholder"})
        if unknown:
            raise ConversionError("TensorFlow ops not supported by tfjs_graph_to_torch: " + ", ".join(
                f"{op} (node {next(n for n in order if nodes[n]['op'] == op)})" for op in unknown))

        def const(name):
            name = source(name)
            if nodes[name]["op"] != "Const":
                raise ConversionError(f"{name} must be a constant, is a {nodes[name]['op']}")
            if name not in raw:
                raise ConversionError(f"constant {name} is not in the weights manifest")
            return raw[name]

        self.placeholders = [n for n in order if nodes[n]["op"] == "Placeholder"]
        if len(self.placeholders) != 1:
            raise ConversionError(f"expected one input (Placeholder), found {self.placeholders}")
        self.steps = []  # (node name, op, input names, prepared arguments)
        params = 0
        for name in order:
            node = nodes[name]
            op = node["op"]
            if op in ("Const", "Placeholder"):
                continue
            data = [source(i) for i in node.get("input", []) if not i.startswith("^")]
            try:
                prep = PREPARE[op](node, const) if op in PREPARE else None
            except ConversionError as e:
                raise ConversionError(f"node {name} ({op}): {e}")
            if isinstance(prep, Conv):
                w = torch.from_numpy(prep.weight.astype(np.float32))
                if prep.pointwise:
                    w = w.reshape(w.shape[0], w.shape[1])
                else:
                    w = w.contiguous(memory_format=torch.channels_last)
                w = torch.nn.Parameter(w, requires_grad=False)
                self.register_parameter(f"w{params}", w)
                b = None
                if prep.bias is not None:
                    b = torch.nn.Parameter(torch.from_numpy(prep.bias.astype(np.float32)), requires_grad=False)
                    self.register_parameter(f"b{params}", b)
                prep.slot = params
                params += 1
                data = data[:1]
            elif op in ("Add", "AddV2", "Mul", "Sub", "RealDiv", "Maximum", "Minimum"):
                # Constant operands must be scalars: they become plain numbers in the trace.
                operands = []
                for d in data:
                    if nodes[d]["op"] == "Const":
                        v = const(d)
                        if v.size != 1:
                            raise ConversionError(f"node {name} ({op}): constant {d} of shape "
                                                  f"{list(v.shape)} is not supported (scalars only)")
                        operands.append(("const", float(v.reshape(-1)[0])))
                    else:
                        operands.append(("tensor", d))
                prep = operands
                data = [d for kind, d in operands if kind == "tensor"]
            else:
                data = [d for d in data if nodes[d]["op"] != "Const"]
            self.steps.append((name, op, data, prep))

        # Tensors that one step alone reads, and that an op made fresh (not the input, not an
        # Identity's alias, not an output): that step may overwrite them in place, which
        # saves an allocation of a whole activation.
        uses = {}
        for _, _, data, _ in self.steps:
            for d in data:
                uses[d] = uses.get(d, 0) + 1
        for o in self.output_nodes:
            uses[o] = uses.get(o, 0) + 1
        aliases = set(self.placeholders) | {n for n, op, _, _ in self.steps if op == "Identity"}
        self.reusable = {d for d, n in uses.items() if n == 1 and d not in aliases}

    def forward(self, x):
        # NHWC memory seen as NCHW (channels-last strides): TensorFlow's own layout, kept
        # throughout, so 1x1 convolutions are plain matrix products over the channels.
        env = {self.placeholders[0]: x.permute(0, 3, 1, 2)}
        for name, op, data, prep in self.steps:
            args = [env[d] for d in data]
            if isinstance(prep, Conv):
                w = getattr(self, f"w{prep.slot}")
                b = getattr(self, f"b{prep.slot}") if prep.bias is not None else None
                env[name] = prep(args[0], w, b)
            elif isinstance(prep, list):  # binary op, operands tensors or scalar constants
                vals = iter(args)
                a, b = (next(vals) if kind == "tensor" else v for kind, v in prep)
                env[name] = binary(op, a, b, [kind == "tensor" and v in self.reusable for kind, v in prep])
            elif op in UNARY_IN_PLACE and data[0] in self.reusable:
                env[name] = UNARY_IN_PLACE[op](args[0])
            else:
                env[name] = OPS[op](args, prep)
        return tuple(env[o].permute(0, 2, 3, 1).contiguous() for o in self.output_nodes)


def prepare_mean(node, const):
    axes = sorted(channel_axis(a) for a in np.asarray(const(node["input"][1])).reshape(-1))
    return axes, bool(attr(node, "keep_dims", False))


def prepare_concat(node, const):
    return channel_axis(np.asarray(const(node["input"][-1])).reshape(-1)[0])


def prepare_resize(node, const):
    size = [int(v) for v in np.asarray(const(node["input"][1])).reshape(-1)]
    return size, bool(attr(node, "align_corners", False)), bool(attr(node, "half_pixel_centers", False))


def op_mean(args, prep):
    axes, keep = prep
    if not keep:
        raise ConversionError("Mean without keep_dims is not supported (channel layout would change)")
    return args[0].mean(dim=axes, keepdim=True)


PREPARE = {
    "Conv2D": lambda n, c: Conv(n, c, False),
    "_FusedConv2D": lambda n, c: Conv(n, c, False),
    "DepthwiseConv2dNative": lambda n, c: Conv(n, c, True),
    "FusedDepthwiseConv2dNative": lambda n, c: Conv(n, c, True),
    "Mean": prepare_mean,
    "ConcatV2": prepare_concat,
    "ResizeBilinear": prepare_resize,
}

BINARY = {
    "Add": lambda a, b: a + b,
    "AddV2": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "RealDiv": lambda a, b: a / b,
    "Maximum": lambda a, b: torch.clamp(a, min=b) if not torch.is_tensor(b) else
    (torch.clamp(b, min=a) if not torch.is_tensor(a) else torch.maximum(a, b)),
    "Minimum": lambda a, b: torch.clamp(a, max=b) if not torch.is_tensor(b) else
    (torch.clamp(b, max=a) if not torch.is_tensor(a) else torch.minimum(a, b)),
}

BINARY_IN_PLACE = {"Add": "add_", "AddV2": "add_", "Sub": "sub_", "Mul": "mul_", "RealDiv": "div_"}
COMMUTATIVE = {"Add", "AddV2", "Mul"}
UNARY_IN_PLACE = ACTIVATIONS_IN_PLACE


def binary(op, a, b, reusable):
    """a op b, written into a (or, when the op commutes, into b) where that operand may be
    overwritten and already has the result's shape."""
    if op in BINARY_IN_PLACE:
        shape = torch.broadcast_shapes(a.shape if torch.is_tensor(a) else (), b.shape if torch.is_tensor(b) else ())
        if reusable[0] and a.shape == shape:
            return getattr(a, BINARY_IN_PLACE[op])(b)
        if reusable[1] and op in COMMUTATIVE and b.shape == shape:
            return getattr(b, BINARY_IN_PLACE[op])(a)
    return BINARY[op](a, b)


OPS = {
    **{op: None for op in PREPARE if op.endswith(("Conv2D", "Native"))},
    **{op: None for op in BINARY},
    "Relu": lambda args, p: F.relu(args[0]),
    "Relu6": lambda args, p: F.relu6(args[0]),
    "Sigmoid": lambda args, p: torch.sigmoid(args[0]),
    "Identity": lambda args, p: args[0],
    "Mean": op_mean,
    "ConcatV2": lambda args, axis: torch.cat(args, dim=axis),
    "ResizeBilinear": lambda args, p: resize_bilinear(args[0], *p),
}


def convert(model_json, out_path, input_shape, outputs, threads=1):
    """Traces the graph's `outputs` (node names, returned in that order) at `input_shape`
    (NHWC) and saves the TorchScript module; returns the traced module."""
    torch.set_num_threads(threads)
    module = GraphModule(model_json, outputs).eval()
    example = torch.zeros(input_shape, dtype=torch.float32)
    with torch.no_grad(), warnings.catch_warnings():
        # Padding and resize sizes become constants of the trace: the module is fixed to the
        # traced input size, as the model itself is.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        traced = torch.jit.trace(module, (example,), check_trace=False)
    traced.save(out_path)
    return traced


if __name__ == "__main__":
    if len(sys.argv) != 5 or not re.fullmatch(r"\d+(,\d+)*", sys.argv[3]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        convert(sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split(",")], sys.argv[4].split(","))
    except (ConversionError, OSError, RuntimeError) as e:
        print(f"tfjs_graph_to_torch: {e}", file=sys.stderr)
        sys.exit(1)
