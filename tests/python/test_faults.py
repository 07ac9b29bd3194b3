"""Faults injected under whole CLI runs: a full disk under the outputs and under the disk cache
(RLIMIT_FSIZE), the process killed (SIGKILL) while it writes, a model file damaged after
install. Nothing partial is ever left or read back, and errors say what to do."""

import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

import artistry

from servers import artistry_cli as cli

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("ARTISTRY_TEST_DATA_DIR", os.path.join(HERE, "..", "data"))
MODELS = os.environ.get("ARTISTRY_MODELS_DIR",
                        os.path.expanduser("~/.local/share/artistry/models"))


def run_limited(args, file_kib, env):
    """The CLI with files limited to file_kib KiB (SIGXFSZ ignored: writes fail with EFBIG, as
    on a full disk)."""
    script = f"trap '' XFSZ; ulimit -f {file_kib}; exec \"$@\""
    return subprocess.run(["bash", "-c", script, "artistry", cli(), "run"] + args, env=env,
                          capture_output=True, text=True, timeout=120)


def images_in(folder):
    return sorted(p for p in os.listdir(folder)) if os.path.isdir(folder) else []


def test_a_full_disk_under_the_output_fails_clearly_and_leaves_no_file(tmp_path):
    env = dict(os.environ, ARTISTRY_CACHE="off")
    out = tmp_path / "out"
    run = run_limited([os.path.join(DATA, "fruits.jpg"), "-e", "dither", "-o", str(out),
                       "--format", "png", "--quiet"], 16, env)  # the PNG is 42 KiB
    assert run.returncode != 0
    assert "fruits_dither.png" in run.stderr and "too large" in run.stderr.lower(), run.stderr
    assert images_in(out) == []  # no partial output, no temporary file left


def test_a_full_disk_under_the_cache_skips_the_write_and_the_run_succeeds(tmp_path):
    """Cache entries (raw pixels, hundreds of KiB) cannot be written, the JPEG output can: the
    run succeeds, and a later run with room reads no broken entry."""
    cache = tmp_path / "cache"
    env = dict(os.environ, ARTISTRY_CACHE_DIR=str(cache), ARTISTRY_CACHE_TIERS="disk")
    photo = os.path.join(DATA, "fruits.jpg")
    first = run_limited([photo, "-e", "pop_art", "-o", str(tmp_path / "a"), "--format", "jpeg",
                         "-q", "40", "--quiet"], 96, env)
    assert first.returncode == 0, first.stderr
    for root, _, files in os.walk(cache):
        for name in files:  # whatever is there is whole: no entry larger than the limit
            assert os.path.getsize(os.path.join(root, name)) <= 96 * 1024
    second = subprocess.run([cli(), "run", photo, "-e", "pop_art", "-o", str(tmp_path / "b"),
                             "--format", "jpeg", "-q", "40", "--quiet"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    a = (tmp_path / "a" / "fruits_pop_art.jpg").read_bytes()
    b = (tmp_path / "b" / "fruits_pop_art.jpg").read_bytes()
    assert a == b


def test_sigkill_while_writing_leaves_only_whole_files_and_entries(tmp_path):
    """The CLI killed at several moments of a 12 MP run with every effect: each file it left
    under its final name decodes whole, and a later run through the same cache writes the same
    bytes as a run without one."""
    photo = artistry.load_image(os.path.join(DATA, "fruits.jpg"))
    big = np.ascontiguousarray(np.tile(photo, (7, 8, 1))[:3000, :4000])
    source = tmp_path / "big.png"
    artistry.save_image(big, str(source))
    cache = tmp_path / "cache"
    env = dict(os.environ, ARTISTRY_CACHE_DIR=str(cache), ARTISTRY_CACHE_TIERS="disk")
    effects = "dither,pop_art,retro_8bit,enhanced_bw"
    for delay in (0.4, 0.9, 1.6, 2.5):
        out = tmp_path / f"killed-{delay}"
        process = subprocess.Popen([cli(), "run", str(source), "-e", effects, "-o", str(out),
                                    "--quiet"], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for name in images_in(out):  # unfinished writes have no name (O_TMPFILE): none left
            assert ".tmp-" not in name, name
            image = artistry.load_image(str(out / name))
            assert image.shape[:2] == (3000, 4000), name
    cached = subprocess.run([cli(), "run", str(source), "-e", effects, "-o",
                             str(tmp_path / "after"), "--quiet"], env=env, capture_output=True,
                            text=True, timeout=300)
    assert cached.returncode == 0, cached.stderr
    clean = subprocess.run([cli(), "run", str(source), "-e", effects, "-o",
                            str(tmp_path / "clean"), "--quiet", "--no-cache"], env=env,
                           capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    for name in images_in(tmp_path / "clean"):
        assert (tmp_path / "after" / name).read_bytes() == \
            (tmp_path / "clean" / name).read_bytes(), name


def _models_copy(tmp_path):
    manifest = os.path.join(MODELS, "manifest.json")
    if not os.path.exists(os.path.join(MODELS, "centernet")):
        pytest.skip("centernet is not installed (scripts/fetch-models)")
    copy = tmp_path / "models"
    copy.mkdir()
    for name in os.listdir(MODELS):
        if name not in ("centernet", "manifest.json"):
            os.symlink(os.path.join(MODELS, name), copy / name)
    shutil.copy(manifest, copy / "manifest.json")
    shutil.copytree(os.path.join(MODELS, "centernet"), copy / "centernet")
    return copy, next((copy / "centernet").iterdir())


@pytest.mark.parametrize("damage", ["truncated", "modified", "deleted"])
def test_a_damaged_model_is_named_with_the_command_that_repairs_it(tmp_path, damage):
    models, weights = _models_copy(tmp_path)
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:100_000])
    elif damage == "modified":
        data = bytearray(weights.read_bytes())
        data[5000] ^= 0xFF
        weights.write_bytes(bytes(data))
    else:
        weights.unlink()
    env = dict(os.environ, ARTISTRY_MODELS_DIR=str(models), ARTISTRY_CACHE="off")
    run = subprocess.run([cli(), "run", "/usr/share/darknet/data/dog.jpg", "-e",
                          "detect_objects", "-o", str(tmp_path / "out"), "--quiet"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "model 'centernet'" in run.stderr, run.stderr
    assert "scripts/fetch-models" in run.stderr, run.stderr
