"""Decompression bombs on every path: refused from their headers (or, for a stream, before its
buffers are allocated), quickly, with an error that names the limit and how to raise it."""

import os
import resource
import subprocess
import time

import pytest

import artistry

from bombs import BOMBS, INFLATE, THIN
from servers import artistry_cli as _cli

EXPECTED = {  # file → (error class, words the message must hold)
    "png-100000x100000.png": (artistry.LimitExceededError, "raise max_pixels"),
    "jpeg-65535x65535.jpg": (artistry.LimitExceededError, "raise max_pixels"),
    "tiff-1000000x1000000.tif": (artistry.LimitExceededError, "raise max_pixels"),
    "webp-16384x16384.webp": (artistry.LimitExceededError, "raise max_pixels"),
    "bmp-1000000x1000000.bmp": (artistry.LimitExceededError, "raise max_pixels"),
    "bmp-height-int-min.bmp": (artistry.DecodeError, "invalid size"),
    "tiff-huge-tiles.tif": (artistry.UnsupportedError, "too large to decode"),
    "tiff-huge-strip.tif": (artistry.DecodeError, "tiff"),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_whole_image_decoding_refuses_bombs_quickly(name):
    kind, words = EXPECTED[name]
    start = time.perf_counter()
    with pytest.raises(kind) as error:
        artistry.decode_image(BOMBS[name])
    assert words in str(error.value)
    assert time.perf_counter() - start < 1.0


def test_a_small_file_that_inflates_within_the_limits_decodes():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    image = artistry.decode_image(INFLATE)
    assert image.shape == (4000, 4000, 3) and not image.any()
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown < 200  # MiB: the pixels (46 MiB) and the decoder's rows, no more
    with pytest.raises(artistry.LimitExceededError, match="raise max_pixels"):
        artistry.decode_image(INFLATE, max_pixels=10_000_000)


@pytest.mark.parametrize("name", ["tiff-huge-tiles.tif", "tiff-huge-strip.tif",
                                  "tiff-1000000x1000000.tif", "png-100000x100000.png",
                                  "jpeg-65535x65535.jpg"])
def test_streamed_decoding_refuses_bombs_before_allocating(name, tmp_path):
    """A streamed run lifts the pixel limit (memory is bounded by the band), so each reader must
    bound its own buffers: a 16×16 TIFF declaring 65536² tiles once took 84 s and 12 GiB."""
    source = tmp_path / name
    source.write_bytes(BOMBS[name])
    start = time.perf_counter()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", _cli(), "run", str(source), "-e", "dither",
                          "-o", str(tmp_path / "out"), "--tile", "64"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert time.perf_counter() - start < 10
    peak_kib = int(run.stderr.strip().splitlines()[-1])
    assert peak_kib < 300 * 1024, run.stderr
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    if name == "tiff-huge-tiles.tif":
        assert "streaming limit" in run.stderr and "max_buffer_bytes" in run.stderr


def test_a_side_over_the_dimension_limit_is_refused_whole_and_streamed(tmp_path):
    """0.3 MP is far within the pixel limit; 300,000 pixels on one side is over the per-side
    limit (262,144 by default), on the whole-image path and the streamed one alike."""
    with pytest.raises(artistry.LimitExceededError, match="width of 300000.*raise max_dimension"):
        artistry.decode_image(THIN)
    assert artistry.decode_image(THIN, max_dimension=300_000).shape == (1, 300_000, 3)

    source = tmp_path / "thin.png"
    source.write_bytes(THIN)
    for extra in ([], ["--tile", "64"]):
        run = subprocess.run([_cli(), "run", str(source), "-e", "dither", "-o",
                              str(tmp_path / "out"), *extra],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode != 0 and "raise max_dimension" in run.stderr, run.stderr
    run = subprocess.run([_cli(), "run", str(source), "-e", "dither", "-o", str(tmp_path / "ok"),
                          "--max-dimension", "300000", "--tile", "64"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    data = INFLATE  # 46 KB
    with pytest.raises(artistry.LimitExceededError, match="file-size limit.*raise max_file_bytes"):
        artistry.decode_image(data, max_file_bytes=len(data) - 1)
    assert artistry.decode_image(data, max_file_bytes=len(data)).shape == (4000, 4000, 3)

    # The CLI's whole-image path: a 2 MiB file over a 1 MiB limit, refused by its size.
    source = tmp_path / "big.png"
    source.write_bytes(data + b"\0" * (2 << 20))
    run = subprocess.run([_cli(), "run", str(source), "-e", "dither", "-o", str(tmp_path / "out"),
                          "--max-file-mb", "1"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "file-size limit of 1.0 MiB" in run.stderr, run.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
