#!/usr/bin/env bash
# Each given library or program must load neither OpenCV's imgcodecs (which brings GDAL, HDF5,
# OpenEXR, poppler … ~140 libraries into every process) nor LibTorch: not as a direct
# dependency (readelf -d) and not through another library (ldd).
# Usage: core_deps_test.sh FILE...   (empty arguments, for targets not built, are skipped)
set -uo pipefail
forbidden='libopencv_imgcodecs|libgdal|libhdf5|libOpenEXR|libheif|libpoppler|libtorch|libc10'
checked=0
failed=0
for f in "$@"; do
  [ -n "$f" ] || continue
  if [ ! -f "$f" ]; then
    echo "FAIL $f: not built"
    failed=1
    continue
  fi
  needed=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if [ -z "$needed" ]; then
    echo "FAIL $f: readelf -d lists no NEEDED libraries"
    failed=1
    continue
  fi
  direct=$(grep -E "^($forbidden)" <<<"$needed")
  loaded=$(ldd "$f" | awk '{print $1}' | grep -E "^($forbidden)")
  if [ -n "$direct$loaded" ]; then
    echo "FAIL $f loads:" $direct $loaded
    failed=1
  else
    echo "ok   $f: $(wc -l <<<"$needed") direct, $(ldd "$f" | wc -l) loaded in all"
  fi
  checked=$((checked + 1))
done
if [ "$checked" -eq 0 ]; then
  echo "FAIL: nothing to check"
  exit 1
fi
exit "$failed"
