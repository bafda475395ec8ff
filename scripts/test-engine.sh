#!/usr/bin/env bash
# scripts/test-engine.sh -- local, offline Docker test engine for furnace.
#
#   scripts/test-engine.sh up       install/start everything, build + publish stand-in images
#   scripts/test-engine.sh down     stop only what `up` started (dockerd, registry)
#   scripts/test-engine.sh env      print eval-able `export DOCKER_HOST=... FURNACE_TEST_REGISTRY=...`
#   scripts/test-engine.sh status   short report of what is running
#
# What `up` gives you:
#   * a Docker engine on the unix socket ($DOCKER_HOST if unix://..., else /var/run/docker.sock);
#     an engine already answering there is used as-is, otherwise dockerd is started here with
#     `--registry-mirror http://127.0.0.1:$PORT`;
#   * a CNCF Distribution registry on 127.0.0.1:$PORT (default 5757) whose storage lives in the
#     cache dir, acting as the engine's Docker Hub mirror;
#   * `debian:<codename>` (debootstrap --variant=minbase from the host's own apt archive) and
#     stand-in images under the official names (pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime and
#     pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime,
#     Debian's CPU python3-torch) -- present in the engine and pushed to the registry as
#     library/debian:<codename> and pytorch/pytorch:<tag>, so
#     `docker rmi pytorch/pytorch:TAG && docker pull pytorch/pytorch:TAG` works offline.
#
# Environment:
#   FURNACE_TEST_CACHE           cache dir (rootfs/image tarballs, registry storage) [/var/cache/furnace-test]
#   FURNACE_TEST_STATE           state dir (pidfiles, logs, lock, registry config)   [/run/furnace-test]
#   FURNACE_TEST_REGISTRY_PORT   registry port on 127.0.0.1                         [5757]
#   FURNACE_TEST_DOCKERD_ARGS    extra dockerd arguments (word-split), only when this script starts dockerd
#   FURNACE_TEST_TIMEOUT         bound for engine/registry start-up waits, seconds   [90]
#   FURNACE_TEST_BUILD_TIMEOUT   bound for debootstrap / docker build, seconds       [3600]
#   DOCKER_HOST                  unix:///path/to/docker.sock (other schemes are refused)
#
# Needs root. Progress goes to stderr; `env`/`status` output goes to stdout.
set -euo pipefail

PROG=test-engine
CACHE_DIR=${FURNACE_TEST_CACHE:-/var/cache/furnace-test}
STATE_DIR=${FURNACE_TEST_STATE:-/run/furnace-test}
PORT=${FURNACE_TEST_REGISTRY_PORT:-5757}
START_TIMEOUT=${FURNACE_TEST_TIMEOUT:-90}
BUILD_TIMEOUT=${FURNACE_TEST_BUILD_TIMEOUT:-3600}
REGISTRY=127.0.0.1:${PORT}
LABEL_HASH=org.furnace.test.hash

# Bump when the base-image recipe (build_base) changes in a way the hashed inputs do not capture.
BASE_RECIPE_VERSION=1

# Stand-in images: official name -> built from STANDIN_DOCKERFILE below.
# The example (examples/mnist, torch==2.9.1) resolves to the 2.9.1 CUDA 13.0 image on a host
# without a GPU; the older tag stays for the tests that pin the old stack.
STANDIN_IMAGES=(
  "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime"
  "pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime"
)

# The Jupyter stand-in (tests/integration/lab_test.cpp): the 2.9.1 stand-in plus Debian's classic
# Notebook (bookworm packages notebook 6.4, not JupyterLab).
JUPYTER_STANDIN=furnace-stand-in/jupyter:notebook
JUPYTER_STANDIN_FROM=pytorch/pytorch:2.9.1-cuda13.0-cudnn9-runtime

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
  cat >&2 <<EOF
usage: $0 up|down|env|status
  up      start engine + registry (127.0.0.1:${PORT}), build/load and publish stand-in images
  down    stop the dockerd/registry that 'up' started (nothing else)
  env     print eval-able export lines (DOCKER_HOST, FURNACE_TEST_REGISTRY)
  status  short report
EOF
  exit 2
}

if ! [[ $PORT =~ ^[0-9]+$ ]] || ((PORT < 1 || PORT > 65535)); then
  die "FURNACE_TEST_REGISTRY_PORT must be a port number, got '$PORT'"
fi

# ---------------------------------------------------------------------------------------------
# Engine socket
# ---------------------------------------------------------------------------------------------
SOCKET=/var/run/docker.sock
if [[ -n ${DOCKER_HOST:-} ]]; then
  case $DOCKER_HOST in
    unix://*) SOCKET=${DOCKER_HOST#unix://} ;;
    *) die "DOCKER_HOST=$DOCKER_HOST is not a unix:// socket; this script only manages a local unix-socket engine (unset DOCKER_HOST or use unix:///path)" ;;
  esac
fi
export DOCKER_HOST="unix://${SOCKET}"
# The docker CLI on PATH may be 28.x (no buildx): use the legacy builder for `docker build`.
export DOCKER_BUILDKIT=0
export DOCKER_CLI_HINTS=false

engine_ping() { curl -sf --max-time 3 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1; }
registry_ping() { [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://${REGISTRY}/v2/" 2>/dev/null) == 200 ]]; }

# pidfile helpers: a pidfile counts only if the process is alive AND runs the expected binary,
# so a stale pidfile can never make us kill an unrelated process.
pid_alive() { # pidfile exe-basename -> prints pid, rc 0 if alive
  local pidfile=$1 exe=$2 pid target
  [[ -r $pidfile ]] || return 1
  pid=$(head -n1 "$pidfile" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  target=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
  [[ ${target##*/} == "$exe" ]] || return 1
  printf '%s\n' "$pid"
}

stop_pidfile() { # pidfile exe-basename what wait-seconds
  local pidfile=$1 exe=$2 what=$3 wait_s=$4 pid i
  if ! pid=$(pid_alive "$pidfile" "$exe"); then
    rm -f "$pidfile"
    return 1
  fi
  log "stopping $what (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < wait_s * 4; i++)); do
    pid_alive "$pidfile" "$exe" >/dev/null || break
    sleep 0.25
  done
  if pid_alive "$pidfile" "$exe" >/dev/null; then
    warn "$what (pid $pid) did not exit within ${wait_s}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$pidfile"
  return 0
}

# Start a long-running daemon detached from this script (own session, stdin from /dev/null,
# output to a log) and record its real pid (the wrapper shell writes $$ and then execs).
spawn_daemon() { # pidfile logfile cmd...
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  : >"$logfile"
  # 9>&- : the daemon must not inherit (and so hold forever) the flock on the state dir.
  # shellcheck disable=SC2016 # $$ / $@ expand in the inner shell
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  local i
  for ((i = 0; i < 40; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.25
  done
  die "could not start $1 (no pid written); see $logfile"
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (try: sudo $0 $*)"; }

lock_state() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/lock"
  flock -w 900 9 || die "another $PROG run holds $STATE_DIR/lock (waited 900s)"
}

# ---------------------------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------------------------
ensure_packages() {
  local missing=() p
  for p in docker.io docker-registry debootstrap curl; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

# ---------------------------------------------------------------------------------------------
# Distribution / archive detection (from the host's own apt configuration)
# ---------------------------------------------------------------------------------------------
# Prints "URI<TAB>SUITE<TAB>COMPONENTS" for every enabled `deb` entry.
apt_entries() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    awk '
      function flush(   n, m, i, j, U, S) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
          n = split(uris, U, /[ \t]+/); m = split(suites, S, /[ \t]+/)
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++)
            if (U[i] != "" && S[j] != "") printf "%s\t%s\t%s\n", U[i], S[j], comps
        }
        types = uris = suites = comps = key = ""; enabled = "yes"
      }
      BEGIN { enabled = "yes" }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ {   # folded continuation line
        v = $0; gsub(/^[ \t]+|[ \t]+$/, "", v)
        if (key == "uris") uris = uris " " v; else if (key == "suites") suites = suites " " v
        else if (key == "components") comps = comps " " v; else if (key == "types") types = types " " v
        next
      }
      {
        k = $0; sub(/:.*/, "", k); key = tolower(k)
        v = $0; sub(/^[^:]*:[ \t]*/, "", v); sub(/[ \t]+$/, "", v)
        if (key == "types") types = v; else if (key == "uris") uris = v
        else if (key == "suites") suites = v; else if (key == "components") comps = v
        else if (key == "enabled") enabled = tolower(v)
      }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -r $f ]] || continue
    awk '
      { sub(/#.*/, "") }
      $1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        uri = $i; suite = $(i + 1); comps = ""
        for (j = i + 2; j <= NF; j++) comps = comps (comps == "" ? "" : " ") $j
        if (uri != "" && suite != "") printf "%s\t%s\t%s\n", uri, suite, comps
      }' "$f"
  done
}

detect_distro() {
  [[ -r /etc/os-release ]] || die "/etc/os-release not found; cannot tell which distribution to build"
  local id codename
  # shellcheck disable=SC1091
  id=$(. /etc/os-release && printf '%s' "${ID:-}")
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
  case $id in
    debian | ubuntu) ;;
    *) die "host distribution '$id' is not supported (need Debian or Ubuntu: the base image is debootstrapped from the host's apt archive)" ;;
  esac
  [[ -n $codename ]] || die "VERSION_CODENAME missing from /etc/os-release"
  DISTRO=$id
  SUITE=$codename
  BASE_IMAGE="${DISTRO}:${SUITE}"

  local entries uri suite comps
  entries=$(apt_entries | awk -F'\t' '$1 ~ /^https?:\/\// { sub(/\/+$/, "", $1); print $1 "\t" $2 "\t" $3 }')
  ARCHIVE_URI=""
  ARCHIVE_COMPONENTS=""
  IMAGE_SOURCES=""
  local seen=" "
  while IFS=$'\t' read -r uri suite comps; do
    [[ -n $uri ]] || continue
    [[ -n $comps ]] || comps=main
    if [[ $suite == "$SUITE" && -z $ARCHIVE_URI ]]; then
      ARCHIVE_URI=$uri
      ARCHIVE_COMPONENTS=$comps
    fi
    case $suite in
      "$SUITE" | "$SUITE-updates" | "$SUITE-security")
        if [[ $seen != *" $uri|$suite "* ]]; then
          seen+="$uri|$suite "
          IMAGE_SOURCES+="deb $uri $suite $comps"$'\n'
        fi
        ;;
    esac
  done <<<"$entries"
  [[ -n $ARCHIVE_URI ]] || die "no http(s) 'deb' entry for suite '$SUITE' in /etc/apt/sources.list or /etc/apt/sources.list.d/ (needed to debootstrap the base image)"
  ARCH=$(dpkg --print-architecture)
}

# ---------------------------------------------------------------------------------------------
# Engine
# ---------------------------------------------------------------------------------------------
ENGINE_OURS=0
engine_mirrors() { docker info --format '{{json .RegistryConfig.Mirrors}}' 2>/dev/null || true; }

ensure_engine() {
  local pidfile=$STATE_DIR/dockerd.pid logfile=$STATE_DIR/dockerd.log pid
  if pid=$(pid_alive "$pidfile" dockerd); then
    if [[ -x $STATE_DIR/fake-nvidia-toolkit/nvidia-container-runtime-hook ]]; then
      ENGINE_OURS=1
      wait_engine "$logfile"
      log "engine: using dockerd started by an earlier 'up' (pid $pid) on $SOCKET"
      return 0
    fi
    # Started by an older version of this script, without the stand-in NVIDIA hook: restart it.
    log "engine: restarting dockerd (pid $pid) to give it the stand-in NVIDIA hook"
    kill "$pid"
    local deadline=$((SECONDS + START_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
      ((SECONDS < deadline)) || die "dockerd (pid $pid) did not stop within ${START_TIMEOUT}s"
      sleep 0.5
    done
  fi
  rm -f "$pidfile"
  if engine_ping; then
    log "engine: an engine already answers on $SOCKET; using it (will not stop it on 'down')"
    return 0
  fi
  command -v dockerd >/dev/null || die "dockerd not found on PATH although docker.io is installed"
  local args=(--registry-mirror "http://${REGISTRY}")
  # Default data-root (/var/lib/docker), exec-root and pidfile (/var/run/docker.pid: dockerd itself
  # refuses to start a second daemon on the same data-root). Only an explicit non-default socket
  # from DOCKER_HOST is passed on. Nothing else was needed on this host (Debian 12, cgroup v1,
  # ext4 -> overlay2, iptables-nft worked as-is); FURNACE_TEST_DOCKERD_ARGS can add flags.
  [[ $SOCKET == /var/run/docker.sock ]] || args+=(-H "unix://$SOCKET")
  if [[ -n ${FURNACE_TEST_DOCKERD_ARGS:-} ]]; then
    # shellcheck disable=SC2206 # word splitting intended
    args+=(${FURNACE_TEST_DOCKERD_ARGS})
  fi
  # The GPU half of the NVIDIA Container Toolkit, faked: dockerd registers its "nvidia" device
  # driver (what `--gpus` asks for) when `nvidia-container-runtime-hook` is on its PATH at start,
  # sets NVIDIA_VISIBLE_DEVICES in the container and runs the hook before it starts. This hook
  # only reads the container state and succeeds (there is no GPU to hand over), so `--gpus
  # "device=1"` runs here and the container says which GPUs it was given.
  local hook_dir=$STATE_DIR/fake-nvidia-toolkit
  mkdir -p "$hook_dir"
  printf '#!/bin/sh\n# furnace test engine: a stand-in for the NVIDIA hook (no GPU here)\ncat >/dev/null\nexit 0\n' >"$hook_dir/nvidia-container-runtime-hook"
  chmod 0755 "$hook_dir/nvidia-container-runtime-hook"
  log "engine: starting dockerd ${args[*]} (log: $logfile; fake NVIDIA hook in $hook_dir)"
  PATH="$hook_dir:$PATH" spawn_daemon "$pidfile" "$logfile" dockerd "${args[@]}"
  ENGINE_OURS=1
  wait_engine "$logfile"
  log "engine: dockerd up (pid $(head -n1 "$pidfile"))"
}

wait_engine() { # logfile
  local logfile=$1 deadline=$((SECONDS + START_TIMEOUT))
  while ! engine_ping; do
    if ((ENGINE_OURS)) && ! pid_alive "$STATE_DIR/dockerd.pid" dockerd >/dev/null; then
      engine_failed "$logfile" "dockerd exited during start-up"
    fi
    ((SECONDS < deadline)) || engine_failed "$logfile" "engine did not answer on $SOCKET within ${START_TIMEOUT}s"
    sleep 0.5
  done
}

engine_failed() { # logfile message
  local logfile=$1 msg=$2
  printf '%s: error: %s; last lines of %s:\n' "$PROG" "$msg" "$logfile" >&2
  tail -n 25 "$logfile" >&2 2>/dev/null || true
  if grep -qiE 'iptables|nf_tables|nat' "$logfile" 2>/dev/null; then
    printf '%s: hint: looks like an iptables problem; try "update-alternatives --set iptables /usr/sbin/iptables-legacy" (or -nft), or FURNACE_TEST_DOCKERD_ARGS=--iptables=false (containers then get no NAT to the archive)\n' "$PROG" >&2
  fi
  if grep -qiE 'overlay|graphdriver|storage-driver' "$logfile" 2>/dev/null; then
    printf '%s: hint: looks like a storage-driver problem; try FURNACE_TEST_DOCKERD_ARGS=--storage-driver=vfs (slow, but works everywhere)\n' "$PROG" >&2
  fi
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
ensure_registry() {
  local pidfile=$STATE_DIR/registry.pid logfile=$STATE_DIR/registry.log conf=$STATE_DIR/registry-config.yml pid
  if pid=$(pid_alive "$pidfile" docker-registry); then
    local deadline=$((SECONDS + START_TIMEOUT))
    until registry_ping; do
      ((SECONDS < deadline)) || die "registry (pid $pid) does not answer on http://${REGISTRY}/v2/; see $logfile"
      sleep 0.5
    done
    log "registry: using registry started by an earlier 'up' (pid $pid) on $REGISTRY"
    return 0
  fi
  rm -f "$pidfile"
  if registry_ping; then
    die "something not started by this script already serves a registry on $REGISTRY; stop it or pick another port with FURNACE_TEST_REGISTRY_PORT"
  fi
  if curl -s -o /dev/null --max-time 3 "http://${REGISTRY}/" 2>/dev/null; then
    die "port $PORT on 127.0.0.1 is taken by another service; pick another port with FURNACE_TEST_REGISTRY_PORT"
  fi
  mkdir -p "$CACHE_DIR/registry"
  # Our own config (the Debian package's /etc/docker/registry/config.yml and its :5000 service
  # are left alone). Storage under the cache dir so pushed images survive down/up.
  cat >"$conf.tmp" <<EOF
# written by scripts/test-engine.sh -- regenerated on every 'up'
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
  fields:
    service: furnace-test-registry
storage:
  filesystem:
    rootdirectory: ${CACHE_DIR}/registry
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${REGISTRY}
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  mv -f "$conf.tmp" "$conf"
  command -v docker-registry >/dev/null || die "docker-registry not found on PATH although the package is installed"
  log "registry: starting docker-registry on $REGISTRY (storage: $CACHE_DIR/registry, log: $logfile)"
  spawn_daemon "$pidfile" "$logfile" docker-registry serve "$conf"
  local deadline=$((SECONDS + START_TIMEOUT))
  until registry_ping; do
    if ! pid_alive "$pidfile" docker-registry >/dev/null || ((SECONDS >= deadline)); then
      printf '%s: error: registry did not come up on http://%s/v2/; last lines of %s:\n' "$PROG" "$REGISTRY" "$logfile" >&2
      tail -n 25 "$logfile" >&2 || true
      stop_pidfile "$pidfile" docker-registry registry 10 || true
      exit 1
    fi
    sleep 0.25
  done
  log "registry: up (pid $(head -n1 "$pidfile"))"
}

# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------
short_hash() { sha256sum | cut -c1-16; }
file_key() { printf '%s' "${1//[\/:]/_}"; } # image ref -> file-name-safe

image_label_hash() { docker image inspect --format "{{index .Config.Labels \"$LABEL_HASH\"}}" "$1" 2>/dev/null || true; }
image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# Remove an image id that lost its last tag (old recipe); ignore failures (e.g. it has children).
drop_if_dangling() {
  local old=$1
  [[ -n $old ]] || return 0
  [[ $(docker image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null || echo x) == 0 ]] || return 0
  docker rmi "$old" >/dev/null 2>&1 || true
}

# Keep only the tarball for the current key of an image.
prune_old_tars() { # dir prefix keep-file
  local f
  for f in "$1/$2"-*.tar; do
    [[ -e $f && $f != "$3" ]] || continue
    log "cache: removing outdated $(basename "$f")"
    rm -f "$f"
  done
}

# ensure_image REF KEY BUILD_FN: make REF present in the engine with label hash KEY, from the engine,
# else from the cached `docker save` tarball, else by building; keeps the tarball in the cache.
ensure_image() {
  local ref=$1 key=$2 build_fn=$3
  local dir=$CACHE_DIR/images prefix tar old
  prefix=$(file_key "$ref")
  tar=$dir/$prefix-$key.tar
  mkdir -p "$dir"
  if [[ $(image_label_hash "$ref") == "$key" ]]; then
    log "image: $ref present (hash $key)"
  else
    old=$(image_id "$ref")
    if [[ -s $tar ]]; then
      log "image: loading $ref from cache $(basename "$tar")"
      docker load -q -i "$tar" >&2 || die "docker load -i $tar failed (delete it to force a rebuild)"
      [[ $(image_label_hash "$ref") == "$key" ]] || die "cached tarball $tar did not yield $ref with $LABEL_HASH=$key (delete it to force a rebuild)"
    else
      log "image: building $ref (hash $key)"
      "$build_fn" "$ref" "$key"
      [[ $(image_label_hash "$ref") == "$key" ]] || die "build of $ref did not produce label $LABEL_HASH=$key"
    fi
    [[ $old == "$(image_id "$ref")" ]] || drop_if_dangling "$old"
  fi
  if [[ ! -s $tar ]]; then
    log "cache: saving $ref -> $tar"
    docker save -o "$tar.tmp" "$ref" || {
      rm -f "$tar.tmp"
      die "docker save $ref failed"
    }
    mv -f "$tar.tmp" "$tar"
  fi
  prune_old_tars "$dir" "$prefix" "$tar"
}

cleanup_rootfs() { # dir: unmount anything debootstrap left mounted, then remove
  local dir=$1 m
  [[ -d $dir ]] || return 0
  while read -r m; do
    [[ -z $m ]] || umount -l "$m" 2>/dev/null || true
  done < <(findmnt -rn -o TARGET 2>/dev/null | awk -v d="$dir" 'index($0, d "/") == 1' | sort -r)
  rm -rf --one-file-system "$dir"
}

build_rootfs_tar() { # out.tar
  local out=$1 work=$CACHE_DIR/work/rootfs-$BASE_KEY
  cleanup_rootfs "$work"
  mkdir -p "$work"
  trap 'cleanup_rootfs "'"$work"'"' EXIT
  local comps=${ARCHIVE_COMPONENTS// /,}
  log "base: debootstrap --variant=minbase $SUITE from $ARCHIVE_URI (components: $comps); this takes a few minutes"
  if ! timeout "$BUILD_TIMEOUT" debootstrap --variant=minbase --arch="$ARCH" --components="$comps" \
    "$SUITE" "$work/rootfs" "$ARCHIVE_URI" >"$work/debootstrap.log" 2>&1; then
    printf '%s: error: debootstrap failed; last lines of its log:\n' "$PROG" >&2
    tail -n 25 "$work/debootstrap.log" >&2 || true
    tail -n 15 "$work/rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    exit 1
  fi
  local r=$work/rootfs
  # Same archive inside the image, so apt-get works in containers and builds.
  printf '%s' "$IMAGE_SOURCES" >"$r/etc/apt/sources.list"
  rm -rf "$r"/etc/apt/sources.list.d/* "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin \
    "$r"/var/cache/apt/archives/*.deb "$r"/var/log/*.log "$r"/var/log/apt/* "$r"/debootstrap
  mkdir -p "$r/var/lib/apt/lists/partial"
  : >"$r/etc/machine-id"
  # Like the official images: never keep .deb files or apt lists around in layers.
  cat >"$r/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::Languages "none";\n' >"$r/etc/apt/apt.conf.d/docker-no-languages"
  tar --numeric-owner --xattrs -C "$r" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$out.tmp" . || die "tar of the debootstrapped rootfs failed"
  mv -f "$out.tmp" "$out"
  cleanup_rootfs "$work"
  trap - EXIT
  rmdir "$CACHE_DIR/work" 2>/dev/null || true
}

build_base() { # ref key
  local ref=$1 key=$2 dir=$CACHE_DIR/rootfs tarf
  mkdir -p "$dir"
  tarf=$dir/$(file_key "$ref")-$key.tar
  if [[ -s $tarf ]]; then
    log "base: using cached rootfs $(basename "$tarf")"
  else
    build_rootfs_tar "$tarf"
    prune_old_tars "$dir" "$(file_key "$ref")" "$tarf"
  fi
  log "base: docker import -> $ref"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --change "LABEL $LABEL_HASH=$key" \
    --change 'LABEL org.furnace.stand-in=true' \
    --change "LABEL org.furnace.stand-in.note=\"debootstrap --variant=minbase $SUITE from the host apt archive\"" \
    --message "furnace test-engine: debootstrap minbase $SUITE" \
    - "$ref" <"$tarf" >/dev/null || die "docker import of $tarf failed"
}

standin_dockerfile() { # base-ref
  cat <<EOF
FROM $1
# Stand-in for the official CUDA image: Debian's CPU build of PyTorch (python3-torch 1.13.1,
# which reports torch.__version__ == 1.13.0a0). Same entry points as the official layout.
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-torch python3-pip python-is-python3 ca-certificates \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /opt/conda/bin /workspace \\
 && ln -s /usr/bin/python3 /opt/conda/bin/python \\
 && ln -s /usr/bin/python3 /opt/conda/bin/python3 \\
 && ln -s /usr/bin/pip3 /opt/conda/bin/pip
# The official image's pip (conda) installs freely; Debian's is PEP 668 "externally managed".
ENV PATH=/opt/conda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PIP_BREAK_SYSTEM_PACKAGES=1
WORKDIR /workspace
LABEL org.furnace.stand-in=true \\
      org.furnace.stand-in.note="Debian python3-torch CPU build; reports 1.13.0a0"
EOF
}

jupyter_dockerfile() { # from-ref
  cat <<EOF
FROM $1
# Stand-in for a Jupyter image: Debian's notebook 6.4 (jupyter-notebook), no JupyterLab
# (bookworm packages only its server parts).
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \\
 && apt-get install -y --no-install-recommends jupyter-notebook python3-ipykernel \\
 && rm -rf /var/lib/apt/lists/*
LABEL org.furnace.stand-in=true \\
      org.furnace.stand-in.note="Debian jupyter-notebook 6.4 on the python3-torch stand-in"
EOF
}

build_standin() { # ref key
  local ref=$1 key=$2 ctx=$CACHE_DIR/work/build-$2
  rm -rf "$ctx"
  mkdir -p "$ctx"
  if [[ $ref == "$JUPYTER_STANDIN" ]]; then
    jupyter_dockerfile "$JUPYTER_STANDIN_FROM" >"$ctx/Dockerfile"
  else
    standin_dockerfile "$BASE_IMAGE" >"$ctx/Dockerfile"
  fi
  local net=()
  # A loopback archive (e.g. a local apt proxy) is unreachable from the bridge: build on the host network.
  case $ARCHIVE_URI in http://127.* | https://127.* | http://localhost[:/]* | https://localhost[:/]* | http://localhost | https://localhost) net=(--network host) ;; esac
  log "build: docker build $ref (legacy builder; apt-get in the build reaches $ARCHIVE_URI)"
  if ! timeout "$BUILD_TIMEOUT" docker build -q "${net[@]}" --label "$LABEL_HASH=$key" -t "$ref" "$ctx" >"$ctx.log" 2>&1; then
    printf '%s: error: docker build of %s failed; last lines:\n' "$PROG" "$ref" >&2
    tail -n 30 "$ctx.log" >&2 || true
    exit 1
  fi
  rm -rf "$ctx" "$ctx.log"
  rmdir "$CACHE_DIR/work" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Registry publishing
# ---------------------------------------------------------------------------------------------
MANIFEST_ACCEPT='application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json'

# Prints the config digest of repo:tag in the registry (empty if absent).
registry_config_digest() { # repo tag
  curl -sf --max-time 10 -H "Accept: $MANIFEST_ACCEPT" "http://${REGISTRY}/v2/$1/manifests/$2" 2>/dev/null |
    tr -d '\n ' | sed -n 's/.*"config":{[^}]*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p' || true
}

# publish LOCALREF REPO TAG: make REGISTRY/REPO:TAG hold exactly the local image.
publish() {
  local ref=$1 repo=$2 tag=$3 id remote
  id=$(image_id "$ref")
  remote=$(registry_config_digest "$repo" "$tag")
  if [[ -n $id && $remote == "$id" ]]; then
    log "registry: $repo:$tag up to date"
    return 0
  fi
  log "registry: pushing $ref -> $REGISTRY/$repo:$tag"
  docker tag "$ref" "$REGISTRY/$repo:$tag"
  if ! timeout "$BUILD_TIMEOUT" docker push -q "$REGISTRY/$repo:$tag" >/dev/null; then
    docker rmi "$REGISTRY/$repo:$tag" >/dev/null 2>&1 || true
    die "docker push $REGISTRY/$repo:$tag failed (registry log: $STATE_DIR/registry.log)"
  fi
  docker rmi "$REGISTRY/$repo:$tag" >/dev/null 2>&1 || true # only the extra tag
  remote=$(registry_config_digest "$repo" "$tag")
  [[ $remote == "$id" ]] || die "after push, registry has $repo:$tag as '${remote:-nothing}', expected $id"
}

# Docker Hub name -> registry repository path (official images live under library/).
hub_repo() {
  local name=${1%:*}
  [[ $name == */* ]] && printf '%s' "$name" || printf 'library/%s' "$name"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
cmd_up() {
  need_root up
  mkdir -p "$CACHE_DIR" "$STATE_DIR"
  lock_state
  local t0=$SECONDS
  ensure_packages
  detect_distro
  log "archive: $ARCHIVE_URI suite $SUITE ($ARCHIVE_COMPONENTS), arch $ARCH -> base image $BASE_IMAGE"
  ensure_engine
  ensure_registry

  local mirrors mirror_ok=0
  mirrors=$(engine_mirrors)
  [[ $mirrors == *"127.0.0.1:${PORT}"* ]] && mirror_ok=1
  if ((!mirror_ok)); then
    warn "the engine on $SOCKET does not use http://$REGISTRY as its registry mirror (mirrors: ${mirrors:-none});"
    warn "  images are loaded into the engine directly, but 'docker pull <official name>' will try Docker Hub."
    warn "  To get the mirror: add \"registry-mirrors\": [\"http://$REGISTRY\"] to its daemon.json and restart it, or stop it and rerun '$0 up'."
  fi

  BASE_KEY=$(printf 'recipe=%s\ndistro=%s\nsuite=%s\narch=%s\nuri=%s\ncomponents=%s\nvariant=minbase\nsources=\n%s' \
    "$BASE_RECIPE_VERSION" "$DISTRO" "$SUITE" "$ARCH" "$ARCHIVE_URI" "$ARCHIVE_COMPONENTS" "$IMAGE_SOURCES" | short_hash)
  ensure_image "$BASE_IMAGE" "$BASE_KEY" build_base

  local ref key
  for ref in "${STANDIN_IMAGES[@]}"; do
    key=$(printf 'base=%s\n%s' "$BASE_KEY" "$(standin_dockerfile "$BASE_IMAGE")" | short_hash)
    ensure_image "$ref" "$key" build_standin
  done
  # Built on the stand-in above, so its key follows that image's.
  key=$(printf 'from=%s\n%s' "$(image_label_hash "$JUPYTER_STANDIN_FROM")" \
    "$(jupyter_dockerfile "$JUPYTER_STANDIN_FROM")" | short_hash)
  ensure_image "$JUPYTER_STANDIN" "$key" build_standin

  publish "$BASE_IMAGE" "$(hub_repo "$BASE_IMAGE")" "${BASE_IMAGE##*:}"
  for ref in "${STANDIN_IMAGES[@]}"; do
    publish "$ref" "$(hub_repo "$ref")" "${ref##*:}"
  done

  if ((mirror_ok)); then
    # End-to-end check exactly as on a user's machine: an official name resolves through the
    # mirror (with no internet, a pull that bypassed the mirror would fail).
    local before after out
    before=$(image_id "$BASE_IMAGE")
    if ! out=$(timeout 120 docker pull "$BASE_IMAGE" 2>&1); then
      printf '%s\n' "$out" >&2
      die "'docker pull $BASE_IMAGE' through the mirror http://$REGISTRY failed"
    fi
    after=$(image_id "$BASE_IMAGE")
    [[ $after == "$before" ]] || die "'docker pull $BASE_IMAGE' via the mirror returned $after, expected $before"
    log "verified: 'docker pull $BASE_IMAGE' is served by the mirror $REGISTRY"
  else
    for ref in "$BASE_IMAGE" "${STANDIN_IMAGES[@]}"; do
      [[ -n $(registry_config_digest "$(hub_repo "$ref")" "${ref##*:}") ]] || die "registry lacks $(hub_repo "$ref"):${ref##*:}"
    done
    log "verified: images present locally and in the registry (mirror not configured on this engine)"
  fi
  log "up: done in $((SECONDS - t0))s. Use: eval \"\$($0 env)\""
}

cmd_down() {
  need_root down
  lock_state
  local stopped=0
  stop_pidfile "$STATE_DIR/registry.pid" docker-registry "registry on $REGISTRY" 15 && stopped=1
  # dockerd stops its containers first (default shutdown timeout 15s each, in parallel).
  stop_pidfile "$STATE_DIR/dockerd.pid" dockerd "dockerd" 90 && stopped=1
  if ((stopped)); then
    log "down: done (cache kept in $CACHE_DIR)"
  else
    log "down: nothing started by $PROG is running"
  fi
  if engine_ping; then
    log "down: an engine not started by $PROG still answers on $SOCKET (left running)"
  fi
}

cmd_env() {
  printf 'export DOCKER_HOST=%q\n' "unix://$SOCKET"
  printf 'export FURNACE_TEST_REGISTRY=%q\n' "$REGISTRY"
}

cmd_status() {
  local pid rc=0 mirrors ref id h
  if engine_ping; then
    if pid=$(pid_alive "$STATE_DIR/dockerd.pid" dockerd); then
      printf 'engine:   running on %s (dockerd pid %s, started by %s)\n' "$SOCKET" "$pid" "$PROG"
    else
      printf 'engine:   running on %s (not started by %s)\n' "$SOCKET" "$PROG"
    fi
    mirrors=$(engine_mirrors)
    printf 'mirror:   %s%s\n' "${mirrors:-none}" "$([[ $mirrors == *"127.0.0.1:${PORT}"* ]] || echo "  (WARNING: http://$REGISTRY not configured)")"
  else
    printf 'engine:   not answering on %s\n' "$SOCKET"
    rc=1
  fi
  if registry_ping; then
    if pid=$(pid_alive "$STATE_DIR/registry.pid" docker-registry); then
      printf 'registry: running on %s (pid %s, storage %s/registry)\n' "$REGISTRY" "$pid" "$CACHE_DIR"
    else
      printf 'registry: something answers on %s (not started by %s)\n' "$REGISTRY" "$PROG"
    fi
  else
    printf 'registry: not answering on %s\n' "$REGISTRY"
    rc=1
  fi
  if engine_ping; then
    local base
    # shellcheck disable=SC1091
    base=$(. /etc/os-release 2>/dev/null && printf '%s:%s' "${ID:-debian}" "${VERSION_CODENAME:-bookworm}")
    for ref in "$base" "${STANDIN_IMAGES[@]}"; do
      id=$(image_id "$ref")
      h=$(image_label_hash "$ref")
      if [[ -n $id ]]; then
        printf 'image:    %s %s (hash %s)\n' "$ref" "${id:7:12}" "${h:-?}"
      else
        printf 'image:    %s missing\n' "$ref"
      fi
    done
  fi
  printf 'cache:    %s (%s)\n' "$CACHE_DIR" "$(du -sh "$CACHE_DIR" 2>/dev/null | cut -f1 || echo absent)"
  printf 'state:    %s\n' "$STATE_DIR"
  return $rc
}

(($# == 1)) || usage
case $1 in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
