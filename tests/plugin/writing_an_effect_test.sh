#!/usr/bin/env bash
# docs/writing-an-effect.md works as written: its example, taken from the page, compiles as an
# effect plugin and runs through the CLI (whole and streamed in bands: the same bytes), a C
# program on the C ABI, and Python; each sees the corners darkened and the centre kept.
# usage: writing_an_effect_test.sh SOURCE_DIR BUILD_DIR CLI C_LIBRARY PYTHON_DIR
set -uo pipefail
src=$1 build=$2 cli=$3 c_lib=$4 py_dir=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}

# The page's C++ block, exactly as a reader copies it.
awk '/^```cpp$/ {on = 1; next} /^```$/ {on = 0} on' "$src/docs/writing-an-effect.md" >"$tmp/vignette.cpp"
check "the page has the example" grep -q "ARTISTRY_EFFECT_PLUGIN(register_vignette)" "$tmp/vignette.cpp"
check "the example compiles as a plugin with warnings as errors" \
  c++ -std=c++20 -O2 -shared -fPIC -Wall -Wextra -Werror "$tmp/vignette.cpp" -o "$tmp/libvignette.so" \
  -I"$src/include" -I"$build/include" -L"$build" -Wl,-rpath,"$build" -lartistry
export ARTISTRY_EFFECT_PLUGINS="$tmp/libvignette.so"

photo="$src/tests/data/butterfly.jpg"
check "the CLI lists it" bash -c "'$cli' effects | grep -q '^vignette (v1'"
check "the CLI runs it whole" "$cli" run --quiet --no-cache -e vignette -p vignette.amount=0.9 --format png \
  -o "$tmp/whole" "$photo"
check "the CLI streams it in bands of 37 rows" "$cli" run --quiet --no-cache -e vignette -p vignette.amount=0.9 \
  --format png --tile 37 -o "$tmp/bands" "$photo"

# C: the engine of the C ABI runs it by name and reads the corner and the centre.
cat >"$tmp/run.c" <<'C'
#include <stdio.h>
#include "artistry.h"
static int px(const art_image* img, int x, int y) {
    art_image_desc d = ART_IMAGE_DESC_INIT;
    art_image_describe(&d, img);
    const unsigned char* p = (const unsigned char*)d.data + (size_t)y * d.stride + (size_t)x * d.channels;
    return p[0] + p[1] + p[2];
}
int main(int argc, char** argv) {
    const char* effects[] = {"vignette"};
    art_engine* engine = NULL;
    art_image *in = NULL, *out = NULL;
    art_result* result = NULL;
    art_image_desc d = ART_IMAGE_DESC_INIT;
    (void)argc;
    if (art_engine_create(&engine, NULL) != ART_OK || art_image_load(&in, argv[1]) != ART_OK ||
        art_engine_run_effects(&result, engine, effects, 1, in, NULL) != ART_OK ||
        art_result_output(&out, result, "vignette") != ART_OK) {
        fprintf(stderr, "%s\n", art_last_error_message());
        return 1;
    }
    art_image_describe(&d, in);
    printf("%d %d %d %d\n", px(in, 0, 0), px(out, 0, 0), px(in, d.width / 2, d.height / 2),
           px(out, d.width / 2, d.height / 2));
    return 0;
}
C
check "a C program builds on the C ABI" cc -std=c11 -Wall -Werror "$tmp/run.c" -o "$tmp/run_c" \
  -I"$src/capi/include" "$c_lib" -Wl,-rpath,"$(dirname "$c_lib")"
read -r c_in c_out c_mid_in c_mid_out < <("$tmp/run_c" "$photo")
check "C: the corner is darker" test "${c_out:-999}" -lt "${c_in:-0}"
check "C: the centre is kept" test "${c_mid_out:-x}" = "${c_mid_in:-y}"

check "Python runs it, and the CLI's whole and streamed outputs equal it" \
  env PYTHONPATH="$py_dir" /usr/bin/python3 - "$photo" "$tmp" <<'PY'
import sys
import artistry
photo, tmp = sys.argv[1], sys.argv[2]
image = artistry.load_image(photo)
out = artistry.apply_effect("vignette", image, {"amount": 0.9})
h, w = out.shape[:2]
assert int(out[0, 0].sum()) < int(image[0, 0].sum()) // 3, (out[0, 0], image[0, 0])
assert (out[h // 2, w // 2] == image[h // 2, w // 2]).all()
assert artistry.effect("vignette")["params"][0]["name"] == "amount"
for name in ("whole", "bands"):
    written = artistry.load_image(f"{tmp}/{name}/butterfly_vignette.png")
    assert (written == out).all(), name
PY

unset ARTISTRY_EFFECT_PLUGINS
check "without the plugin the effect is unknown" \
  bash -c "! '$cli' run --quiet --no-cache -e vignette -o '$tmp/none' '$photo' 2>/dev/null"
ARTISTRY_EFFECT_PLUGINS="$tmp/missing.so" "$cli" effects >/dev/null 2>"$tmp/err"
check "a plugin that cannot load is named in the error" grep -q "missing.so" "$tmp/err"

[ "$fails" -eq 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
