#!/usr/bin/env bash
# Crash-safety tests of the gatesim command line, run by ctest as
#   tests/crash.sh GATESIM TEST
# docs/results.md ("Crash safety") states what they check: a command killed
# with SIGKILL at any moment leaves every visible result file either as it
# was before or exactly as an uninterrupted run writes it; a full disk or an
# unwritable output directory gives exit 1, a message naming the file or
# directory and the reason, and nothing partial. Each test prints what it
# checked and exits non-zero on the first failure, 77 when it cannot run.
set -u
gatesim=$1
test=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gatesim-crash.XXXXXX")
mnt=
holder=
cleanup() {
    [ -n "$holder" ] && kill -9 "$holder" 2>/dev/null
    [ -n "$mnt" ] && { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; }
    chmod -R u+rwx "$scratch" 2>/dev/null
    rm -rf "$scratch"
}
trap cleanup EXIT
# Each background command gets its own process group, so that a kill can
# also take the gnuplot it may have started.
set -m

fail() { echo "FAIL: $*" >&2; exit 1; }

s=$root/scenarios/single-gateway-basic.yaml

# 0 when the two files are equal. PDFs are compared without their
# /CreationDate, the one thing that differs between two drawings of the same
# plot (cairo writes the wall clock there); a PDF must still end whole.
same() {
    case $1 in
    *.pdf)
        tail -c 1024 "$1" | grep -aq '%%EOF' || return 1
        cmp -s <(LC_ALL=C sed 's|/CreationDate (D:[0-9Z+-]*)||' "$1") \
            <(LC_ALL=C sed 's|/CreationDate (D:[0-9Z+-]*)||' "$2")
        ;;
    *) cmp -s "$1" "$2" ;;
    esac
}

# The visible (non-dot) files under dir, relative to it, sorted.
visible() { (cd "$1" && find . -type f ! -name '.*' -printf '%P\n' | LC_ALL=C sort); }
# How many temporary files (".NAME.tmp.XXXXXX") are under dir.
temps() { find "$1" -name '.*.tmp.*' 2>/dev/null | wc -l; }

# check DIR WHAT NEW [OLD]: every visible file in DIR equals the one of the
# same name in NEW or, when given, OLD; sets nfiles. One diff -r finds the
# files equal to NEW's, so that a round costs a few processes, not one per
# file. sweep.journal is the sweep's progress log, appended record by record
# and cut back to its last whole record on resume (tests/cli.sh
# sweep-resume), not a result file.
check() {
    local dir=$1 what=$2 new=$3 old=${4:-} f line
    local -A differ=()
    while IFS= read -r line; do
        case $line in
        "Files $dir/"*" differ")
            f=${line#"Files $dir/"}
            differ[${f%% and *}]=1
            ;;
        esac
    done < <(diff -rq -x '.*' "$dir" "$new" 2>/dev/null)
    nfiles=0
    while IFS= read -r f; do
        [ "$f" = sweep.journal ] && continue
        if { [ -z "${differ[$f]:-}" ] && [ -f "$new/$f" ]; } || same "$dir/$f" "$new/$f" ||
            { [ -n "$old" ] && same "$dir/$f" "$old/$f"; }; then
            nfiles=$((nfiles + 1))
        else
            fail "$what: $f is not a whole file of either run"
        fi
    done < <(visible "$dir")
}

# ref DIR ARGS...: an uninterrupted run into DIR; wall_ms is its wall time.
ref() {
    local dir=$1 t0
    shift
    t0=$(date +%s%N)
    "$gatesim" "$@" -o "$dir" >/dev/null 2>"$scratch/err" ||
        fail "uninterrupted $1: $(cat "$scratch/err")"
    wall_ms=$((($(date +%s%N) - t0) / 1000000))
}

# kills WHAT N NEW OLD ARGS...: N runs of gatesim ARGS, each killed with
# SIGKILL after a delay drawn uniformly from [0, wall_ms] with a fixed seed;
# odd rounds start from an empty directory, even ones from a copy of OLD
# (a complete run with another seed). After each kill every visible file
# must be whole (equal to NEW's, or OLD's in even rounds). Then one
# uninterrupted run into the directory of the last round that left
# temporaries must remove them and give NEW's files.
kills() {
    local what=$1 n=$2 new=$3 old=$4 i delay pid k=$scratch/k keep=
    shift 4
    local left=0 empty=0 whole=0 delays= all
    all=$(visible "$new" | grep -vc '^sweep.journal$')
    RANDOM=20261123
    for ((i = 1; i <= n; i++)); do
        delay=$(((RANDOM * 32768 + RANDOM) % (wall_ms + 1)))
        delays+=" $delay"
        rm -rf "$k"
        [ $((i % 2)) -eq 0 ] && cp -a "$old" "$k"
        "$gatesim" "$@" -o "$k" >/dev/null 2>&1 &
        pid=$!
        sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
        kill -9 -- "-$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        [ -d "$k" ] || mkdir "$k"
        if [ $((i % 2)) -eq 0 ]; then
            check "$k" "$what: round $i, killed after ${delay} ms over an old run" "$new" "$old"
        else
            check "$k" "$what: round $i, killed after ${delay} ms" "$new"
            [ "$nfiles" -eq 0 ] && empty=$((empty + 1))
        fi
        [ "$nfiles" -eq "$all" ] && whole=$((whole + 1))
        if [ "$(temps "$k")" -gt 0 ]; then
            left=$((left + 1))
            rm -rf "$scratch/keep"
            mv "$k" "$scratch/keep"
            keep=$scratch/keep
        fi
    done
    echo "$what: $n kills after (ms, of a ${wall_ms} ms run):$delays"
    echo "$what: $empty rounds left no file, $whole every file, $left left temporaries"
    if [ -n "$keep" ]; then
        local before
        before=$(temps "$keep")
        "$gatesim" "$@" -o "$keep" >/dev/null 2>"$scratch/err" ||
            fail "$what: run over a killed one: $(cat "$scratch/err")"
        [ "$(temps "$keep")" -eq 0 ] ||
            fail "$what: stale temporaries not removed: $(find "$keep" -name '.*.tmp.*')"
        check "$keep" "$what: run over a killed one" "$new"
        echo "$what: the next run removed $before stale temporaries and wrote whole files"
    else
        echo "$what: no kill left a temporary file, so their removal was not exercised here"
    fi
}

case $test in
kill-run)
    args=(run "$s" -q -r 2 -j 1 --set simulation.duration=60s)
    ref "$scratch/old" "${args[@]}" --seed 2
    ref "$scratch/new" "${args[@]}"
    kills "run" 20 "$scratch/new" "$scratch/old" "${args[@]}"
    # A temporary file that a live process holds is never taken for stale:
    # one locked by another process survives a run, and goes at the next
    # run once its holder has gone.
    if command -v python3 >/dev/null; then
        live=$scratch/new/.summary.csv.tmp.AbC123
        : >"$live"
        python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX); print(flush=True); time.sleep(600)' \
            "$live" >"$scratch/locked" &
        holder=$!
        for _ in $(seq 1 400); do [ -s "$scratch/locked" ] && break; sleep 0.05; done
        [ -s "$scratch/locked" ] || fail "python3 could not lock $live"
        "$gatesim" "${args[@]}" --no-plots -o "$scratch/new" >/dev/null || fail "run beside a live temporary"
        [ -e "$live" ] || fail "a temporary file held by a live process was removed"
        kill -9 "$holder"
        wait "$holder" 2>/dev/null
        holder=
        "$gatesim" "${args[@]}" --no-plots -o "$scratch/new" >/dev/null || fail "run after the holder"
        [ -e "$live" ] && fail "a stale temporary file was not removed"
        echo "run: a temporary file locked by a live process survives; once unlocked it is removed"
    else
        echo "SKIPPED: the live-temporary check (python3 not installed)"
    fi
    echo "ok: killed runs leave each result file old or whole"
    ;;
kill-compare)
    a=$scratch/a.yaml
    b=$scratch/b.yaml
    printf '%s\n' 'name: one' 'simulation: {duration: 10s, warmup: 1s, replications: 3, seed: 3}' \
        'workload: [{name: chat, arrivals: {process: poisson, rate: 800/s}, entry: gw}]' \
        'components: {gw: {type: gateway, servers: 1, service: {dist: exponential, mean: 1ms}}}' \
        >"$a"
    sed 's/name: one/name: two/; s/servers: 1,/servers: 2,/' "$a" >"$b"
    args=(compare "$a" "$b" -q -j 1)
    ref "$scratch/old" "${args[@]}" --seed 2
    ref "$scratch/new" "${args[@]}"
    kills "compare" 10 "$scratch/new" "$scratch/old" "${args[@]}"
    echo "ok: killed comparisons leave each result file old or whole"
    ;;
kill-sweep)
    args=(sweep "$root/tests/sweep/small.yaml" -q -j 1 -r 2 --set simulation.duration=10s
          --set simulation.warmup=1s)
    ref "$scratch/old" "${args[@]}" --seed 2
    ref "$scratch/new" "${args[@]}"
    kills "sweep" 12 "$scratch/new" "$scratch/old" "${args[@]}"
    echo "ok: killed sweeps leave each result file old or whole"
    ;;
full-disk)
    args=(run "$s" -q -r 2 -j 1 --set simulation.duration=60s)
    ref "$scratch/new" "${args[@]}"
    ref "$scratch/old" "${args[@]}" --seed 2
    total=$(du -sb "$scratch/new" | cut -f 1)
    # A real full disk: a small tmpfs, filled up to a given free space.
    # Without the right to mount, the file size limit (ulimit -f, with
    # SIGXFSZ ignored so that writes fail with EFBIG) stands in for it.
    mode=ulimit
    if [ "$(id -u)" -eq 0 ] && mkdir "$scratch/mnt" &&
        mount -t tmpfs -o size=$((4 * total + 1048576)) tmpfs "$scratch/mnt" 2>/dev/null; then
        mnt=$scratch/mnt
        mode=tmpfs
    fi
    out=${mnt:-$scratch/u}/o
    declare -A failed=()
    levels=0
    # Free space (tmpfs) or size limit (ulimit, KiB) per level, on an empty
    # directory, then over a complete older run.
    if [ $mode = tmpfs ]; then
        for k in 0 1 2 3 4 5; do plan+=("new $((k * total / 6))"); done
        for f in 0 32768; do plan+=("old $f"); done
    else
        # Just above results.h5, so that a larger plot image fails.
        h5=$(($(stat -c %s "$scratch/new/results.h5") / 1024 + 1))
        for f in 0 24 $h5; do plan+=("new $f" "old $f"); done
    fi
    for p in "${plan[@]}"; do
        start=${p% *}
        room=${p#* }
        rm -rf "$out" "${mnt:-$scratch/u}/fill"
        mkdir -p "$(dirname "$out")"
        [ "$start" = old ] && cp -a "$scratch/old" "$out"
        if [ $mode = tmpfs ]; then
            avail=$(df -B1 --output=avail "$mnt" | tail -n 1)
            [ "$avail" -gt "$room" ] &&
                head -c $((avail - room)) /dev/zero >"$mnt/fill" 2>/dev/null
            "$gatesim" "${args[@]}" -o "$out" >/dev/null 2>"$scratch/err"
            rc=$?
            reason="No space left on device"
        else
            # stderr is a pipe: a file would be held to the limit too.
            (trap '' XFSZ; ulimit -f "$room"; exec "$gatesim" "${args[@]}" -o "$out" \
                2>&1 >/dev/null) | cat >"$scratch/err"
            rc=${PIPESTATUS[0]}
            reason="File too large"
        fi
        what="$mode, $room $([ $mode = tmpfs ] && echo bytes free || echo KiB limit), $start"
        err=$(cat "$scratch/err")
        if [ $rc -eq 0 ]; then
            echo "$what: enough room, exit 0"
        else
            [ $rc -eq 1 ] || fail "$what: exit $rc, expected 1 ($err)"
            [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "$what: more than one line: $err"
            case $err in
            *"$out/"*": $reason") ;;
            *) fail "$what: message does not name a file and '$reason': $err" ;;
            esac
            file=${err#*"$out/"}
            file=${file%%:*}
            failed[$file]=1
            levels=$((levels + 1))
            echo "$what: exit 1, $err"
        fi
        [ "$(temps "$out")" -eq 0 ] || fail "$what: temporaries left: $(find "$out" -name '.*.tmp.*')"
        if [ "$start" = old ]; then
            check "$out" "$what" "$scratch/new" "$scratch/old"
            # Nothing was lost: each file of the old run is there, old or new.
            for f in $(visible "$scratch/old"); do
                [ -e "$out/$f" ] || fail "$what: $f of the older run is gone"
            done
        else
            check "$out" "$what" "$scratch/new"
        fi
    done
    # The file size limit fails only files larger than it, so the later,
    # small files cannot be reached that way.
    [ "${#failed[@]}" -ge $([ $mode = tmpfs ] && echo 3 || echo 2) ] ||
        fail "the failures hit only: ${!failed[*]}"
    echo "ok: a full disk ($mode) at $levels levels gives exit 1 naming the file and the reason," \
        "and leaves only whole files; failures hit: ${!failed[*]}"
    ;;
unwritable)
    # As root, permission bits are not enforced, so gatesim runs as nobody,
    # from a copy that nobody can read.
    pub=$scratch/pub
    mkdir "$pub"
    chmod 755 "$scratch" "$pub"
    if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || { echo "skipped: root without setpriv"; exit 77; }
        as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    else
        as_user=()
    fi
    cp "$gatesim" "$pub/gatesim"
    cp "$s" "$pub/s.yaml"
    chmod 755 "$pub/gatesim"
    chmod 644 "$pub/s.yaml"
    g() { "${as_user[@]}" "$pub/gatesim" "$@"; }
    args=(run "$pub/s.yaml" -q -r 2 -j 1)
    "$gatesim" "${args[@]}" -o "$scratch/old" >/dev/null || fail "reference run"
    # expect1 WHAT PHRASE DIR ARGS...: exit 1, one line naming PHRASE.
    expect1() {
        local what=$1 phrase=$2
        shift 2
        g "$@" >/dev/null 2>"$scratch/err"
        local rc=$? err
        err=$(cat "$scratch/err")
        [ $rc -eq 1 ] || fail "$what: exit $rc, expected 1 ($err)"
        case $err in *"$phrase"*) ;; *) fail "$what: message lacks '$phrase': $err" ;; esac
        echo "$what: exit 1, $err"
    }
    ro=$pub/ro
    mkdir "$ro"
    chmod 555 "$ro"
    expect1 "read-only directory" "$ro: cannot write: Permission denied" \
        "${args[@]}" -o "$ro"
    [ -z "$(ls -A "$ro")" ] || fail "something was left in the read-only directory: $(ls -A "$ro")"
    expect1 "new directory under a read-only one" \
        "$ro/sub: cannot create it in $ro: Permission denied" "${args[@]}" -o "$ro/sub"
    [ -z "$(ls -A "$ro")" ] || fail "something was created under the read-only directory"
    sed 's/^name: .*/name: other/' "$pub/s.yaml" >"$pub/t.yaml"
    printf '%s\n' 'name: ro' 'base: s.yaml' 'grid: {components.gw.servers: [8]}' \
        'replications: 1' >"$pub/sweep.yaml"
    chmod 644 "$pub/t.yaml" "$pub/sweep.yaml"
    short=(--set simulation.duration=2s --set simulation.warmup=1s)
    for c in compare sweep capacity; do
        case $c in
        compare) cargs=(compare "$pub/s.yaml" "$pub/t.yaml" -q -r 2) ;;
        sweep) cargs=(sweep "$pub/sweep.yaml" -q "${short[@]}") ;;
        capacity) cargs=(capacity "$pub/s.yaml" -q -r 2 --slo 'latency_mean<1s' "${short[@]}") ;;
        esac
        expect1 "$c into a read-only directory" "$ro" "${cargs[@]}" -o "$ro"
        [ -z "$(ls -A "$ro")" ] || fail "$c left something in the read-only directory"
    done
    # A complete earlier run in a directory that has become read-only stays.
    cp -a "$scratch/old" "$pub/prev"
    chmod -R a+rX "$pub/prev"
    chmod 555 "$pub/prev" "$pub/prev/plots"
    expect1 "read-only directory with an earlier run" "$pub/prev: cannot write: Permission denied" \
        "${args[@]}" -o "$pub/prev"
    check "$pub/prev" "read-only directory with an earlier run" "$scratch/old"
    [ "$(temps "$pub/prev")" -eq 0 ] || fail "temporaries left in the read-only directory"
    # Only plots/ read-only: the rest is written, then exit 1 naming plots/.
    mkdir -p "$pub/w/plots"
    chmod 777 "$pub/w"
    chmod 555 "$pub/w/plots"
    expect1 "read-only plots directory" "$pub/w/plots/" "${args[@]}" -o "$pub/w"
    for f in summary.csv scenario.yaml results.h5; do
        [ -s "$pub/w/$f" ] || fail "read-only plots directory: $f not written"
    done
    [ -z "$(ls -A "$pub/w/plots")" ] || fail "something was left in the read-only plots directory"
    [ "$(temps "$pub/w")" -eq 0 ] || fail "temporaries left beside a read-only plots directory"
    # A path through a regular file, and -o naming a regular file.
    echo keep >"$pub/file"
    chmod 666 "$pub/file"
    expect1 "a path through a regular file" "$pub/file/out: cannot write: Not a directory" \
        "${args[@]}" -o "$pub/file/out"
    expect1 "-o naming a regular file" "$pub/file: cannot write: Not a directory" \
        "${args[@]}" -o "$pub/file"
    [ "$(cat "$pub/file")" = keep ] || fail "the regular file was changed"
    [ "$(ls -A "$pub" | LC_ALL=C sort | tr '\n' ' ')" = "file gatesim prev ro s.yaml sweep.yaml t.yaml w " ] ||
        fail "unexpected files: $(ls -A "$pub")"
    echo "ok: unwritable outputs give exit 1 naming the directory or file and leave nothing"
    ;;
*)
    fail "unknown test $test"
    ;;
esac
