#!/bin/bash
# transfer4.yaml (the third transfer study with ctc_wide48): the user's set from data.sh, then
# pretrain (one thread) and fine-tune from the best pretrained checkpoint (two threads, the
# machine otherwise running nothing else). The presets folder holds the built-in presets
# (ctc_wide48 is one since 2026-12-07).
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 smelt train transfer4.yaml --experiment pretrain --out runs --quiet
SMELT_THREADS=2 smelt train transfer4.yaml --experiment finetune --out runs --init runs/pretrain/best.safetensors --quiet
