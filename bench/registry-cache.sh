#!/usr/bin/env bash
# A 1 GB image pulled from the lab's pull-through cache against the same pull from the origin
# registry: both are Distribution registries started by `furnace registry up` on 127.0.0.1 (the
# origin a plain store, the cache `--proxy` of it). The image is FROM the stand-in debian base
# plus one layer of random data made here (incompressible, so gzip does not shrink it).
# Medians of hyperfine runs; every run starts with the image removed from the engine. Also the
# first (cold) pull through the cache, which fills it from the origin.
# Usage: bench/registry-cache.sh [path/to/furnace]   (needs scripts/test-engine.sh up; not in CI)
set -euo pipefail
furnace=$(readlink -f "${1:-build/release/src/furnace/furnace}")
runs=${RUNS:-5}
size_mb=${SIZE_MB:-1024}
work=$(mktemp -d /tmp/furnace-bench-registry.XXXXXX)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
origin_port=$(free_port)
cache_port=$(free_port)
repo=furnace-bench/random-${size_mb}m
origin=127.0.0.1:$origin_port/$repo:1
cache=127.0.0.1:$cache_port/$repo:1
cleanup() {
  "$furnace" registry down --dir "$work/cache" >/dev/null 2>&1 || true
  "$furnace" registry down --dir "$work/origin" >/dev/null 2>&1 || true
  docker rmi -f "$origin" "$cache" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$furnace" registry up --dir "$work/origin" --port "$origin_port" >/dev/null
"$furnace" registry up --dir "$work/cache" --port "$cache_port" --proxy "http://127.0.0.1:$origin_port" >/dev/null
mkdir -p "$work/ctx"
printf 'FROM debian:bookworm\nRUN head -c %sM /dev/urandom > /blob\nLABEL org.furnace.stand-in=true\n' "$size_mb" >"$work/ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build --no-cache -q -t "$origin" "$work/ctx" >/dev/null 2>&1
docker push "$origin" >/dev/null
docker rmi -f "$origin" >/dev/null

start=$(date +%s.%N)
docker pull -q "$cache" >/dev/null
cold=$(python3 -c "print(f'{($(date +%s.%N) - $start):.2f}')")
docker rmi -f "$cache" >/dev/null

hyperfine -r "$runs" --export-json "$work/r.json" \
  --prepare "docker rmi -f $origin $cache >/dev/null 2>&1 || true" \
  "docker pull -q $origin" "docker pull -q $cache" >/dev/null
python3 - "$work/r.json" "$size_mb" "$cold" <<'PY'
import json, statistics, sys
r = json.load(open(sys.argv[1]))["results"]
origin, cache = (statistics.median(x["times"]) for x in r)
print(f"{sys.argv[2]} MB image, {len(r[0]['times'])} runs each, medians: "
      f"from the origin {origin:.2f} s, from the warm cache {cache:.2f} s "
      f"(cache/origin {cache / origin:.2f}); first pull through the cold cache {sys.argv[3]} s")
PY
