#!/usr/bin/env bash
# Fails when libartistry_c exports anything but the allow-listed art_* functions, or lacks one.
# Usage: check_symbols.sh LIB ALLOWLIST
set -euo pipefail
lib=$1 allow=$2
actual=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtDdBbRrVvWwi]$/ {print $3}' \
         | sed 's/@.*//' | grep -Ev '^ARTISTRY_C_[0-9.]+$' | sort -u)
expected=$(grep -v '^#' "$allow" | sed '/^$/d' | sort -u)
extra=$(comm -23 <(echo "$actual") <(echo "$expected"))
missing=$(comm -13 <(echo "$actual") <(echo "$expected"))
status=0
if [ -n "$extra" ]; then echo "exported but not allowed:"; echo "$extra" | head -50; status=1; fi
if [ -n "$missing" ]; then echo "allowed but not exported:"; echo "$missing"; status=1; fi
[ $status -eq 0 ] && echo "ok: $(echo "$actual" | wc -l) symbols, all art_*"
exit $status
