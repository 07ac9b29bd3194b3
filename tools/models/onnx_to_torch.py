"""Runs an ONNX graph as a torch module and saves it as TorchScript (traced at one input size).

A small interpreter: each ONNX node becomes the torch call that computes the same thing. Only
the operators the supported models use are implemented; any other is an error naming it.
Shape arithmetic (Shape/Slice/Concat feeding Resize sizes) is evaluated while tracing, so the
saved module is fixed to the traced input size — the models it serves have baked-in sizes.

  onnx_to_torch.py IN.onnx OUT.pt N,C,H,W
"""
import re
import sys
import warnings

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper


class ConversionError(ValueError):
    pass


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def as_ints(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def pad_args(pads):
    """ONNX [begin_h, begin_w, end_h, end_w] → F.pad's (left, right, top, bottom), or a
    symmetric (h, w) padding when begin == end."""
    bh, bw, eh, ew = pads
    if bh == eh and bw == ew:
        return None, (bh, bw)
    return (bw, ew, bh, eh), (0, 0)


class OnnxModule(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        g = model.graph
        self.nodes = list(g.node)
        self.input_names = [i.name for i in g.input if i.name not in {t.name for t in g.initializer}]
        self.output_names = [o.name for o in g.output]
        self.slot = {}
        for i, t in enumerate(g.initializer):
            self.slot[t.name] = f"w{i}"
            self.register_buffer(f"w{i}", torch.from_numpy(numpy_helper.to_array(t).copy()))
        self.constants = {}
        for n in self.nodes:
            if n.op_type == "Constant":
                a = attributes(n)
                if "value" not in a:
                    raise ConversionError(f"Constant {n.name}: only 'value' constants are supported")
                self.constants[n.output[0]] = torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
        unknown = sorted({n.op_type for n in self.nodes} - set(OPS))
        if unknown:
            raise ConversionError(f"ONNX operators not supported by onnx_to_torch: {unknown}")

    def forward(self, *inputs):
        env = dict(zip(self.input_names, inputs))
        for name, slot in self.slot.items():
            env[name] = getattr(self, slot)
        env.update(self.constants)
        for n in self.nodes:
            if n.op_type == "Constant":
                continue
            args = [env[x] if x else None for x in n.input]
            try:
                outs = OPS[n.op_type](args, attributes(n))
            except ConversionError as e:
                raise ConversionError(f"node {n.name} ({n.op_type}): {e}")
            if not isinstance(outs, tuple):
                outs = (outs,)
            for name, value in zip(n.output, outs):
                env[name] = value
        results = tuple(env[o] for o in self.output_names)
        return results[0] if len(results) == 1 else results


def op_conv(args, a):
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ConversionError("auto_pad is not supported")
    explicit, sym = pad_args(a.get("pads", [0, 0, 0, 0]))
    if explicit:
        x = F.pad(x, explicit)
    return F.conv2d(x, w, b, stride=a.get("strides", [1, 1]), padding=sym,
                    dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))


def op_maxpool(args, a):
    x = args[0]
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET") or a.get("storage_order", 0):
        raise ConversionError("auto_pad / storage_order are not supported")
    explicit, sym = pad_args(a.get("pads", [0, 0, 0, 0]))
    if explicit:
        x = F.pad(x, explicit, value=float("-inf"))
    return F.max_pool2d(x, a["kernel_shape"], a.get("strides", a["kernel_shape"]), sym,
                        a.get("dilations", [1, 1]), ceil_mode=bool(a.get("ceil_mode", 0)))


def op_slice(args, a):
    data, starts, ends = args[0], as_ints(args[1]), as_ints(args[2])
    axes = as_ints(args[3]) if len(args) > 3 and args[3] is not None else list(range(len(starts)))
    steps = as_ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    index = [slice(None)] * data.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps):
        if st != 1:
            raise ConversionError(f"step {st} is not supported")
        size = data.shape[ax]
        s = max(0, min(size, s + size if s < 0 else s))
        e = max(0, min(size, e + size if e < 0 else e))
        index[ax] = slice(s, e)
    return data[tuple(index)]


def op_resize(args, a):
    x = args[0]
    scales = args[2] if len(args) > 2 else None
    sizes = args[3] if len(args) > 3 else None
    mode = a.get("mode", b"nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    ctm = a.get("coordinate_transformation_mode", b"half_pixel")
    ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
    if sizes is not None and sizes.numel():
        out = as_ints(sizes)[2:]
        kwargs = {"size": out}
    elif scales is not None and scales.numel():
        kwargs = {"scale_factor": [float(v) for v in scales.reshape(-1).tolist()[2:]]}
    else:
        raise ConversionError("needs scales or sizes")
    if mode == "linear" and ctm in ("half_pixel", "pytorch_half_pixel"):
        return F.interpolate(x, mode="bilinear", align_corners=False, **kwargs)
    if mode == "linear" and ctm == "align_corners":
        return F.interpolate(x, mode="bilinear", align_corners=True, **kwargs)
    nearest = a.get("nearest_mode", b"round_prefer_floor")
    nearest = nearest.decode() if isinstance(nearest, bytes) else nearest
    if mode == "nearest" and ctm == "asymmetric" and nearest == "floor":
        return F.interpolate(x, mode="nearest", **kwargs)
    raise ConversionError(f"mode {mode} with {ctm} is not supported")


OPS = {
    "Constant": None,
    "Conv": op_conv,
    "MaxPool": op_maxpool,
    "Relu": lambda args, a: F.relu(args[0]),
    "Sigmoid": lambda args, a: torch.sigmoid(args[0]),
    "Add": lambda args, a: args[0] + args[1],
    "Mul": lambda args, a: args[0] * args[1],
    "Identity": lambda args, a: args[0],
    "Concat": lambda args, a: torch.cat(args, dim=a["axis"]),
    "Shape": lambda args, a: torch.tensor(list(args[0].shape), dtype=torch.int64),
    "Slice": op_slice,
    "Resize": op_resize,
}


def convert(in_path, out_path, input_shape, threads=1):
    torch.set_num_threads(threads)
    model = onnx.load(in_path)
    module = OnnxModule(model).eval()
    example = torch.zeros(input_shape, dtype=torch.float32)
    with torch.no_grad(), warnings.catch_warnings():
        # Shape arithmetic becomes constants of the trace: intended (see the module's doc).
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        traced = torch.jit.trace(module, (example,), check_trace=False)
    traced.save(out_path)
    return traced


if __name__ == "__main__":
    if len(sys.argv) != 4 or not re.fullmatch(r"\d+(,\d+)*", sys.argv[3]):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        convert(sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split(",")])
    except (ConversionError, OSError, RuntimeError) as e:
        print(f"onnx_to_torch: {e}", file=sys.stderr)
        sys.exit(1)
