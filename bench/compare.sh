#!/usr/bin/env bash
# Speed and memory of smelt against the PyTorch peer, measured side by side on this machine:
# `smelt bench` for each preset (compile cold/cached, training samples/s, inference latency at
# batch 1 and samples/s at batch 32, peak memory, GFLOP/s of matrix work as a share of the
# machine's measured fp32 peak) followed by ../shared/peers/torch_presets.py.
# Usage: bench/compare.sh [PRESET...]   (default: all four; run from the repository root after
# `make`; needs Debian's python3-torch for the peer). Keep the machine otherwise idle.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${SMELT_PEER:-../shared/peers/torch_presets.py}
presets=("$@")
[[ ${#presets[@]} -eq 0 ]] && presets=(small ctc_small medium large)
for p in "${presets[@]}"; do
  echo "== $p"
  build/smelt bench "$p" --peak --peer="$peer"
done
