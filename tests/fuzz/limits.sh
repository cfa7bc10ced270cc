#!/bin/sh
# The loader's data-file limits (docs/fuzzing.md): a file a scenario or a
# sweep names must be a regular file of at most 1 GiB. FIFOs cannot be kept
# in git, so they are made here; devices come from /dev. Each case must
# exit 2 with FILE:LINE:COL and the reason, quickly (a FIFO must not block).
#
#   tests/fuzz/limits.sh PATH/TO/gatesim      (from the repository root)
set -u
gatesim=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect NAME WANT FILE...: `gatesim check|sweep` on FILE exits 2 with WANT.
expect() {
  name=$1 want=$2
  shift 2
  out=$(timeout 20 "$gatesim" "$@" 2>&1 >/dev/null)
  rc=$?
  case $rc:$out in
    2:*"$want"*) echo "ok   $name" ;;
    *) echo "FAIL $name: exit $rc, wanted 2 and '$want', got: $out"; fail=1 ;;
  esac
}

mkfifo "$tmp/fifo" || { echo "limits.sh: mkfifo failed" >&2; exit 1; }
scen() {
  printf 'simulation: {duration: 5s}\nworkload:\n  - %s\ncomponents:\n  %s\n' "$1" "$2" >"$3"
}
gw='gw: {type: gateway, servers: 2, service: 1ms}'
poisson='{name: c, arrivals: {process: poisson, rate: 10/s}, entry: gw}'

scen "{name: c, arrivals: {process: trace, file: fifo}, entry: gw}" "$gw" "$tmp/trace-fifo.yaml"
expect trace-fifo "trace-fifo.yaml:3:48: file: '$tmp/fifo' is not a regular file (a FIFO)" \
  check "$tmp/trace-fifo.yaml"

scen "$poisson" "gw: {type: gateway, servers: 2, service: {dist: empirical, file: fifo}}" \
  "$tmp/empirical-fifo.yaml"
expect empirical-fifo "empirical-fifo.yaml:5:68: file: '$tmp/fifo' is not a regular file" \
  check "$tmp/empirical-fifo.yaml"

scen "{name: c, arrivals: {process: poisson, rate: 10/s}, prompt_tokens: 9, output_tokens: 9, entry: gpu}" \
  "gpu: {type: gpu_pool, model: deepseek-mini, service_time: {profile: $tmp/fifo}}" \
  "$tmp/profile-fifo.yaml"
expect profile-fifo "profile: '$tmp/fifo' is not a regular file (a FIFO)" \
  check "$tmp/profile-fifo.yaml"

expect trace-dev-zero "device-trace-dev-zero.yaml:4:48: file: '/dev/zero' is not a regular file (a device)" \
  check tests/fuzz/regressions/scenario/device-trace-dev-zero.yaml
expect empirical-directory "directory-empirical.yaml:6:68: file: '/' is not a regular file (a directory)" \
  check tests/fuzz/regressions/scenario/directory-empirical.yaml

expect keys-total "timeout-oom-keys-in-many-workloads.yaml:8:71: count: the workloads together may have at most 10000000 keys" \
  check tests/fuzz/regressions/scenario/timeout-oom-keys-in-many-workloads.yaml

# Sparse: no disk is used. A filesystem that cannot make one skips the case.
if truncate -s 1100M "$tmp/big.csv" 2>/dev/null; then
  scen "{name: c, arrivals: {process: trace, file: big.csv}, entry: gw}" "$gw" "$tmp/big.yaml"
  expect trace-too-big "file: '$tmp/big.csv' is larger than 1073741824 bytes" \
    check "$tmp/big.yaml"
fi

printf 'base: fifo\ngrid: {components.gw.servers: [1, 2]}\n' >"$tmp/sweep-fifo.yaml"
expect sweep-base-fifo "sweep-fifo.yaml:1:7: base: '$tmp/fifo' is not a regular file" \
  sweep "$tmp/sweep-fifo.yaml" -o "$tmp/out"
exit $fail
