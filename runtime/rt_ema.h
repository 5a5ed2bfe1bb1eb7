/* An exponential moving average of a model's weights (`ema_decay`): after every optimizer step
 * avg <- d * avg + (1 - d) * w over every state tensor that is not optimizer state (params and
 * batch-norm statistics), with d = min(ema_decay, (1 + n) / (10 + n)) at the n-th update, so
 * that early on the average spans about the last tenth of the steps rather than reaching back to
 * the first weights. The training loop validates and saves the best checkpoint with the average
 * in place of the weights (rt_ema_swap), and stores it in last.safetensors for an exact resume
 * (tensors RT_EMA_PREFIX<name>, optimizer state as far as warm starts are concerned). */
#ifndef SMELT_RT_EMA_H
#define SMELT_RT_EMA_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_model.h"

#define RT_EMA_PREFIX "opt.ema."

/* Whether state slot s is part of the model (not an optimizer moment): what the average covers. */
bool rt_ema_covers(const RtSlot *s);

/* The decay of update n (0-based) for a configured decay. */
double rt_ema_decay_at(double decay, int64_t n);

/* avg (a region of m->state_bytes) <- state's model tensors. */
void rt_ema_start(const RtModel *m, void *avg, const void *state);

/* The n-th update (0-based) of avg towards state's model tensors. */
void rt_ema_update(const RtModel *m, void *avg, const void *state, double decay, int64_t n);

/* Exchanges the model tensors of avg and state (twice restores both). */
void rt_ema_swap(const RtModel *m, void *avg, void *state);

#endif
