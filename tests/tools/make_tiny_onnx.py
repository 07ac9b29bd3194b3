#!/usr/bin/env python3
"""Writes the tiny ONNX models (and their sidecar JSON) that the model-runtime tests load.

usage: make_tiny_onnx.py OUT_DIR

  tiny_x2.onnx   a 2x upscaler: 3x3 blur (receptive field 1 px) -> 2x2 stride-2 transposed
                 conv (a pixel shuffle); input "image" [1,3,H,W] 0..255, output "upscaled" [1,3,2H,2W]
  affine.onnx    fixed shape [1,4]: outputs "y" = 2x + 1 and "sq" = x * x
  nhwc.onnx      NHWC [1,H,W,3] -> [1,H,W,3], each value halved (layout metadata test)

Needs only python3-onnx and python3-numpy (Debian); nothing is downloaded.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model, out_dir, name, sidecar):
    model.opset_import[0].version = 11
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, name + ".onnx"))
    with open(os.path.join(out_dir, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(sidecar, f, indent=2)


def tiny_x2(out_dir):
    # A normalised 3x3 blur per channel: neighbours matter, so tiles need a 1-pixel halo.
    blur = np.zeros((3, 3, 3, 3), np.float32)
    kernel = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16.0
    for c in range(3):
        blur[c, c] = kernel
    # Pixel shuffle as a stride-2 transposed convolution (OpenCV 4.6 imports DepthToSpace only
    # for fixed shapes); the four sub-pixels get different gains so the output is no plain copy.
    shuffle = np.zeros((3, 3, 2, 2), np.float32)
    gains = np.array([[1.0, 0.9], [0.95, 0.85]], np.float32)
    for c in range(3):
        shuffle[c, c] = gains
    nodes = [
        helper.make_node("Conv", ["image", "blur_w"], ["blurred"], kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("ConvTranspose", ["blurred", "shuffle_w"], ["upscaled"],
                         kernel_shape=[2, 2], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_x2",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("upscaled", TensorProto.FLOAT, [1, 3, "h2", "w2"])],
        [numpy_helper.from_array(blur, "blur_w"), numpy_helper.from_array(shuffle, "shuffle_w")])
    save(helper.make_model(graph), out_dir, "tiny_x2", {
        "name": "tiny-x2", "task": "upscale", "backend": "onnx", "file": "tiny_x2.onnx",
        "layout": "nchw", "scale": 2, "license": "MIT", "source": "tests/tools/make_tiny_onnx.py",
        "inputs": [{"name": "image", "shape": [1, 3, -1, -1]}],
        "outputs": [{"name": "upscaled", "shape": [1, 3, -1, -1]}],
    })


def affine(out_dir):
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["twice"]),
        helper.make_node("Add", ["twice", "one"], ["y"]),
        helper.make_node("Mul", ["x", "x"], ["sq"]),
    ]
    graph = helper.make_graph(
        nodes, "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("sq", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.full((1, 4), 2.0, np.float32), "two"),
         numpy_helper.from_array(np.full((1, 4), 1.0, np.float32), "one")])
    save(helper.make_model(graph), out_dir, "affine", {
        "name": "affine", "task": "test", "file": "affine.onnx",
        "inputs": [{"name": "x", "shape": [1, 4]}],
        # Deliberately listed in the opposite order to the graph's: outputs follow the spec.
        "outputs": [{"name": "sq", "shape": [1, 4]}, {"name": "y", "shape": [1, 4]}],
    })


def nhwc(out_dir):
    nodes = [helper.make_node("Mul", ["pixels", "half"], ["halved"])]
    graph = helper.make_graph(
        nodes, "nhwc",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, "h", "w", 3])],
        [helper.make_tensor_value_info("halved", TensorProto.FLOAT, [1, "h", "w", 3])],
        [numpy_helper.from_array(np.array([0.5], np.float32), "half")])
    save(helper.make_model(graph), out_dir, "nhwc", {
        "name": "nhwc-half", "task": "test", "backend": "onnx", "file": "nhwc.onnx",
        "layout": "nhwc",
        "inputs": [{"name": "pixels", "shape": [1, -1, -1, 3]}],
        "outputs": [{"name": "halved", "shape": [1, -1, -1, 3]}],
    })


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    tiny_x2(out_dir)
    affine(out_dir)
    nhwc(out_dir)


if __name__ == "__main__":
    main()
