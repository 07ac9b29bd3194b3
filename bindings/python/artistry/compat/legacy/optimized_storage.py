"""Old module path: the storage manager on the engine's tiered cache, from artistry.compat."""
from artistry.compat import (CacheMetrics, CloudStorageManager,  # noqa: F401
                             OptimizedCloudStorageManager)
