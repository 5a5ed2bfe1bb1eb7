/* The plan of a validated config, as `smelt check` prints it: one row per experiment (preset,
 * parameters, epochs, batch size, learning rate, optimizer, loss, data) and the groups of
 * experiments that can share one compiled module. Also the small formatters the CLI shares. */
#ifndef SMELT_FE_PLAN_H
#define SMELT_FE_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/fe_config.h"

void fe_plan_print(const FeConfig *c, FILE *out);

/* 12586470 -> "12,586,470". */
const char *fe_format_count(int64_t n, char *buf, size_t size);
/* "cross_entropy (label_smoothing 0.05)", "focal (gamma 2, alpha 0.25)", "ctc". */
const char *fe_loss_format(const FeLoss *l, char *buf, size_t size);
/* "synthetic 4000/1000, length 4-8" or "folders data/train, data/val". */
const char *fe_data_format(const FeData *d, char *buf, size_t size);

#endif
