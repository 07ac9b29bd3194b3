#!/usr/bin/env bash
# bench/startup: what a process pays before any work, as a user meets it — the CLI listing its
# effects, `import artistry` in Debian's Python, and `vips --version` as the peer — and one
# small real job (FS dither of a 1 MP PNG) end to end. Medians of wall time and peak RSS over
# REPS runs, alternating the programs.
#   bench/startup.sh [BUILD_DIR] [REPS] [JSON_OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
reps=${2:-15}
json=${3:-bench/results/startup.json}
. bench/process_bench.sh
cli=$(cli_of "$build")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -c "import cv2, numpy as np; cv2.imwrite('$tmp/small.png', (np.random.default_rng(1).random((1000, 1000)) * 255).astype('uint8'))"

declare -A cmds=(
  [cli_version]="$cli --version"
  [cli_effects]="$cli effects"
  [python_import]="env PYTHONPATH=$build/python /usr/bin/python3 -c 'import artistry'"
  [cli_dither_1mp]="$cli run $tmp/small.png -e dither --no-cache --quiet -o $tmp/out"
  [vips_version]="vips --version"
)
order=(cli_version cli_effects python_import cli_dither_1mp vips_version)
run_alternating "$reps" "$tmp"
write_medians "$reps" "$tmp" "$json"
