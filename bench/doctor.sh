#!/usr/bin/env bash
# Whole-process timings of furnace against the raw docker commands that do comparable work.
# Prints medians (hyperfine -N, warm-up runs uncounted) and the ratio furnace/docker.
# Usage: bench/doctor.sh [path/to/furnace]   (needs a running engine: scripts/test-engine.sh up)
set -euo pipefail
furnace=${1:-build/release/src/furnace/furnace}
runs=${RUNS:-30}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export FURNACE_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1   # CPU host: no driver to load

pair() {  # name, furnace command, docker command
  hyperfine -N -w 3 -r "$runs" --export-json "$out/$1.json" "$2" "$3" >/dev/null
  python3 - "$out/$1.json" "$1" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = (statistics.median(x["times"]) * 1000 for x in r)
print(f"{sys.argv[2]:<10} furnace {a:7.1f} ms   docker {b:7.1f} ms   ratio {a / b:.2f}   "
      f"({r[0]['command']}  vs  {r[1]['command']})")
PY
}

pair version "$furnace --version" "docker --version"
pair doctor "$furnace doctor --json" "docker info --format '{{json .}}'"
