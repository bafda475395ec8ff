#!/usr/bin/env bash
# Builds the parser fuzzers (project files; daemon.json and dockerd flags) (clang-14, libFuzzer + ASan + UBSan) in build/fuzz and runs each for
# FURNACE_FUZZ_SECONDS (default 20), two at a time. Fails when a fuzzer finds a crash; the
# reproducer is left in build/fuzz/artifacts.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build/fuzz"
seconds="${FURNACE_FUZZ_SECONDS:-20}"
jobs="${FURNACE_FUZZ_JOBS:-2}"

if ! command -v clang++-14 >/dev/null 2>&1 ||
   ! ls /usr/lib/llvm-14/lib/clang/14*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz.sh: installing clang-14 and libclang-rt-14-dev" >&2
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev >&2
fi

cmake -S "$root/tests/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
ninja -C "$build" -j "$jobs" >/dev/null

targets=(requirements conda setup toml dockerfile pep440 daemon_json engine_flags runspec)
mkdir -p "$build/artifacts"
status=0
run_one() {
  local t="$1"
  local corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  # the seeds stay read-only in the tree; new inputs go to build/fuzz/corpus
  "$build/fuzz_$t" "$corpus" "$root/tests/fuzz/corpus/$t" -max_total_time="$seconds" \
    -seed="${FURNACE_FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=0 \
    -artifact_prefix="$build/artifacts/$t-" >"$build/$t.log" 2>&1
}
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ "${#pids[@]}" -ge "$jobs" ]; then
    if ! wait "${pids[0]}"; then
      echo "fuzz.sh: fuzz_${names[0]} failed; see $build/${names[0]}.log" >&2
      tail -n 30 "$build/${names[0]}.log" >&2
      status=1
    else
      echo "fuzz.sh: fuzz_${names[0]} ok (${seconds}s)"
    fi
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "fuzz.sh: fuzz_${names[$i]} failed; see $build/${names[$i]}.log" >&2
    tail -n 30 "$build/${names[$i]}.log" >&2
    status=1
  else
    echo "fuzz.sh: fuzz_${names[$i]} ok (${seconds}s)"
  fi
done
exit "$status"
