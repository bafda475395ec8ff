#!/usr/bin/env bash
# Builds the Debian package furnace_<version>_<arch>.deb from a CMake build: the binary
# (stripped), the man pages and bash/zsh/fish completions the build generated, the docs, a
# copyright file and a changelog. Depends is computed from the binary's shared libraries
# (dpkg-shlibdeps) plus libcurl4, which furnace loads at run time.
#
# Why dpkg-deb and not CPack: the package is a handful of files, and dpkg-deb with
# dpkg-shlibdeps gives exactly the layout and control fields lintian expects, with nothing
# generated we would have to fight (CPack's DEB generator leaves out the changelog and copyright
# files and sets permissions lintian flags).
#
# Usage: scripts/package.sh [OUTDIR]
# Environment: BUILD_DIR (a configured and built CMake tree; default: build/release, configured
#              and built here when missing), MAINTAINER ("Name <mail>").
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
out=${1:-$here/dist}
build=${BUILD_DIR:-build/release}
maintainer=${MAINTAINER:-furnace maintainers <furnace@example.org>}

if [ ! -x "$build/src/furnace/furnace" ]; then
  echo "package: building $build (release)" >&2
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFURNACE_BUILD_TESTS=OFF \
    -DFURNACE_BUILD_BENCH=OFF >/dev/null
  cmake --build "$build" -j "$(nproc)"
fi
cmake --build "$build" --target furnace furnace_docs >/dev/null

version=$(sed -n 's/^project(furnace VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
arch=$(dpkg --print-architecture)
[ -n "$version" ] || { echo "package: no version in CMakeLists.txt" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
DESTDIR=$root cmake --install "$build" --prefix /usr >/dev/null

# Debian layout: stripped binary, compressed man pages, docs under /usr/share/doc/furnace.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/furnace"
gzip -9n "$root"/usr/share/man/man1/*.1
doc=$root/usr/share/doc/furnace
mkdir -p "$doc"
cp README.md "$doc/README.md"
cp -r docs "$doc/docs"
gzip -9n "$doc/README.md"
find "$doc/docs" -type f -name '*.md' -size +4k -exec gzip -9n {} +
cat >"$doc/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: furnace
Source: the furnace repository

Files: *
Copyright: 2025-2026 the furnace authors
License: other
 The furnace repository names no license yet; until its authors choose one,
 they reserve all rights. This file will carry the license text once chosen.
EOF
# A native package's changelog, dated by the last commit (reproducible).
when=$(git log -1 --format=%cD 2>/dev/null || date -R)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
printf 'furnace (%s) unstable; urgency=medium\n\n  * Release %s, built from commit %s.\n\n -- %s  %s\n' \
  "$version" "$version" "$commit" "$maintainer" "$when" | gzip -9n >"$doc/changelog.gz"

# Depends from the shared libraries the binary links (dpkg-shlibdeps reads a debian/ tree).
mkdir -p "$stage/src/debian"
printf 'Source: furnace\n\nPackage: furnace\nArchitecture: any\n' >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O "$root/usr/bin/furnace" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "package: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="$shlibs, libcurl4"

find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root/usr/bin/furnace"
mkdir -p "$root/DEBIAN"
(cd "$root" && find usr -type f -exec md5sum {} + | sort -k2) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: furnace
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Recommends: docker.io | docker-ce
Suggests: nvidia-container-toolkit
Section: utils
Priority: optional
Description: working GPU environments for deep-learning papers' code
 furnace checks a GPU server (engine, registry mirrors, NVIDIA driver and
 container toolkit), picks the framework, CUDA version and official container
 image that both a project's code and the server's GPUs can run, builds it once
 and runs the code in it as the invoking user, with GPUs locked against other
 users' runs. Runs are recorded in a history that can replay them.
EOF
mkdir -p "$out"
deb=$out/furnace_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
