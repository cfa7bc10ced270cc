#!/usr/bin/env bash
# Write a small synthetic LLM-serving trace in the layout of the Azure LLM
# inference traces (header TIMESTAMP,ContextTokens,GeneratedTokens;
# timestamps with 7 fractional digits), for examples and tests of
# `arrivals: {process: trace}`. It is made up, not downloaded: arrivals are
# Poisson at 40/s with bursts at 160/s for 2 s in every 10 s, token counts
# skewed to small values. The generator is the Park-Miller minimal standard
# (x <- 16807 x mod 2^31 - 1, exact in awk's doubles), so the output is the
# same on every awk.
#
#   scripts/make-trace.sh [ROWS] > scenarios/traces/synthetic-azure.csv
set -euo pipefail
rows=${1:-2000}
awk -v rows="$rows" 'BEGIN {
    m = 2147483647; x = 20231116
    print "TIMESTAMP,ContextTokens,GeneratedTokens"
    t = 0                        # 100 ns ticks since 2023-11-16 18:15:00
    for (i = 0; i < rows; i++) {
        x = (16807 * x) % m; u = x / m
        rate = (int(t / 1e7) % 10 < 2) ? 160 : 40
        gap = int(-log(1 - u) / rate * 1e7 + 0.5)
        t += gap
        x = (16807 * x) % m; a = x / m
        x = (16807 * x) % m; b = x / m
        ctx = 16 + int(4000 * a * a * a)
        gen = 1 + int(700 * b * b)
        s = int(t / 1e7); frac = t - s * 1e7
        c = 18 * 3600 + 15 * 60 + s  # seconds of the day; stays within it below 5 hours
        printf "2023-11-16 %02d:%02d:%02d.%07d,%d,%d\n", int(c / 3600), int(c % 3600 / 60), c % 60, frac, ctx, gen
    }
}'
