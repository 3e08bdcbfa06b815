#!/usr/bin/env bash
# Replays every input of a target's corpus (or the given directories) through the built fuzz
# binary, 3 times each, and prints the 5 slowest inputs by their fastest of the 3 runs, in
# microseconds. Usage: fuzz/replay-timing.sh <target> [dir...]   (after `cargo fuzz build`)
# FUZZ_BIN_DIR picks another build, e.g. one made with `--sanitizer none --target-dir DIR`.
set -euo pipefail
cd "$(dirname "$0")"
target=$1
shift
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=("corpus/$target")
bin=${FUZZ_BIN_DIR:-target/x86_64-unknown-linux-gnu/release}/$target
find "${dirs[@]}" -type f -print0 |
  PORTICO_FUZZ_TIMING=1 xargs -0 -n 500 "$bin" -runs=3 2>&1 |
  awk '
    /^Running: / { file = $2 }
    /^portico-fuzz-timing / {
      split($2, a, "="); split($3, b, "=");
      if (!(file in best) || a[2] + 0 < best[file]) { best[file] = a[2] + 0; len[file] = b[2] }
    }
    END {
      n = 0; for (f in best) n++;
      printf "inputs: %d\n", n;
      for (f in best) printf "%d us  %d bytes  %s\n", best[f], len[f], f
    }' | { read -r header; echo "$header"; sort -rn | head -5; }
