#!/usr/bin/env bash
# No-op `furnace build` (the image exists) against `docker build` of the same cached context.
# Usage: bench/build-noop.sh [path/to/furnace]   (needs scripts/test-engine.sh up: the stand-in
# pytorch image is the base)
set -euo pipefail
furnace=$(readlink -f "${1:-build/release/src/furnace/furnace}")
runs=${RUNS:-30}
proj=$(mktemp -d)
trap 'rm -rf "$proj"; docker rmi -f furnace-bench-noop:x >/dev/null 2>&1 || true' EXIT
export FURNACE_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1
printf 'name: bench-noop\nbase: pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime\napt: [jq]\n' >"$proj/furnace.yaml"
printf 'numpy\n' >"$proj/requirements.txt"
cd "$proj"
tag=$("$furnace" build 2>/dev/null)   # the first build makes the image and the staged context
ctx=${XDG_CACHE_HOME:-$HOME/.cache}/furnace/build/${tag##*:}
hyperfine -N -w 3 -r "$runs" --export-json "$proj/r.json" "$furnace build" \
  "env DOCKER_BUILDKIT=1 /usr/bin/docker build -q -t furnace-bench-noop:x $ctx" >/dev/null
python3 - "$proj/r.json" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = (statistics.median(x["times"]) * 1000 for x in r)
print(f"no-op furnace build {a:.1f} ms   docker build (cached) {b:.1f} ms   furnace is {b / a:.1f}x faster")
PY
docker rmi -f "$tag" >/dev/null 2>&1 || true
