#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests of furnace's Slurm export and submit
# (issue 16): Debian's slurm-wlm and munge, slurmctld + slurmd as background processes (no
# systemd), proctrack/linuxproc and task/none (no cgroups needed), and two stand-in GPUs declared
# as GRES backed by null character devices in the state directory, so `--gres=gpu:N` is scheduled and CUDA_VISIBLE_DEVICES is set.
# Finished jobs are recorded by jobcomp/filetxt (no slurmdbd): state, exit code, times.
#
#   scripts/test-slurm.sh up      install, configure and start (idempotent; ~5 s warm)
#   scripts/test-slurm.sh env     print eval-able export lines (SLURM_CONF, FURNACE_TEST_SLURM_*)
#   scripts/test-slurm.sh status  sinfo and the daemons' pids
#   scripts/test-slurm.sh down    stop what `up` started
#
# Needs root. Everything lives in $FURNACE_TEST_SLURM_STATE (default /run/furnace-slurm); the
# Debian packages' own configuration and services are not touched.
set -euo pipefail

PROG=test-slurm
STATE=${FURNACE_TEST_SLURM_STATE:-/run/furnace-slurm}
CTLD_PORT=${FURNACE_TEST_SLURM_PORT:-6917}
SLURMD_PORT=$((CTLD_PORT + 1))
TIMEOUT=${FURNACE_TEST_SLURM_TIMEOUT:-60}
NODE=furnace-node
CONF=$STATE/slurm.conf

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "'$1' needs root (slurmd runs jobs as their users)"; }

alive() { # pidfile -> pid when that process is alive
  local pid
  [ -s "$1" ] || return 1
  pid=$(head -n1 "$1")
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

ensure_packages() {
  local missing=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  fi
}

write_config() {
  mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/log" "$STATE/munge"
  local cpus mem
  cpus=$(nproc)
  mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024))
  # The stand-in GPUs: slurmd wants a character device per GPU; these have /dev/null's numbers
  # (reads give nothing, writes vanish), so nothing behind them can be harmed.
  for i in 0 1; do
    [ -c "$STATE/gpu$i" ] || { rm -f "$STATE/gpu$i"; mknod -m 0666 "$STATE/gpu$i" c 1 3; }
  done
  cat >"$CONF.new" <<EOF
# furnace test cluster (scripts/test-slurm.sh): one node, two stand-in GPUs
ClusterName=furnace-test
SlurmctldHost=$(hostname -s)(127.0.0.1)
MailProg=/bin/true
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$STATE/munge/munge.socket
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
GresTypes=gpu
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  cat >"$STATE/gres.conf.new" <<EOF
NodeName=$NODE Name=gpu File=$STATE/gpu[0-1]
EOF
  mv "$CONF.new" "$CONF"
  mv "$STATE/gres.conf.new" "$STATE/gres.conf"
}

start_munge() {
  if alive "$STATE/munge/munged.pid" >/dev/null; then
    return 0
  fi
  chown munge:munge "$STATE/munge"
  chmod 0755 "$STATE/munge" # munged wants its socket directory searchable by all
  [ -s /etc/munge/munge.key ] || die "no /etc/munge/munge.key (reinstall munge)"
  runuser -u munge -- /usr/sbin/munged --socket="$STATE/munge/munge.socket" \
    --pid-file="$STATE/munge/munged.pid" --log-file="$STATE/munge/munged.log" \
    --seed-file="$STATE/munge/munged.seed" || die "munged did not start ($STATE/munge/munged.log)"
}

start_daemon() { # name pidfile cmd...
  local name=$1 pidfile=$2
  shift 2
  if alive "$pidfile" >/dev/null; then
    return 0
  fi
  SLURM_CONF=$CONF "$@" || die "$name did not start (log: $STATE/log/$name.log)"
}

wait_idle() {
  local deadline=$((SECONDS + TIMEOUT)) state
  while ((SECONDS < deadline)); do
    state=$(SLURM_CONF=$CONF sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true)
    case $state in
      idle | mixed | allocated) return 0 ;;
      down* | drain*) SLURM_CONF=$CONF scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
  done
  tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
  die "node $NODE is not idle after ${TIMEOUT}s (state: ${state:-none})"
}

cmd_up() {
  need_root up
  local t0=$SECONDS
  ensure_packages
  mkdir -p "$STATE"
  write_config
  start_munge
  # The gres.conf next to slurm.conf is the one slurmd reads.
  start_daemon slurmctld "$STATE/slurmctld.pid" slurmctld -f "$CONF"
  start_daemon slurmd "$STATE/slurmd.pid" slurmd -f "$CONF" -N "$NODE"
  wait_idle
  log "up: node $NODE idle with gpu:2 in $((SECONDS - t0))s. Use: eval \"\$($0 env)\""
}

cmd_down() {
  need_root down
  local f pid
  for f in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" "$STATE/munge/munged.pid"; do
    if pid=$(alive "$f"); then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  log "down"
}

cmd_env() {
  printf 'export SLURM_CONF=%q\n' "$CONF"
  printf 'export FURNACE_TEST_SLURM_STATE=%q\n' "$STATE"
  printf 'export FURNACE_TEST_SLURM_JOBCOMP=%q\n' "$STATE/log/jobcomp.txt"
}

cmd_status() {
  SLURM_CONF=$CONF sinfo -N -o '%N %T %G' 2>&1 || true
  for f in slurmctld.pid slurmd.pid munge/munged.pid; do
    printf '%s: %s\n' "$f" "$(alive "$STATE/$f" || echo 'not running')"
  done
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *) die "usage: $0 up|down|env|status" ;;
esac
