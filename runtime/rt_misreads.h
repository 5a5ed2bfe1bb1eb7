/* What a model misreads, from each sample's true and predicted text: how many misread samples
 * have a symbol too many or too few, and which symbols it confuses most, counted over a
 * minimum-edit alignment of each misread sample (true -> read; a symbol missed or added is
 * paired with nothing). For `smelt eval --errors`: whether a plateau is the model or the data
 * (two glyphs that look alike, docs/recipes.md). */
#ifndef SMELT_RT_MISREADS_H
#define SMELT_RT_MISREADS_H

#include <stdint.h>

typedef struct RtMisreadPair {
  uint32_t truth, read; /* code points; 0: nothing (a symbol added, or missed) */
  int count;
} RtMisreadPair;

typedef struct RtMisreads {
  int samples, misread, wrong_length; /* samples; misread ones; misread with another length */
  int n_pairs;
  RtMisreadPair *pairs; /* every distinct error, most frequent first (then by code points) */
} RtMisreads;

/* Counts the errors of read[i] against truth[i] for i < n (NULL reads as ""; both UTF-8, a
 * malformed byte taken as a symbol of its own). */
void rt_misreads_count(const char *const *truth, const char *const *read, int n, RtMisreads *out);
void rt_misreads_free(RtMisreads *m);

/* A pair's symbol as UTF-8 text in buf, or `none` for code point 0 (nothing). */
const char *rt_misread_symbol(uint32_t cp, const char *none, char buf[8]);

#endif
