#!/usr/bin/env bash
# Whole-process timings of `furnace history` on a history of 10,000 runs (20 projects): the
# default view (the newest 20), one project's newest 20, and every run as a table and as JSON;
# `furnace --version` for the cost of starting the process at all. Prints medians (hyperfine -N,
# warm-up runs uncounted).
# Usage: bench/history.sh [build dir]   (default build/release; it needs bench/furnace_history_fill,
# built when Google Benchmark is installed: cmake --build DIR --target furnace furnace_history_fill)
set -euo pipefail
build=$(readlink -f "${1:-build/release}")
furnace=$build/src/furnace/furnace
fill=$build/bench/furnace_history_fill
runs=${RUNS:-50}
count=${COUNT:-10000}
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
export XDG_DATA_HOME=$data
project=$("$fill" "$data/furnace/history.db" "$count")
echo "history of $count runs in $data/furnace/history.db ($(du -h "$data/furnace/history.db" | cut -f1))"
hyperfine -N --warmup 3 -r "$runs" --export-json "$data/r.json" \
  "$furnace --version" \
  "$furnace history" \
  "$furnace history --project $project" \
  "$furnace history --all" \
  "$furnace history --all --json" >/dev/null
python3 - "$data/r.json" "$furnace" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    times = sorted(r["times"])
    print(f"{statistics.median(times) * 1000:7.2f} ms median  {times[-1] * 1000:7.2f} ms max  "
          f"{r['command'].replace(sys.argv[2], 'furnace')}")
PY
