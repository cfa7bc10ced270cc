#!/usr/bin/env bash
# Engine speed against a hand-written reference, measured in the same run:
# builds ../shared/peers/mm1_heap.c (a minimal binary-heap C simulator of
# M/M/1, lambda 0.8, mu 1), runs `gatesim bench` and the reference on the
# same number of customers, and prints both figures and their ratios.
#   bench/mm1_vs_reference.sh [BUILD_DIR] [CUSTOMERS]
# PEERS may point elsewhere than ../shared/peers (relative to the repository).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-5000000}
peers=${PEERS:-$root/../shared/peers}
[ -f "$peers/mm1_heap.c" ] || { echo "no $peers/mm1_heap.c (set PEERS)" >&2; exit 2; }
[ -x "$build/gatesim" ] || { echo "no $build/gatesim: build first" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/gatesim-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -std=c11 -O2 -o "$work/mm1_heap" "$peers/mm1_heap.c" -lm

g=$("$build/gatesim" bench --customers "$n")
r=$("$work/mm1_heap" "$n" 1)
echo "$g"
echo "reference: $r"
get() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
g_ev=$(get "$g" mm1_events_per_s)
g_cu=$(get "$g" mm1_customers_per_s)
r_cu=$(get "$r" customers_per_s)
r_ev_total=$(get "$r" events)
r_wall=$(get "$r" wall_s)
awk -v ge="$g_ev" -v gc="$g_cu" -v rc="$r_cu" -v re="$r_ev_total" -v rw="$r_wall" \
    -v bpe="$(get "$g" hold_bytes_per_pending_event)" 'BEGIN {
    rev = re / rw
    printf "gatesim events/s      %.4g\n", ge
    printf "reference events/s    %.4g\n", rev
    printf "ratio events/s        %.3f  (target >= 0.5)\n", ge / rev
    printf "ratio customers/s     %.3f\n", gc / rc
    printf "bytes/pending event   %.1f  (target <= 64)\n", bpe
}'
