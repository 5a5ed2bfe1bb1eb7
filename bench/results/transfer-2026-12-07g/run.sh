#!/bin/bash
# transfer11.yaml, one thread: pretrain; its best model on the user's validation set as it is;
# fine-tune from it (2e-4); the same data from scratch (1e-3).
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 ./smelt-bin train transfer11.yaml --experiment pretrain --out runs --quiet "$@"
./smelt-bin eval runs/pretrain/best.safetensors --data user60/val --errors > zero_shot_user60_val.txt 2>&1
SMELT_THREADS=1 ./smelt-bin train transfer11.yaml --experiment finetune --out runs --init runs/pretrain/best.safetensors --quiet
./smelt-bin eval runs/finetune/best.safetensors --data user60/val --errors > finetuned_user60_val.txt 2>&1
