#!/bin/bash
# The "user's" set of the eighth study: a style the pretraining does not draw (the Liberation
# fonts, apt-get install fonts-liberation; 50 x 150, not 4:1; a colour per character; 1-2 lines;
# the default distortion) whose symbols leave out O and I, as CAPTCHA generators do, so that no
# pair of them differs only by a zero's dot or a serif (34 symbols, 5 long).
S="--charset 0123456789ABCDEFGHJKLMNPQRSTUVWXYZ --length 5 --height 50 --width 150 --lines 2
   --char-colours --distort 1 --fonts /usr/share/fonts/truetype/liberation"
${SMELT:-smelt} data synth --out user2/train --count 4000 --seed 41 $S --quiet
${SMELT:-smelt} data synth --out user2/val --count 1000 --seed 42 $S --quiet
