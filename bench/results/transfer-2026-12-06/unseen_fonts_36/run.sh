#!/bin/bash
# Transfer to an unseen style (transfer3.yaml): pretrain, then fine-tune and train from scratch side by side.
# Resume after an interruption: RESUME=--resume ./run.sh
cd /work/exp/transfer3
export SMELT_PRESETS=/work/main/presets SMELT_THREADS=1
smelt=/work/exp/smelt-39a11ce
echo "start $(date)"
$smelt train transfer3.yaml --experiment pretrain --out runs --quiet ${RESUME:-} >> pretrain.out 2>&1
echo "pretrained $(date)"
$smelt train transfer3.yaml --experiment finetune --out runs --init runs/pretrain/best.safetensors --quiet ${RESUME:-} >> finetune.out 2>&1 &
$smelt train transfer3.yaml --experiment finetune --out runs-scratch --quiet ${RESUME:-} >> scratch.out 2>&1 &
wait
echo "done $(date)"
