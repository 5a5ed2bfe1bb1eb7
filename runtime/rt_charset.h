/* Symbols of a recognition model: UTF-8 decoding, the charset (distinct Unicode code points in
 * id order, stored as one UTF-8 string in configs and checkpoints) and the mapping between label
 * text and symbol ids. Ids are 0-based indices into the charset; the model adds its own offsets
 * for its special classes (CTC blank, attention go/end). Pure functions, no I/O, thread-safe for
 * concurrent readers of one charset. */
#ifndef SMELT_RT_CHARSET_H
#define SMELT_RT_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes the code point at s[0..n): returns its length in bytes (1..4), or 0 for an invalid
 * sequence (bad lead or continuation byte, overlong form, surrogate, above U+10FFFF, truncated;
 * RFC 3629 section 3). */
int rt_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Writes cp (<= U+10FFFF, not a surrogate) as UTF-8 into out; returns the length (1..4). */
int rt_utf8_encode(uint32_t cp, char out[4]);
/* Code points in s[0..n), or -1 when s is not valid UTF-8 (then *bad, if not NULL, is the byte
 * offset of the first invalid sequence). */
int64_t rt_utf8_count(const char *s, size_t n, size_t *bad);

/* Code points that cannot be label symbols: C0/C1 controls, DEL, the byte order mark U+FEFF and
 * the line/paragraph separators (they would break labels.tsv lines or are invisible). */
bool rt_symbol_is_forbidden(uint32_t cp);

typedef struct RtCharset {
  char *utf8;          /* the symbols in id order, NUL-terminated; owned */
  uint32_t *cps;       /* (size) code point of each id; owned */
  int size;
  uint32_t *by_cp;     /* (size) code points sorted, for lookup; owned */
  int32_t *by_cp_id;   /* (size) id of by_cp[i]; owned */
} RtCharset;

/* A charset given explicitly (config, checkpoint, --charset): the symbols of utf8 in order.
 * Fails with a message in err for an empty string, invalid UTF-8, a repeated or a forbidden
 * symbol; cs is then left zeroed. */
bool rt_charset_init(RtCharset *cs, const char *utf8, char *err, size_t err_size);
/* The sorted distinct code points of n valid UTF-8 texts (the charset built from training labels). */
void rt_charset_build(RtCharset *cs, const char *const *texts, int n);
void rt_charset_copy(RtCharset *dst, const RtCharset *src);
void rt_charset_free(RtCharset *cs);

/* The id of cp, or -1 when cp is not in the charset. O(log size). */
int32_t rt_charset_id(const RtCharset *cs, uint32_t cp);

enum { RT_ENCODE_BAD_UTF8 = -1, RT_ENCODE_UNKNOWN = -2 };
/* Encodes text as symbol ids into ids[0..cap): returns the symbol count (which may exceed cap;
 * only the first cap ids are written), RT_ENCODE_BAD_UTF8, or RT_ENCODE_UNKNOWN for a symbol
 * outside the charset (then *bad_cp and *bad_offset, if not NULL, say which and where). */
int rt_charset_encode(const RtCharset *cs, const char *text, int32_t *ids, int cap,
                      uint32_t *bad_cp, size_t *bad_offset);
/* Writes the text of ids[0..n) NUL-terminated into out; 4 * n + 1 bytes always suffice.
 * Returns the byte length, or -1 for an id outside [0, size) or an out too small (out is then
 * an empty string when out_size > 0). */
int64_t rt_charset_decode(const RtCharset *cs, const int32_t *ids, int n, char *out, size_t out_size);

#endif
