#!/bin/bash
# transfer9.yaml: pretrain (one thread), zero-shot on the user's validation set, fine-tune.
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 ./smelt-bin train transfer9.yaml --experiment pretrain --out runs --quiet "$@"
./smelt-bin eval runs/pretrain/best.safetensors --data user/val --errors > zero_shot_user_val.txt 2>&1
SMELT_THREADS=1 ./smelt-bin train transfer9.yaml --experiment finetune --out runs --init runs/pretrain/best.safetensors --quiet
./smelt-bin eval runs/finetune/best.safetensors --data user/val --errors > finetuned_user_val.txt 2>&1
