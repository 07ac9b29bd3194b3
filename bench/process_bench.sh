# Sourced by the whole-process benchmarks (bench/startup.sh, bench/cli_vs_peers.sh): runs named
# commands alternately, REPS times each, under GNU time, and writes the medians of wall time and
# peak RSS as JSON. The caller sets `cmds` (name → command line) and `order` (names).

# cli_of BUILD_DIR: the artistry binary of a build tree.
cli_of() {
  if [ -x "$1/artistry" ]; then echo "$1/artistry"; else echo "$1/tools/artistry/artistry"; fi
}

# run_alternating REPS WORK_DIR: appends "wall_s peak_kib" lines to WORK_DIR/NAME.times.
run_alternating() {
  local reps=$1 work=$2 i name
  cut -d' ' -f1-3 /proc/loadavg >"$work/load_before"
  for name in "${order[@]}"; do : >"$work/$name.times"; done
  for ((i = 0; i < reps; i++)); do
    for name in "${order[@]}"; do
      /usr/bin/time -f '%e %M' -a -o "$work/$name.times" sh -c "${cmds[$name]} >/dev/null 2>&1"
    done
  done
}

# write_medians REPS WORK_DIR JSON_OUT: the medians per name, with the machine and its load.
write_medians() {
  local reps=$1 work=$2 json=$3 first=1 name wall rss
  median() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
  {
    echo "{\"machine\": \"$(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB\", \"date\": \"$(date -u +%F)\","
    echo " \"load_before\": \"$(cat "$work/load_before")\", \"reps\": $reps, \"results\": {"
    for name in "${order[@]}"; do
      wall=$(cut -d' ' -f1 "$work/$name.times" | median)
      rss=$(cut -d' ' -f2 "$work/$name.times" | median)
      [ $first -eq 1 ] || echo ","
      first=0
      printf '  "%s": {"wall_s": %s, "peak_rss_mib": %.1f}' "$name" "$wall" "$(echo "$rss / 1024" | bc -l)"
    done
    echo
    echo "}}"
  } >"$json"
  cat "$json"
}
