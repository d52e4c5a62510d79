#!/usr/bin/env bash
# Configures and builds bouncegate exactly as a packager types it, with no options, in a fresh
# directory: cmake -S SRC -B DIR && cmake --build DIR. Fails on any error (warnings included,
# as BOUNCEGATE_WERROR defaults to ON) and checks that the four binaries were produced.
set -euo pipefail
src=$1
dir=$2
rm -rf "$dir"
cmake -S "$src" -B "$dir" >/dev/null
cmake --build "$dir" -j"$(nproc)" >"$dir.log" 2>&1 || { tail -40 "$dir.log"; exit 1; }
for b in bouncegate bouncegate-milter bouncegate-relay bouncegate-web; do
  [ -x "$dir/bin/$b" ] || { echo "missing $dir/bin/$b" >&2; exit 1; }
done
"$dir/bin/bouncegate" --help >/dev/null 2>&1 || true
rm -rf "$dir" "$dir.log"
echo "plain build ok"
