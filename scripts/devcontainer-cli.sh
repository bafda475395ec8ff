#!/usr/bin/env bash
# Installs the Dev Containers CLI (`devcontainer`, from the npm registry) at the version the
# `furnace ide` suite (tests/integration/ide_test.cpp) was written against. Idempotent: does
# nothing when that version answers `devcontainer --version` already. Needs node and npm
# (scripts/deps.sh installs Debian's). 0.83.0 is the last release that runs on Debian 12's
# Node.js 18; later ones need Node.js 20.
# Usage: sudo scripts/devcontainer-cli.sh        Prints the installed path on stdout.
set -euo pipefail

version=0.83.0

if command -v devcontainer >/dev/null 2>&1 &&
  [ "$(devcontainer --version 2>/dev/null)" = "$version" ]; then
  command -v devcontainer
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "devcontainer-cli: error: npm is missing; run 'sudo scripts/deps.sh'" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "devcontainer-cli: error: a global npm install needs root; run 'sudo $0'" >&2
  exit 1
fi
echo "devcontainer-cli: installing @devcontainers/cli@$version from the npm registry" >&2
npm install --global --no-fund --no-audit --loglevel=error "@devcontainers/cli@$version" >&2
command -v devcontainer
