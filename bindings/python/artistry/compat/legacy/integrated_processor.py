"""Old module path (before the optimisation): the effects processor, from artistry.compat."""
from artistry.compat import (EnhancedProgressManager, IntegratedProcessor,  # noqa: F401
                             OptimizedIntegratedProcessor)
