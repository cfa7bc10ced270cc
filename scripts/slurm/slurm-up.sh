#!/usr/bin/env bash
# Start a throwaway single-node Slurm cluster -- munged, slurmctld and slurmd
# as plain root processes, every file under DIR -- to try the batch script
# and to run tests/slurm.sh on one machine without an administrator.
#
#   scripts/slurm/slurm-up.sh DIR [PORT_BASE]
#
# DIR is created if needed; PORT_BASE (default 6817, Slurm's own) is
# slurmctld's port and PORT_BASE+1 slurmd's, so that two clusters (two test
# runs, or a real slurmd) can share a machine. On success the one line on
# stdout is the `export SLURM_CONF=...` that every shell using the cluster
# needs, so `eval "$(scripts/slurm/slurm-up.sh DIR)"` sets it; everything
# else goes to stderr. Stop it with scripts/slurm/slurm-down.sh DIR.
#
# It needs root (the daemons run as root, which spares a slurm user and
# /etc changes), and the Debian packages slurmctld slurmd slurm-client munge,
# plus libpmix-dev for `srun --mpi=pmix` (docs/hpc.md). No systemd, no
# cgroups: proctrack/linuxproc and task/none.
set -euo pipefail

usage() {
    echo "usage: $0 DIR [PORT_BASE]" >&2
    exit 2
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
port=${2:-6817}
case $port in '' | *[!0-9]*) usage ;; esac
if [ "$port" -lt 1024 ] || [ "$port" -gt 65534 ]; then
    echo "$0: PORT_BASE must be 1024..65534" >&2
    exit 2
fi

[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (the daemons run as root)" >&2; exit 1; }
for c in munged slurmctld slurmd sinfo; do
    command -v "$c" >/dev/null || { echo "$0: $c is not installed (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 1; }
done

mkdir -p "$1"
D=$(cd "$1" && pwd)
H=$(hostname -s)

# A cluster already running from DIR would be orphaned by a second start.
for f in "$D/run/slurmctld.pid" "$D"/run/slurmd-*.pid "$D/munge/munged.pid"; do
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null &&
        { echo "$0: a cluster is already running in $D (pid file $f); stop it with slurm-down.sh" >&2; exit 1; }
done

# The daemons would fail later with a log line nobody reads; say it now.
in_use() {
    if command -v ss >/dev/null; then
        [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}
for p in "$port" $((port + 1)); do
    in_use "$p" && { echo "$0: port $p is in use; pass another PORT_BASE" >&2; exit 1; }
done

# A Unix socket's path is limited to 108 bytes; munged's lives in DIR.
sock=$D/munge/munge.socket.2
[ ${#sock} -lt 100 ] || { echo "$0: $D is too long a path for munged's socket; use a shorter DIR" >&2; exit 1; }

# munged also refuses when any directory above its socket is closed to
# others. DIR is ours to open; its parents (mktemp -d makes mode 700
# directories) are the caller's.
chmod a+x "$D"
d=$(dirname "$D")
while [ "$d" != / ]; do
    [ -n "$(find "$d" -maxdepth 0 -perm -a=x)" ] ||
        { echo "$0: munged needs $d to be searchable by all (chmod a+x $d)" >&2; exit 1; }
    d=$(dirname "$d")
done

mkdir -p "$D"/{munge,etc,state,spool/slurmd-"$H",log,run}
# munged refuses a socket directory that others cannot traverse.
chmod 711 "$D/munge"
if [ ! -f "$D/munge/munge.key" ]; then
    dd if=/dev/urandom of="$D/munge/munge.key" bs=1024 count=1 status=none
    chmod 400 "$D/munge/munge.key"
fi
# A socket left by a munged that died would make the new one refuse to start.
rm -f "$sock" "$sock.lock"

# The node line comes from the hardware as slurmd sees it; a hand-written
# CPU or memory count that disagrees makes slurmd drain the node. sed, not
# head, reads to the end, so slurmd never dies of SIGPIPE under pipefail.
node=$(slurmd -C | sed -n 1p)
cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node")
mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
if [ -z "$cpus" ] || [ -z "$mem" ]; then
    echo "$0: cannot read CPUs and memory from 'slurmd -C': $node" >&2
    exit 1
fi
# Without a default, every job asks for the whole node's memory and jobs
# run one at a time; an equal share per CPU lets one job per CPU run.
mempercpu=$((mem / cpus))
[ "$mempercpu" -ge 1 ] || mempercpu=1

# Job ids start at a number tied to the port, because Slurm's PMIx plugin
# names its per-job directories in the node's temporary directory by job
# id alone, which two clusters would share.
cat >"$D/etc/slurm.conf" <<CONF
# Written by scripts/slurm/slurm-up.sh: a throwaway single-node cluster.
ClusterName=gatesim$port
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
SlurmctldPort=$port
SlurmdPort=$((port + 1))
FirstJobId=$((port * 1000))
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/slurmd-%n
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=pmix
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$mempercpu
ReturnToService=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$D/etc/slurm.conf

started_ok=0
# shellcheck disable=SC2317 # called by the trap
cleanup_on_failure() {
    [ "$started_ok" -eq 1 ] && return
    echo "$0: start failed; logs in $D/log; stopping what did start" >&2
    "$(dirname "$0")/slurm-down.sh" "$D" >&2 || true
}
trap cleanup_on_failure EXIT

# Each daemon forks into the background itself and writes its pid file.
munged --key-file="$D/munge/munge.key" --socket="$sock" --pid-file="$D/munge/munged.pid" \
    --log-file="$D/log/munged.log" --seed-file="$D/munge/munged.seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"

for _ in $(seq 1 60); do
    if [ "$(sinfo -h -n "$H" -o %T 2>/dev/null)" = idle ]; then
        started_ok=1
        echo "slurm up in $D: node $H idle, $cpus CPUs, ports $port/$((port + 1))" >&2
        echo "export SLURM_CONF=$SLURM_CONF"
        exit 0
    fi
    sleep 0.5
done
echo "$0: node $H did not become idle in 30 s" >&2
exit 1
