#!/usr/bin/env bash
# bench/cli_vs_peers: the artistry CLI with default settings, whole processes side by side with
# the peer a user would otherwise run, alternating within one run; medians of wall time and peak
# RSS (GNU time).
#   1. 151 MP JPEG → black & white → JPEG      vs  vips colourspace … b-w
#   2. Floyd–Steinberg to 1 bit, 9.4 MP grey PNG → PNG  vs  ImageMagick convert … -monochrome
#   bench/cli_vs_peers.sh [BUILD_DIR] [REPS] [JSON_OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
reps=${2:-5}
json=${3:-bench/results/cli_vs_peers.json}
. bench/process_bench.sh
cli=$(cli_of "$build")
work=${ARTISTRY_BENCH_DIR:-/tmp/artistry-bench}
mkdir -p "$work"
photo=../shared/fixtures/images/bythewater_1920.jpg
scale() {  # scale PHOTO WIDTH HEIGHT: vips resize factors from the photo's size to WIDTH×HEIGHT
  /usr/bin/python3 -c "import cv2; h, w = cv2.imread('$1').shape[:2]; print($2 / w, '--vscale', $3 / h)"
}
if [ ! -f "$work/big151.jpg" ]; then
  # shellcheck disable=SC2046
  vips resize "$photo" "$work/big151.jpg[Q=90]" $(scale "$photo" 16384 9216)
fi
if [ ! -f "$work/grey94.png" ]; then
  vips colourspace "$photo" "$work/grey.v" b-w
  # shellcheck disable=SC2046
  vips resize "$work/grey.v" "$work/grey94.png" $(scale "$photo" 4096 2304)
fi
vipsheader "$work/big151.jpg" "$work/grey94.png"

declare -A cmds=(
  [bw151_artistry]="$cli run $work/big151.jpg -e enhanced_bw -p enhanced_bw.clahe=false --format jpeg --no-cache --quiet -o $work/out"
  [bw151_vips]="vips colourspace $work/big151.jpg $work/out/vips_bw.jpg b-w"
  [fs94_artistry]="$cli run $work/grey94.png -e dither -p dither.serpentine=false -p dither.linear=false --no-cache --quiet -o $work/out"
  [fs94_imagemagick]="convert $work/grey94.png -colorspace Gray -dither FloydSteinberg -monochrome $work/out/im_fs.png"
)
order=(bw151_artistry bw151_vips fs94_artistry fs94_imagemagick)
mkdir -p "$work/out"
run_alternating "$reps" "$work"
write_medians "$reps" "$work" "$json"
