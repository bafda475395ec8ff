#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine: installs the dependencies, builds and installs
# furnace, makes sure a Docker engine runs, checks the host with `furnace doctor`, then runs the
# example project end to end: examples/mnist resolved, built, trained for one epoch (its checkpoint
# owned by you, the sudo caller), and the run in `furnace history`.
# Usage: sudo scripts/quickstart.sh          Environment: PREFIX (default /usr/local)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
prefix=${PREFIX:-/usr/local}

bash scripts/deps.sh

echo "quickstart: building furnace" >&2
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFURNACE_BUILD_TESTS=OFF \
  -DFURNACE_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j "$(nproc)"
cmake --install build/release --prefix "$prefix" >/dev/null
echo "quickstart: installed $prefix/bin/furnace ($("$prefix/bin/furnace" --version))" >&2

# An engine: use the one that answers; otherwise install the distribution's engine and start it
# through systemd, or, where there is no systemd (containers, WSL, CI), in the background here.
socket=/var/run/docker.sock
ping() { curl -fsS --max-time 5 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1; }
plain_pid=
if ping; then
  echo "quickstart: a Docker engine answers on $socket" >&2
else
  if ! command -v dockerd >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
    systemctl enable --now docker
  else
    echo "quickstart: no systemd: starting dockerd in the background (log /var/log/furnace-dockerd.log)" >&2
    setsid dockerd >>/var/log/furnace-dockerd.log 2>&1 </dev/null &
    plain_pid=$!
    for _ in $(seq 60); do ping && break; sleep 1; done
    ping || { tail -n 20 /var/log/furnace-dockerd.log >&2; echo "quickstart: dockerd did not start" >&2; exit 1; }
  fi
fi

# The example's base image must come from its official registry. Ask the engine whether it can
# reach it (the registry's answer for that image, nothing pulled). Only where it cannot -- an
# offline or air-gapped machine -- fall back to furnace's test engine, whose registry mirror serves
# STAND-IN images (Debian's CPU torch under the official names); build, run and doctor say so.
base=$(cd "$here/examples/mnist" && "$prefix/bin/furnace" resolve --json |
  sed -n 's/^  "base_image": "\(.*\)",$/\1/p')
if [ -z "$base" ]; then
  echo "quickstart: furnace resolve found no base image for the example" >&2
  exit 1
fi
repo=${base%%:*}
case $repo in */*) ;; *) repo=library/$repo ;; esac
if curl -fsS --max-time 30 --unix-socket "$socket" \
  "http://localhost/distribution/$repo:${base##*:}/json" >/dev/null 2>&1; then
  echo "quickstart: the engine reaches the registry of $base" >&2
elif docker image inspect "$base" >/dev/null 2>&1; then
  echo "quickstart: $base is already in the engine (the registry does not answer from here)" >&2
else
  echo "quickstart: the engine cannot reach the registry of $base (offline?)." >&2
  echo "quickstart: falling back to furnace's TEST engine: STAND-IN images (Debian's CPU torch" >&2
  echo "quickstart: under the official names, no CUDA) so the example runs offline -- not for real work." >&2
  if [ -n "$plain_pid" ]; then
    kill "$plain_pid" 2>/dev/null || true
    for _ in $(seq 30); do ping || break; sleep 1; done
  fi
  bash scripts/test-engine.sh up
fi

echo "quickstart: furnace doctor" >&2
# A host without a GPU fails the GPU checks; the example still runs (on the CPU).
"$prefix/bin/furnace" doctor || echo "quickstart: doctor found problems (above); going on with the example" >&2

echo "quickstart: the example project, examples/mnist" >&2
cd "$here/examples/mnist"
"$prefix/bin/furnace" resolve
"$prefix/bin/furnace" run
ls -l checkpoints/mnist_cnn.pt
"$prefix/bin/furnace" history -n 5
