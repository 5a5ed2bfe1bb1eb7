/* The synthetic CAPTCHA generator, so that everything runs with no data at hand: random strings
 * rendered with FreeType in the DejaVu fonts (fonts-dejavu-core) with geometric (rotation, jitter,
 * shear, scale, translation, sinusoidal warp) and photometric (colours, textured backgrounds,
 * lines, blur, contrast, noise) effects. Sample i is a pure function of (seed, i, options): same
 * seed, same bytes, whatever the number of threads (a Philox stream per sample, rt_random.h). */
#ifndef SMELT_RT_SYNTH_H
#define SMELT_RT_SYNTH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "support/rt_diag.h"

#define RT_SYNTH_DEFAULT_CHARSET "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define RT_SYNTH_FONT_DIR "/usr/share/fonts/truetype/dejavu"
enum {
  RT_SYNTH_DEFAULT_MIN_LEN = 4, RT_SYNTH_DEFAULT_MAX_LEN = 8, RT_SYNTH_MAX_LEN = 32,
  RT_SYNTH_DEFAULT_HEIGHT = 50, RT_SYNTH_DEFAULT_WIDTH = 200, /* 4:1 like the 32 x 128 input */
  RT_SYNTH_MIN_SIZE = 16, RT_SYNTH_MAX_HEIGHT = 1024, RT_SYNTH_MAX_WIDTH = 4096,
  RT_SYNTH_VERSION = 1, /* bumped whenever the pictures for a given seed change */
  RT_SYNTH_NONE = -1,   /* `lines` and `distort`: none at all (0 is the default mix) */
  RT_SYNTH_MAX_LINES = 20, RT_SYNTH_MAX_DISTORT = 4,
  RT_SYNTH_MIXED_LINES = 8, /* `mixed`: strokes per image at most, unless `lines` says otherwise */
  RT_SYNTH_MAX_FONTS = 64,
};
#define RT_SYNTH_FONTS_SEP ':' /* between the entries of RtSynthOptions.fonts */

typedef struct RtSynthOptions {
  const char *charset;  /* symbols (UTF-8, no spaces or controls); NULL = 0-9A-Z */
  int min_len, max_len; /* label length range, 1..RT_SYNTH_MAX_LEN; 0 = 4..8 */
  int height, width;    /* image size; 0 = 50 x 200 */
  int64_t first_index;  /* number of the first sample: [first, first + count) continues a set of
                           `first` samples with new ones (validation after training) */
  bool reuse;           /* rt_synth_generate keeps a complete set made with the same parameters */
  FILE *progress;       /* a line every 10% for 1,000 samples or more; NULL = silent */
  const char *font_dir; /* where the default fonts are; NULL = RT_SYNTH_FONT_DIR */
  const char *fonts;    /* font files and folders joined by RT_SYNTH_FONTS_SEP (rt_synth_fonts_join;
                           a folder: its *.ttf, *.otf, *.ttc files, sorted), at most
                           RT_SYNTH_MAX_FONTS fonts in all, each drawn with equal chance; NULL =
                           the six DejaVu core fonts (rt_synth_fonts.h) */
  /* Style; all 0 = the default mix (docs/data.md), whose pictures these fields never change. */
  int lines;            /* strokes over the text: 0 = the default mix (0-3), RT_SYNTH_NONE = none,
                           N in 1..RT_SYNTH_MAX_LINES = 1 to N per image */
  bool char_colours;    /* each character its own colour (on the text's side of the luma range) */
  double distort;       /* scale of the per-character rotation and of the wave warp: 0 = 1 (the
                           default), RT_SYNTH_NONE = none, else (0, RT_SYNTH_MAX_DISTORT] */
  bool grey;            /* greyscale pictures: each pixel's luma in all three channels */
  bool mixed;           /* each sample draws its own style: 0 to N strokes (N = lines if set,
                           none with RT_SYNTH_NONE, else RT_SYNTH_MIXED_LINES), a colour per
                           character in half of them (all with char_colours), the distortion
                           scaled by 0.25-2. From a stream of its own: the label is that of the
                           same sample without it */
} RtSynthOptions;

/* Writes count samples to dir (created if needed): dir/images/NNNNNN.png (RGB) and
 * dir/labels.tsv (`images/NNNNNN.png<TAB>LABEL`, written last and atomically, so a folder with a
 * labels.tsv is complete), plus dir/synth.json recording the parameters. Images are rendered in
 * parallel on the runtime pool. False with errors in d for bad options, missing fonts, a symbol
 * without a glyph, or a file that cannot be written. */
bool rt_synth_generate(const char *dir, int64_t count, uint64_t seed, const RtSynthOptions *opts,
                       RtDiags *d);

/* The renderer behind rt_synth_generate, for callers that want pixels in memory. */
typedef struct RtSynth RtSynth;

/* Checks the options alone (ranges, sizes, charset: valid, no repeats, no blanks), without
 * touching fonts or files: false with errors in d. opts may be NULL (the defaults). */
bool rt_synth_check_options(const RtSynthOptions *opts, RtDiags *d);

/* Checks the options, loads the fonts and checks that each has a glyph for every symbol.
 * NULL with errors in d otherwise. */
RtSynth *rt_synth_new(const RtSynthOptions *opts, RtDiags *d);
void rt_synth_free(RtSynth *s);
/* The options with defaults filled in (charset never NULL; owned by s). */
const RtSynthOptions *rt_synth_options(const RtSynth *s);

/* Renders sample `index` of the set `seed`: its label (NUL-terminated UTF-8; 4 * max_len + 1
 * bytes suffice) and height * width * 3 RGB bytes, rows top to bottom. FreeType faces are not
 * thread-safe, so each thread passes its own `worker` number in [0, RT_POOL_MAX_THREADS): calls
 * running at the same time must use different numbers. The output does not depend on it. */
void rt_synth_render(RtSynth *s, uint64_t seed, int64_t index, int worker, char *label, uint8_t *rgb);

#endif
