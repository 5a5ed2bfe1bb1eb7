#!/usr/bin/env bash
# Compile time against graph size: generates chains of N elementwise ops (x * w, then tanh,
# * 0.5, + 0.5 in turn, summed to a loss) and times `smelt ir --graph train --stats` (autodiff,
# simplify, fusion, memory planning, kernel description: no LLVM) and `smelt run-ir --compare`
# (LLVM compile of the forward chain with an empty object cache, plus the interpreter), and with
# --grad the same for the training step. Prints wall and CPU seconds per size and the ratio of
# CPU time to the previous size's: about 2 per doubling is linear, 4 quadratic. A benchmark, not
# a test.
# Usage: bench/compile_scaling.sh [--smelt PATH] [--ir "N..."] [--compare "N..."] [--grad "N..."]
#   [--unary OP] (the chain's unary op, tanh by default; neg gives a backward pass that saves no
#   activations). Run from the repository root after `make`; keep the machine otherwise idle.
set -euo pipefail
cd "$(dirname "$0")/.."
smelt=build/smelt
ir_sizes="5000 10000 20000 100000"
compare_sizes="500 1000 2000 5000"
grad_sizes="500 1000 2000 5000"
unary=tanh
while [[ $# -gt 0 ]]; do
  case $1 in
    --smelt) smelt=$2; shift 2 ;;
    --ir) ir_sizes=$2; shift 2 ;;
    --compare) compare_sizes=$2; shift 2 ;;
    --grad) grad_sizes=$2; shift 2 ;;
    --unary) unary=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compile_scaling.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x $smelt ]] || { echo "compile_scaling.sh: $smelt not found (run make first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# chain N > FILE: an IR program of N elementwise ops
chain() {
  local n=$1 i
  echo "graph chain_$n {"
  echo "  %x = input uniform(1) : f32[4,16]"
  echo "  %w = param uniform(0.5) : f32[16]"
  echo "  %c = const fill(0.5) : f32[]"
  echo "  %h0 = mul(%x, %w) : f32[4,16]"
  for ((i = 1; i < n; i++)); do
    case $((i % 3)) in
      0) echo "  %h$i = $unary(%h$((i - 1))) : f32[4,16]" ;;
      1) echo "  %h$i = mul(%h$((i - 1)), %c) : f32[4,16]" ;;
      2) echo "  %h$i = add(%h$((i - 1)), %c) : f32[4,16]" ;;
    esac
  done
  echo "  %loss = reduce_sum(%h$((n - 1))) {axes=[0,1], keepdims=0} : f32[]"
  echo "  output %loss"
  echo "}"
}

# run LABEL SIZES COMMAND...: times COMMAND for each size, the word @ replaced by the chain's
# file; wall seconds, and CPU seconds (user + system: steadier on a shared machine)
run() {
  local label=$1 sizes=$2 prev="" n t cpu args TIMEFORMAT='%R %U %S'
  shift 2
  printf '%-26s %8s %8s %8s %7s\n' "$label" ops wall_s cpu_s ratio
  for n in $sizes; do
    [[ -f $tmp/c$n.ir ]] || chain "$n" > "$tmp/c$n.ir"
    args=("${@/#@/$tmp/c$n.ir}")
    rm -rf "$tmp/cache"
    local status=0
    t=$( { time SMELT_CACHE_DIR=$tmp/cache "$smelt" "${args[@]}" > "$tmp/out" 2>&1; } 2>&1 ) || status=$?
    t=$(tail -1 <<< "$t") # bash's time line (after any message of a crashed command)
    read -r wall user sys <<< "$t"
    cpu=$(awk "BEGIN { print $user + $sys }")
    printf '%-26s %8d %8.2f %8.2f %7s\n' "" "$n" "$wall" "$cpu" \
      "${prev:+$(awk "BEGIN { printf \"%.1f\", $cpu / $prev }")}"
    prev=$cpu
    if ((status)); then echo "  failed (exit $status) after that time:"; tail -1 "$tmp/out" | sed 's/^/    /'; fi
  done
}

run "ir --graph train --stats" "$ir_sizes" ir @ --graph train --stats
run "run-ir --compare" "$compare_sizes" run-ir @ --compare
run "run-ir --compare --grad" "$grad_sizes" run-ir @ --compare --grad
