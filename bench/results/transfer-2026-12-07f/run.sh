#!/bin/bash
# transfer10.yaml, one thread each: pretrain; its best model on the user's validation set as it
# is; fine-tune from it; the same fine-tuning from scratch.
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 ./smelt-bin train transfer10.yaml --experiment pretrain --out runs --quiet "$@"
./smelt-bin eval runs/pretrain/best.safetensors --data user2/val --errors > zero_shot_user2_val.txt 2>&1
SMELT_THREADS=1 ./smelt-bin train transfer10.yaml --experiment finetune --out runs --init runs/pretrain/best.safetensors --quiet
./smelt-bin eval runs/finetune/best.safetensors --data user2/val --errors > finetuned_user2_val.txt 2>&1
SMELT_THREADS=1 ./smelt-bin train transfer10.yaml --experiment finetune --out runs-scratch --quiet
