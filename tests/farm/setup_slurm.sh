#!/bin/bash
# A real single-node Slurm on localhost for the farm tests (tests/farm/test_engines.py), all state in one folder.
#
#   tests/farm/setup_slurm.sh start [DIR]   install (apt, when root and missing), configure, start; idempotent
#   tests/farm/setup_slurm.sh stop  [DIR]   stop the daemons by their pid files
#
# DIR defaults to /tmp/synthkiln-slurm. On success `start` prints the slurm.conf path: point clients at it
# with SLURM_CONF. Exit 77 means "cannot run here" (Slurm missing and not root, no apt-get, or
# SK_FARM_NO_INSTALL set): the tests skip.
# No systemd, cgroups, munge or accounting: auth/none on 127.0.0.1 (see shared notes, "A real Slurm").
set -u
ACTION=${1:-start}
DIR=${2:-/tmp/synthkiln-slurm}
CONF=$DIR/slurm.conf
export SLURM_CONF=$CONF

running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
    pids=
    for d in slurmd slurmctld; do
        if running "$DIR/$d.pid"; then pids="$pids $(cat "$DIR/$d.pid")"; fi
    done
    [ -n "$pids" ] && kill $pids
    for pid in $pids; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    done
    rm -f "$DIR/slurmd.pid" "$DIR/slurmctld.pid"
}

if [ "$ACTION" = stop ]; then stop; exit 0; fi
[ "$ACTION" = start ] || { echo "usage: $0 start|stop [DIR]" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null; then
    if [ -n "${SK_FARM_NO_INSTALL:-}" ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "Slurm is not installed and cannot be installed here (needs root and apt-get)" >&2
        exit 77
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq slurmctld slurmd slurm-client >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq slurmctld slurmd slurm-client >/dev/null; } \
        || { echo "apt-get could not install slurmctld slurmd slurm-client" >&2; exit 77; }
fi
if [ "$(id -u)" != 0 ]; then
    echo "the Slurm daemons need root (slurmd starts jobs as their user)" >&2
    exit 77
fi

HOST=$(hostname -s)
CPUS=$(nproc)
mkdir -p "$DIR/state" "$DIR/spool"
NEW=$(cat <<CONF
ClusterName=synthkiln
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${SK_SLURMCTLD_PORT:-6817}
SlurmdPort=${SK_SLURMD_PORT:-6818}
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MaxArraySize=100001
MaxJobCount=200000
MinJobAge=600
ReturnToService=2
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
)
if [ -f "$CONF" ] && [ "$(cat "$CONF")" != "$NEW" ]; then stop; fi    # another configuration: restart
printf '%s\n' "$NEW" > "$CONF"

running "$DIR/slurmctld.pid" || slurmctld -f "$CONF" || { tail -5 "$DIR/slurmctld.log" >&2; exit 1; }
running "$DIR/slurmd.pid" || slurmd -f "$CONF" || { tail -5 "$DIR/slurmd.log" >&2; exit 1; }

for _ in $(seq 150); do
    state=$(sinfo -h -o %T 2>/dev/null | head -1)
    case "$state" in
        idle*|mixed*|allocated*) echo "$CONF"; exit 0 ;;
        down*|drain*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 ;;
    esac
    sleep 0.2
done
echo "Slurm did not come up (node state: ${state:-none}); logs in $DIR" >&2
tail -5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2
exit 1
