#!/bin/sh
# Build the libFuzzer targets and fuzz each for a while (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]
#
# SECONDS_PER_TARGET defaults to 240; BUILD_DIR to build-fuzz (relative to
# the repository root). Needs clang with libFuzzer (Debian: clang-14 and
# libclang-rt-14-dev); no network. The seed corpus is read from the
# repository and never written: new inputs go to a scratch corpus that is
# deleted at the end. Exits 1 on any crash, leak, timeout (an input running
# longer than 10 s) or out-of-memory, naming the reproducer, which is kept;
# replay it with BUILD_DIR/fuzz_TARGET FILE, and keep it under
# tests/fuzz/regressions/TARGET/ once fixed.
set -u
secs=${1:-240}
build=${2:-build-fuzz}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
case $secs in
  ''|*[!0-9]*) echo "fuzz.sh: SECONDS_PER_TARGET must be a whole number, got '$secs'" >&2; exit 2;;
esac

cc=${CC:-}
if [ -z "$cc" ]; then
  for c in clang clang-14; do
    if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
  done
fi
if [ -z "$cc" ]; then
  echo "fuzz.sh: clang not found; install clang and its libFuzzer runtime" >&2
  exit 2
fi

mkdir -p "$build" || exit 2
CC=$cc cmake -S . -B "$build" -DGATESIM_FUZZ=ON -DGATESIM_CUDA=off -DGATESIM_MPI=off \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/fuzz-configure.log" 2>&1 ||
  { cat "$build/fuzz-configure.log" >&2; echo "fuzz.sh: configure failed" >&2; exit 2; }
cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target fuzz_scenario fuzz_sweep ||
  { echo "fuzz.sh: build failed" >&2; exit 2; }

work=$(mktemp -d) || exit 2
art="$build/fuzz-artifacts"
mkdir -p "$art"
status=0
summary=""

# Seeds: the checked-in corpus, the inputs that once failed, and the
# scenarios and sweeps of the tree (read-only extra corpus directories).
for t in scenario sweep; do
  if [ "$t" = scenario ]; then
    seeds="tests/fuzz/corpus/scenario tests/fuzz/regressions/scenario scenarios tests/bad"
  else
    seeds="tests/fuzz/corpus/sweep tests/fuzz/regressions/sweep tests/sweep tests/bad-sweep"
  fi
  mkdir -p "$work/$t"
  log="$work/$t.log"
  echo "fuzz.sh: fuzzing $t for ${secs}s"
  # detect_leaks: a leak fails the run like a crash does.
  # shellcheck disable=SC2086
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz_$t" "$work/$t" $seeds \
      -dict=tests/fuzz/scenario.dict -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -detect_leaks=1 -max_total_time="$secs" \
      -print_final_stats=1 -artifact_prefix="$art/$t-" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  summary="$summary$t: ${runs:-?} executions, ${rate:-?} execs/s
"
  if [ "$rc" -ne 0 ]; then
    status=1
    tail -n 60 "$log" >&2
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz.sh: $t FAILED (libFuzzer exit $rc); reproducer: ${repro:-see the log above}" >&2
    echo "fuzz.sh: replay it with: $build/fuzz_$t ${repro:-FILE}" >&2
  fi
done
rm -rf "$work"
printf '%s' "$summary"
if [ "$status" -ne 0 ]; then
  echo "fuzz.sh: FAILED" >&2
else
  echo "fuzz.sh: no crash, leak, timeout or out-of-memory"
fi
exit "$status"
