"""Old module path: the effects processor and progress manager, from artistry.compat."""
from artistry.compat import (EnhancedProgressManager, IntegratedProcessor,  # noqa: F401
                             OptimizedIntegratedProcessor)
