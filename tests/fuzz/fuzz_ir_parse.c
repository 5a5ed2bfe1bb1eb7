/* libFuzzer target for the IR text parser (ir_parse.c, ir_lex.c) and, behind it, the verifier
 * and printer. Any input must be parsed or rejected with a diagnostic, never crash; whatever
 * parses must print, parse back into an identical graph, and print identically again (the
 * round-trip promise of ir_text.h). Any broken promise aborts, which libFuzzer reports.
 * Build: -DSMELT_FUZZ=ON with clang (see docs/ir.md); seed corpus: tests/ir examples/ir. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  RtDiags d = {0};
  IrGraph *g = ir_parse((const char *)data, size, "fuzz.ir", &d);
  if (!g && d.errors == 0) {
    fprintf(stderr, "ir_parse failed without a diagnostic\n");
    abort();
  }
  if (g) {
    char *text = ir_print_to_string(g);
    RtDiags d2 = {0};
    IrGraph *back = ir_parse(text, strlen(text), "printed.ir", &d2);
    if (!back) {
      fprintf(stderr, "printed graph does not parse:\n%s", text);
      rt_diags_print(&d2, stderr);
      abort();
    }
    char why[256];
    if (!ir_graph_equal(g, back, why, sizeof why)) {
      fprintf(stderr, "reparsed graph differs: %s\n%s", why, text);
      abort();
    }
    char *again = ir_print_to_string(back);
    if (strcmp(again, text) != 0) {
      fprintf(stderr, "printing is not stable:\n%s---\n%s", text, again);
      abort();
    }
    free(again);
    free(text);
    ir_graph_free(back);
    rt_diags_free(&d2);
    ir_graph_free(g);
  }
  rt_diags_free(&d);
  return 0;
}
