#!/bin/bash
# after run.sh (its pid as $1): finetune_low_lr from the same pretrained model (one thread)
while kill -0 "$1" 2>/dev/null; do sleep 20; done
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 ./smelt-bin train transfer10.yaml --experiment finetune_low_lr --out runs --init runs/pretrain/best.safetensors --quiet
./smelt-bin eval runs/finetune_low_lr/best.safetensors --data user2/val --errors > finetuned_low_lr_user2_val.txt 2>&1
