"""Writes a tiny latent-diffusion pipeline as TorchScript (python3-torch), in the layout
docs/generation.md asks of real exports, with a manifest the model store reads:

    <dir>/manifest.json
    <dir>/tiny-sd/{unet,vae_decoder,vae_encoder,text_encoder}.pt, vocab.json, merges.txt

The components are small random networks (fixed seed) with the real call signatures:
UNet (sample [B,4,h,w], timestep [B], encoder_hidden_states [B,77,32]) → [B,4,h,w]; the VAE
decoder [1,4,h,w] → [1,3,8h,8w] in −1..1 (3×3 convolution: a receptive field of 1 latent
pixel), the encoder [1,3,H,W] → [1,4,H/8,W/8]; the text encoder token ids [1,77] → [1,77,32].

    /usr/bin/python3 tests/tools/make_tiny_diffusion.py DIR [--width-channels N]"""

import json
import os
import sys

import torch

WIDTH = 32  # text embedding width
WORDS = ["a", "cat", "dog", "in", "the", "snow", "red", "blue", "painting", "of", "photo", ","]


class Unet(torch.nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.inp = torch.nn.Conv2d(4, channels, 3, padding=1)
        self.mid = torch.nn.Conv2d(channels, channels, 3, padding=1)
        self.out = torch.nn.Conv2d(channels, 4, 3, padding=1)
        self.text = torch.nn.Linear(WIDTH, channels)
        self.time = torch.nn.Linear(1, channels)

    def forward(self, sample, timestep, encoder_hidden_states):
        h = torch.nn.functional.silu(self.inp(sample))
        t = self.time((timestep.float() / 1000.0).reshape(-1, 1))
        c = self.text(encoder_hidden_states.mean(dim=1))
        h = h + (t + c)[:, :, None, None]
        h = torch.nn.functional.silu(self.mid(h))
        return self.out(h) * 0.5


class Decoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 16, 3, padding=1)
        self.rgb = torch.nn.Conv2d(16, 3, 1)

    def forward(self, latents):
        h = torch.nn.functional.silu(self.conv(latents))
        h = torch.nn.functional.interpolate(h, scale_factor=8.0, mode="nearest")
        return torch.tanh(self.rgb(h))


class Encoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)

    def forward(self, pixels):
        return self.conv(torch.nn.functional.avg_pool2d(pixels, 8))


class TextEncoder(torch.nn.Module):
    def __init__(self, vocab: int):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, WIDTH)
        self.position = torch.nn.Parameter(torch.randn(77, WIDTH) * 0.1)

    def forward(self, ids):
        return self.embed(ids.long()) + self.position[None, : ids.shape[1]]


def tensor(name, shape):
    return {"name": name, "shape": shape}


def main(out_dir, channels=32):
    torch.manual_seed(2026)
    folder = os.path.join(out_dir, "tiny-sd")
    os.makedirs(folder, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for word in WORDS:
        vocab[word + "</w>"] = len(vocab)
    # every letter, digit and some punctuation alone and word-final (as CLIP's 256 byte
    # symbols make any text encodable), and the merges that make "cat" one piece
    for ch in "abcdefghijklmnopqrstuvwxyz0123456789,.!'":
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(ch + "</w>", len(vocab))
    vocab.setdefault("ca", len(vocab))
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump(vocab, f)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\nc a\nca t</w>\n")

    parts = {
        "unet": (Unet(channels), [tensor("sample", [-1, 4, -1, -1]), tensor("timestep", [-1]),
                                  tensor("encoder_hidden_states", [-1, 77, WIDTH])],
                 [tensor("noise", [-1, 4, -1, -1])]),
        "vae_decoder": (Decoder(), [tensor("latents", [1, 4, -1, -1])],
                        [tensor("pixels", [1, 3, -1, -1])]),
        "vae_encoder": (Encoder(), [tensor("pixels", [1, 3, -1, -1])],
                        [tensor("latents", [1, 4, -1, -1])]),
        "text_encoder": (TextEncoder(len(vocab)), [tensor("ids", [1, 77])],
                         [tensor("hidden", [1, 77, WIDTH])]),
    }
    entries = []
    for part, (module, inputs, outputs) in parts.items():
        module.eval()
        scripted = torch.jit.script(module)
        path = os.path.join(folder, f"{part}.pt")
        scripted.save(path)
        entries.append({"name": f"tiny-sd-{part.replace('_', '-')}", "task": "diffusion_component",
                        "backend": "torchscript", "file": f"tiny-sd/{part}.pt",
                        "inputs": inputs, "outputs": outputs})
    entries.append({
        "name": "tiny-sd", "task": "diffusion", "backend": "torchscript",
        "file": "tiny-sd/unet.pt", "inputs": parts["unet"][1], "outputs": parts["unet"][2],
        "extras": {
            "unet": "tiny-sd-unet", "vae_decoder": "tiny-sd-vae-decoder",
            "vae_encoder": "tiny-sd-vae-encoder", "text_encoder": "tiny-sd-text-encoder",
            "vocab": "vocab.json", "merges": "merges.txt",
            "latent_channels": 4, "scaling_factor": 0.18215, "vae_factor": 8,
            "prediction": "epsilon", "vae_receptive_field": 1,
            "unet_bytes_per_latent_pixel": 4 * 3 * channels * 4,
            "vae_bytes_per_pixel": 4 * 16 * 2 + 12,
            "latent_rgb": [0.298, 0.187, -0.158, -0.184, 0.207, 0.286, 0.189, -0.271,
                           0.208, 0.173, 0.264, -0.473, 0, 0, 0]}})
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"models": entries}, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--width-channels"
         else 32)
