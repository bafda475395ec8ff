#!/usr/bin/env bash
# Builds furnace and runs every test: unit tests, then the real engine (scripts/test-engine.sh),
# integration tests against it, then the fuzzers for a bounded time. What CI runs (.ci/run).
# Usage: sudo scripts/test.sh        Environment: BUILD_DIR (default build/ci), JOBS (default nproc)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
build=${BUILD_DIR:-build/ci}
jobs=${JOBS:-$(nproc)}
export CI=${CI:-true}   # integration tests fail, never skip, when the engine is missing

phase_start=$(date +%s)
phase() {
  local now
  now=$(date +%s)
  echo "test: [$((now - phase_start))s] $*" >&2
}

phase "installing dependencies"
bash scripts/deps.sh
bash scripts/devcontainer-cli.sh >/dev/null # the furnace ide suite's client (npm registry)

phase "configuring and building ($build)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DFURNACE_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"

phase "unit tests"
ctest --test-dir "$build" -L unit --output-on-failure -j "$jobs" --timeout 120

phase "starting the test engine, registry and stand-in images"
bash scripts/test-engine.sh up
eval "$(bash scripts/test-engine.sh env)"

phase "starting the one-node Slurm cluster"
bash scripts/test-slurm.sh up
eval "$(bash scripts/test-slurm.sh env)"

phase "integration tests"
ctest --test-dir "$build" -L integration --output-on-failure -j 1 --timeout 900

if [ -f scripts/fuzz.sh ]; then
  phase "fuzzers"
  bash scripts/fuzz.sh
fi

phase "all tests passed"
