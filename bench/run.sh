#!/usr/bin/env bash
# `furnace run -- true` (image present) against the raw `docker run --rm … IMAGE true` with the
# same mounts and options (the command `furnace run --dry-run` prints, without the name and
# labels), in turns, with the median of the paired ratios; and `furnace ps` against `docker ps`.
# Usage: bench/run.sh [path/to/furnace]   (needs scripts/test-engine.sh up: the stand-in pytorch
# image is the base). RUNS (default 20) sets the number of timed runs.
set -euo pipefail
furnace=$(readlink -f "${1:-build/release/src/furnace/furnace}")
runs=${RUNS:-20}
proj=$(mktemp -d)
trap 'rm -rf "$proj"' EXIT
export FURNACE_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 XDG_DATA_HOME=$proj/data
printf 'name: bench-run\nbase: pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime\n' >"$proj/furnace.yaml"
cd "$proj"
"$furnace" run --gpus none -- true 2>/dev/null   # builds the image (and the user layer) once
# The same docker command, minus --name and the labels (each run needs a fresh name).
raw=$("$furnace" run --gpus none --dry-run -- true 2>/dev/null | tail -n1 |
  python3 -c 'import shlex, sys
a = shlex.split(sys.stdin.read()); out = []; i = 0
while i < len(a):
    if a[i] in ("--name", "--label"): i += 2; continue
    out.append(a[i]); i += 1
# furnace removes its containers itself (no --rm: docs/run.md); the raw command keeps --rm.
if "--rm" not in out: out.insert(2, "--rm")
print(shlex.join(out))')
echo "raw: $raw"
# Paired: furnace and the raw command take turns, and the ratio is taken pair by pair, so that the
# machine's drift (other builds, the engine's own housekeeping) does not land on one side.
python3 - "$runs" "$furnace" "$raw" <<'PY'
import shlex, statistics, subprocess, sys, time
runs, furnace, raw = int(sys.argv[1]), sys.argv[2], shlex.split(sys.argv[3])
ours = [furnace, "run", "--gpus", "none", "--", "true"]
def once(argv):
    t = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t
for _ in range(3):
    once(ours); once(raw)
a, b = [], []
for _ in range(runs):
    a.append(once(ours)); b.append(once(raw))
ratios = [x / y for x, y in zip(a, b)]
print(f"furnace run -- true {statistics.median(a) * 1000:.0f} ms   docker run --rm (same options) "
      f"{statistics.median(b) * 1000:.0f} ms   paired ratio median {statistics.median(ratios):.3f} (n={runs})")
PY
hyperfine -N -w 3 -r "$runs" --export-json "$proj/ps.json" "$furnace ps" "docker ps" >/dev/null
python3 - "$proj/ps.json" <<'PY'
import json, statistics, sys
p = json.load(open(sys.argv[1]))["results"]
a, b = (statistics.median(x["times"]) * 1000 for x in p)
print(f"furnace ps {a:.1f} ms   docker ps {b:.1f} ms")
PY
