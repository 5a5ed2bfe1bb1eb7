#!/bin/bash
# after run.sh (its pid as $1): the pretraining continued 10 epochs, its best model on the user's
# validation set as it is, and the low-rate fine-tuning from it (one thread)
while kill -0 "$1" 2>/dev/null; do sleep 20; done
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 ./smelt-bin train transfer11.yaml --experiment pretrain_more --out runs --init runs/pretrain/best.safetensors --quiet
./smelt-bin eval runs/pretrain_more/best.safetensors --data user60/val --errors > zero_shot_more_user60_val.txt 2>&1
SMELT_THREADS=1 ./smelt-bin train transfer11.yaml --experiment finetune_more --out runs --init runs/pretrain_more/best.safetensors --quiet
./smelt-bin eval runs/finetune_more/best.safetensors --data user60/val --errors > finetuned_more_user60_val.txt 2>&1
