/* Fusion (see fuse.h). Three steps over the graph:
 *  1. views: forward, decide which layout ops are strided views of a materialised value;
 *  2. grouping: backward (consumers first), an op joins the kernel of its users when all of its
 *     users are in that one kernel and the kernel can take it (fusion_join_reason); otherwise it
 *     roots a new kernel. Joining a producer whose every user is inside the kernel is a graph
 *     contraction, so it can never create a cycle between kernels, and every value read across
 *     kernels is a kernel's root: ordering kernels by root position is a valid schedule;
 *  3. outputs: which members must be written to memory. */
#include "passes/fuse.h"

#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "support/rt_assert.h"

typedef enum Phase { PHASE_MAIN, PHASE_EPILOGUE } Phase;

typedef struct KernelBuild {
  PassKernelKind kind;
  IrShape space;   /* LOOP/GEMM: iteration space of the main phase */
  IrShape reduced; /* LOOP with reductions: the shape of the reduce results = epilogue space */
  int reduce_axes_n;
  int64_t reduce_axes[IR_MAX_RANK];
  int n_reductions;
  IrId *members; /* appended in reverse graph order */
  int n_members, cap_members;
  PassView *reads; /* (n_reads) distinct memory it reads from outside: base and offset */
  int n_reads, cap_reads;
  int n_writes;    /* members it surely writes to memory: root, reductions, sinks, the GEMM */
} KernelBuild;

typedef struct Fuser {
  const IrGraph *g;
  const PassFuseOptions *opt;
  int *user_start, *users; /* CSR: users of node n are users[user_start[n] .. user_start[n+1]) */
  bool *sink;              /* node is a graph output or an update value */
  bool *needs_contiguous;  /* read by a GEMM or opaque op, which take plain buffers */
  int *kernel_of;          /* -1: not in a kernel */
  Phase *phase;
  PassValue *values;
  KernelBuild *kernels;
  int n_kernels, cap_kernels;
} Fuser;

static void build_users(Fuser *f) {
  const IrGraph *g = f->g;
  int n = g->n_nodes;
  f->user_start = rt_xcalloc((size_t)n + 1, sizeof *f->user_start);
  for (IrId i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i]->n_in; k++) f->user_start[g->nodes[i]->in[k] + 1]++;
  for (int i = 0; i < n; i++) f->user_start[i + 1] += f->user_start[i];
  f->users = rt_xmalloc((size_t)f->user_start[n] * sizeof *f->users + 1);
  int *fill = rt_xcalloc((size_t)n, sizeof *fill);
  for (IrId i = 0; i < n; i++) {
    const IrNode *node = g->nodes[i];
    for (int k = 0; k < node->n_in; k++) {
      IrId o = node->in[k];
      /* a node using one operand twice counts as one user: look among its own earlier operands,
       * not among o's users so far (o may have thousands: a constant, a shared weight) */
      bool seen = false;
      for (int j = 0; j < k; j++) seen |= node->in[j] == o;
      if (!seen) f->users[f->user_start[o] + fill[o]++] = i;
    }
  }
  /* compact away the duplicate slots */
  int w = 0;
  for (int i = 0; i < n; i++) {
    int start = w;
    for (int j = 0; j < fill[i]; j++) f->users[w++] = f->users[f->user_start[i] + j];
    f->user_start[i] = start;
  }
  f->user_start[n] = w;
  free(fill);
  f->sink = rt_xcalloc((size_t)n, sizeof *f->sink);
  for (int i = 0; i < g->n_outputs; i++) f->sink[g->outputs[i]] = true;
  for (int i = 0; i < g->n_updates; i++) f->sink[g->updates[i].value] = true;
}

/* ---- step 1: views ---- */

static bool view_is_contiguous(const PassView *v, const IrShape *s) { return ir_shape_strides_contiguous(s, v->strides); }

static PassView identity_view(const IrGraph *g, IrId id) {
  PassView v = {.base = id};
  ir_shape_strides(&ir_type_of(g, id)->shape, v.strides);
  return v;
}

bool pass_view_compose(const IrGraph *g, const IrNode *m, const PassView *in, PassView *out) {
  IrViewFn view = ir_op_info[m->op].view;
  *out = (PassView){.base = in->base, .offset = in->offset};
  return view && view(g, m, in->strides, &out->offset, out->strides);
}

/* Marks which operands GEMM and opaque ops read: those must be contiguous buffers. */
static void mark_contiguous_needs(Fuser *f) {
  const IrGraph *g = f->g;
  f->needs_contiguous = rt_xcalloc((size_t)g->n_nodes, sizeof *f->needs_contiguous);
  for (IrId i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    if (n->kind != IR_NODE_OP) continue;
    bool plain = ir_op_info[n->op].fusion == IR_FUSE_GEMM || ir_op_has(n->op, IR_OPF_OWN_KERNEL);
    if (plain)
      for (int k = 0; k < n->n_in; k++) f->needs_contiguous[n->in[k]] = true;
  }
}

static void decide_views(Fuser *f) {
  const IrGraph *g = f->g;
  for (IrId i = 0; i < g->n_nodes; i++) {
    const IrNode *n = g->nodes[i];
    PassValue *v = &f->values[i];
    v->kernel = -1;
    if (n->kind != IR_NODE_OP) {
      *v = (PassValue){PASS_VALUE_LEAF, -1, identity_view(g, i)};
      continue;
    }
    v->kind = PASS_VALUE_BUFFER; /* refined in steps 2 and 3 */
    v->view = identity_view(g, i);
    if (!ir_op_has(n->op, IR_OPF_VIEW)) continue;
    IrId o = n->in[0];
    PassValue *ov = &f->values[o];
    PassView in = ov->kind == PASS_VALUE_VIEW ? ov->view : identity_view(g, o);
    PassView out;
    if (!pass_view_compose(g, n, &in, &out)) {
      /* a reshape of a non-contiguous view: materialise the operand, then view that */
      RT_ASSERT(ov->kind == PASS_VALUE_VIEW, "reshape of a buffer is always a view");
      ov->kind = PASS_VALUE_BUFFER;
      ov->view = identity_view(g, o);
      in = ov->view;
      bool viewable = pass_view_compose(g, n, &in, &out);
      RT_ASSERT(viewable, "reshape of a contiguous buffer must be a view");
    }
    /* a sink, or a strided view read by a library call, is materialised by a copy kernel */
    if (f->sink[i] || (f->needs_contiguous[i] && !view_is_contiguous(&out, &n->type.shape))) continue;
    v->kind = PASS_VALUE_VIEW;
    v->view = out;
  }
}

/* ---- step 2: grouping ---- */

static int kernel_new(Fuser *f, PassKernelKind kind, IrShape space) {
  if (f->n_kernels == f->cap_kernels) {
    f->cap_kernels = f->cap_kernels ? 2 * f->cap_kernels : 64;
    f->kernels = rt_xrealloc(f->kernels, (size_t)f->cap_kernels * sizeof *f->kernels);
  }
  f->kernels[f->n_kernels] = (KernelBuild){.kind = kind, .space = space};
  return f->n_kernels++;
}

/* ---- memory arguments ---- */

/* The memory behind operand o as the kernel's code addresses it (its base and offset), false
 * for a fill constant, which codegen emits as an immediate (codegen/cg_loop.c). */
static bool read_of(const Fuser *f, IrId o, PassView *r) {
  const IrNode *n = f->g->nodes[o];
  if (n->kind == IR_NODE_CONST && n->init != IR_INIT_DATA) return false;
  const PassValue *v = &f->values[o];
  *r = (PassView){.base = o};
  if (v->kind == PASS_VALUE_VIEW) r->base = v->view.base, r->offset = v->view.offset;
  return true;
}

static int find_read(const KernelBuild *kb, const PassView *r) {
  for (int i = 0; i < kb->n_reads; i++)
    if (kb->reads[i].base == r->base && kb->reads[i].offset == r->offset) return i;
  return -1;
}

static bool writes_memory(const Fuser *f, IrId id, bool root) {
  const IrNode *n = f->g->nodes[id];
  return root || f->sink[id] || ir_op_is_reduce(n->op) || ir_op_info[n->op].fusion == IR_FUSE_GEMM;
}

/* Pointer arguments kernel kb needs once id joins it: what it reads from outside (id's operands
 * added, id itself no longer outside) and what it writes. An upper bound: an output written in
 * place of an input shares that input's argument. */
static int args_with(const Fuser *f, const KernelBuild *kb, IrId id) {
  const IrNode *n = f->g->nodes[id];
  PassView self = {.base = id};
  int args = kb->n_reads - (find_read(kb, &self) >= 0) + kb->n_writes + writes_memory(f, id, false);
  for (int k = 0; k < n->n_in; k++) {
    PassView r, q;
    if (!read_of(f, n->in[k], &r) || find_read(kb, &r) >= 0) continue;
    bool again = false; /* the same memory as an earlier operand */
    for (int j = 0; j < k; j++)
      again |= read_of(f, n->in[j], &q) && q.base == r.base && q.offset == r.offset;
    args += !again;
  }
  return args;
}

/* Records id's reads and writes in kb (id itself is no longer read from outside). */
static void note_args(const Fuser *f, KernelBuild *kb, IrId id, bool root) {
  PassView self = {.base = id};
  int i = find_read(kb, &self);
  if (i >= 0) kb->reads[i] = kb->reads[--kb->n_reads];
  kb->n_writes += writes_memory(f, id, root);
  const IrNode *n = f->g->nodes[id];
  for (int k = 0; k < n->n_in; k++) {
    PassView r;
    if (!read_of(f, n->in[k], &r) || find_read(kb, &r) >= 0) continue;
    if (kb->n_reads == kb->cap_reads) {
      kb->cap_reads = kb->cap_reads ? 2 * kb->cap_reads : 8;
      kb->reads = rt_xrealloc(kb->reads, (size_t)kb->cap_reads * sizeof *kb->reads);
    }
    kb->reads[kb->n_reads++] = r;
  }
}

static void kernel_add(Fuser *f, int k, IrId id, Phase phase) {
  KernelBuild *kb = &f->kernels[k];
  note_args(f, kb, id, kb->n_members == 0);
  if (kb->n_members == kb->cap_members) {
    kb->cap_members = kb->cap_members ? 2 * kb->cap_members : 8;
    kb->members = rt_xrealloc(kb->members, (size_t)kb->cap_members * sizeof *kb->members);
  }
  kb->members[kb->n_members++] = id;
  f->kernel_of[id] = k;
  f->phase[id] = phase;
}

/* The single kernel holding every user of id, -1 if there is none (a user outside any kernel:
 * a view, or users spread over several kernels). Sets *phase to the users' common phase, or -1
 * when they mix phases. */
static int users_kernel(const Fuser *f, IrId id, int *phase) {
  int k = -2;
  *phase = -2;
  for (int j = f->user_start[id]; j < f->user_start[id + 1]; j++) {
    IrId u = f->users[j];
    int ku = f->kernel_of[u];
    if (ku < 0 || (k != -2 && ku != k)) return -1;
    k = ku;
    int p = (int)f->phase[u];
    *phase = *phase == -2 ? p : (*phase == p ? p : -1);
  }
  return k < 0 ? -1 : k;
}

static bool same_axes(const KernelBuild *kb, const IrNode *r) {
  if (kb->reduce_axes_n != r->attr[0].n) return false;
  for (int i = 0; i < r->attr[0].n; i++)
    if (kb->reduce_axes[i] != r->attr[0].v[i]) return false;
  return true;
}

/* NULL when node id may join kernel k (setting *phase), else why not. */
static const char *join_refusal(const Fuser *f, IrId id, int k, int users_phase, Phase *phase) {
  const IrNode *n = f->g->nodes[id];
  const KernelBuild *kb = &f->kernels[k];
  IrFusionClass c = ir_op_info[n->op].fusion;
  const IrShape *s = &n->type.shape;
  if (users_phase < 0) return "its users are in both phases of the kernel";
  if (kb->n_members >= PASS_FUSE_MAX_OPS) return "the kernel is full (PASS_FUSE_MAX_OPS)";
  if (args_with(f, kb, id) > PASS_FUSE_MAX_ARGS)
    return "the kernel would read or write more than PASS_FUSE_MAX_ARGS values";
  for (int j = f->user_start[id]; j < f->user_start[id + 1]; j++)
    if (ir_op_info[f->g->nodes[f->users[j]]->op].fusion == IR_FUSE_LAYOUT)
      return "a layout op reads it at other indices";
  if (c == IR_FUSE_ELEMENTWISE || (c == IR_FUSE_LAYOUT && ir_op_has(n->op, IR_OPF_VIEW))) {
    if (kb->kind == PASS_KERNEL_OPAQUE) return "the consumer is an opaque kernel";
    if (c == IR_FUSE_LAYOUT) return "a materialised layout op is a copy kernel of its own";
    if (kb->n_reductions && users_phase == PHASE_EPILOGUE) {
      if (!ir_shape_eq(s, &kb->reduced)) return "its shape differs from the reduced shape";
      *phase = PHASE_EPILOGUE;
      return NULL;
    }
    if (!ir_shape_eq(s, &kb->space)) return "its shape differs from the kernel's iteration space";
    if (kb->kind == PASS_KERNEL_GEMM && users_phase == PHASE_MAIN)
      return "it feeds the library call, which reads memory";
    *phase = kb->kind == PASS_KERNEL_GEMM ? PHASE_EPILOGUE : PHASE_MAIN;
    return NULL;
  }
  if (ir_op_is_reduce(n->op)) {
    if (kb->kind != PASS_KERNEL_LOOP) return "reductions fuse only into loop kernels";
    const IrShape *in = &ir_type_of(f->g, n->in[0])->shape;
    if (kb->n_reductions) {
      if (users_phase != PHASE_EPILOGUE || !ir_shape_eq(in, &kb->space) ||
          !ir_shape_eq(s, &kb->reduced) || !same_axes(kb, n))
        return "the kernel already reduces over other axes or shapes";
      *phase = PHASE_MAIN;
      return NULL;
    }
    if (!ir_shape_eq(s, &kb->space)) return "its result shape differs from the kernel's iteration space";
    *phase = PHASE_MAIN;
    return NULL;
  }
  if (c == IR_FUSE_GEMM) {
    if (kb->kind != PASS_KERNEL_LOOP || kb->n_reductions) return "a GEMM takes only an elementwise epilogue";
    if (!ir_shape_eq(s, &kb->space)) return "the epilogue's shape differs from the GEMM output";
    *phase = PHASE_MAIN;
    return NULL;
  }
  return "an opaque op is a kernel of its own";
}

/* Applies a join: reductions turn the kernel's members into its epilogue; a GEMM turns a loop
 * kernel into a GEMM kernel with the loop as epilogue. */
static void join(Fuser *f, IrId id, int k, Phase phase) {
  const IrNode *n = f->g->nodes[id];
  KernelBuild *kb = &f->kernels[k];
  if (ir_op_is_reduce(n->op)) {
    if (!kb->n_reductions) {
      for (int i = 0; i < kb->n_members; i++) f->phase[kb->members[i]] = PHASE_EPILOGUE;
      kb->reduced = kb->space;
      kb->space = ir_type_of(f->g, n->in[0])->shape;
      kb->reduce_axes_n = n->attr[0].n;
      memcpy(kb->reduce_axes, n->attr[0].v, sizeof(int64_t) * (size_t)n->attr[0].n);
    }
    kb->n_reductions++;
  } else if (ir_op_info[n->op].fusion == IR_FUSE_GEMM) {
    for (int i = 0; i < kb->n_members; i++) f->phase[kb->members[i]] = PHASE_EPILOGUE;
    kb->kind = PASS_KERNEL_GEMM;
    phase = PHASE_MAIN;
  }
  kernel_add(f, k, id, phase);
}

static PassKernelKind root_kind(const IrNode *n) {
  if (ir_op_info[n->op].fusion == IR_FUSE_GEMM) return PASS_KERNEL_GEMM;
  if (ir_op_has(n->op, IR_OPF_OWN_KERNEL)) return PASS_KERNEL_OPAQUE;
  return PASS_KERNEL_LOOP; /* elementwise, reductions, materialised views */
}

static void explain(const Fuser *f, IrId id, const char *why) {
  if (!f->opt || !f->opt->explain) return;
  char a[64];
  const IrNode *n = f->g->nodes[id];
  fprintf(f->opt->explain, "not fused: %s (%s) into its consumer: %s\n",
          ir_node_label(f->g, id, a, sizeof a), ir_op_info[n->op].name, why);
}

static void group(Fuser *f) {
  const IrGraph *g = f->g;
  for (IrId id = g->n_nodes - 1; id >= 0; id--) {
    const IrNode *n = g->nodes[id];
    if (n->kind != IR_NODE_OP || f->values[id].kind == PASS_VALUE_VIEW) continue;
    int users_phase;
    int k = users_kernel(f, id, &users_phase);
    Phase phase = PHASE_MAIN;
    const char *why = NULL;
    if (f->opt && f->opt->no_fusion) why = "fusion is off";
    else if (k < 0) why = f->user_start[id] == f->user_start[id + 1] ? NULL : "its users are in several kernels or views";
    else why = join_refusal(f, id, k, users_phase, &phase);
    if (!why && k >= 0) {
      join(f, id, k, phase);
      continue;
    }
    if (why && f->user_start[id] != f->user_start[id + 1]) explain(f, id, why);
    int nk = kernel_new(f, root_kind(n), n->type.shape);
    if (ir_op_is_reduce(n->op)) { /* a reduction root: its own input is the space */
      KernelBuild *kb = &f->kernels[nk];
      kb->reduced = n->type.shape;
      kb->space = ir_type_of(g, n->in[0])->shape;
      kb->reduce_axes_n = n->attr[0].n;
      memcpy(kb->reduce_axes, n->attr[0].v, sizeof(int64_t) * (size_t)n->attr[0].n);
      kb->n_reductions = 1;
    }
    kernel_add(f, nk, id, PHASE_MAIN);
  }
}

/* ---- step 3: outputs and the final structures ---- */

/* Is id read outside kernel k: by another kernel, a view, or as an output/update? */
static bool read_outside(const Fuser *f, IrId id, int k) {
  if (f->sink[id]) return true;
  for (int j = f->user_start[id]; j < f->user_start[id + 1]; j++)
    if (f->kernel_of[f->users[j]] != k) return true;
  return false;
}

static PassFusion *finish(Fuser *f) {
  const IrGraph *g = f->g;
  PassFusion *out = rt_xcalloc(1, sizeof *out);
  out->g = g;
  out->values = f->values;
  out->n_kernels = f->n_kernels;
  out->kernels = rt_xcalloc((size_t)f->n_kernels + 1, sizeof *out->kernels);
  for (int k = 0; k < f->n_kernels; k++) {
    KernelBuild *kb = &f->kernels[k];
    int index = f->n_kernels - 1 - k; /* built in reverse root order; scheduled in root order */
    PassKernel *pk = &out->kernels[index];
    pk->kind = kb->kind;
    pk->space = kb->space;
    pk->n_reductions = kb->n_reductions;
    pk->n_ops = kb->n_members;
    pk->ops = rt_xmalloc((size_t)kb->n_members * sizeof *pk->ops);
    pk->outputs = rt_xmalloc((size_t)kb->n_members * sizeof *pk->outputs);
    /* graph order, except that a GEMM's library op goes first (epilogue members that do not
     * depend on it may precede it in the graph, but nothing in the kernel feeds it) */
    int w = 0;
    if (kb->kind == PASS_KERNEL_GEMM)
      for (int i = 0; i < kb->n_members; i++)
        if (ir_op_info[g->nodes[kb->members[i]]->op].fusion == IR_FUSE_GEMM) pk->ops[w++] = kb->members[i];
    RT_ASSERT(kb->kind != PASS_KERNEL_GEMM || w == 1, "a GEMM kernel holds one library op, not %d", w);
    for (int i = kb->n_members - 1; i >= 0; i--)
      if (w == 0 || kb->members[i] != pk->ops[0] || kb->kind != PASS_KERNEL_GEMM) pk->ops[w++] = kb->members[i];
    pk->epilogue = rt_xcalloc((size_t)kb->n_members + 1, sizeof *pk->epilogue);
    for (int i = 0; i < pk->n_ops; i++) {
      IrId id = pk->ops[i];
      PassValue *v = &f->values[id];
      pk->epilogue[i] = f->phase[id] == PHASE_EPILOGUE;
      v->kernel = index;
      bool memory = read_outside(f, id, k);
      if (kb->kind == PASS_KERNEL_LOOP) memory |= ir_op_is_reduce(g->nodes[id]->op); /* accumulators */
      if (kb->kind == PASS_KERNEL_GEMM) memory |= i == 0; /* the library writes memory */
      if (kb->kind == PASS_KERNEL_OPAQUE) memory = true;
      v->kind = memory ? PASS_VALUE_BUFFER : PASS_VALUE_LOCAL;
      if (memory) pk->outputs[pk->n_outputs++] = id;
    }
    free(kb->members);
    free(kb->reads);
  }
  return out;
}

PassFusion *pass_fuse(const IrGraph *g, const PassFuseOptions *opt) {
  Fuser f = {.g = g, .opt = opt};
  size_t n = (size_t)g->n_nodes;
  f.values = rt_xcalloc(n + 1, sizeof *f.values);
  f.kernel_of = rt_xmalloc((n + 1) * sizeof *f.kernel_of);
  for (size_t i = 0; i < n; i++) f.kernel_of[i] = -1;
  f.phase = rt_xcalloc(n + 1, sizeof *f.phase);
  build_users(&f);
  mark_contiguous_needs(&f);
  decide_views(&f);
  group(&f);
  PassFusion *out = finish(&f);
  free(f.user_start);
  free(f.users);
  free(f.sink);
  free(f.needs_contiguous);
  free(f.kernel_of);
  free(f.phase);
  free(f.kernels);
  return out;
}

void pass_fusion_free(PassFusion *f) {
  if (!f) return;
  for (int k = 0; k < f->n_kernels; k++) {
    free(f->kernels[k].ops);
    free(f->kernels[k].epilogue);
    free(f->kernels[k].outputs);
  }
  free(f->kernels);
  free(f->values);
  free(f);
}

void pass_fusion_print(const PassFusion *f, FILE *out) {
  static const char *const kinds[] = {"loop", "gemm", "opaque"};
  const IrGraph *g = f->g;
  for (int k = 0; k < f->n_kernels; k++) {
    const PassKernel *pk = &f->kernels[k];
    char s[96], lab[64];
    IrType t = {IR_F32, pk->space};
    fprintf(out, "kernel %d %s %s", k, kinds[pk->kind], ir_type_str(&t, s, sizeof s) + 3);
    if (pk->n_reductions) fprintf(out, " reductions=%d", pk->n_reductions);
    fprintf(out, " ops=%d:", pk->n_ops);
    for (int i = 0; i < pk->n_ops; i++) {
      IrId id = pk->ops[i];
      fprintf(out, " %s=%s%s", ir_node_label(g, id, lab, sizeof lab), ir_op_info[g->nodes[id]->op].name,
              f->values[id].kind == PASS_VALUE_BUFFER ? "*" : "");
    }
    fputc('\n', out);
  }
}
