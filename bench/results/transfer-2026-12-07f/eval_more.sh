#!/bin/bash
# The eighth study's fine-tuned models on 5,000 more images of the user's style (seed 43; the
# user's validation set is seed 42's 1,000): how much of their figure is those 1,000's luck.
# Run from the study's folder (its runs/ and presets/).
set -e
S="--charset 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ --length 5 --height 50 --width 150 --lines 2
   --char-colours --distort 1 --fonts /usr/share/fonts/truetype/liberation"
${SMELT:-smelt} data synth --out user2_more --count 5000 --seed 43 $S --quiet
for r in finetune_more finetune_more_s2 finetune_more_s3 finetune_low_lr; do
  for m in best last; do
    echo "== $r/$m"
    SMELT_THREADS=1 ${SMELT:-smelt} eval runs/$r/$m.safetensors --data user2_more
  done
done
