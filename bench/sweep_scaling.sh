#!/usr/bin/env bash
# Sweep throughput (work items per second) and parallel efficiency with 1..N
# threads and 1..N MPI ranks, on the same sweep in the same run:
#   bench/sweep_scaling.sh [BUILD_DIR] [MAX] [ITEM_SIM_SECONDS]
# MAX (default: the number of cores) bounds threads and ranks; each item is
# one replication of tests/sweep/small.yaml simulated for ITEM_SIM_SECONDS
# (default 300, about 0.1-0.2 s of wall time per item on a laptop core), 16
# per thread or rank at the largest count. Efficiency = (items/s with k) /
# (k x items/s with 1 thread). Prints one line per configuration.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
max=${2:-$(nproc)}
simsec=${3:-300}
[ -x "$build/gatesim" ] || { echo "no $build/gatesim: build first" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/gatesim-sweepbench.XXXXXX")
trap 'rm -rf "$work"' EXIT
reps=$(( 4 * max ))            # 16 items per thread or rank at the largest count
args=(sweep "$root/tests/sweep/small.yaml" -r "$reps" --no-plots
      --set "simulation.duration=${simsec}s" --set simulation.warmup=2s)
mpi=()
if command -v mpirun >/dev/null && ldd "$build/gatesim" | grep -q libmpi; then
    mpi=(mpirun --oversubscribe --bind-to none)
    [ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
fi
rate() { sed -n 's/.* s: \([0-9.e+]*\) items\/s on .*/\1/p' "$1"; }
base=""
counts=$(awk -v m="$max" 'BEGIN { for (k = 1; k < m; k *= 2) print k; print m }')
run() {   # label, workers, command...
    local label=$1 k=$2
    shift 2
    "$@" -o "$work/out" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    local r
    r=$(rate "$work/err")
    [ -n "$base" ] || base=$r
    awk -v l="$label" -v k="$k" -v r="$r" -v b="$base" -v n="$(( 4 * reps ))" \
        'BEGIN { printf "%-22s items=%d items_per_s=%.3f efficiency=%.3f\n", l, n, r, r / (k * b) }'
    cp "$work/out/sweep.csv" "$work/sweep-$label.csv"
}
for k in $counts; do
    run "threads=$k" "$k" "$build/gatesim" "${args[@]}" -j "$k"
done
if [ ${#mpi[@]} -gt 0 ]; then
    for k in $counts; do
        run "ranks=$k" "$k" "${mpi[@]}" -np "$k" "$build/gatesim" "${args[@]}" -j 1
    done
else
    echo "ranks: skipped (no mpirun, or gatesim built without MPI)"
fi
# The point of the exercise: every configuration wrote the same bytes.
for f in "$work"/sweep-*.csv; do
    cmp -s "$f" "$work/sweep-threads=1.csv" || { echo "MISMATCH: $f" >&2; exit 1; }
done
echo "sweep.csv identical in every configuration"
