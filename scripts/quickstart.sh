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

# An engine: use the one that answers; otherwise install and start the distribution's engine
# through systemd, and where there is no systemd (containers, CI), the project's own engine
# script, which also starts a local registry mirror with stand-in framework images.
socket=/var/run/docker.sock
if curl -fsS --max-time 5 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1; then
  echo "quickstart: a Docker engine answers on $socket" >&2
elif [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
  if ! command -v dockerd >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  systemctl enable --now docker
else
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
