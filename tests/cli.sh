#!/usr/bin/env bash
# End-to-end tests of the gatesim command line, run by ctest as
#   tests/cli.sh GATESIM TEST
# Each test prints what it checked and exits non-zero on the first failure.
set -u
gatesim=$1
test=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gatesim-cli.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# A bad input: `gatesim CMD FILE ARGS...` exits 2 with one line on stderr
# naming the file and the position (and phrase) that the file's first line
# "# expect: L:C phrase" gives ("alias" or nothing: no position).
bad_input() {
    local cmd=$1 f=$2 expect pos phrase err rc
    shift 2
    expect=$(head -n 1 "$f" | sed -n 's/^# expect: *//p')
    pos=${expect%% *}
    phrase=${expect#"$pos"}
    phrase=${phrase# }
    err=$("$gatesim" "$cmd" "$f" "$@" 2>&1 >/dev/null)
    rc=$?
    [ "$rc" -eq 2 ] || fail "$f: exit $rc, expected 2 (stderr: $err)"
    [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "$f: expected one line, got: $err"
    case "$err" in
        *"$f"*) ;;
        *) fail "$f: message does not name the file: $err" ;;
    esac
    if [ -n "$pos" ] && [ "$pos" != "alias" ]; then
        case "$err" in
            *"$f:$pos"*) ;;
            *) fail "$f: message does not give position $pos: $err" ;;
        esac
    fi
    if [ -n "$phrase" ]; then
        case "$err" in
            *"$phrase"*) ;;
            *) fail "$f: message lacks '$phrase': $err" ;;
        esac
    fi
    echo "ok: $f -> $err"
}

# The arguments every sweep test shares: the small sweep, shortened.
short=(--set simulation.duration=20s --set simulation.warmup=2s --no-plots)

case $test in
bad)
    n=0
    for f in "$root"/tests/bad/*.yaml; do
        bad_input check "$f"
        n=$((n + 1))
    done
    [ "$n" -ge 12 ] || fail "only $n bad scenarios"
    [ -s "$root/tests/bad/empty.yaml" ] && fail "empty.yaml must be empty"
    echo "$n bad scenarios rejected with exit 2 and their position"
    ;;
bad-run)
    # Scenarios that load but ask for more than a run may hold (docs/scenarios.md,
    # "Limits"): exit 2 with the key's position, and no results written.
    n=0
    for f in "$root"/tests/bad-run/*.yaml; do
        "$gatesim" check "$f" >/dev/null || fail "$f: check refused it; it must load"
        bad_input run "$f" -q --no-plots -o "$scratch/bad-run"
        [ -e "$scratch/bad-run/summary.csv" ] && fail "$f: a refused run wrote summary.csv"
        n=$((n + 1))
    done
    [ "$n" -ge 3 ] || fail "only $n scenarios over the limits"
    echo "ok: $n scenarios over the run limits stopped with exit 2 and their position"
    ;;
bad-set)
    s=$root/scenarios/single-gateway-basic.yaml
    err=$("$gatesim" check "$s" --set components.gw.servers=abc 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "--set servers=abc: exit $rc"
    case "$err" in *"--set components.gw.servers=abc"*) ;; *) fail "override not named: $err" ;; esac
    err=$("$gatesim" check "$s" --set components.gw.sevrers=4 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "--set sevrers: exit $rc"
    case "$err" in *"did you mean 'servers'"*) ;; *) fail "no hint: $err" ;; esac
    err=$("$gatesim" check "$s" --set workload.caht.deadline=1s 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "--set workload.caht: exit $rc"
    err=$("$gatesim" check "$s" --set nonsense 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "--set without '=': exit $rc"
    out=$("$gatesim" check "$s" --set components.gw.servers=16 --set workload.chat.arrivals.rate=50/s) \
        || fail "valid --set rejected"
    printf '%s\n' "$out" | grep -q 'servers: 16' || fail "override not applied: $out"
    printf '%s\n' "$out" | grep -q '50/s' || fail "override by workload name not applied"
    echo "ok: --set errors name the override; valid overrides apply"
    ;;
usage)
    "$gatesim" --version | grep -Eq '^gatesim [0-9]+\.[0-9]+' || fail "--version"
    for c in run check validate bench; do
        "$gatesim" $c --help | grep -q "usage: gatesim $c" || fail "$c --help"
    done
    "$gatesim" --help | grep -q 'usage: gatesim COMMAND' || fail "--help"
    "$gatesim" frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown command must exit 2"
    "$gatesim" run 2>/dev/null; [ $? -eq 2 ] || fail "run without scenario must exit 2"
    "$gatesim" run "$scratch/missing.yaml" 2>"$scratch/err"; [ $? -eq 2 ] || fail "missing file must exit 2"
    grep -q missing.yaml "$scratch/err" || fail "missing file not named"
    "$gatesim" run x.yaml -r zero 2>/dev/null; [ $? -eq 2 ] || fail "-r zero must exit 2"
    "$gatesim" run x.yaml --format xml 2>/dev/null; [ $? -eq 2 ] || fail "--format xml must exit 2"
    "$gatesim" sweep x.yaml 2>/dev/null; [ $? -eq 2 ] || fail "planned command must exit 2"
    echo "ok: usage, version and command-line errors"
    ;;
options)
    # Every command answers --version, help COMMAND is COMMAND --help, and an
    # option a command does not use is refused (exit 2), never ignored.
    s=$root/scenarios/single-gateway-basic.yaml
    want=$("$gatesim" --version)
    for c in run check compare sweep plot capacity validate bench kernels "kernels calibrate" \
             "kernels check" "kernels bench" "kernels list"; do
        got=$("$gatesim" $c --version); rc=$?
        [ $rc -eq 0 ] && [ "$got" = "$want" ] || fail "$c --version: exit $rc, '$got'"
    done
    "$gatesim" help run >"$scratch/h1" && "$gatesim" run --help >"$scratch/h2" || fail "help run"
    cmp -s "$scratch/h1" "$scratch/h2" || fail "help run differs from run --help"
    "$gatesim" help nosuch >/dev/null 2>&1; [ $? -eq 2 ] || fail "help nosuch must exit 2"
    "$gatesim" capacity --help | grep -q '%%' && fail "capacity --help prints %%"
    "$gatesim" plot --help | grep -q 'sweep' || fail "plot --help does not name sweeps"
    "$gatesim" plot --help | grep -q 'capacity' || fail "plot --help does not name capacity"
    "$gatesim" compare --help | grep -q 'diff_ci_high' || fail "compare --help lacks compare.csv's columns"
    err=$("$gatesim" plot 2>&1); [ $? -eq 2 ] || fail "plot without a directory"
    case "$err" in *"missing RESULTS_DIR"*) ;; *) fail "plot: $err" ;; esac
    # Command-line limits are the scenario's and are named as typed.
    err=$("$gatesim" check "$s" -r 200000 2>&1 >/dev/null); [ $? -eq 2 ] || fail "-r 200000 accepted"
    case "$err" in *"--set"*) fail "-r names a --set: $err" ;; *"-r: must be between 1 and 100000"*) ;;
                   *) fail "-r: $err" ;; esac
    "$gatesim" check "$s" -r 100000 >/dev/null || fail "-r 100000 refused"
    err=$("$gatesim" check "$s" --seed 9223372036854775808 2>&1 >/dev/null); [ $? -eq 2 ] || fail "--seed 2^63"
    case "$err" in *"an integer from 0 to 9223372036854775807"*) ;; *) fail "--seed: $err" ;; esac
    "$gatesim" check "$s" --seed 9223372036854775807 | grep -q 'seed: 9223372036854775807' ||
        fail "--seed 2^63-1 refused"
    err=$("$gatesim" check "$s" --set simulation.seed=-1 2>&1 >/dev/null)
    case "$err" in *"an integer from 0 to 9223372036854775807"*) ;; *) fail "seed -1: $err" ;; esac
    # An option-looking value for -o is a missing directory.
    err=$(cd "$scratch" && "$gatesim" run "$s" -o -q 2>&1 >/dev/null); [ $? -eq 2 ] || fail "-o -q accepted"
    [ -e "$scratch/-q" ] && fail "-o -q created a directory '-q'"
    case "$err" in *"-o: expected a directory, got '-q' (an option?); write ./-q"*) ;; *) fail "-o -q: $err" ;; esac
    # Options a command does not use.
    for a in "check $s --format json" "check $s -o $scratch/chk" "check $s -q" "check $s --no-plots" \
             "validate --seed 3" "validate -r 3" "validate -o $scratch/val" "validate --set a=b" \
             "bench -o $scratch/bench" "bench -r 2" "plot $scratch -q" "sweep x.yaml --precision 0.1" \
             "run $s --resume" "run $s --customers 5"; do
        err=$("$gatesim" $a 2>&1 >/dev/null); rc=$?
        [ $rc -eq 2 ] || fail "gatesim $a: exit $rc, expected 2"
        case "$err" in *"does not apply"*|*"only"*) ;; *) fail "gatesim $a: $err" ;; esac
    done
    [ -e "$scratch/chk" ] || [ -e "$scratch/val" ] || [ -e "$scratch/bench" ] && fail "a refused -o wrote"
    err=$("$gatesim" check "$s" -o "$scratch/chk" 2>&1 >/dev/null)
    case "$err" in *"-o does not apply to check (it prints the resolved scenario on stdout"*) ;;
                   *) fail "check -o: $err" ;; esac
    # bench --format json: one flat object, numbers as numbers; csv: header and a row.
    "$gatesim" bench --customers 2000 --pending 2000 --format json >"$scratch/b.json" || fail "bench json"
    head -c 1 "$scratch/b.json" | grep -q '{' || fail "bench json: $(cat "$scratch/b.json")"
    grep -q '"mm1_customers": [0-9]' "$scratch/b.json" || fail "bench json numbers"
    grep -q '"version": "' "$scratch/b.json" || fail "bench json version"
    grep -q '=' "$scratch/b.json" && fail "bench json has key=value"
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$scratch/b.json" >/dev/null || fail "bench json does not parse"
    fi
    "$gatesim" bench --customers 2000 --pending 2000 --format csv >"$scratch/b.csv" || fail "bench csv"
    [ "$(wc -l <"$scratch/b.csv")" -eq 2 ] || fail "bench csv: $(cat "$scratch/b.csv")"
    head -n 1 "$scratch/b.csv" | grep -q '^tool,version,threads,mm1_customers,' || fail "bench csv header"
    awk -F, 'NR == 1 { n = NF } NR == 2 && NF != n { bad = 1 } END { exit bad }' "$scratch/b.csv" ||
        fail "bench csv row and header differ in width"
    # A backend this machine cannot run is a command-line error (exit 2), not
    # a result that could not be written (1). No GPU is visible here.
    err=$(CUDA_VISIBLE_DEVICES= "$gatesim" kernels calibrate --backend cuda -o "$scratch/cal.csv" \
        2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] || fail "calibrate --backend cuda without a GPU: exit $rc ($err)"
    case "$err" in *"not available"*) ;; *) fail "calibrate cuda: $err" ;; esac
    echo "ok: --version everywhere, help COMMAND, limits, -o -q, options refused, bench formats"
    ;;
quiet)
    # -q hides the progress bar and notes, never a warning.
    s=$root/scenarios/single-gateway-basic.yaml
    "$gatesim" run "$s" -q -r 2 --precision 0.0001 --max-replications 3 --no-plots \
        -o "$scratch/p" >/dev/null 2>"$scratch/err" || fail "run exit $?"
    grep -q 'warning: precision 0.0001 not reached after 3 replications' "$scratch/err" ||
        fail "-q hid the precision warning: $(cat "$scratch/err")"
    # plot on a result made without plots: exit 2 and how to get them.
    "$gatesim" plot "$scratch/p" >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 2 ] || fail "plot of a --no-plots result: exit $rc"
    grep -q 'without --no-plots' "$scratch/err" || fail "plot: $(cat "$scratch/err")"
    echo "ok: -q keeps warnings; plot on a --no-plots result says how to get plots"
    ;;
plots-gpu)
    # The utilisation bar of a GPU pool is its GPUs' busy share (gpu_busy_ratio),
    # as the axis says, not its batch-slot occupancy.
    s=$root/scenarios/gpu-pool-basic.yaml
    "$gatesim" run "$s" -q -r 2 --set simulation.duration=40s --set simulation.warmup=5s \
        -o "$scratch/g" >/dev/null 2>"$scratch/err" || [ $? -eq 1 ] || fail "run: $(cat "$scratch/err")"
    want=$(awk -F, '$2 == "gpu" && $3 == "gpu_busy_ratio" { print $4 }' "$scratch/g/summary.csv")
    slots=$(awk -F, '$2 == "gpu" && $3 == "utilization" { print $4 }' "$scratch/g/summary.csv")
    [ -n "$want" ] || fail "no gpu_busy_ratio in summary.csv"
    got=$(awk '$NF == "gpu" || $(NF) ~ /gpu/ { print $2 }' "$scratch/g/plots/utilization-gpu-pool-basic.dat" | head -n 1)
    [ -n "$got" ] || fail "no gpu bar: $(cat "$scratch/g/plots/utilization-gpu-pool-basic.dat")"
    awk -v a="$got" -v b="$want" -v c="$slots" 'BEGIN { d = a - b; if (d < 0) d = -d;
        exit !(d <= 1e-6 * (b < 0 ? -b : b) + 1e-9 && c != b) }' ||
        fail "gpu bar $got, gpu_busy_ratio $want, utilization $slots"
    echo "ok: the gpu_pool's utilisation bar is gpu_busy_ratio ($got, slots $slots)"
    ;;
saturated)
    # An open workload at 1.5x what the queue serves: the warning names the
    # component (even with -q); at half that load, and with a bounded queue
    # that turns the excess away, no warning.
    cat >"$scratch/s.yaml" <<'EOF'
name: sat
simulation: {duration: 300s, warmup: 50s, replications: 4, seed: 3}
workload:
  - name: w
    arrivals: {process: poisson, rate: 1.5/s}
    entry: q
components:
  q:
    type: service
    servers: 1
    service: {dist: exponential, mean: 1s}
EOF
    "$gatesim" run "$scratch/s.yaml" -q --no-plots -o "$scratch/o" >/dev/null 2>"$scratch/err" ||
        fail "run exit $?: $(cat "$scratch/err")"
    grep -q "^gatesim: warning: sat: component 'q' is saturated (utilization " "$scratch/err" ||
        fail "no saturation warning: $(cat "$scratch/err")"
    for set in workload.w.arrivals.rate=0.75/s components.q.capacity=10; do
        "$gatesim" run "$scratch/s.yaml" -q --no-plots -o "$scratch/o" --set "$set" >/dev/null \
            2>"$scratch/err" || fail "run --set $set exit $?"
        grep -q saturated "$scratch/err" && fail "--set $set: $(cat "$scratch/err")"
        # About 190 (250 with the bounded queue) answered requests per
        # replication: the tail warning.
        grep -q "^gatesim: warning: sat: latency_p999 rests on about 0.[12][0-9] answered requests beyond it per replication, latency_p99 on [12].[0-9] " "$scratch/err" ||
            fail "--set $set: no tail warning: $(cat "$scratch/err")"
    done
    # 15,000 answered requests per replication: no warning at all.
    "$gatesim" run "$scratch/s.yaml" -q --no-plots -o "$scratch/o" --set simulation.duration=20050s \
        --set workload.w.arrivals.rate=0.75/s >/dev/null 2>"$scratch/err" || fail "long run exit $?"
    [ ! -s "$scratch/err" ] || fail "long run: unexpected stderr: $(cat "$scratch/err")"
    echo "ok: saturation warned at 1.5x, not at 0.75x nor with a bounded queue; tail warning below 10 requests beyond p99.9"
    ;;
sweep-json)
    # sweep --format json: sweep.csv's rows as objects, numbers as numbers, nan as null.
    sw=$root/tests/sweep/small.yaml
    "$gatesim" sweep "$sw" -q -r 2 "${short[@]}" -o "$scratch/s" --format json >"$scratch/out" ||
        fail "sweep --format json exit $?"
    [ "$(head -n 1 "$scratch/out")" = "[" ] && [ "$(tail -n 1 "$scratch/out")" = "]" ] ||
        fail "not a JSON array: $(head -n 3 "$scratch/out")"
    rows=$(($(wc -l <"$scratch/s/sweep.csv") - 1))
    [ "$(grep -c '^  {"scenario": ' "$scratch/out")" -eq "$rows" ] || fail "not one object per sweep.csv row"
    grep -q '"metric": "latency_p99", "mean": [0-9]' "$scratch/out" || fail "mean not a number"
    grep -q '"replications": 2, "workload.chat.arrivals.rate": [0-9]' "$scratch/out" ||
        fail "parameter columns: $(sed -n 2p "$scratch/out")"
    grep -q 'nan' "$scratch/out" && fail "nan in JSON"
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$scratch/out" >/dev/null || fail "sweep json does not parse"
    fi
    echo "ok: sweep --format json holds sweep.csv's $rows rows"
    ;;
run)
    s=$root/scenarios/single-gateway-basic.yaml
    "$gatesim" run "$s" -q -r 3 -o "$scratch/out" --format csv >"$scratch/stdout" 2>"$scratch/stderr" \
        || fail "run failed: $(cat "$scratch/stderr")"
    [ ! -s "$scratch/stderr" ] || fail "stderr not empty with -q and no terminal: $(cat "$scratch/stderr")"
    head -n 1 "$scratch/out/summary.csv" | grep -qx 'scenario,component,metric,mean,ci_low,ci_high,stddev,replications' \
        || fail "summary.csv header"
    cmp -s "$scratch/stdout" "$scratch/out/summary.csv" || fail "--format csv stdout differs from summary.csv"
    grep -q '^single-gateway-basic,system,latency_p99,' "$scratch/out/summary.csv" || fail "no system latency_p99"
    grep -q '^single-gateway-basic,gw,utilization,' "$scratch/out/summary.csv" || fail "no gw utilization"
    awk -F, 'NR > 1 && $8 != 3 { bad = 1 } END { exit bad }' "$scratch/out/summary.csv" || fail "replications column"
    "$gatesim" check "$scratch/out/scenario.yaml" >/dev/null || fail "written scenario.yaml does not load"
    ls -a "$scratch/out" | grep -q tmp && fail "temporary file left behind"
    "$gatesim" run "$s" -q -r 2 -o "$scratch/j" --format json | grep -q '"metric": "latency_mean"' || fail "json"
    "$gatesim" run "$s" -q -r 2 -o "$scratch/t" | grep -q 'latency_p99' || fail "table"
    : > "$scratch/file"
    "$gatesim" run "$s" -q -r 2 -o "$scratch/file/out" >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 1 ] || fail "unwritable output directory: exit $rc, expected 1"
    grep -q "$scratch/file/out" "$scratch/err" || fail "unwritable directory not named"
    # A loop that takes no simulated time is stopped with a message, not a hang.
    printf '%s\n' 'simulation: {duration: 1s, replications: 1}' \
        'workload: [{name: a, arrivals: {process: closed, users: 2}, entry: gw}]' \
        'components: {gw: {type: gateway, servers: 1, capacity: 0, service: 1ms}}' > "$scratch/zero.yaml"
    timeout 120 "$gatesim" run "$scratch/zero.yaml" -q -o "$scratch/zero" >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 2 ] || fail "zero-time loop: exit $rc, expected 2"
    grep -q 'stopped advancing' "$scratch/err" || fail "zero-time loop message: $(cat "$scratch/err")"
    # The resolved scenario of a trace replay names its trace by absolute
    # path, so it reruns from another directory.
    "$gatesim" run "$root/scenarios/trace-replay.yaml" -q -r 1 --no-plots -o "$scratch/trace" \
        >/dev/null || fail "trace-replay run"
    grep -q "file: $(cd "$root" && pwd -P)/scenarios/traces/" "$scratch/trace/scenario.yaml" ||
        fail "trace path not absolute: $(grep 'file:' "$scratch/trace/scenario.yaml")"
    (cd "$scratch" && "$gatesim" check trace/scenario.yaml >/dev/null) ||
        fail "the written scenario.yaml does not load from another directory"
    echo "ok: run writes summary.csv atomically with the exact header; formats; exit 1 on unwritable output; zero-time loops stop with exit 2; scenario.yaml reruns"
    ;;
determinism)
    s=$root/scenarios/single-gateway-basic.yaml
    "$gatesim" run "$s" -q -r 4 -j 1 -o "$scratch/j1" --format csv >/dev/null || fail "-j 1"
    "$gatesim" run "$s" -q -r 4 -j 2 -o "$scratch/j2" --format csv >/dev/null || fail "-j 2"
    "$gatesim" run "$s" -q -r 4 -j 3 -o "$scratch/j3" --format csv >/dev/null || fail "-j 3"
    cmp "$scratch/j1/summary.csv" "$scratch/j2/summary.csv" || fail "-j 1 and -j 2 differ"
    cmp "$scratch/j1/summary.csv" "$scratch/j3/summary.csv" || fail "-j 1 and -j 3 differ"
    "$gatesim" run "$s" -q -r 4 --seed 2 -o "$scratch/s2" --format csv >/dev/null || fail "--seed 2"
    cmp -s "$scratch/j1/summary.csv" "$scratch/s2/summary.csv" && fail "--seed 2 gave the same bytes as seed 1"
    echo "ok: summary.csv byte-identical for -j 1, 2, 3; another seed differs"
    ;;
compare)
    # Two scenarios that differ in the server count, and the first again
    # under another name: on common random numbers the copy differs by
    # exactly 0 in every metric, and the faster one significantly.
    a=$scratch/a.yaml; b=$scratch/b.yaml; c=$scratch/c.yaml
    cat >"$a" <<'YAML'
name: one
simulation: {duration: 20s, warmup: 2s, replications: 5, seed: 3}
workload:
  - {name: chat, arrivals: {process: poisson, rate: 800/s}, entry: gw}
components:
  gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 1ms}}
YAML
    sed 's/name: one/name: two/; s/servers: 1,/servers: 2,/; s/seed: 3/seed: 9/' "$a" >"$b"
    sed 's/name: one/name: copy/' "$a" >"$c"
    "$gatesim" compare "$a" "$b" "$c" -q -o "$scratch/cmp" >"$scratch/out" || fail "compare exit $?"
    grep -q "paired against one" "$scratch/out" || fail "no table: $(cat "$scratch/out")"
    f=$scratch/cmp/compare.csv
    head -n 1 "$f" | grep -qx 'scenario,component,metric,mean,ci_low,ci_high,stddev,replications,diff_mean,diff_ci_low,diff_ci_high,significant' \
        || fail "compare.csv header: $(head -n 1 "$f")"
    for s in one two copy; do
        [ -s "$scratch/cmp/$s/summary.csv" ] || fail "no $s/summary.csv"
    done
    awk -F, '$1 == "copy" && ($9 != 0 || $10 != 0 || $11 != 0 || $12 != 0) { bad = 1; print }
             END { exit bad }' "$f" || fail "a scenario compared with itself differs"
    awk -F, '$1 == "two" && $2 == "system" && $3 == "latency_mean" { found = 1; if ($12 != 1 || $9 >= 0) exit 1 }
             END { exit !found }' "$f" || fail "two servers are not significantly faster"
    # The second scenario ran on the first one's seed (5 replications, seed 3).
    grep -q '^two,system,latency_mean,.*,5,' "$f" || fail "replications not taken from the first"
    "$gatesim" compare "$a" "$a" -q -o "$scratch/dup" >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 2 ] || fail "same name twice: exit $rc"
    grep -q "both named 'one'" "$scratch/err" || fail "same name: $(cat "$scratch/err")"
    "$gatesim" compare "$a" -q >/dev/null 2>&1 && fail "one scenario accepted"
    echo "ok: compare table, compare.csv, zero self-difference, significance, name clash"
    ;;
outputs)
    # A run writes results.h5 and the plots (PNG and PDF beside their
    # scripts and data); without gnuplot it exits 1 with the rest written.
    s=$root/scenarios/single-gateway-basic.yaml
    "$gatesim" run "$s" -q -r 2 -o "$scratch/o" >/dev/null || fail "run exit $?"
    [ "$(head -c 8 "$scratch/o/results.h5" | od -An -c | tr -d ' ')" = '211HDF\r\n032\n' ] \
        || fail "results.h5 is not HDF5"
    for p in latency-cdf timeline-single-gateway-basic utilization-single-gateway-basic; do
        for x in dat gp; do [ -s "$scratch/o/plots/$p.$x" ] || fail "no plots/$p.$x"; done
        if command -v gnuplot >/dev/null; then
            [ "$(head -c 4 "$scratch/o/plots/$p.png" | tail -c 3)" = PNG ] || fail "$p.png not PNG"
            [ "$(head -c 4 "$scratch/o/plots/$p.pdf")" = %PDF ] || fail "$p.pdf not PDF"
            [ "$(wc -c <"$scratch/o/plots/$p.png")" -gt 2000 ] || fail "$p.png too small"
        fi
    done
    ls "$scratch/o" "$scratch/o/plots" | grep -q '\.tmp' && fail "temporary files left"
    if command -v gnuplot >/dev/null; then
        rm "$scratch/o/plots/latency-cdf.png"
        "$gatesim" plot "$scratch/o" || fail "plot exit $?"
        [ -s "$scratch/o/plots/latency-cdf.png" ] || fail "plot did not redraw"
    else
        echo "SKIPPED: rendering checks (gnuplot not installed)"
    fi
    # No gnuplot on PATH: exit 1, a clear message, CSV and HDF5 written.
    mkdir "$scratch/nobin"
    PATH=$scratch/nobin "$gatesim" run "$s" -q -r 2 -o "$scratch/n" >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 1 ] || fail "without gnuplot: exit $rc"
    grep -q "gnuplot not found" "$scratch/err" || fail "message: $(cat "$scratch/err")"
    [ -s "$scratch/n/summary.csv" ] && [ -s "$scratch/n/results.h5" ] || fail "results missing"
    "$gatesim" run "$s" -q -r 2 --no-plots -o "$scratch/np" >/dev/null || fail "--no-plots"
    [ -e "$scratch/np/plots" ] && fail "--no-plots drew plots"
    echo "ok: results.h5, plots (PNG, PDF, scripts, data), redraw, missing gnuplot"
    ;;
architectures)
    # The README's main command, shortened: the three shipped architectures
    # load, run and compare; the failure history shows where it should.
    cd "$root" || fail "cd"
    "$gatesim" compare scenarios/single-gateway.yaml scenarios/gateway-fallback.yaml \
        scenarios/multi-gateway-parallel.yaml -q -r 3 --no-plots --format csv \
        -o "$scratch/arch" >"$scratch/out" || fail "compare exit $?"
    f=$scratch/arch/compare.csv
    for s in single-gateway gateway-fallback multi-gateway-parallel; do
        grep -q "^$s,system,availability," "$f" || fail "no $s rows"
    done
    awk -F, '$2 == "system" && $3 == "availability" { a[$1] = $4 }
             END { exit !(a["single-gateway"] < a["gateway-fallback"] &&
                          a["single-gateway"] < a["multi-gateway-parallel"]) }' "$f" \
        || fail "the single gateway is not the least available"
    echo "ok: the three reference architectures compare"
    ;;
killed)
    # A run killed with SIGKILL at any moment leaves each result file either
    # absent or exactly as an uninterrupted run writes it (runs are
    # deterministic), never a partial one.
    s=$root/scenarios/single-gateway-basic.yaml
    "$gatesim" run "$s" -q -r 4 -j 1 -o "$scratch/full" >/dev/null || fail "full run"
    for delay in 0.05 0.2 0.4 0.6 0.8 1.0 1.3; do
        rm -rf "$scratch/k"
        "$gatesim" run "$s" -q -r 4 -j 1 -o "$scratch/k" >/dev/null 2>&1 &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        for f in summary.csv scenario.yaml results.h5 plots/latency-cdf.dat plots/latency-cdf.gp; do
            [ -e "$scratch/k/$f" ] || continue
            cmp -s "$scratch/k/$f" "$scratch/full/$f" || fail "killed after ${delay}s: partial $f"
        done
    done
    echo "ok: killed runs leave complete files or none"
    ;;
capacity)
    # An M/M/1 (mu = 1000/s) whose mean latency is 5 ms at 800/s: the
    # command end to end, its files and plots, and bad SLOs.
    printf '%s\n' 'name: mm1' \
        'simulation: {duration: 10s, warmup: 1s, replications: 6, seed: 5}' \
        'workload: [{name: c, arrivals: {process: poisson, rate: 500/s}, entry: gw}]' \
        'components: {gw: {type: gateway, servers: 1, capacity: 100000,' \
        '             service: {dist: exponential, mean: 1ms}}}' > "$scratch/mm1.yaml"
    "$gatesim" capacity "$scratch/mm1.yaml" --slo 'latency_mean<5ms' -o "$scratch/c" \
        >"$scratch/out" 2>"$scratch/err" || fail "capacity exit $? ($(cat "$scratch/err"))"
    grep -q '^capacity: workload.c.arrivals.rate = .*interval \[' "$scratch/out" \
        || fail "no answer line: $(cat "$scratch/out")"
    grep -q 'point 1: workload.c.arrivals.rate = 500' "$scratch/err" || fail "no progress lines"
    head -n 1 "$scratch/c/capacity.csv" | \
        grep -qx 'step,param,value,component,metric,mean,ci_low,ci_high,replications,verdict' \
        || fail "capacity.csv header"
    grep -q ',system,latency_mean,.*,meets$' "$scratch/c/capacity.csv" || fail "no meeting point"
    grep -q ',system,latency_mean,.*,fails$' "$scratch/c/capacity.csv" || fail "no failing point"
    grep -q '"status": "found"' "$scratch/c/capacity.json" || fail "capacity.json status"
    for f in png pdf gp dat; do
        [ -s "$scratch/c/plots/capacity-latency_mean.$f" ] || fail "no capacity-latency_mean.$f"
    done
    # The interval holds 800/s (a statistical check with wide margins).
    sed -n 's/^capacity: workload.*interval \[\([0-9.]*\), \([0-9.]*\)\].*/\1 \2/p' "$scratch/out" |
        awk '{ ok = $1 <= 800 && $2 >= 800 && $1 > 700 && $2 < 900 } END { exit !ok }' || fail "interval misses 800/s: $(tail -n 1 "$scratch/out")"
    "$gatesim" capacity "$scratch/mm1.yaml" -q --slo 'latency_mean<5ms' --format csv \
        --no-plots -o "$scratch/c2" >"$scratch/csv" || fail "--format csv"
    cmp -s "$scratch/csv" "$scratch/c2/capacity.csv" || fail "--format csv differs from capacity.csv"
    [ -e "$scratch/c2/plots" ] && fail "--no-plots drew plots"
    for slo in 'latency_mean<fast' 'availability' 'latency_mean<5ms,,' 'availability>2s'; do
        "$gatesim" capacity "$scratch/mm1.yaml" -q --slo "$slo" -o "$scratch/bad" \
            >/dev/null 2>"$scratch/err"; rc=$?
        [ $rc -eq 2 ] || fail "--slo '$slo': exit $rc, expected 2"
        grep -q -- '--slo' "$scratch/err" || fail "--slo '$slo': message: $(cat "$scratch/err")"
    done
    "$gatesim" capacity "$scratch/mm1.yaml" -q >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || fail "missing --slo: exit $rc"
    "$gatesim" capacity "$scratch/mm1.yaml" -q --slo 'nosuch<1' -o "$scratch/bad" \
        >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 2 ] && grep -q nosuch "$scratch/err" || fail "unknown metric: exit $rc"
    "$gatesim" capacity "$scratch/mm1.yaml" -q --slo 'latency_mean<5ms' --param a.b \
        -o "$scratch/bad" >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 2 ] && grep -q a.b "$scratch/err" || fail "bad --param: exit $rc"
    # SLOs that cannot mean anything are refused before any point runs,
    # naming the term and the real mistake.
    while IFS='|' read -r slo phrase; do
        "$gatesim" capacity "$scratch/mm1.yaml" --slo "$slo" -o "$scratch/bad" \
            >/dev/null 2>"$scratch/err"; rc=$?
        [ $rc -eq 2 ] || fail "--slo '$slo': exit $rc, expected 2"
        grep -q 'point 1' "$scratch/err" && fail "--slo '$slo': simulated before refusing"
        grep -qF -- "$phrase" "$scratch/err" || fail "--slo '$slo': message: $(cat "$scratch/err")"
    done <<'EOF'
availability>1.5|'availability>1.5': availability is a share in [0, 1]
latency_mean<-1s|'latency_mean<-1s': latency_mean is a time, and a time bound must be > 0
latency_mean<0s|a time bound must be > 0
gw/utilization<0.5/s|'gw/utilization<0.5/s': utilization is not a rate
availability>0.999,availability<0.5|'availability>0.999' and 'availability<0.5' cannot both be met
latncy_mean<2s|unknown metric 'latncy_mean' (did you mean 'latency_mean'?)
LATENCY_MEAN<2s|(did you mean 'latency_mean'?)
EOF
    "$gatesim" capacity "$scratch/mm1.yaml" --slo 'latency_mean<5ms' --param a --param b \
        -o "$scratch/bad" >/dev/null 2>"$scratch/err"; rc=$?
    [ $rc -eq 2 ] && grep -q -- '--param given twice' "$scratch/err" || fail "--param twice: exit $rc"
    # Servers that do not limit the SLO: larger is easier by the name, so the
    # search goes down, not up to 512; the answer says the parameter does not
    # limit the SLO, and a latency-only SLO met by refusing requests is flagged.
    "$gatesim" capacity "$root/scenarios/single-gateway-basic.yaml" --slo 'latency_p99<10s' \
        --param components.gw.servers -r 2 -q --no-plots -o "$scratch/srv" \
        >"$scratch/out" 2>"$scratch/err" || fail "servers: exit $?"
    grep -q 'larger is easier' "$scratch/out" || fail "servers: direction: $(cat "$scratch/out")"
    grep -q '^capacity: the SLO holds at every value of components.gw.servers tried, from 1 to 8' \
        "$scratch/out" || fail "servers: answer: $(tail -n 1 "$scratch/out")"
    grep -q 'warning: capacity: .*availability is only' "$scratch/err" \
        || fail "servers: no availability warning: $(cat "$scratch/err")"
    "$gatesim" capacity --help | grep -q 'usage: gatesim capacity' || fail "capacity --help"
    "$gatesim" run "$scratch/mm1.yaml" -q --slo 'latency_mean<5ms' >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || fail "run --slo: exit $rc"
    echo "ok: capacity writes capacity.csv, capacity.json and plots; its interval holds 800/s; bad SLOs exit 2"
    ;;
precision)
    s=$root/scenarios/single-gateway-basic.yaml
    "$gatesim" run "$s" -q -r 3 --precision 0.02 --max-replications 200 --format csv \
        -o "$scratch/p" >"$scratch/out" 2>"$scratch/err" || fail "--precision exit $?"
    # Every system metric within 2 % of its mean (or exact, or undefined).
    awk -F, 'NR > 1 && $2 == "system" && $4 != "nan" && $5 != "nan" {
                 hw = ($6 - $5) / 2; m = $4 < 0 ? -$4 : $4
                 if (hw > 0.02 * m * 1.0000001 && $8 < 200) { bad = 1; print } }
             END { exit bad }' "$scratch/p/summary.csv" || fail "precision not met"
    n=$(awk -F, '$2 == "system" && $3 == "latency_mean" { print $8 }' "$scratch/p/summary.csv")
    [ "$n" -gt 3 ] || fail "no replications were added ($n)"
    # A loose target is met by the first batch.
    "$gatesim" run "$s" -q -r 5 --precision 5 --format csv -o "$scratch/p2" >/dev/null || fail "loose"
    n=$(awk -F, '$2 == "system" && $3 == "latency_mean" { print $8 }' "$scratch/p2/summary.csv")
    [ "$n" -eq 5 ] || fail "loose precision ran $n replications, not 5"
    "$gatesim" run "$s" -q --max-replications 10 >/dev/null 2>&1 && fail "--max-replications without --precision"
    "$gatesim" run "$s" -q --precision 0 >/dev/null 2>&1 && fail "--precision 0 accepted"
    echo "ok: --precision adds replications until met ($n with a loose target)"
    ;;
sweep)
    # The same bytes for any number of threads, and each point equal to a
    # plain run of the base with the point's values (same seed and
    # replication indices).
    sw=$root/tests/sweep/small.yaml
    "$gatesim" sweep "$sw" -q -j 1 "${short[@]}" -o "$scratch/j1" >/dev/null || fail "-j 1"
    "$gatesim" sweep "$sw" -q -j 2 "${short[@]}" -o "$scratch/j2" --format csv >"$scratch/stdout" ||
        fail "-j 2"
    cmp "$scratch/j1/sweep.csv" "$scratch/j2/sweep.csv" || fail "-j 1 and -j 2 differ"
    cmp "$scratch/j1/sweep.h5" "$scratch/j2/sweep.h5" || fail "sweep.h5 differs with -j"
    cmp "$scratch/stdout" "$scratch/j2/sweep.csv" || fail "--format csv is not sweep.csv"
    head -n 1 "$scratch/j1/sweep.csv" | grep -qx 'scenario,component,metric,mean,ci_low,ci_high,stddev,replications,workload.chat.arrivals.rate,components.gw.servers' ||
        fail "sweep.csv header: $(head -n 1 "$scratch/j1/sweep.csv")"
    [ "$(awk -F, '$2 == "system" && $3 == "latency_p99"' "$scratch/j1/sweep.csv" | wc -l)" -eq 4 ] ||
        fail "expected 4 points"
    "$gatesim" run "$root/scenarios/single-gateway-basic.yaml" -q -r 3 --no-plots \
        --set simulation.duration=20s --set simulation.warmup=2s \
        --set workload.chat.arrivals.rate=800/s --set components.gw.servers=4 \
        -o "$scratch/run" >/dev/null || fail "run"
    # summary.csv's rows, with the point's parameters appended, are in sweep.csv.
    tail -n +2 "$scratch/run/summary.csv" | sed 's/$/,800,4/' >"$scratch/want"
    grep -F -f "$scratch/want" "$scratch/j1/sweep.csv" >"$scratch/got"
    cmp -s "$scratch/want" "$scratch/got" || fail "the point 800/s x 4 differs from gatesim run"
    # -r overrides the file, and plots are drawn (gnuplot is a dependency).
    "$gatesim" sweep "$sw" -q -r 2 --set simulation.duration=10s --set simulation.warmup=1s \
        -o "$scratch/p" >/dev/null ||
        fail "sweep with plots"
    awk -F, 'NR > 1 && $8 != 2 && $4 != "nan" { exit 1 }' "$scratch/p/sweep.csv" || fail "-r 2 ignored"
    for f in sweep-latency_p99-vs-workload.chat.arrivals.rate sweep-gw_utilization-vs-components.gw.servers; do
        [ -s "$scratch/p/plots/$f.gp" ] && [ -s "$scratch/p/plots/$f.png" ] || fail "plot $f missing"
    done
    echo "ok: sweep is the same with 1 and 2 threads, equals gatesim run per point, and plots"
    ;;
sweep-bad)
    n=0
    for f in "$root"/tests/bad-sweep/*.yaml; do
        bad_input sweep "$f" -q --no-plots -o "$scratch/bad"
        [ -e "$scratch/bad" ] && fail "$f: a bad sweep created its output directory"
        n=$((n + 1))
    done
    [ "$n" -ge 10 ] || fail "only $n bad sweeps"
    err=$("$gatesim" sweep "$root/tests/sweep/small.yaml" --set components.gw.capacity=-1 -q \
        -o "$scratch/bad" 2>&1 >/dev/null)
    [ $? -eq 2 ] || fail "--set capacity=-1 accepted"
    case "$err" in *"--set components.gw.capacity=-1: capacity"*) ;; *) fail "--set: $err" ;; esac
    echo "ok: $n bad sweeps rejected with exit 2 and their position"
    ;;
sweep-mpi)
    # Under mpirun the items go to both ranks, and the bytes do not change.
    command -v mpirun >/dev/null || { echo "skipped: mpirun is not installed"; exit 77; }
    ldd "$gatesim" | grep -q libmpi || { echo "skipped: gatesim was built without MPI"; exit 77; }
    mpi=(mpirun --oversubscribe -np 2)
    [ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
    sw=$root/tests/sweep/small.yaml
    "$gatesim" sweep "$sw" -q -j 1 "${short[@]}" -o "$scratch/j1" >/dev/null || fail "-j 1"
    # Open MPI's own allocations are not ours to check for leaks.
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "${mpi[@]}" "$gatesim" sweep "$sw" "${short[@]}" \
        -o "$scratch/np2" >/dev/null 2>"$scratch/err" || { cat "$scratch/err"; fail "mpirun -np 2"; }
    grep -q 'on 2 ranks' "$scratch/err" || { cat "$scratch/err"; fail "not 2 ranks"; }
    cmp "$scratch/j1/sweep.csv" "$scratch/np2/sweep.csv" || fail "mpirun -np 2 differs from -j 1"
    cmp "$scratch/j1/sweep.h5" "$scratch/np2/sweep.h5" || fail "sweep.h5 differs under MPI"
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "${mpi[@]}" "$gatesim" sweep "$sw" "${short[@]}" \
        -j 2 -q -o "$scratch/np2j2" >/dev/null || fail "mpirun -np 2 -j 2"
    cmp "$scratch/j1/sweep.csv" "$scratch/np2j2/sweep.csv" || fail "2 ranks x 2 threads differ"
    # A bad sweep under MPI: every rank stops with exit 2, one message.
    ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 "${mpi[@]}" "$gatesim" sweep \
        "$root/tests/bad-sweep/bad-value.yaml" -q >/dev/null 2>"$scratch/err" && fail "bad sweep under MPI"
    [ "$(grep -c 'must be between' "$scratch/err")" -eq 1 ] || { cat "$scratch/err"; fail "one message"; }
    echo "ok: mpirun -np 2 (x 1 and 2 threads) gives the bytes of -j 1"
    ;;
sweep-resume)
    # Killed with SIGKILL at several moments, resumed each time: the final
    # files equal those of an uninterrupted sweep, and the last resume took
    # items from the journal.
    sw=$root/tests/sweep/two-bases.yaml
    args=(--set simulation.duration=30s --set simulation.warmup=2s --no-plots -j 2)
    "$gatesim" sweep "$sw" -q "${args[@]}" -o "$scratch/full" >/dev/null || fail "full sweep"
    # Each round waits until the journal has grown by at least one record
    # (so that every kill leaves progress behind, however slow the machine),
    # then kills after a different delay.
    kills=0
    journal=$scratch/k/sweep.journal
    for delay in 0 0.02 0.05 0.1 0.2 0.4; do
        before=$(stat -c %s "$journal" 2>/dev/null || echo 0)
        "$gatesim" sweep "$sw" -q --resume "${args[@]}" -o "$scratch/k" >/dev/null 2>&1 &
        pid=$!
        for _ in $(seq 1 2400); do
            kill -0 "$pid" 2>/dev/null || break
            now=$(stat -c %s "$journal" 2>/dev/null || echo 0)
            [ "$now" -gt $((before + 100)) ] && break
            sleep 0.05
        done
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
        wait "$pid" 2>/dev/null
        # Whatever is there is whole: sweep.csv is absent or complete.
        [ -e "$scratch/k/sweep.csv" ] && { cmp -s "$scratch/k/sweep.csv" "$scratch/full/sweep.csv" ||
            fail "killed after ${delay}s: partial sweep.csv"; }
    done
    "$gatesim" sweep "$sw" --resume "${args[@]}" -o "$scratch/k" >/dev/null 2>"$scratch/err" ||
        { cat "$scratch/err"; fail "final resume"; }
    cat "$scratch/err"
    cmp "$scratch/full/sweep.csv" "$scratch/k/sweep.csv" || fail "resumed sweep.csv differs"
    cmp "$scratch/full/sweep.h5" "$scratch/k/sweep.h5" || fail "resumed sweep.h5 differs"
    grep -Eq '\(([1-9][0-9]*) from the journal\)' "$scratch/err" ||
        fail "the resume took nothing from the journal"
    # A torn last record (a kill in the middle of an append) is dropped.
    sz=$(stat -c %s "$scratch/k/sweep.journal")
    truncate -s $((sz - 5)) "$scratch/k/sweep.journal"
    "$gatesim" sweep "$sw" --resume "${args[@]}" -o "$scratch/k" >/dev/null 2>"$scratch/err" ||
        fail "resume after a torn record"
    grep -q '24 items (23 from the journal)' "$scratch/err" || { cat "$scratch/err"; fail "torn record"; }
    cmp "$scratch/full/sweep.csv" "$scratch/k/sweep.csv" || fail "sweep.csv differs after a torn record"
    # A changed sweep refuses the journal; without --resume it starts over.
    "$gatesim" sweep "$sw" --resume -r 5 "${args[@]}" -o "$scratch/k" >/dev/null 2>"$scratch/err" &&
        fail "a changed sweep resumed"
    grep -q 'different sweep' "$scratch/err" || { cat "$scratch/err"; fail "message"; }
    "$gatesim" sweep "$sw" "${args[@]}" -o "$scratch/k" >/dev/null 2>"$scratch/err" || fail "restart"
    grep -q '(0 from the journal)' "$scratch/err" || fail "a sweep without --resume reused the journal"
    # Two sweeps on one output directory: the second is refused while the
    # first holds the journal.
    "$gatesim" sweep "$sw" -q "${args[@]}" -j 1 --set simulation.duration=120s \
        -o "$scratch/busy" >/dev/null 2>&1 &
    pid=$!
    # The journal's header is written once the first sweep has loaded every
    # point, which takes a while on a loaded machine.
    for _ in $(seq 1 1200); do [ -s "$scratch/busy/sweep.journal" ] && break; sleep 0.05; done
    "$gatesim" sweep "$sw" -q --resume "${args[@]}" -o "$scratch/busy" >/dev/null 2>"$scratch/err"
    rc=$?
    if [ -s "$scratch/busy/sweep.journal" ] && kill -0 "$pid" 2>/dev/null; then
        [ $rc -eq 2 ] && grep -q 'another gatesim sweep' "$scratch/err" ||
            { cat "$scratch/err"; fail "a second sweep on a busy directory (exit $rc)"; }
    fi
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "ok: $kills kills, resumed to the same files; torn, foreign and busy journals handled"
    ;;
validate)
    "$gatesim" validate -q >"$scratch/v" 2>&1; rc=$?
    cat "$scratch/v"
    [ $rc -eq 0 ] || fail "validate exit $rc"
    grep -q FAIL "$scratch/v" && fail "a validate case failed"
    echo "ok: every validate case passes"
    ;;
*)
    fail "unknown test $test"
    ;;
esac
