#!/bin/bash
# The "user's" set of the ninth study: the eighth study's style (Liberation fonts, which the
# pretraining does not draw; 50 x 150; a colour per character; 1-2 lines; the default
# distortion), with a case-sensitive charset of 60 symbols: 0-9, A-Z, a-z without I and l
# (in Liberation Sans both are a bare vertical bar), 5 long.
S="--charset 0123456789ABCDEFGHJKLMNOPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz --length 5 --height 50
   --width 150 --lines 2 --char-colours --distort 1 --fonts /usr/share/fonts/truetype/liberation"
${SMELT:-smelt} data synth --out user60/train --count 4000 --seed 51 $S --quiet
${SMELT:-smelt} data synth --out user60/val --count 1000 --seed 52 $S --quiet
