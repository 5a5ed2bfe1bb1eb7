#!/bin/bash
# transfer7.yaml: ctc_wide48 pretrained on look-alikes drawn in the user's own style (the
# Liberation fonts, 1-3 lines, a colour per character, distortion 1.5; the user's set from
# ../transfer-2026-12-07/data.sh), its best model on the user's validation set as it is, then
# fine-tuned on the user's 4,000 images; one thread each. `presets` holds the built-in presets.
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 smelt train transfer7.yaml --experiment in_style --out runs --quiet
smelt eval runs/in_style/best.safetensors --data user/val --errors
SMELT_THREADS=1 smelt train transfer7.yaml --experiment finetune --out runs --init runs/in_style/best.safetensors --quiet
