#!/bin/sh
# Data-parallel training throughput on this machine (docs/distributed.md): PRESET (default small)
# at global batch 32 on generated data, trained by one process with T threads (T = the cores,
# default 2) and by `mpirun -np T` with one thread each. Prints each run's training samples/s
# (the second epoch's, after compilation and the first epoch's warm-up) and their ratio, and
# keeps the runs' metrics.jsonl and logs (not their checkpoints) under OUT (default
# bench/results/mpi-<date>). Run it on a quiet machine: anything else busy makes the figures
# worthless.
#   usage: bench/mpi_scaling.sh [PRESET] [OUT]
set -eu
preset=${1:-small}
out=${2:-bench/results/mpi-$(date +%Y-%m-%d)}
smelt=${SMELT:-build/smelt}
cores=${CORES:-2}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cat > "$out/config.yaml" <<YAML
# written by bench/mpi_scaling.sh
defaults:
  epochs: 2
  batch_size: 32
  learning_rate: 0.001
  scheduler: constant
  early_stopping: false
  data: {synthetic: {train: 320, val: 32, seed: 11}}
experiments:
  $preset:
    model: $preset
YAML
export OPENBLAS_NUM_THREADS=1
SMELT_THREADS=$cores "$smelt" train "$out/config.yaml" --out "$out/one" --overwrite --quiet > "$out/one.log" 2>&1
SMELT_THREADS=1 mpirun -np "$cores" --oversubscribe --allow-run-as-root --bind-to none \
  "$smelt" train "$out/config.yaml" --out "$out/mpi" --overwrite --quiet > "$out/mpi.log" 2>&1
find "$out" -name '*.safetensors' -delete # keep the metrics and logs, not the weights
rate() { sed -n 2p "$1" | sed 's/.*"samples_per_s":\([0-9.e+-]*\).*/\1/'; }
one=$(rate "$out/one/$preset/metrics.jsonl")
mpi=$(rate "$out/mpi/$preset/metrics.jsonl")
awk -v p="$preset" -v c="$cores" -v one="$one" -v mpi="$mpi" 'BEGIN {
  printf "%s, global batch 32, %s cores:\n  1 process x %s threads: %.2f samples/s\n", p, c, c, one
  printf "  mpirun -np %s x 1 thread: %.2f samples/s\n  ratio (mpirun / one process): %.3f\n", c, mpi, mpi / one
}' | tee "$out/summary.txt"
