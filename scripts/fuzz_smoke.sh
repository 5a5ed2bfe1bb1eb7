#!/usr/bin/env bash
# `make fuzz-smoke`: runs every fuzz target (tests/fuzz/fuzz_*.c, built in BUILD_DIR/tests) for a
# few seconds each ($FUZZ_SECONDS, default 10) on its seed corpus, so that a crash or sanitizer
# report on known inputs or their first mutations shows before a long run. New inputs go to a
# scratch folder, never into the seed folders; a failing input is kept in
# BUILD_DIR/fuzz-artifacts/. Not part of `make test`. Usage: scripts/fuzz_smoke.sh [BUILD_DIR].
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-10}

# Seed folders per target, from the repository (tests/fuzz/corpus/ holds what no other folder has).
declare -A seeds=(
  [fuzz_config]="presets examples tests/train tests/frontend/bad"
  [fuzz_image]="tests/data/images"
  [fuzz_ir_parse]="tests/ir examples/ir"
  [fuzz_labels]="tests/data/labels"
  [fuzz_safetensors]="tests/fuzz/corpus/safetensors"
)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
failed=0
for src in tests/fuzz/fuzz_*.c; do
  target=$(basename "$src" .c)
  if [[ -z "${seeds[$target]:-}" ]]; then
    echo "$target: FAILED: no seed corpus listed in $0" >&2
    failed=1
    continue
  fi
  dict=()
  [[ -f "tests/fuzz/$target.dict" ]] && dict=("-dict=tests/fuzz/$target.dict")
  mkdir -p "$scratch/$target"
  log="$scratch/$target.log"
  # shellcheck disable=SC2086 # the seed list is a list of folders
  if UBSAN_OPTIONS=halt_on_error=1 "$build/tests/$target" -max_total_time="$seconds" \
      -artifact_prefix="$artifacts/$target-" "${dict[@]}" "$scratch/$target" ${seeds[$target]} >"$log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$log" | tail -1 | cut -d' ' -f2)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    echo "$target: ok, ${runs:-?} runs in ${seconds} s, coverage ${cov:-?} edges, seeds: ${seeds[$target]}"
  else
    echo "$target: FAILED (input kept in $artifacts/); the end of its log:" >&2
    tail -n 30 "$log" >&2
    failed=1
  fi
done
exit $failed
