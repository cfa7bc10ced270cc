#!/usr/bin/env bash
# The inference-kernel benchmark (docs/kernels.md): `gatesim kernels bench`
# for decode and prefill of one layer of every named model, with achieved
# GFLOP/s and GB/s and their ratios to the machine's bounds; on a GPU
# machine where PyTorch with CUDA imports, the same layers through PyTorch
# (bench/torch_layer.py, scaled_dot_product_attention and matmul) in the
# same run, and our time over PyTorch's. Prints; asserts nothing.
#
# usage: bench/kernels.sh [--size small|large] [--backend auto|cpu|cuda] [--model M]
#   GATESIM=path/to/gatesim (default build/gatesim)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${GATESIM:-build/gatesim}
size=small
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --size) size=${args[$((i + 1))]:-small} ;;
        --size=*) size=${args[$i]#--size=} ;;
    esac
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$bin" kernels bench "$@" | tee "$out"
if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null &&
    grep -q '^# backend cuda' "$out"; then
    echo
    echo "# the same layers through PyTorch (bf16, SDPA + matmul), same GPU, same run"
    python3 bench/torch_layer.py --size "$size" | tee -a "$out"
    echo
    echo "# gatesim time / PyTorch time (target <= 1.2)"
    awk '/^torch / { t[$2 " " $3] = $6; next }
         /^[a-z]/ && $1 != "model" && $1 != "torch" { g[$1 " " $2] = $5 }
         END { for (k in g) if (k in t) printf "%-26s %.2f\n", k, g[k] / t[k] }' "$out" | sort
else
    echo "# no PyTorch comparison: needs a CUDA backend run and python3 with torch and a GPU"
fi
