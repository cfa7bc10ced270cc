#!/usr/bin/env bash
# Stop the throwaway cluster that scripts/slurm/slurm-up.sh started in DIR,
# by the pids in its pid files (never by name: another cluster, or a real
# one, may run on the same machine). With --rm, DIR is deleted afterwards.
#
#   scripts/slurm/slurm-down.sh DIR [--rm]
#
# Jobs still in the cluster are cancelled first: with proctrack/linuxproc a
# job's processes outlive slurmd, so they would keep running unowned.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ] || { [ $# -eq 2 ] && [ "$2" != --rm ]; }; then
    echo "usage: $0 DIR [--rm]" >&2
    exit 2
fi
[ -d "$1" ] || { echo "$0: no directory $1" >&2; exit 1; }
D=$(cd "$1" && pwd)

# A pid file outlives its daemon, and the pid may since belong to another
# process: only a pid whose command is one of ours counts. A zombie has
# stopped, whoever is late to reap it.
ours() {
    local pid=$1
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 1
    case $(cat "/proc/$pid/comm" 2>/dev/null) in
        slurmd | slurmctld | munged) return 0 ;;
        *) return 1 ;;
    esac
}
alive() {
    [ -f "$1" ] && ours "$(cat "$1")"
}

if alive "$D/run/slurmctld.pid" && [ -f "$D/etc/slurm.conf" ]; then
    export SLURM_CONF=$D/etc/slurm.conf
    jobs=$(timeout 10 squeue -h -o %A 2>/dev/null || true)
    if [ -n "$jobs" ]; then
        # shellcheck disable=SC2086 # one job id per word
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 1 50); do
            [ -z "$(timeout 10 squeue -h -o %A 2>/dev/null || true)" ] && break
            sleep 0.2
        done
    fi
fi

# SIGTERM, then up to 10 s for a clean exit (each daemon takes about 2 s),
# then SIGKILL. slurmd and slurmctld stop together to halve the wait;
# munged goes last because both talk to it while they shut down.
stop() {
    local pids=() f pid
    for f in "$@"; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        ours "$pid" && kill "$pid" 2>/dev/null && pids+=("$pid")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    for _ in $(seq 1 100); do
        local left=0
        for pid in "${pids[@]}"; do ours "$pid" && left=1; done
        [ "$left" -eq 0 ] && return 0
        sleep 0.1
    done
    for pid in "${pids[@]}"; do
        ours "$pid" && { echo "$0: pid $pid did not stop; sending KILL" >&2; kill -9 "$pid" 2>/dev/null || true; }
    done
    return 0
}
stop "$D"/run/slurmd-*.pid "$D/run/slurmctld.pid"
stop "$D/munge/munged.pid"

[ "${2:-}" = --rm ] && rm -rf "$D"
exit 0
