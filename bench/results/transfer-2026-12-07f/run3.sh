#!/bin/bash
# pretrain_more from pretrain's best (one thread), its best on user2/val, finetune_more from it
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 ./smelt-bin train transfer10.yaml --experiment pretrain_more --out runs --init runs/pretrain/best.safetensors --quiet "$@"
./smelt-bin eval runs/pretrain_more/best.safetensors --data user2/val --errors > zero_shot_more_user2_val.txt 2>&1
SMELT_THREADS=1 ./smelt-bin train transfer10.yaml --experiment finetune_more --out runs --init runs/pretrain_more/best.safetensors --quiet
./smelt-bin eval runs/finetune_more/best.safetensors --data user2/val --errors > finetuned_more_user2_val.txt 2>&1
