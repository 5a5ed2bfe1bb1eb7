#!/bin/bash
# The default set's best models on 10,000 more samples of the same generator (seed 100; the study's
# validation set is samples 4,000-4,999 of seed 1): how much of their validation figure is the
# 1,000 samples' luck. Run dirs as in /work/exp (big48: ctc_big48, fifth look: rec5).
set -e
${SMELT:-smelt} data synth --out def_s100 --count 10000 --seed 100 --quiet
for run in big48/runs/ctc_big48_cosine50_noaug rec5/runs/ctc_wide48_cosine50_noaug; do
  for m in best last; do
    echo "== $run/$m"
    SMELT_THREADS=1 ${SMELT:-smelt} eval /work/exp/$run/$m.safetensors --data def_s100
  done
done
# added after the warm-restart run (default_set_big48_sgdr.yaml) ended:
echo "== big48_sgdr/runs/ctc_big48_sgdr_noaug/best"
SMELT_THREADS=1 ${SMELT:-smelt} eval /work/exp/big48_sgdr/runs/ctc_big48_sgdr_noaug/best.safetensors --data def_s100
