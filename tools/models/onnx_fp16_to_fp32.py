"""Turns an fp16 ONNX export into a plain fp32 graph that OpenCV 4.6 dnn can load.

OpenCV 4.6 refuses FLOAT16 tensors. The export stores its weights as fp16 and wraps the graph
in float<->float16 Casts, so: fp16 initializers and Constant/attribute tensors become fp32, the
float<->float16 Casts are dropped (their consumers read the Cast's input), only the outputs
asked for are kept (and the nodes they need), and the nodes are put in topological order (the
export stores them unsorted, which OpenCV's importer cannot follow).

  onnx_fp16_to_fp32.py IN.onnx OUT.onnx [OUTPUT_NAME ...]
"""
import heapq
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

FLOATS = (TensorProto.FLOAT, TensorProto.FLOAT16)


class ConversionError(Exception):
    pass


def topological_order(nodes, available):
    """Nodes sorted so each comes after the producers of its inputs (stable otherwise)."""
    available = set(available)
    producer = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            producer[o] = i
    waiting_on = {}
    consumers = {}
    for i, n in enumerate(nodes):
        deps = {producer[x] for x in n.input if x and x not in available and x in producer}
        missing = [x for x in n.input if x and x not in available and x not in producer]
        if missing:
            raise ConversionError(f"node {n.name or n.op_type}: inputs {missing} are produced by no node")
        waiting_on[i] = len(deps)
        for d in deps:
            consumers.setdefault(d, []).append(i)
    ready = sorted(i for i, c in waiting_on.items() if c == 0)
    order = []

    heapq.heapify(ready)
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for c in consumers.get(i, []):
            waiting_on[c] -= 1
            if waiting_on[c] == 0:
                heapq.heappush(ready, c)
    if len(order) != len(nodes):
        raise ConversionError("the graph has a cycle")
    return [nodes[i] for i in order]


def element_types(model):
    """{tensor name: TensorProto element type} from inputs, initializers and shape inference."""
    inferred = onnx.shape_inference.infer_shapes(model)
    g = inferred.graph
    types = {t.name: t.data_type for t in g.initializer}
    for v in list(g.input) + list(g.value_info) + list(g.output):
        if v.type.HasField("tensor_type"):
            types[v.name] = v.type.tensor_type.elem_type
    return types


def to_fp32_tensor(t):
    if t.data_type != TensorProto.FLOAT16:
        return t
    return numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name)


def convert(in_path, out_path, keep_outputs=("output",)):
    model = onnx.load(in_path)
    g = model.graph
    initial = [i.name for i in g.input] + [t.name for t in g.initializer]
    sorted_nodes = topological_order(list(g.node), initial)
    del g.node[:]
    g.node.extend(sorted_nodes)
    types = element_types(model)

    # Drop float<->float16 Casts: a dropped Cast's output is an alias of its input.
    alias = {}
    kept = []
    for n in g.node:
        if n.op_type == "Cast":
            to = next(a.i for a in n.attribute if a.name == "to")
            source_type = types.get(n.input[0])
            if to in FLOATS and source_type in FLOATS:
                alias[n.output[0]] = n.input[0]
                continue
            if to == TensorProto.FLOAT16:
                if source_type is None:
                    raise ConversionError(f"Cast {n.name}: unknown input type, cannot decide")
                for a in n.attribute:
                    if a.name == "to":
                        a.i = TensorProto.FLOAT
        kept.append(n)

    def resolve(name):
        while name in alias:
            name = alias[name]
        return name

    for n in kept:
        for i, x in enumerate(n.input):
            n.input[i] = resolve(x)

    # Keep only the outputs asked for; a kept output fed by a dropped Cast renames its source.
    outputs = {o.name: o for o in g.output}
    missing = [o for o in keep_outputs if o not in outputs]
    if missing:
        raise ConversionError(f"{in_path}: no graph output named {missing} (has {sorted(outputs)})")
    graph_inputs = {i.name for i in g.input}
    for name in keep_outputs:
        source = resolve(name)
        if source == name:
            continue
        if source in graph_inputs or source in outputs:
            raise ConversionError(f"output {name} is a plain copy of {source}; not supported")
        for n in kept:
            for i, x in enumerate(n.input):
                if x == source:
                    n.input[i] = name
            for i, x in enumerate(n.output):
                if x == source:
                    n.output[i] = name

    # Only what the kept outputs need.
    producer = {o: n for n in kept for o in n.output}
    needed_nodes, needed_tensors, stack = set(), set(), list(keep_outputs)
    while stack:
        t = stack.pop()
        if t in needed_tensors:
            continue
        needed_tensors.add(t)
        n = producer.get(t)
        if n is not None and id(n) not in needed_nodes:
            needed_nodes.add(id(n))
            stack.extend(x for x in n.input if x)
    nodes = [n for n in kept if id(n) in needed_nodes]

    for n in nodes:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT16:
                a.t.CopyFrom(to_fp32_tensor(a.t))
            elif a.type == onnx.AttributeProto.TENSORS:
                raise ConversionError(f"node {n.name}: tensor-list attributes are not supported")
    initializers = [to_fp32_tensor(t) for t in g.initializer if t.name in needed_tensors]

    del g.node[:]
    g.node.extend(topological_order(nodes, [i.name for i in g.input] + [t.name for t in initializers]))
    del g.initializer[:]
    g.initializer.extend(initializers)
    del g.value_info[:]
    new_outputs = [outputs[o] for o in keep_outputs]
    del g.output[:]
    g.output.extend(new_outputs)
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
            v.type.tensor_type.elem_type = TensorProto.FLOAT
    unused_inputs = [i.name for i in g.input if i.name not in needed_tensors]
    if unused_inputs:
        raise ConversionError(f"graph inputs {unused_inputs} no longer feed the kept outputs")

    left = [t.name for t in g.initializer if t.data_type == TensorProto.FLOAT16]
    left += [n.name for n in g.node if n.op_type == "Cast" and
             any(a.name == "to" and a.i == TensorProto.FLOAT16 for a in n.attribute)]
    if left:
        raise ConversionError(f"float16 left after conversion in: {left[:5]}")
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    return model


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        convert(sys.argv[1], sys.argv[2], tuple(sys.argv[3:]) or ("output",))
    except (ConversionError, OSError, ValueError) as e:
        print(f"onnx_fp16_to_fp32: {e}", file=sys.stderr)
        sys.exit(1)
