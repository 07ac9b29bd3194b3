"""python3 -m artistry.compat --path: the folder to put on PYTHONPATH so old code's imports
(optimized_integrated_processor, optimized_storage, main_optimized, integrated_processor,
storage) resolve to the compat layer."""
import sys

from artistry.compat import legacy_path

if sys.argv[1:] != ["--path"]:
    sys.exit("usage: python3 -m artistry.compat --path")
print(legacy_path())
