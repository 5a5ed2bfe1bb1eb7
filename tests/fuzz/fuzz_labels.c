/* libFuzzer target for labels.tsv parsing (runtime/rt_labels.c) and the label encoding behind it
 * (rt_charset.c). Whatever the bytes: no crash, no leak, no sanitizer report; every kept line has
 * a non-empty path and label of valid UTF-8 without control characters; every problem names a
 * line that exists; the charset built from the labels encodes each one and decodes it back to the
 * same text. Build: -DSMELT_FUZZ=ON with clang (`make fuzz`); seed corpus: tests/data/labels. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_labels.h"
#include "support/rt_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* true when s is valid UTF-8 without forbidden symbols */
static bool clean(const char *s) {
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    int k = rt_utf8_decode(s + i, n - i, &cp);
    if (!k || rt_symbol_is_forbidden(cp) || cp == '\t') return false;
    i += (size_t)k;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  RtLabels l;
  rt_labels_parse((const char *)data, size, &l);
  int lines = 1;
  for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
  int fatal = 0;
  for (int i = 0; i < l.problem_count; i++) {
    const RtDataProblem *p = &l.problems[i];
    RT_ASSERT(p->line >= 1 && p->line <= lines && p->col >= 0 && p->msg[0], "bad problem at %d", p->line);
    fatal += p->fatal;
  }
  RT_ASSERT(fatal == l.bad_lines, "%d fatal problems, %d bad lines", fatal, l.bad_lines);
  RT_ASSERT(l.count + l.bad_lines <= lines, "more entries than lines");
  const char **texts = malloc((size_t)(l.count ? l.count : 1) * sizeof *texts);
  for (int i = 0; i < l.count; i++) {
    const RtLabelLine *e = &l.lines[i];
    RT_ASSERT(e->path[0] && e->text[0] && clean(e->path) && clean(e->text), "line %d kept", e->line);
    RT_ASSERT(i == 0 || e->line > l.lines[i - 1].line, "lines out of order");
    texts[i] = e->text;
  }
  RtCharset cs;
  rt_charset_build(&cs, texts, l.count);
  for (int i = 0; i < l.count; i++) {
    size_t n = strlen(texts[i]);
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    char *back = malloc(4 * n + 1);
    int count = rt_charset_encode(&cs, texts[i], ids, (int)n + 1, NULL, NULL);
    RT_ASSERT(count > 0 && count <= (int)n, "encode gave %d", count);
    RT_ASSERT(rt_charset_decode(&cs, ids, count, back, 4 * n + 1) == (int64_t)n && !strcmp(back, texts[i]),
              "round trip of line %d", l.lines[i].line);
    free(ids);
    free(back);
  }
  if (cs.size) { /* the built charset is a valid explicit one too */
    RtCharset again;
    char err[256];
    RT_ASSERT(rt_charset_init(&again, cs.utf8, err, sizeof err), "%s", err);
    RT_ASSERT(again.size == cs.size, "sizes differ");
    rt_charset_free(&again);
  }
  rt_charset_free(&cs);
  free(texts);
  rt_labels_free(&l);
  return 0;
}
