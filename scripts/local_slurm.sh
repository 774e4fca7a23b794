#!/usr/bin/env bash
# A single-node SLURM on this machine, for the `slurm` tests (tests/test_slurm.py) and for trying
# `grid --executor slurm` for real:
#
#   scripts/local_slurm.sh start    munge (unless one already answers), slurmctld and slurmd
#   scripts/local_slurm.sh stop     cancel the jobs still in this cluster, stop the daemons it started
#   scripts/local_slurm.sh status   what it started, and sinfo
#
# Needs root and Debian's `slurm-wlm` and `munge` (apt-get install slurm-wlm munge). The node
# offers LOCAL_SLURM_CPUS CPUs (default 1: one test job at a time, whatever the machine has) and
# LOCAL_SLURM_MEM_MB of memory (default 2048); jobs ask for at most that (grid --cpus-per-job 1
# --mem-gb 1). The daemons and their jobs inherit this script's niceness (`nice -n 15 ... start`
# keeps them behind other work). Processes are tracked by proctrack/linuxproc (descendants of a
# job's slurmstepd), so SLURM signals nothing but the jobs it launched.
#
# Everything it starts is recorded in LOCAL_SLURM_DIR (default /run/linkpaper-slurm: pid files,
# logs, the controller's state); `stop` stops exactly those processes. It writes
# /etc/slurm/slurm.conf (the default place every SLURM command reads) and refuses to start when a
# slurm.conf that it did not write is there already; `stop` removes the one it wrote.
set -euo pipefail

STATE="${LOCAL_SLURM_DIR:-/run/linkpaper-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# written by linkpaper scripts/local_slurm.sh"
CPUS="${LOCAL_SLURM_CPUS:-1}"
MEM_MB="${LOCAL_SLURM_MEM_MB:-2048}"
DAEMONS="slurmd slurmctld munged"  # stop order

die() { echo "local_slurm.sh: $*" >&2; exit 1; }

# pid of a daemon this script started and that still runs as that program, else nothing
started_pid() {
  local name=$1 pid
  [[ -f "$STATE/$name.pid" ]] || return 0
  pid=$(tr -dc '0-9' < "$STATE/$name.pid")
  [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name" ]] && echo "$pid"
  return 0
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND until it succeeds
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 5))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

node_idle() { [[ "$(sinfo -h -N -o %t 2>/dev/null)" == idle ]]; }

fail_start() {  # a daemon did not come up: say which, show its log, stop what was started
  echo "local_slurm.sh: $1 did not start; the end of $2:" >&2
  tail -n 15 "$2" >&2 2>/dev/null || true
  stop >&2 || true
  exit 1
}

start() {
  [[ $(id -u) == 0 ]] || die "start needs root (the daemons run as root on this one node)"
  for program in munged munge slurmctld slurmd sinfo sbatch; do
    command -v "$program" >/dev/null || PATH="$PATH:/usr/sbin" command -v "$program" >/dev/null \
      || die "$program not found; install Debian's packages first: apt-get install slurm-wlm munge"
  done
  export PATH="$PATH:/usr/sbin"
  if [[ -n "$(started_pid slurmctld)" && -n "$(started_pid slurmd)" ]]; then
    echo "local_slurm.sh: already running (pids in $STATE)"
    return 0
  fi
  if [[ -f "$CONF" ]] && ! grep -qxF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script: this machine has its own SLURM configuration; use that cluster (or move the file away)"
  fi
  if [[ -f "$CONF" ]] && timeout 20 sinfo >/dev/null 2>&1; then
    die "a SLURM controller already answers with $CONF, not one whose pids are in $STATE (another LOCAL_SLURM_DIR?); stop that one first"
  fi
  [[ "$CPUS" =~ ^[1-9][0-9]*$ ]] || die "LOCAL_SLURM_CPUS: expected a positive integer, got '$CPUS'"
  [[ "$MEM_MB" =~ ^[1-9][0-9]*$ ]] || die "LOCAL_SLURM_MEM_MB: expected a positive integer, got '$MEM_MB'"
  mkdir -p "$STATE/spool/ctld" "$STATE/spool/d"

  # munge: SLURM's authentication; a munged that already answers (a system service) is used as is
  if ! (munge -n | unmunge) >/dev/null 2>&1; then
    [[ -f /etc/munge/munge.key ]] || die "/etc/munge/munge.key is missing; reinstall munge (it creates the key) or run mungekey"
    mkdir -p /run/munge
    chown munge:munge /run/munge 2>/dev/null || true
    munged --force --pid-file="$STATE/munged.pid" --log-file="$STATE/munged.log" \
      || fail_start munged "$STATE/munged.log"
    wait_for 10 munge bash -c 'munge -n | unmunge' || fail_start munged "$STATE/munged.log"
  fi

  local host
  host=$(hostname -s)
  cat > "$CONF" <<CONF
$MARK
ClusterName=linkpaper-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
# scancel: SIGKILL 2 s after SIGTERM (a submitit job ignores SIGTERM; the default waits 30 s)
KillWait=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

  # both daemonize and write their pid files; -c: a fresh controller, no jobs from an earlier start
  slurmctld -c -i || fail_start slurmctld "$STATE/slurmctld.log"
  wait_for 20 slurmctld scontrol ping || fail_start slurmctld "$STATE/slurmctld.log"
  slurmd || fail_start slurmd "$STATE/slurmd.log"
  wait_for 30 "the node" node_idle || fail_start "the node (slurmd)" "$STATE/slurmd.log"
  echo "local_slurm.sh: $(sinfo --version) up: node $host, $CPUS CPU(s), $MEM_MB MB (pids and logs in $STATE)"
}

stop() {
  export PATH="$PATH:/usr/sbin"
  local pid stopped=""
  if [[ -n "$(started_pid slurmctld)" ]]; then
    # jobs of this cluster only (its controller is ours); their processes end with their steps
    local jobs
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [[ -n "${jobs// }" ]]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      wait_for 20 "the jobs to end" bash -c '[[ -z "$(squeue -h -o %A)" ]]' \
        || echo "local_slurm.sh: jobs still listed after 20 s: $(squeue -h -o '%A %T' | tr '\n' ' ')" >&2
    fi
  fi
  for name in $DAEMONS; do
    pid=$(started_pid "$name")
    [[ -n "$pid" ]] || { rm -f "$STATE/$name.pid"; continue; }
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for 15 "$name to exit" bash -c "! kill -0 $pid"; then
      echo "local_slurm.sh: $name (pid $pid) ignored SIGTERM for 15 s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/$name.pid"
    stopped+=" $name($pid)"
  done
  if [[ -f "$CONF" ]] && grep -qxF "$MARK" "$CONF"; then
    rm -f "$CONF"
  fi
  echo "local_slurm.sh: stopped${stopped:- nothing (no daemon of ours was running)}; logs kept in $STATE"
}

status() {
  export PATH="$PATH:/usr/sbin"
  for name in munged slurmctld slurmd; do
    pid=$(started_pid "$name")
    if [[ -n "$pid" ]]; then echo "$name: started by this script, pid $pid"; else echo "$name: not started by this script"; fi
  done
  sinfo 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: scripts/local_slurm.sh start|stop|status (got '${1:-}')" ;;
esac
