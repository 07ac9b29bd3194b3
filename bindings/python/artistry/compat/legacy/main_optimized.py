"""Old module path: `app = create_optimized_app()` builds the gateway service (artistry.service),
which serves the effects itself and forwards detection, segmentation and generation."""
from artistry.service import create_optimized_app  # noqa: F401
