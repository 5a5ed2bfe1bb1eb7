#!/bin/bash
# transfer11.yaml's scratch experiment, one thread
export SMELT_PRESETS=${SMELT_PRESETS:-presets}
SMELT_THREADS=1 ./smelt-bin train transfer11.yaml --experiment scratch --out runs-scratch --quiet "$@"
