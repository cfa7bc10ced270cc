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
rounds=${3:-3}
peers=${PEERS:-$root/../shared/peers}
[ -f "$peers/mm1_heap.c" ] || { echo "no $peers/mm1_heap.c (set PEERS)" >&2; exit 2; }
[ -x "$build/gatesim" ] || { echo "no $build/gatesim: build first" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/gatesim-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cc -std=c11 -O2 -o "$work/mm1_heap" "$peers/mm1_heap.c" -lm

get() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
best_g=0 best_r=0 g_best="" r_best=""
for i in $(seq "$rounds"); do
    g=$("$build/gatesim" bench --customers "$n")
    r=$("$work/mm1_heap" "$n" 1)
    echo "round $i: gatesim $(get "$g" mm1_events_per_s) events/s, reference $(get "$r" events) events in $(get "$r" wall_s) s"
    if awk -v a="$(get "$g" mm1_events_per_s)" -v b="$best_g" 'BEGIN { exit !(a > b) }'; then
        best_g=$(get "$g" mm1_events_per_s); g_best=$g
    fi
    rev=$(awk -v e="$(get "$r" events)" -v w="$(get "$r" wall_s)" 'BEGIN { printf "%.6g", e / w }')
    if awk -v a="$rev" -v b="$best_r" 'BEGIN { exit !(a > b) }'; then
        best_r=$rev; r_best=$r
    fi
done
echo
echo "$g_best"
echo "reference: $r_best"
awk -v ge="$best_g" -v re="$best_r" -v gc="$(get "$g_best" mm1_customers_per_s)" \
    -v rc="$(get "$r_best" customers_per_s)" -v bpe="$(get "$g_best" hold_bytes_per_pending_event)" \
    -v k="$rounds" 'BEGIN {
    printf "best of %d rounds each:\n", k
    printf "gatesim events/s      %.4g\n", ge
    printf "reference events/s    %.4g\n", re
    printf "ratio events/s        %.3f  (target >= 0.5)\n", ge / re
    printf "ratio customers/s     %.3f\n", gc / rc
    printf "bytes/pending event   %.1f  (target <= 64)\n", bpe
}'
