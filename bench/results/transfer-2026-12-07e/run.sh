#!/bin/bash
# transfer8.yaml: ctc_wide48 pretrained on look-alikes drawn with 31 fonts of eight families
# (fonts_mix.txt lists them; make the folder with symlinks, below), the best model on the user's
# validation set as it is, then the fourth study's fine-tuning; one thread each. The user's set
# is the fourth study's (../transfer-2026-12-07/data.sh); `presets` holds the built-in presets.
# Fonts: apt-get install fonts-open-sans fonts-lato fonts-roboto-unhinted fonts-cantarell
#        fonts-inconsolata fonts-ebgaramond fonts-crosextra-caladea fonts-noto-core
set -e
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
mkdir -p fonts_mix
while read -r f; do
  p=$(find /usr/share/fonts -name "$f" | head -1)
  ln -sf "$p" fonts_mix/"$f"
done < fonts_mix.txt
SMELT_THREADS=1 smelt train transfer8.yaml --experiment pretrain_fonts --out runs --quiet
smelt eval runs/pretrain_fonts/best.safetensors --data user/val --errors
SMELT_THREADS=1 smelt train transfer8.yaml --experiment finetune --out runs --init runs/pretrain_fonts/best.safetensors --quiet
