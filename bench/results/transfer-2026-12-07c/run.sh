#!/bin/bash
# transfer6.yaml: the fourth study's pretraining (bench/results/transfer-2026-12-07) continued
# from its best model for 16 more epochs, then the same fine-tuning from the new best; one thread
# each. The user's set is the fourth study's (../transfer-2026-12-07/data.sh); `presets` holds
# the built-in presets; the fourth study's run.sh, run first in ../transfer-2026-12-07, leaves the
# model it starts from. As run, the pretraining was interrupted after epoch 7 and resumed with
# the same command plus --resume (a resumed run needs the same --init).
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 smelt train transfer6.yaml --experiment pretrain_more --out runs --init ../transfer-2026-12-07/runs/pretrain/best.safetensors --quiet
smelt eval runs/pretrain_more/best.safetensors --data user/val --errors
SMELT_THREADS=1 smelt train transfer6.yaml --experiment finetune --out runs --init runs/pretrain_more/best.safetensors --quiet
SMELT_THREADS=1 smelt train transfer6.yaml --experiment finetune_low_lr --out runs --init runs/pretrain_more/best.safetensors --quiet   # binary of commit bc3fa80
