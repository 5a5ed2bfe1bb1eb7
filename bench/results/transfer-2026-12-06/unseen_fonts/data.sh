#!/bin/bash
# The "user's" set of this study: Liberation fonts (apt-get install fonts-liberation), which the
# pretraining (the generator's DejaVu fonts) never draws; 60 case-sensitive symbols (0-9A-Za-z
# without I and l), 5 long, 150 x 40, a colour per character, 1-3 lines, distortion 1.5.
S="--charset 0123456789ABCDEFGHJKLMNOPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz --length 5 --height 40 --width 150
   --lines 3 --char-colours --distort 1.5 --fonts /usr/share/fonts/truetype/liberation"
smelt data synth --out user/train --count 4000 --seed 21 $S
smelt data synth --out user/val --count 1000 --seed 22 $S
