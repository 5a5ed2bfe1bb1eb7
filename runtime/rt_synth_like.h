/* Synthetic CAPTCHAs like a user's set (`smelt data synth --like DIR`): the generator options that
 * match a labelled folder, read from its labels.tsv and images: the charset (the labels' symbols,
 * sorted, as training builds it), the label length range, the image size (median height and
 * width) and the colour mode (greyscale when most images are). */
#ifndef SMELT_RT_SYNTH_LIKE_H
#define SMELT_RT_SYNTH_LIKE_H

#include <stdbool.h>

#include "runtime/rt_synth.h"
#include "support/rt_diag.h"

enum { RT_SYNTH_LIKE_MAX_IMAGES = 2000 }; /* images measured for size and colour, evenly spread */

typedef struct RtSynthLike {
  char *charset;            /* owned */
  int min_len, max_len;     /* of the labels, capped to RT_SYNTH_MAX_LEN */
  int height, width;        /* medians, clamped to the generator's limits */
  bool grey;                /* more than half the measured images are greyscale */
  int samples, measured;    /* samples in labels.tsv (usable ones), images measured */
  int grey_images;          /* measured images that are greyscale */
} RtSynthLike;

/* Measures dir (a folder with labels.tsv, as `smelt data check` loads it, bad samples skipped
 * with warnings in d). False with errors in d when it holds no usable sample. */
bool rt_synth_like(const char *dir, RtSynthLike *out, RtDiags *d);
void rt_synth_like_free(RtSynthLike *l);
/* Sets the fields of o that l decides: charset (borrowed from l), lengths, size, grey. */
void rt_synth_like_apply(const RtSynthLike *l, RtSynthOptions *o);

#endif
