/* The font files the synthetic CAPTCHA generator draws with (RtSynthOptions.fonts): the six
 * DejaVu core fonts by default, or a list of font files and folders (a folder's font files sorted
 * by name), so that generated CAPTCHAs can look like a user's in their lettering too. Loaded once
 * and shared read-only by every rendering thread's FreeType faces. */
#ifndef SMELT_RT_SYNTH_FONTS_H
#define SMELT_RT_SYNTH_FONTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/rt_synth.h"
#include "support/rt_diag.h"

typedef struct RtSynthFonts {
  int count;
  char *paths[RT_SYNTH_MAX_FONTS];  /* owned */
  uint8_t *data[RT_SYNTH_MAX_FONTS]; /* whole files, owned */
  size_t size[RT_SYNTH_MAX_FONTS];
  bool in_folder[RT_SYNTH_MAX_FONTS]; /* found in a folder of the list, not named alone */
} RtSynthFonts;

/* Lists and reads the fonts of o (NULL: the defaults) and checks that each is an outline font
 * with a glyph for every symbol cps[0..n_cps). o->fonts lists files and folders separated by
 * ':', in order (a file listed twice is drawn twice as often). A folder holds its *.ttf, *.otf
 * and *.ttc files (any case); those it holds that cannot draw every symbol are left out with a
 * warning, and an error is raised only when none is left. A font named alone, or a default one,
 * that cannot is an error (one per symbol missing, naming the first font that lacks it). False
 * with errors in d for a missing or unreadable path, an empty entry or folder, or more than
 * RT_SYNTH_MAX_FONTS fonts in all. */
bool rt_synth_fonts_load(const RtSynthOptions *o, const uint32_t *cps, int n_cps, RtSynthFonts *out, RtDiags *d);
void rt_synth_fonts_free(RtSynthFonts *f);

/* Writes paths[0..n) joined by RT_SYNTH_FONTS_SEP, as RtSynthOptions.fonts takes them, into out
 * when it is not NULL, and returns the bytes that takes with the terminating NUL. */
size_t rt_synth_fonts_join(const char *const *paths, int n, char *out);

/* The fonts an RtSynth draws with. */
const RtSynthFonts *rt_synth_fonts(const RtSynth *s);

/* The file name of a path, for messages ("DejaVuSans.ttf"). */
const char *rt_synth_font_name(const char *path);

#endif
