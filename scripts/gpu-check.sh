#!/usr/bin/env bash
# gpu-check.sh: one prepared check of furnace against a real NVIDIA driver and real GPUs, for a
# GPU machine that is lent for a few minutes. It builds nothing, needs no network and no engine:
# it uses a furnace that is already built and runs
#   1. furnace doctor --gpu-selftest   the NVML probe alone, every value checked (and compared
#                                      with nvidia-smi when that is installed)
#   2. furnace doctor --json           the gpu.* checks must be ok (engine checks are shown only)
#   3. furnace resolve --json DIR      examples/mnist by default: a plan for this host's GPUs
# and prints a short report. Exit 0 when all three pass, 1 when one fails, 2 when there is no
# furnace to run.
#
# Usage: scripts/gpu-check.sh [PROJECT_DIR]
#   FURNACE=/path/to/furnace   the binary (else build/release, build/dev, then furnace on PATH)
# The environment is passed on as it is: FURNACE_NVML_LIBRARY points furnace at another
# libnvidia-ml.so (the tests use the fake one), DOCKER_HOST at an engine (none is needed).
set -u

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="${1:-$here/examples/mnist}"

find_furnace() {
  if [ -n "${FURNACE:-}" ]; then
    [ -x "$FURNACE" ] && { echo "$FURNACE"; return 0; }
    echo "gpu-check: FURNACE=$FURNACE is not an executable" >&2
    return 1
  fi
  local c
  for c in "$here/build/release/src/furnace/furnace" "$here/build/dev/src/furnace/furnace" \
           "$here/build/release/furnace" "$here/build/dev/furnace"; do
    [ -x "$c" ] && { echo "$c"; return 0; }
  done
  if command -v furnace >/dev/null 2>&1; then
    command -v furnace
    return 0
  fi
  echo "gpu-check: no furnace binary: build one first (cmake --preset release && cmake --build" \
       "--preset release), or set FURNACE=/path/to/furnace" >&2
  return 1
}

furnace="$(find_furnace)" || exit 2
work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")" || exit 2
trap 'rm -rf "$work"' EXIT
failed=()

section() { printf '\n== %s\n' "$*"; }
indent() { sed 's/^/   /'; }

echo "gpu-check: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n) ($(uname -sr))"
echo "furnace:   $furnace ($("$furnace" --version 2>&1 | head -n 1))"
if command -v nvidia-smi >/dev/null 2>&1; then
  echo "nvidia-smi:"
  nvidia-smi -L 2>&1 | indent
else
  echo "nvidia-smi: not installed"
fi

# 1. The NVML probe on its own.
section "1. furnace doctor --gpu-selftest"
"$furnace" doctor --gpu-selftest >"$work/selftest.txt" 2>&1
selftest_rc=$?
indent <"$work/selftest.txt"
[ "$selftest_rc" -eq 0 ] || failed+=("NVML self-test (exit $selftest_rc)")

# 2. doctor: the gpu.* checks must be ok; the rest (engine, toolkit) is shown, not judged.
section "2. furnace doctor --json"
"$furnace" doctor --json >"$work/doctor.json" 2>"$work/doctor.err"
doctor_rc=$?
if command -v python3 >/dev/null 2>&1; then
  python3 - "$work/doctor.json" <<'EOF' | indent
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    print("FAIL doctor printed no JSON: %s" % e)
    sys.exit(1)
bad = []
for c in d.get("checks", []):
    judged = c["id"] in ("gpu.driver", "gpu.devices")
    print("%-5s %-24s %s%s" % (c["status"], c["id"], c["summary"], "" if judged else "  (not judged)"))
    if judged and c["status"] != "ok":
        bad.append(c["id"])
g = d.get("gpu") or {}
for x in g.get("gpus", []):
    print("      GPU %s %s %s sm %s, mode %s, %d process(es)" % (
        x.get("index"), x.get("name"), x.get("uuid"), x.get("compute_capability"),
        x.get("compute_mode", "?"), len(x.get("processes", []))))
if not g.get("gpus"):
    bad.append("no GPU in the report")
if bad:
    print("FAIL " + ", ".join(bad))
    sys.exit(1)
EOF
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("doctor: a gpu check is not ok")
else
  indent <"$work/doctor.json"
  grep -q '"id": "gpu.devices"' "$work/doctor.json" || failed+=("doctor: no gpu.devices check")
fi
echo "   (doctor exit $doctor_rc: 1 is expected without an engine)"

# 3. resolve on the project: a plan for this host's GPUs.
section "3. furnace resolve --json $project"
"$furnace" resolve --json "$project" >"$work/resolve.json" 2>"$work/resolve.err"
resolve_rc=$?
if command -v python3 >/dev/null 2>&1; then
  python3 - "$work/resolve.json" "$resolve_rc" <<'EOF' | indent
import json, sys
rc = int(sys.argv[2])
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    print("FAIL resolve printed no JSON (exit %d): %s" % (rc, e))
    sys.exit(1)
h = d.get("host") or {}
gpus = ", ".join("%s (%s)" % (g.get("name"), g.get("sm")) for g in h.get("gpus", []))
print("host     driver %s, CUDA %s, %s (via %s)" % (h.get("driver"), h.get("cuda_driver"), gpus or "no GPU", h.get("source")))
def text(x):
    return x.get("message", x) if isinstance(x, dict) else x
if d.get("ok"):
    print("plan     %s %s, CUDA %s, Python %s" % (d.get("framework"), d.get("framework_version"), d.get("cuda"), d.get("python")))
    print("image    %s" % d.get("base_image"))
for w in d.get("warnings", []):
    print("warning  %s" % text(w))
bad = []
if not h.get("gpus"):
    bad.append("resolve saw no GPU")
if rc != 0 or not d.get("ok"):
    bad.append("no plan runs on this host (exit %d)" % rc)
if bad:
    for r in d.get("reasons", [])[-5:]:
        print("reason   %s" % text(r))
    print("FAIL " + "; ".join(bad))
    sys.exit(1)
EOF
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed+=("resolve: no plan for this host's GPUs")
else
  indent <"$work/resolve.json"
  [ "$resolve_rc" -eq 0 ] || failed+=("resolve (exit $resolve_rc)")
fi
[ -s "$work/resolve.err" ] && indent <"$work/resolve.err"

section "result"
if [ "${#failed[@]}" -eq 0 ]; then
  echo "gpu-check: PASS (NVML self-test, doctor's gpu checks, resolve)"
  exit 0
fi
for f in "${failed[@]}"; do
  echo "gpu-check: FAIL: $f"
done
exit 1
