"""Several photos at once with asyncio: the engine does the work, the event loop stays free.

usage: PYTHONPATH=build/release/python python3 examples/python/async_effects.py INPUT...
"""
import asyncio
import sys

import artistry


async def main(paths):
    engine = artistry.Engine()
    images = [artistry.load_image(p) for p in paths]
    ticks = 0

    async def heartbeat():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    beat = asyncio.create_task(heartbeat())
    results = await asyncio.gather(*(engine.run_async(["dither", "retro_8bit"], img) for img in images))
    beat.cancel()
    for path, result in zip(paths, results):
        print(f"{path}: {result.status}, outputs {sorted(result.outputs)}")
    print(f"event loop ticked {ticks} times meanwhile")


asyncio.run(main(sys.argv[1:]))
