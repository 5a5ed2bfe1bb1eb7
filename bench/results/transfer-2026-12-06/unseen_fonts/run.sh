#!/bin/bash
# Transfer to an unseen style (transfer2.yaml): pretrain, then fine-tune and train from scratch side by side.
cd /work/exp/transfer2
export OPENBLAS_CORETYPE=SkylakeX SMELT_PRESETS=/work/main/presets SMELT_THREADS=1
smelt=/work/exp/smelt-d4304b4
echo "start $(date)"
$smelt train transfer2.yaml --experiment pretrain --out runs > pretrain.out 2>&1
echo "pretrained $(date)"
$smelt train transfer2.yaml --experiment finetune --out runs --init runs/pretrain/best.safetensors > finetune.out 2>&1 &
$smelt train transfer2.yaml --experiment finetune --out runs-scratch > scratch.out 2>&1 &
wait
echo "done $(date)"
