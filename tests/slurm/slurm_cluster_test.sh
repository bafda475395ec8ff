#!/usr/bin/env bash
# The test cluster of scripts/test-slurm.sh is what furnace's Slurm tests (issue 16) rely on:
# a job asking for one stand-in GPU gets CUDA_VISIBLE_DEVICES, two one-GPU jobs run side by side
# on the two GPUs, a job's exit code and a cancellation reach the job-completion record.
# Usage: slurm_cluster_test.sh SOURCE_DIR
set -euo pipefail
src=$1
fail() { echo "slurm test: FAIL: $*" >&2; exit 1; }
if ! command -v sbatch >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
  [ "${CI:-}" = true ] && fail "CI=true and no sbatch or not root (scripts/test.sh starts the cluster)"
  echo "slurm test: skipped (no sbatch, or not root)" >&2
  exit 77
fi
bash "$src/scripts/test-slurm.sh" up
eval "$(bash "$src/scripts/test-slurm.sh" env)"
out=$(mktemp -d)
chmod 0755 "$out"
trap 'rm -rf "$out"' EXIT

wait_done() { # job id
  for _ in $(seq 120); do
    grep -q "^JobId=$1 " "$FURNACE_TEST_SLURM_JOBCOMP" 2>/dev/null && return 0
    sleep 0.25
  done
  fail "job $1 did not finish in 30 s: $(squeue -h -j "$1" 2>&1)"
}
record() { grep "^JobId=$1 " "$FURNACE_TEST_SLURM_JOBCOMP" | tail -n1; }

a=$(sbatch --parsable --gres=gpu:1 -o "$out/%j.out" --wrap 'echo "gpus=$CUDA_VISIBLE_DEVICES"; sleep 2; exit 3')
b=$(sbatch --parsable --gres=gpu:1 -o "$out/%j.out" --wrap 'echo "gpus=$CUDA_VISIBLE_DEVICES"; sleep 2')
wait_done "$a"
wait_done "$b"
ga=$(sed -n 's/^gpus=//p' "$out/$a.out")
gb=$(sed -n 's/^gpus=//p' "$out/$b.out")
[ -n "$ga" ] && [ -n "$gb" ] || fail "no CUDA_VISIBLE_DEVICES in the jobs' output ('$ga', '$gb')"
[ "$ga" != "$gb" ] || fail "two one-GPU jobs got the same GPU ($ga)"
record "$a" | grep -q 'JobState=FAILED .*ExitCode=3:0' || fail "job $a: $(record "$a")"
record "$b" | grep -q 'JobState=COMPLETED .*ExitCode=0:0' || fail "job $b: $(record "$b")"
# Side by side: the second started before the first ended.
sa=$(record "$a" | sed -n 's/.* EndTime=\([^ ]*\).*/\1/p')
sb=$(record "$b" | sed -n 's/.* StartTime=\([^ ]*\).*/\1/p')
[[ $sb < $sa || $sb == "$sa" ]] || fail "the jobs ran one after the other ($sb after $sa)"

c=$(sbatch --parsable -o "$out/%j.out" --wrap 'sleep 60')
for _ in $(seq 40); do squeue -h -j "$c" -o %T | grep -q RUNNING && break; sleep 0.25; done
scancel "$c"
wait_done "$c"
record "$c" | grep -q 'JobState=CANCELLED' || fail "job $c: $(record "$c")"
echo "slurm test: ok (GPUs $ga and $gb, exit code 3 recorded, cancel recorded)"
