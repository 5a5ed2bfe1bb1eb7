/* VJP rules of the reductions. Sum and mean spread the gradient back over the reduced axes
 * (reshape to the keepdims shape, then broadcast). Max routes each gradient to the FIRST maximum
 * of its group in row-major order over the reduced axes, the same convention as argmax and
 * maxpool2d_grad, so a tie (e.g. several relu zeros) never receives the gradient twice. */
#include "ir/ir_builder.h"
#include "ir/ir_impl.h"

typedef struct Reduction {
  IrId x;
  IrShape in;             /* x's shape */
  IrShape kept;           /* x's shape with the reduced axes set to 1 */
  bool axis[IR_MAX_RANK]; /* reduced? */
  int64_t count;          /* elements per group */
} Reduction;

static Reduction reduction_of(const IrGraph *g, IrId id) {
  const IrNode *n = ir_node(g, id);
  Reduction r = {.x = n->in[0], .count = 1};
  r.in = r.kept = ir_type_of(g, r.x)->shape;
  for (int i = 0; i < n->attr[0].n; i++) {
    int a = (int)n->attr[0].v[i];
    r.axis[a] = true;
    r.count *= r.in.dims[a];
    r.kept.dims[a] = 1;
  }
  return r;
}

/* a reshape only where the shape changes, so keepdims reductions add no copy */
static IrId reshape_to(IrGraph *g, IrId x, IrShape shape) {
  return ir_shape_eq(&ir_type_of(g, x)->shape, &shape) ? x : ir_reshape(g, x, shape);
}

/* gout (reduced shape, with or without kept axes) broadcast back to x's shape. When only leading
 * axes were dropped, gout already aligns with x from the right (numpy rules) and needs no
 * reshape; e.g. the gradient of a full sum to a scalar is one broadcast. */
static IrId spread(IrGraph *g, const Reduction *r, IrId gout) {
  const IrShape *gs = &ir_type_of(g, gout)->shape;
  bool aligned = true;
  for (int i = 0; i < gs->rank && aligned; i++)
    aligned = gs->dims[gs->rank - 1 - i] == r->kept.dims[r->kept.rank - 1 - i];
  for (int d = 0; d < r->in.rank - gs->rank && aligned; d++) aligned = r->axis[d];
  IrId t = aligned ? gout : reshape_to(g, gout, r->kept);
  return ir_shape_eq(&ir_type_of(g, t)->shape, &r->in) ? t : ir_broadcast(g, t, r->in);
}

void ir_vjp_reduce_sum(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  Reduction r = reduction_of(g, id);
  grad_in[0] = spread(g, &r, gout);
}

void ir_vjp_reduce_mean(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  Reduction r = reduction_of(g, id);
  /* divide by the count (exact in f32, unlike 1/count) on the small side, then spread */
  grad_in[0] = spread(g, &r, ir_div(g, gout, ir_scalar(g, (double)r.count)));
}

/* With K the kept dims and R the reduced ones (ascending): move R last, flatten them into one
 * axis of `count` elements, take argmax (first maximum), one_hot it, scale by gout, and undo the
 * flattening and the transposition. Transposes are skipped when R is already trailing, which is
 * the common case (softmax over the last axis). */
void ir_vjp_reduce_max(IrGraph *g, IrId id, IrId gout, const bool *need, IrId *grad_in) {
  Reduction r = reduction_of(g, id);
  if (r.count == 1) { /* nothing reduced (no axes, or only size-1 ones): the identity */
    grad_in[0] = reshape_to(g, gout, r.in);
    return;
  }
  int perm[IR_MAX_RANK], inv[IR_MAX_RANK], k = 0;
  for (int d = 0; d < r.in.rank; d++)
    if (!r.axis[d]) perm[k++] = d;
  int n_kept = k;
  for (int d = 0; d < r.in.rank; d++)
    if (r.axis[d]) perm[k++] = d;
  bool identity = true;
  for (int i = 0; i < r.in.rank; i++) {
    inv[perm[i]] = i;
    identity = identity && perm[i] == i;
  }

  IrShape moved = {r.in.rank, {0}}, flat = {n_kept + 1, {0}}, col = {n_kept + 1, {0}};
  for (int i = 0; i < r.in.rank; i++) moved.dims[i] = r.in.dims[perm[i]];
  for (int i = 0; i < n_kept; i++) flat.dims[i] = col.dims[i] = moved.dims[i];
  flat.dims[n_kept] = r.count;
  col.dims[n_kept] = 1;

  IrId xt = identity ? r.x : ir_transpose(g, r.x, r.in.rank, perm);
  IrId first = ir_argmax(g, reshape_to(g, xt, flat), n_kept); /* (K...) i32 */
  IrId routed = ir_mul(g, ir_one_hot(g, first, r.count), reshape_to(g, gout, col));
  IrId back = reshape_to(g, routed, moved);
  grad_in[0] = identity ? back : ir_transpose(g, back, r.in.rank, inv);
}
