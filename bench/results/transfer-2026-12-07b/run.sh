#!/bin/bash
# The fourth transfer study's fine-tuning (bench/results/transfer-2026-12-07) again, with strong
# augmentation, from the same pretrained model: run that study's data.sh and run.sh first (this
# folder then needs its user/ and runs/pretrain/ beside transfer5.yaml). One thread, binary of
# commit 7f5f3b3, while a PyTorch run used the other core.
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 smelt train transfer5.yaml --experiment finetune_strong --out runs \
    --init runs/pretrain/best.safetensors --quiet
