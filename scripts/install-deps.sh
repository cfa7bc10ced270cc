#!/usr/bin/env bash
# Install the Debian 12 packages gatesim builds and runs with. Uses sudo when
# not run as root.
set -euo pipefail
packages=(build-essential cmake pkg-config libgsl-dev libyaml-dev libcsv-dev libopenblas-dev gnuplot-nox libhdf5-dev
          libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
