"""The generate operation end to end on real TorchScript components (a tiny pipeline written by
tests/tools/make_tiny_diffusion.py with python3-torch): through the engine in a graph that
feeds its output to an effect, the same bytes for the same seed on 1 and 2 threads, image to
image, the CLI, and the errors a user meets without a pipeline."""

import json
import os
import subprocess
import sys

import pytest

from servers import artistry_cli

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE = os.path.join(HERE, "..", "tools", "make_tiny_diffusion.py")
PHOTO = os.path.join(HERE, "..", "data", "fruits.jpg")

SCRIPT = r"""
import hashlib, json, sys
import numpy as np
import artistry

def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()

spec = lambda seed, **more: json.dumps({"nodes": [
    {"id": "gen", "op": "generate", "params": dict(
        {"prompt": "a red cat in the snow", "steps": 8, "seed": seed, "width": 64, "height": 48,
         "sampler": "dpmpp_2m", "karras": True}, **more)},
    {"id": "pop", "op": "pop_art", "in": ["gen"]}], "outputs": ["gen", "pop"]})
canvas = np.zeros((16, 16, 3), np.uint8)
out = {}
for threads in (1, 2):
    engine = artistry.Engine(threads=threads, cache_tiers="none")
    r = engine.run(spec(3), canvas)
    assert r.ok, r.error
    out[f"t{threads}"] = [digest(r.outputs["gen"]), digest(r.outputs["pop"])]
    out["shape"] = list(r.outputs["gen"].shape)
    out["data"] = r.data["gen"]
engine = artistry.Engine(threads=2, cache_tiers="none")
r = engine.run(spec(4), canvas)
out["seed4"] = digest(r.outputs["gen"])
r = engine.run(spec(3, guidance=1.0), canvas)
out["guidance1_calls"] = r.data["gen"]["unet_calls"]
photo = artistry.load_image(sys.argv[1])
r = engine.run(json.dumps({"nodes": [{"id": "gen", "op": "generate", "params": {
    "mode": "image", "prompt": "a painting of fruit", "strength": 0.5, "steps": 10, "seed": 1,
    "memory_mb": 1, "sampler": "euler_ancestral"}}]}), photo)
assert r.ok, r.error
out["img2img_shape"] = list(r.outputs["gen"].shape)
out["img2img_data"] = r.data["gen"]
out["img2img_mean_diff"] = float(np.abs(r.outputs["gen"][:, :, :3].astype(int) -
    photo[: r.outputs["gen"].shape[0], : r.outputs["gen"].shape[1], :3].astype(int)).mean())
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diffusion")
    subprocess.run([sys.executable, MAKE, str(folder)], check=True, timeout=120)
    return str(folder)


def run_script(models_dir, script, *args):
    env = dict(os.environ, ARTISTRY_MODELS_DIR=models_dir)
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_generate_then_pop_art_the_same_seed_gives_the_same_bytes_on_any_thread_count(models):
    out = run_script(models, SCRIPT, PHOTO)
    assert out["t1"] == out["t2"]  # the same seed: the same bytes, 1 or 2 threads
    assert out["seed4"] != out["t1"][0]
    assert out["shape"] == [48, 64, 3]
    data = out["data"]
    assert data["unet_calls"] == 8 and data["batched_guidance"] and data["vae_tiles"] == 1
    assert data["component_seconds"] <= data["seconds"]
    assert out["guidance1_calls"] == 8  # guidance 1: the conditional pass alone
    # image to image: the photo's size rounded down to 8, memory_mb=1 forces VAE tiles and
    # guidance passes one after the other; half the strength keeps it near the photo
    h, w = out["img2img_shape"][:2]
    assert h % 8 == 0 and w % 8 == 0 and h > 200 and w > 200
    assert out["img2img_data"]["vae_tiles"] > 1
    assert not out["img2img_data"]["batched_guidance"]
    assert out["img2img_mean_diff"] > 0


def test_generate_from_the_cli(models, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"nodes": [
        {"id": "gen", "op": "generate", "params": {"prompt": "a blue dog", "steps": 4,
                                                   "width": 32, "height": 32}},
        {"id": "dots", "op": "dither", "in": ["gen"]}]}))
    env = dict(os.environ, ARTISTRY_MODELS_DIR=models)
    run = subprocess.run([artistry_cli(), "run", PHOTO, "--graph", str(spec), "-o",
                          str(tmp_path / "out"), "--format", "png"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    written = sorted(os.listdir(tmp_path / "out"))
    assert any("dots" in name for name in written), written


def test_without_a_pipeline_the_error_says_how_to_get_one(tmp_path):
    empty = tmp_path / "models"
    empty.mkdir()
    script = ("import artistry, numpy as np\n"
              "r = artistry.Engine(cache_tiers='none').run('{\"nodes\": [{\"id\": \"g\", \"op\": "
              "\"generate\", \"params\": {\"prompt\": \"x\"}}]}', np.zeros((8, 8, 3), np.uint8))\n"
              "import json; print(json.dumps({'status': r.status, 'error': r.error}))\n")
    out = run_script(str(empty), script)
    assert out["status"] == "failed" and "docs/generation.md" in out["error"], out


def test_the_generate_service_through_the_gateway(models):
    import httpx
    import numpy as np

    import artistry
    from servers import services

    env = {"ARTISTRY_MODELS_DIR": models, "ARTISTRY_CACHE_TIERS": "memory"}
    with services(("generate", env)) as (generate,), \
            services(("gateway", {"ARTISTRY_GENERATE_URL": generate.url,
                                  "ARTISTRY_CACHE_TIERS": "memory"})) as (gateway,):
        answer = httpx.post(gateway.url + "/generate",
                            data={"prompt": "a cat", "steps": "4", "width": "64",
                                  "height": "48", "seed": "5"}, timeout=60)
        assert answer.status_code == 200, answer.text
        image = artistry.decode_image(answer.content)
        assert image.shape == (48, 64, 3)
        assert json.loads(answer.headers["x-artistry-data"])["unet_calls"] == 4
        # inpainting: only the white part of the mask changes
        photo = np.zeros((64, 64, 3), np.uint8)
        photo[:, :, 0] = np.arange(64, dtype=np.uint8)[None, :] * 4
        mask = np.zeros((64, 64), np.uint8)
        mask[16:48, 16:48] = 255
        answer = httpx.post(gateway.url + "/generate", data={"prompt": "a dog", "steps": "4"},
                            files={"file": artistry.encode_image(photo, "png"),
                                   "mask": artistry.encode_image(mask, "png")},
                            timeout=60)
        assert answer.status_code == 200, answer.text
        out = artistry.decode_image(answer.content)
        keep = mask == 0
        assert (out[keep] == photo[keep]).all()
        assert (out[~keep] != photo[~keep]).any()
        assert httpx.post(gateway.url + "/generate", data={"steps": "4"}).status_code == 400
        health = httpx.get(gateway.url + "/health").json()
        assert "generate" in health["services"]
