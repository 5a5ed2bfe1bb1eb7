/* The IR's textual form (docs/ir.md): printing a graph, parsing one back, and comparing two
 * graphs. Text round-trips exactly: print(parse(t)) == t for canonical text t, and
 * parse(print(g)) is identical to g for every valid graph g. Every pass can therefore be tested
 * as "IR text in -> IR text out". */
#ifndef SMELT_IR_TEXT_H
#define SMELT_IR_TEXT_H

#include <stdio.h>

#include "ir/ir.h"
#include "support/rt_diag.h"

/* Parses one graph from text[0..len) (need not be NUL-terminated; any bytes are accepted).
 * Problems go to d as `file:line:col: error: ...` (file may be NULL: "<string>"), as many as
 * can be found: syntax errors first (each skips the rest of its line); when the syntax is
 * clean, the verifier's findings (shapes, dtypes, updates) at the offending node. Returns a new
 * graph (caller frees with ir_graph_free) with each node's line/col set, or NULL on any error. */
IrGraph *ir_parse(const char *text, size_t len, const char *file, RtDiags *d);
/* Reads and parses a file; an unreadable file is reported as a diagnostic. */
IrGraph *ir_parse_file(const char *path, RtDiags *d);

/* Canonical text of g. Works on invalid graphs too (for dumps while debugging a pass), though
 * those may not parse back. */
void ir_print(const IrGraph *g, FILE *out);
char *ir_print_to_string(const IrGraph *g); /* caller frees */

/* The shortest of %.15g, %.16g, %.17g that reads back as exactly v, with the exponent written
 * without '+' and leading zeros ("1e-5"); "inf", "-inf", "nan". Returns buf (>= 32 bytes). */
char *ir_format_double(double v, char *buf, size_t size);

/* Deep equality of two graphs: name, nodes (kind, op, type, operands, attributes, name, init,
 * value where the init uses it, data), outputs and updates; source positions are ignored.
 * On a difference, describes the first one in why (may be NULL) and returns false. */
bool ir_graph_equal(const IrGraph *a, const IrGraph *b, char *why, size_t size);

#endif
