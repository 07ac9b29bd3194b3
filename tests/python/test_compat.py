"""artistry.compat, called the way the old backend's callers call it."""

import asyncio

import numpy as np

from artistry.compat import (EnhancedProgressManager, OptimizedCloudStorageManager,
                             OptimizedIntegratedProcessor)

OLD_EFFECTS = ["enhancedblackwhite", "popart", "retro8bit", "dithering", "color"]


def photo(h=64, w=96):
    return np.random.default_rng(7).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_process_effects_batch_async_returns_arrays_by_old_name():
    image = photo()
    results = asyncio.run(
        OptimizedIntegratedProcessor().process_effects_batch_async(image, OLD_EFFECTS, batch_size=2))
    assert list(results) == OLD_EFFECTS or set(results) == set(OLD_EFFECTS)
    for name, out in results.items():
        assert isinstance(out, np.ndarray) and out.dtype == np.uint8, name
        assert out.shape[:2] == image.shape[:2], name
    assert not np.array_equal(results["popart"], image)


def test_process_with_memory_management_and_large_image():
    processor = OptimizedIntegratedProcessor()
    image = photo()
    out = processor.process_with_memory_management(image, ["dithering", "color"])
    assert set(out) == {"dithering", "color"}
    large = processor.process_large_image_optimized(image, "retro8bit")
    again = processor.process_with_memory_management(image, ["retro8bit"])["retro8bit"]
    assert np.array_equal(large, again)  # deterministic, no seams: the same bytes


def test_gpu_memory_calls():
    processor = OptimizedIntegratedProcessor()
    processor.cleanup_gpu_memory()
    usage = processor.get_gpu_memory_usage()
    assert isinstance(usage, float) and 0.0 <= usage <= 1.0


def test_cloud_storage_tiers_and_cache():
    async def main():
        cache = OptimizedCloudStorageManager()
        assert cache.determine_cache_tier("k") == "cold"
        assert await cache.get_with_intelligent_cache("k") is None
        assert await cache.get_with_intelligent_cache("k", lambda: b"pixels") == b"pixels"
        assert cache.determine_cache_tier("k") == "warm"
        for _ in range(3):
            assert await cache.get_with_intelligent_cache("k") == b"pixels"
        assert cache.determine_cache_tier("k") == "hot"
        assert cache.get_cache_stats()["hits"] == 3

    asyncio.run(main())


def test_progress_with_eta_has_the_old_shape():
    async def main():
        manager = EnhancedProgressManager()
        first = await manager.update_progress_with_eta("s1", 10)
        await asyncio.sleep(0.05)
        second = await manager.update_progress_with_eta("s1", 40)
        done = await manager.update_progress_with_eta("s1", 100)
        return first, second, done

    first, second, done = asyncio.run(main())
    for d in (first, second, done):
        assert {"progress", "eta_seconds", "processing_rate"} <= set(d)
    assert first["eta_seconds"] is None and first["processing_rate"] == 0.0
    assert second["processing_rate"] > 0 and second["eta_seconds"] > 0
    assert done["eta_seconds"] == 0.0
