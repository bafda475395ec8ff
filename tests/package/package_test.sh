#!/usr/bin/env bash
# The Debian package end to end (issue 17): scripts/package.sh builds it from this build tree,
# lintian reports no error, and in a clean debian:bookworm container on the test engine
# `apt-get install ./furnace_*.deb` pulls its dependencies from the archive, `furnace --version`
# and `furnace doctor --json` run, the man pages and completions are in place, and
# `apt-get remove` leaves no furnace file behind.
# Usage: package_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
fail() { echo "package test: FAIL: $*" >&2; exit 1; }
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "${CI:-}" = true ] && fail "CI=true and no $1 (scripts/deps.sh installs it)"
  echo "package test: skipped: no $1" >&2
  exit 77
}
need dpkg-deb
need lintian
need docker

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
deb=$(BUILD_DIR=$build bash "$src/scripts/package.sh" "$out")
[ -f "$deb" ] || fail "scripts/package.sh made no package"
echo "package test: built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

lint=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' || true)
[ -z "$lint" ] || echo "$lint"
if grep -q '^E: ' <<<"$lint"; then
  fail "lintian reports errors (above)"
fi

image=debian:bookworm
docker image inspect "$image" >/dev/null 2>&1 || fail "no $image in the engine (scripts/test-engine.sh up makes it)"
net=()
# An archive on the host's loopback (a local apt proxy) is reachable only on the host network.
if grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | grep -Eq '//(127\.|localhost)'; then
  net=(--network host)
fi
chmod 0755 "$out"
chmod 0644 "$deb"
name=furnace-package-test-$$
script='
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq /pkg/'"$(basename "$deb")"' >/tmp/install.log 2>&1 || { tail -20 /tmp/install.log; exit 10; }
furnace --version
set +e
furnace doctor --json >/tmp/doctor.json
echo "doctor exit $?"
set -e
head -c 1 /tmp/doctor.json | grep -q "{" || { cat /tmp/doctor.json; exit 11; }
grep -q "\"checks\"" /tmp/doctor.json || exit 12
for f in /usr/share/man/man1/furnace.1.gz /usr/share/man/man1/furnace-run.1.gz \
         /usr/share/bash-completion/completions/furnace /usr/share/zsh/vendor-completions/_furnace \
         /usr/share/fish/vendor_completions.d/furnace.fish /usr/share/doc/furnace/copyright; do
  test -f "$f" || { echo "missing $f"; exit 13; }
done
apt-get remove -y -qq furnace >/dev/null
test ! -e /usr/bin/furnace || exit 14
left=$(find / -xdev -name "*furnace*" -not -path "/pkg/*" -not -path "/proc/*" 2>/dev/null)
test -z "$left" || { echo "left behind: $left"; exit 15; }
dpkg -s furnace >/dev/null 2>&1 && exit 16
echo "installed, ran and removed cleanly"
'
if ! timeout 600 docker run --rm --name "$name" "${net[@]}" -v "$out:/pkg:ro" "$image" sh -c "$script"; then
  docker rm -f "$name" >/dev/null 2>&1 || true
  fail "the package did not install, run or remove cleanly in $image (exit codes: 10 install, 11-12 doctor --json, 13 a file missing, 14-16 remove)"
fi
echo "package test: ok"
