#!/usr/bin/env bash
# Scores `furnace resolve` on the corpus of real repositories (tests/corpus/) and lists every miss
# with what was chosen, what was expected and the era it used; -v lists the hits too.
# Usage: bench/corpus.sh [FURNACE] [-v] [--only SLUG]   (FURNACE default: build/release/src/furnace/furnace)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
furnace=${1:-$here/build/release/src/furnace/furnace}
[ $# -gt 0 ] && shift
if [ ! -x "$furnace" ]; then
  echo "corpus: error: no furnace binary at $furnace; build it first (cmake --preset release && cmake --build --preset release)" >&2
  exit 2
fi
exec python3 "$here/tests/corpus/score.py" "$furnace" "$@"
