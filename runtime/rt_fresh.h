/* Fresh synthetic training samples every epoch (`data: {synthetic: {..., fresh: true}}`, docs/data.md):
 * epoch e trains on N samples of its own, rendered in memory (rt_synth_render) and converted to
 * model input exactly as the same samples are when written to a folder and loaded (PNG pixels ->
 * rt_image_from_pixels -> rt_image_to_input). Epoch e's set is a pure function of (seed, e, label
 * lengths): samples [rt_fresh_first_index(e), + N) of the generator's set `seed`. Epoch 0 is the set
 * a run without `fresh` trains on, [0, N); validation stays the fixed [N, N + M); later epochs
 * continue after it, so no training sample is ever a validation sample. Sets are rendered on the
 * runtime pool; a prefetch renders the next epoch's set in a background thread while the current
 * one trains, and the pool finishes what is left when it is asked for, so at most two sets (the
 * one training, the next) exist at once. */
#ifndef SMELT_RT_FRESH_H
#define SMELT_RT_FRESH_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_dataset.h"
#include "runtime/rt_synth.h"
#include "support/rt_diag.h"

typedef struct RtFreshConfig {
  bool enabled;         /* off: the training set is the fixed one */
  uint64_t seed;        /* the generator's set */
  int count;            /* N: training samples per epoch */
  int val_count;        /* M: validation samples, [N, N + M) */
  int min_len, max_len; /* label lengths in symbols */
  const char *charset;  /* symbols in id order; NULL = RT_SYNTH_DEFAULT_CHARSET */
  RtSynthOptions style; /* the generator's style and image size (lines, char_colours, distort, grey,
                           height, width); its charset and lengths are the fields above */
} RtFreshConfig;

/* The generator index of epoch e's first sample: 0 for epoch 0, M + e * N after it. */
int64_t rt_fresh_first_index(const RtFreshConfig *c, int64_t epoch);
/* The charset fresh sets are encoded with: c->charset, or the generator's. */
const char *rt_fresh_charset(const RtFreshConfig *c);

typedef struct RtFresh RtFresh;

/* A source of epoch sets of height x width model inputs. Checks the generator's options and fonts
 * (NULL with errors in d otherwise). `background`: prefetches render in a thread of their own;
 * without it they are only remembered and rendered on the pool when asked for. */
RtFresh *rt_fresh_new(const RtFreshConfig *c, int height, int width, bool background, RtDiags *d);
/* Stops a prefetch under way and frees everything (sets handed out are the caller's). NULL ok. */
void rt_fresh_free(RtFresh *f);

/* Epoch `epoch`'s set with labels of min_len..max_len symbols (max_len < min_len counts as
 * min_len, 0 or above c->max_len as c->max_len: a curriculum narrows the range). Takes over the
 * prefetch of the same set (finishing it on the pool), else renders it now. Caller frees with
 * rt_dataset_free. NULL with errors in d when the fonts cannot be read any more. */
RtDataset *rt_fresh_set(RtFresh *f, int64_t epoch, int max_len, RtDiags *d);
/* Starts rendering that set ahead (replacing any other prefetch). False with errors in d as above. */
bool rt_fresh_prefetch(RtFresh *f, int64_t epoch, int max_len, RtDiags *d);

#endif
