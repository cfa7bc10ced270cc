#!/usr/bin/env bash
# End-to-end test of scripts/slurm/ on a real (throwaway, single-node) Slurm,
# run by ctest from the repository root as
#   tests/slurm.sh GATESIM
# It starts munged, slurmctld and slurmd in a scratch directory, submits
# scripts/slurm/gatesim-sweep.sbatch with 2 tasks, and checks that the job
# ran 2 MPI ranks and wrote the sweep.csv of `-j 1` and of mpirun; then the
# three ways a job ends early: preempted and requeued by Slurm (a journal cut
# mid-record, resumed), its time limit near (the script's SIGUSR1 trap
# requeues it), and a changed sweep on the same output (refused, non-zero
# exit, results untouched). The cluster is torn down on every exit.
#
# Exit 77 (ctest: skipped) with one line saying why when it cannot run here:
# not root, Slurm, munge or mpirun missing, gatesim built without MPI,
# Slurm's pmix plugin unusable, or fewer than 2 CPUs.
set -euo pipefail

skip() {
    echo "skipped: $*"
    exit 77
}
[ $# -eq 1 ] || { echo "usage: $0 GATESIM" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
[ -x "$1" ] || { echo "FAIL: no executable gatesim at $1" >&2; exit 1; }
# Absolute, because the job runs it from Slurm's idea of the submit dir.
gatesim=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

[ "$(id -u)" -eq 0 ] || skip "not root (the test cluster's daemons run as root)"
for c in munged slurmctld slurmd sbatch srun scontrol squeue scancel sinfo mpirun; do
    command -v "$c" >/dev/null || skip "$c is not installed (slurmctld slurmd slurm-client munge openmpi-bin)"
done
# grep reads all of ldd's output: with -q it could exit first, and ldd's
# SIGPIPE would fail the pipeline under pipefail.
ldd "$gatesim" 2>/dev/null | grep libmpi >/dev/null || skip "gatesim was built without MPI"

# Settings of an enclosing job (ctest run inside Slurm) would leak into
# sbatch, srun and mpirun here and point them at the wrong cluster.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM_|SBATCH_|SRUN_|SALLOC_|PMIX_|PMI_)' || true)
# Open MPI's own allocations are not ours to check for leaks.
nolsan=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}detect_leaks=0

cd "$root"
t0=$(date +%s)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gatesim-slurm.XXXXXX")
# munged wants every directory above its socket searchable by all.
chmod 711 "$scratch"
cluster=$scratch/cluster
cleanup() {
    local rc=$?
    [ -d "$cluster" ] && "$root/scripts/slurm/slurm-down.sh" "$cluster" >/dev/null 2>&1
    rm -rf "$scratch"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "FAIL: $*" >&2
    local f
    for f in "$cluster"/log/*.log "$scratch"/*.out "$scratch"/*.err; do
        [ -s "$f" ] || continue
        echo "---- ${f#"$scratch"/} (last 60 lines)" >&2
        tail -n 60 "$f" >&2
    done
    exit 1
}

# Each line says when, for a test that has to stay quick.
ok() {
    echo "ok ($(($(date +%s) - t0)) s): $*"
}

in_use() {
    if command -v ss >/dev/null; then
        [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# The sweep: 2 x 2 points x 3 replications = 12 items of a few ms each.
sw=$scratch/slurm-small.yaml
cat >"$sw" <<EOF
name: slurm-small
base: '${root//\'/\'\'}/scenarios/single-gateway-basic.yaml'
grid:
  workload.chat.arrivals.rate: [400/s, 800/s]
  components.gw.servers: [4, 8]
replications: 3
EOF
extra="--set simulation.duration=20s --set simulation.warmup=2s --no-plots"
read -r -a extra_a <<<"$extra"

# The references: one thread, and two ranks under mpirun.
"$gatesim" sweep "$sw" "${extra_a[@]}" -j 1 -q -o "$scratch/j1" >/dev/null 2>"$scratch/j1.err" ||
    fail "gatesim sweep -j 1"
ASAN_OPTIONS=$nolsan timeout 120 mpirun --allow-run-as-root --oversubscribe -np 2 \
    "$gatesim" sweep "$sw" "${extra_a[@]}" -o "$scratch/np2" >/dev/null 2>"$scratch/mpirun.err" ||
    fail "mpirun -np 2 gatesim sweep"
grep -q 'on 2 ranks' "$scratch/mpirun.err" || fail "mpirun -np 2 did not run 2 ranks"
cmp "$scratch/j1/sweep.csv" "$scratch/np2/sweep.csv" || fail "sweep.csv of mpirun -np 2 differs from -j 1"
ok "mpirun -np 2 gives the sweep.csv of -j 1"

# Ports below the usual ephemeral range, spread by our pid so that two
# runs on one machine do not collide; slurm-up.sh checks them again.
port=
for i in $(seq 0 49); do
    p=$((10000 + (($$ + i * 997) % 11000) * 2))
    if ! in_use "$p" && ! in_use $((p + 1)); then
        port=$p
        break
    fi
done
[ -n "$port" ] || fail "no free pair of ports found"
up=$(timeout 60 "$root/scripts/slurm/slurm-up.sh" "$cluster" "$port" 2>"$scratch/up.err") ||
    fail "slurm-up.sh $cluster $port"
[ "$up" = "export SLURM_CONF=$cluster/etc/slurm.conf" ] || fail "slurm-up.sh printed '$up'"
export SLURM_CONF=$cluster/etc/slurm.conf
ok "cluster up on ports $port/$((port + 1))"

[ "$(sinfo -h -o %c | sed -n 1p)" -ge 2 ] 2>/dev/null || skip "the node has fewer than 2 CPUs"
if ! timeout 60 srun -n 1 --mpi=pmix true 2>"$scratch/pmix.err"; then
    grep -qi pmix "$scratch/pmix.err" &&
        skip "srun --mpi=pmix does not work here (libpmix-dev missing?): $(head -n 1 "$scratch/pmix.err")"
    fail "srun -n 1 --mpi=pmix true"
fi

# Wait for job $1 to end its run number $2 (0: the first). A requeued job
# is held back about two minutes (its EligibleTime) before it may start
# again; the test releases it at once.
wait_job() {
    local id=$1 want=$2 info restarts released=0
    for _ in $(seq 1 600); do
        info=$(scontrol show job "$id" 2>&1) || fail "scontrol show job $id: $info"
        job_state=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info")
        job_exit=$(sed -n 's/.*[^a-zA-Z]ExitCode=\([0-9:]*\).*/\1/p' <<<"$info")
        restarts=$(sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' <<<"$info")
        if [ "$restarts" = "$want" ] && [ "$want" -gt 0 ] && [ "$released" -eq 0 ] &&
            [ "$job_state" = PENDING ]; then
            scontrol update jobid="$id" StartTime=now || fail "scontrol update jobid=$id StartTime=now"
            released=1
        fi
        if [ "$restarts" = "$want" ]; then
            case $job_state in
                COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
                    return 0 ;;
            esac
        fi
        sleep 0.2
    done
    fail "job $id did not end run $((want + 1)) in 120 s (state $job_state)"
}

# The last timing line of a job log: "... N items (K from the journal) ...".
from_journal() {
    grep 'items (' "$1" | tail -n 1 | sed -n 's/.* 12 items (\([0-9]*\) from the journal).*/\1/p'
}

sbatch_script=$root/scripts/slurm/gatesim-sweep.sbatch
out=$scratch/out

# 1. A fresh sweep through sbatch --wait, settings from the environment.
GATESIM=$gatesim SWEEP=$sw OUT=$out EXTRA=$extra ASAN_OPTIONS=$nolsan \
    timeout 300 sbatch --wait -n 2 --ntasks-per-node=2 -J gatesim-test -o "$scratch/a.out" "$sbatch_script" \
    >"$scratch/a.sbatch" 2>"$scratch/a.err" || fail "sbatch --wait exited $?"
a=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' "$scratch/a.sbatch")
[ -n "$a" ] || fail "no job id from sbatch: $(cat "$scratch/a.sbatch")"
grep -q 'on 2 ranks x 1 thread' "$scratch/a.out" || fail "job $a did not run 2 ranks x 1 thread"
[ "$(from_journal "$scratch/a.out")" = 0 ] || fail "job $a: a fresh sweep took items from a journal"
cmp "$scratch/j1/sweep.csv" "$out/sweep.csv" || fail "sweep.csv of job $a differs from -j 1"
ok "sbatch -n 2 ran 2 ranks and wrote the sweep.csv of -j 1 and mpirun"

# 2. Preempted: cut the journal mid-record, as a job killed while rank 0
# appends leaves it, and requeue the job as Slurm does on preemption.
size=$(stat -c %s "$out/sweep.journal")
truncate -s $((size / 2)) "$out/sweep.journal"
rm -f "$out/sweep.csv" "$out/sweep.h5"
scontrol requeue "$a" || fail "scontrol requeue $a"
wait_job "$a" 1
[ "$job_state" = COMPLETED ] || fail "requeued job $a ended $job_state ($job_exit)"
grep -q "job $a (run 2)" "$scratch/a.out" || fail "job $a: no second run in its log"
k=$(from_journal "$scratch/a.out")
case $k in [1-9] | 1[01]) ;; *) fail "requeued job $a took '$k' of 12 items from the journal" ;; esac
cmp "$scratch/j1/sweep.csv" "$out/sweep.csv" || fail "sweep.csv of the resumed job $a differs"
ok "requeued after a cut journal, job $a resumed $k of 12 items and wrote the same sweep.csv"

# 3. The time limit near: the batch shell gets SIGUSR1 (--signal=B:USR1;
# scancel -b sends it now) and requeues the job. gatesim is wrapped so
# that the first run waits after finishing, to be signalled while running;
# the sweep file and options come as arguments this time.
cat >"$scratch/slow-gatesim" <<'EOF'
#!/bin/sh
"$REAL_GATESIM" "$@" || exit
[ "${SLURM_RESTART_COUNT:-0}" -gt 0 ] || sleep 120
EOF
chmod +x "$scratch/slow-gatesim"
b=$(REAL_GATESIM=$gatesim GATESIM=$scratch/slow-gatesim OUT=$out ASAN_OPTIONS=$nolsan \
    timeout 60 sbatch --parsable -n 2 --ntasks-per-node=2 -o "$scratch/b.out" "$sbatch_script" "$sw" "${extra_a[@]}") ||
    fail "sbatch of the time-limit job"
b=${b%%;*}
for _ in $(seq 1 600); do
    grep -q 'items (' "$scratch/b.out" 2>/dev/null && break
    sleep 0.2
done
grep -q 'items (' "$scratch/b.out" 2>/dev/null || fail "job $b: gatesim did not finish in 120 s"
scancel -b -s USR1 "$b" || fail "scancel -b -s USR1 $b"
wait_job "$b" 1
[ "$job_state" = COMPLETED ] || fail "job $b requeued on SIGUSR1 ended $job_state ($job_exit)"
grep -q "requeueing job $b" "$scratch/b.out" || fail "job $b did not requeue itself on SIGUSR1"
[ "$(from_journal "$scratch/b.out")" = 12 ] || fail "job $b: second run did not take all 12 items from the journal"
cmp "$scratch/j1/sweep.csv" "$out/sweep.csv" || fail "sweep.csv after job $b differs"
ok "on SIGUSR1 job $b requeued itself and its second run took all 12 items from the journal"

# 4. Another sweep (another seed) on the same output: gatesim refuses the
# journal, the job fails with gatesim's non-zero status, and the results
# of the first sweep stay as they were.
c=$(GATESIM=$gatesim SWEEP=$sw OUT=$out EXTRA="$extra --seed 99" ASAN_OPTIONS=$nolsan \
    timeout 60 sbatch --parsable -n 2 --ntasks-per-node=2 -o "$scratch/c.out" "$sbatch_script") || fail "sbatch of the changed sweep"
c=${c%%;*}
wait_job "$c" 0
if [ "$job_state" != FAILED ] || [ "$job_exit" = 0:0 ]; then
    fail "changed sweep: job $c ended $job_state ($job_exit)"
fi
grep -q 'written by a different sweep' "$scratch/c.out" || fail "job $c: no message about the journal"
cmp "$scratch/j1/sweep.csv" "$out/sweep.csv" || fail "the refused job $c changed sweep.csv"
ok "a changed sweep on the same output fails (exit $job_exit) and leaves the results alone"

ok "all passed; tearing the cluster down"
