"""import artistry: numpy round trips without copies, argument checks, errors, async, GIL."""

import asyncio
import os
import threading
import time

import numpy as np
import pytest

import artistry

DATA = os.environ.get("ARTISTRY_TEST_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data"))


def photo(h=48, w=64, c=3, seed=1):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


@pytest.fixture(scope="module")
def engine():
    return artistry.Engine(threads=2, use_environment=False)


def test_image_in_without_copy_and_out_with_owner_as_base():
    a = photo()
    img = artistry.Image(a)
    out = img.numpy()
    assert out.__array_interface__["data"][0] == a.__array_interface__["data"][0]
    assert out.base is not None and not out.flags.owndata
    del a  # the Image keeps the array alive
    assert out.shape == (48, 64, 3)
    assert out.sum() > 0


def test_row_padded_views_are_accepted_without_copy():
    big = photo(60, 90)
    crop = big[5:50, 10:70]  # rows not adjacent: stride > row bytes, pixels contiguous
    img = artistry.Image(crop)
    assert img.stride == big.strides[0]
    assert img.numpy().__array_interface__["data"][0] == crop.__array_interface__["data"][0]


def test_views_with_length_one_axes_are_accepted_whatever_their_stride():
    """numpy leaves the stride of a length-1 axis arbitrary (mask[:, :, None], one row or one
    column of a photo): only the axes that have more than one element must be packed."""
    mask = np.zeros((16, 24), np.uint8)
    mask[4:12, 6:18] = 255
    grey = mask[:, :, None]
    assert artistry.decode_image(artistry.encode_image(grey, "png"))[:, :, 0].tolist() == \
        mask.tolist()
    big = photo(60, 90)
    row, column = big[7:8], big[:, 5:6]
    assert artistry.Image(row).numpy().tolist() == row.tolist()
    assert artistry.Image(column).numpy().tolist() == column.tolist()


def test_run_outputs_are_arrays_owned_by_the_result(engine):
    a = photo()
    result = engine.run(["dither", "pop_art"], a)
    assert result.ok and result.status == "ok"
    out = result.outputs["dither"]
    assert out.dtype == np.uint8 and out.shape == a.shape
    assert not out.flags.owndata and out.base is not None
    same = result["dither"]
    assert same.__array_interface__["data"][0] == out.__array_interface__["data"][0]
    del result
    assert int(out.max()) in (0, 255) or out.size  # still readable after the Result is gone


def test_dtype_errors_raise_type_error(engine):
    with pytest.raises(TypeError, match="dtype"):
        artistry.Image(np.zeros((4, 4, 3), np.int16))
    with pytest.raises(TypeError, match="numpy array"):
        engine.run(["dither"], [[1, 2, 3]])


def test_shape_and_contiguity_errors_raise_value_error():
    with pytest.raises(ValueError, match="channels"):
        artistry.Image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        artistry.Image(np.zeros((4,), np.uint8))
    with pytest.raises(ValueError, match="contiguous"):
        artistry.Image(photo()[:, ::2])
    with pytest.raises(ValueError, match="contiguous"):
        artistry.Image(np.asfortranarray(photo()))


def test_errors_carry_the_cpp_message(engine):
    with pytest.raises(artistry.InvalidArgumentError, match="unknown effect 'warp'") as info:
        engine.run(["warp"], photo())
    assert isinstance(info.value, ValueError) and info.value.status == 1
    with pytest.raises(ValueError, match="levels"):
        engine.run(["dither"], photo(), params={"dither": {"levels": 100000}})
    with pytest.raises(artistry.NotFoundError, match="no_such"):
        artistry.effect("no_such")
    with pytest.raises(artistry.ArtistryError):
        artistry.load_image("/nonexistent/dir/x.png")
    with pytest.raises(ValueError, match="line"):
        artistry.Graph.from_json('{"nodes": [')


def test_effect_schemas():
    names = [e["name"] for e in artistry.effects()]
    assert {"dither", "pop_art", "enhanced_bw", "retro_8bit", "color", "remove_background"} <= set(names)
    levels = next(p for p in artistry.effect("dither")["params"] if p["name"] == "levels")
    assert levels["type"] == "int" and levels["default"] == 4 and levels["min"] == 2 and levels["max"] == 256


def test_graph_json_and_params(engine):
    g = artistry.Graph.from_json(
        '{"nodes": [{"id": "d", "op": "dither", "params": {"palette": "grey"}},'
        ' {"id": "c", "op": "color", "in": ["d"]}], "outputs": ["c"]}')
    assert g.outputs == ["c"] and g.nodes[0]["params"]["palette"] == "grey"
    result = engine.run(g, photo())
    assert list(result.outputs) == ["c"]
    assert artistry.Graph.from_json(g.to_json()).to_json() == g.to_json()


def test_structured_output_in_result_data(engine):
    g = artistry.Graph.from_json(
        '{"nodes": [{"id": "cut", "op": "remove_background", "params": {"model": "classical"}},'
        ' {"id": "d", "op": "dither", "in": ["cut"]}], "outputs": ["d"]}')
    result = engine.run(g, photo())
    assert result.data == {"cut": {"method": "classical"}}
    nodes = {n["id"]: n for n in result.nodes}
    assert nodes["cut"]["data"] == {"method": "classical"} and nodes["d"]["data"] is None


def test_progress_callback_and_cancel(engine):
    events = []
    engine.run(["dither", "pop_art"], photo(), progress=events.append)
    assert events and events[-1]["fraction"] == 1.0 and events[-1]["node"] == ""
    fractions = [e["fraction"] for e in events]
    assert fractions == sorted(fractions)
    result = engine.run(["enhanced_bw", "dither"], photo(400, 400), max_parallel=1,
                        progress=lambda e: True)  # truthy: cancel at once
    assert result.status == "cancelled"


def test_async_run(engine):
    async def main():
        a = photo()
        results = await asyncio.gather(engine.run_async(["dither"], a),
                                       engine.run_async(["pop_art"], a))
        return [list(r.outputs) for r in results]

    assert asyncio.run(main()) == [["dither"], ["pop_art"]]


def test_async_errors_propagate(engine):
    async def main():
        await engine.run_async(["warp"], photo())

    with pytest.raises(ValueError, match="warp"):
        asyncio.run(main())


def test_submit_and_wait(engine):
    done = threading.Event()
    run = engine.submit(["dither"], photo(), on_done=done.set)
    assert run.wait(30.0)
    assert done.wait(5.0)
    assert run.done() and run.result().ok


def test_gil_is_released_during_a_run(engine):
    counter = [0]
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            counter[0] += 1

    def count_for(action):
        before, start = counter[0], time.monotonic()
        value = action()
        return value, counter[0] - before, time.monotonic() - start

    base = np.tile(artistry.load_image(f"{DATA}/squirrel_cls.jpg"), (2, 2, 1))
    t = threading.Thread(target=busy)
    t.start()
    during = run_s = 0.0
    try:
        _, alone, alone_s = count_for(lambda: time.sleep(0.1))  # the busy thread's own pace
        for i in range(40):  # fresh pixels each time, so no cache can answer
            image = base.copy()
            image[0, 0, 0] = i
            result, counted, seconds = count_for(
                lambda: engine.run(["remove_background", "enhanced_bw", "dither"], image))
            assert result.ok
            during += counted
            run_s += seconds
            if run_s > 0.3:
                break
    finally:
        stop.set()
        t.join()
    rate = alone / alone_s
    # With the GIL held through the runs the thread would get at most a switch interval each.
    assert run_s > 0.3, run_s
    assert during > 0.25 * rate * run_s, (during, rate, run_s)
