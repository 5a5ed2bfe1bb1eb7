/* Gradient checking (grad_check.h). Two interpreters share the same leaf values: one runs the
 * copy of the program with the gradient ops appended (the analytic gradients), the other runs
 * the unmodified forward program once per perturbed element (the numeric ones).
 * Tolerance: with h = 1e-6 max(1, |x|) in double, the central difference has truncation error
 * h^2 |f'''| / 6 ~ 1e-13 and rounding error ~ eps |f| / h ~ 2e-10 |f|, so a correct VJP agrees
 * to about 1e-9 for losses of order 1-100, while a wrong rule (missing factor, wrong transpose,
 * lost broadcast sum) is off by the order of the gradient itself. atol = 1e-6 absorbs the
 * rounding noise where the true gradient is ~0; rtol = 1e-4 leaves room for larger losses and
 * mildly curved functions (log, rsqrt near small values) without hiding real errors. */
#include "passes/grad_check.h"

#include <math.h>
#include <stdlib.h>

#include "ir/ir_interp.h"
#include "ir/ir_ops.h"
#include "ir/ir_verify.h"
#include "passes/autodiff.h"
#include "support/rt_assert.h"
#include "support/rt_random.h"

typedef struct Tolerance {
  int max_samples;
  double step, atol, rtol;
} Tolerance;

static Tolerance tolerance_of(const PassGradCheckOptions *o) {
  Tolerance t = {64, 1e-6, 1e-6, 1e-4};
  if (o && o->max_samples > 0) t.max_samples = o->max_samples;
  if (o && o->step > 0) t.step = o->step;
  if (o && o->atol > 0) t.atol = o->atol;
  if (o && o->rtol > 0) t.rtol = o->rtol;
  return t;
}

/* A node-for-node copy (same ids, names, outputs, updates), which autodiff may then extend. */
static IrGraph *graph_copy(const IrGraph *g) {
  IrGraph *c = ir_graph_new(g->name);
  for (IrId id = 0; id < g->n_nodes; id++) ir_graph_add_raw(c, ir_node(g, id));
  for (int i = 0; i < g->n_outputs; i++) ir_graph_add_output(c, g->outputs[i]);
  for (int i = 0; i < g->n_updates; i++) ir_graph_add_update(c, g->updates[i].target, g->updates[i].value);
  return c;
}

/* m distinct indices of [0, n) (all of them when n <= m), by Floyd's algorithm: for j from n-m
 * to n-1, draw t in [0, j] and take t, or j when t is already taken; each m-subset is equally
 * likely. Sorted so the report walks the tensor in order. Returns the count. */
static int64_t sample_indices(int64_t n, int64_t m, uint64_t seed, uint64_t stream, int64_t *out) {
  if (n <= m) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    return n;
  }
  int64_t k = 0;
  for (int64_t j = n - m; j < n; j++) {
    RtPhilox w = rt_random_words(seed, stream, (uint64_t)j);
    int64_t t = (int64_t)((((uint64_t)w.v[0] << 32) | w.v[1]) % (uint64_t)(j + 1));
    bool taken = false;
    for (int64_t i = 0; i < k && !taken; i++) taken = out[i] == t;
    out[k++] = taken ? j : t;
  }
  for (int64_t i = 1; i < k; i++) /* insertion sort, k is small */
    for (int64_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
      int64_t s = out[j];
      out[j] = out[j - 1];
      out[j - 1] = s;
    }
  return k;
}

/* d loss / d x[j] by central differences on the forward interpreter */
static double numeric_derivative(IrInterp *fwd, IrId loss, double *x, int64_t j, double step) {
  double orig = x[j], h = step * fmax(1.0, fabs(orig));
  double xp = orig + h, xm = orig - h; /* the step actually taken is xp - xm, not 2h */
  x[j] = xp;
  ir_interp_run(fwd, NULL);
  double fp = ir_interp_value(fwd, loss)->data[0];
  x[j] = xm;
  ir_interp_run(fwd, NULL);
  double fm = ir_interp_value(fwd, loss)->data[0];
  x[j] = orig;
  return (fp - fm) / (xp - xm);
}

/* Checks one tensor; prints its line; true when every checked element is within tolerance. */
static bool check_tensor(const IrGraph *g, IrInterp *fwd, IrId loss, IrId leaf, const double *analytic,
                         const Tolerance *tol, uint64_t seed, FILE *report) {
  IrTensor *x = ir_interp_value(fwd, leaf);
  int64_t n = ir_shape_numel(&x->type.shape), m = n < tol->max_samples ? n : tol->max_samples;
  int64_t *idx = rt_xmalloc((size_t)(m ? m : 1) * sizeof *idx);
  m = sample_indices(n, m, seed, 0x67726164ull + (uint64_t)leaf, idx); /* "grad" + id */
  double max_abs = 0, max_rel = 0;
  bool ok = true;
  for (int64_t s = 0; s < m; s++) {
    double a = analytic[idx[s]], num = numeric_derivative(fwd, loss, x->data, idx[s], tol->step);
    double err = fabs(a - num), mag = fmax(fabs(a), fabs(num));
    if (!(err <= tol->atol + tol->rtol * mag)) ok = false; /* also catches NaN */
    if (!(err <= max_abs)) max_abs = err;
    if (mag > 0 && !(err / mag <= max_rel)) max_rel = err / mag;
  }
  free(idx);
  if (report) {
    char lb[96], tb[96];
    fprintf(report, "  %-24s %-16s checked %lld/%lld  max_abs_err %.3g  max_rel_err %.3g  %s\n",
            ir_node_label(g, leaf, lb, sizeof lb), ir_type_str(&x->type, tb, sizeof tb),
            (long long)m, (long long)n, max_abs, max_rel, ok ? "ok" : "FAIL");
  }
  return ok;
}

static bool is_wrt(const IrNode *n, bool inputs) {
  return n->type.dtype == IR_F32 && (n->kind == IR_NODE_PARAM || (inputs && n->kind == IR_NODE_INPUT));
}

bool pass_grad_check(const IrGraph *g, uint64_t seed, const PassGradCheckOptions *o, FILE *report) {
  Tolerance tol = tolerance_of(o);
  bool inputs = o && o->check_inputs;
  const char *file = o && o->file ? o->file : "";
  if (g->n_outputs < 1) {
    RtDiags d = {0};
    rt_diag_error(&d, file, 0, 0, "no output to differentiate (output 0 must be a scalar loss)");
    if (report) rt_diags_print(&d, report);
    rt_diags_free(&d);
    return false;
  }
  IrId loss = g->outputs[0];
  IrGraph *c = graph_copy(g);
  IrId *wrt = rt_xmalloc((size_t)(g->n_nodes + 1) * sizeof *wrt);
  IrId *grads = rt_xmalloc((size_t)(g->n_nodes + 1) * sizeof *grads);
  int n_wrt = 0;
  for (IrId id = 0; id < g->n_nodes; id++)
    if (is_wrt(ir_node(g, id), inputs)) wrt[n_wrt++] = id;

  RtDiags d = {0};
  /* the interpreter runs verified graphs only; this also checks what autodiff appended */
  bool ok = ir_verify(g, NULL, &d) && pass_autodiff(c, loss, n_wrt, wrt, grads, &d) &&
            ir_verify(c, NULL, &d);
  if (!ok) {
    rt_diags_set_file(&d, 0, file);
    if (report) rt_diags_print(&d, report);
  } else {
    IrInterp *full = ir_interp_new(c), *fwd = ir_interp_new(g);
    ir_interp_init_leaves(full, seed);
    for (IrId id = 0; id < g->n_nodes; id++) /* the same leaf values in both */
      if (ir_node(g, id)->kind != IR_NODE_OP) {
        IrTensor *src = ir_interp_value(full, id), *dst = ir_interp_value(fwd, id);
        for (int64_t i = 0; i < ir_shape_numel(&src->type.shape); i++) dst->data[i] = src->data[i];
      }
    ir_interp_run(full, NULL);
    if (report) {
      char lb[96];
      fprintf(report, "grad check of %s: loss %s = %.10g, %d tensors, atol %g, rtol %g\n", g->name,
              ir_node_label(g, loss, lb, sizeof lb), ir_interp_value(full, loss)->data[0], n_wrt,
              tol.atol, tol.rtol);
    }
    for (int i = 0; i < n_wrt; i++) {
      const double *analytic = ir_interp_value(full, grads[i])->data;
      ok = check_tensor(g, fwd, loss, wrt[i], analytic, &tol, seed, report) && ok;
    }
    ir_interp_free(full);
    ir_interp_free(fwd);
  }
  rt_diags_free(&d);
  free(wrt);
  free(grads);
  ir_graph_free(c);
  return ok;
}
