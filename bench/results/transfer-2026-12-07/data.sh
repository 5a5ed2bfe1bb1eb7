#!/bin/bash
# The "user's" set of this study: Liberation fonts (apt-get install fonts-liberation), which the
# pretraining (the generator's DejaVu fonts) never draws; 0-9A-Z, 5 long, 150 x 40, a colour per
# character, 1-3 lines, distortion 1.5.
S="--charset 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ --length 5 --height 40 --width 150 --lines 3
   --char-colours --distort 1.5 --fonts /usr/share/fonts/truetype/liberation"
smelt data synth --out user/train --count 4000 --seed 31 $S
smelt data synth --out user/val --count 1000 --seed 32 $S
