#!/usr/bin/env bash
# Installs every package furnace needs to build and test, from the distribution's archive only.
# Idempotent: installs only what is missing, and runs `apt-get update` only when it must.
# Usage: sudo scripts/deps.sh            (build + test dependencies)
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ pkg-config git ca-certificates
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libcurl4-openssl-dev libfmt-dev
  libsqlite3-dev libsqlitecpp-dev
  # tests, fuzzers, benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang-14 libclang-rt-14-dev
  python3 curl util-linux iproute2 hyperfine socat
  # the Podman suite (tests/integration/podman_test.cpp): podman and its --init (catatonit)
  podman catatonit
  # man pages and shell completions (generated, then checked with groff and each shell)
  groff-base zsh fish
  # the Debian package (scripts/package.sh) and its check
  dpkg-dev lintian
  # the registry suite (tests/integration/registry_test.cpp): the Distribution binary, openssl
  docker-registry openssl
  # the one-node Slurm cluster of the tests (scripts/test-slurm.sh)
  slurm-wlm munge
  # furnace dataset's suite (tests/integration/dataset_test.cpp): the CIFS/NFS mount helpers and
  # sudo (the rule that lets users mount the lab's datasets)
  cifs-utils nfs-common sudo
  # the furnace lab suite (tests/integration/lab_test.cpp): headless Chromium driven over DevTools
  chromium python3-websocket
  # the furnace ide suite (tests/integration/ide_test.cpp): Node.js for the Dev Containers CLI
  # (scripts/devcontainer-cli.sh installs it from the npm registry)
  nodejs
  # the --gui suite (tests/integration/gui_test.cpp): Xvfb, cookies, xwininfo/xdpyinfo, xhost, the
  # screenshot (xwd | xwdtopnm | pnmtopng) and socat (above) standing in for ssh -X's forwarding
  xvfb xauth x11-utils x11-xserver-utils x11-apps netpbm
  # furnace export's checks (tests/cluster/check_exports.sh): shellcheck on the sbatch scripts,
  # the Kubernetes API models for the manifests
  shellcheck python3-kubernetes
)
# npm for that CLI; a Node.js that brings its own npm (NodeSource's) needs no Debian package
if ! command -v npm >/dev/null 2>&1; then
  packages+=(npm)
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: error: installing packages needs root; run 'sudo $0'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: error: this script knows apt-get (Debian, Ubuntu); install the packages listed in $0 by hand" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present" >&2
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done" >&2
