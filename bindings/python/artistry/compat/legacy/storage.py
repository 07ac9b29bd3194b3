"""Old module path (before the optimisation): the storage manager, from artistry.compat."""
from artistry.compat import (CacheMetrics, CloudStorageManager,  # noqa: F401
                             OptimizedCloudStorageManager)
