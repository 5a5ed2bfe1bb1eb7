#!/bin/bash
# The moving-average runs' best models (default_set_big48_ema*.yaml) on the same 10,000 further
# samples as bench/results/recipes-2026-12-07c/eval_10k.sh (seed 100; the study's validation set
# is samples 4,000-4,999 of seed 1). Run dirs as in /work/exp/ema. (The seed runs were evaluated
# after the first two, appended to eval_10k.txt.)
set -e
[ -d def_s100 ] || ${SMELT:-smelt} data synth --out def_s100 --count 10000 --seed 100 --quiet
for run in ctc_big48_cosine50_ema ctc_big48_sgdr_ema ctc_big48_cosine50_ema_seed1 ctc_big48_cosine50_ema_seed2; do
  echo "== $run/best"
  SMELT_THREADS=1 ${SMELT:-smelt} eval /work/exp/ema/runs/$run/best.safetensors --data def_s100
done
