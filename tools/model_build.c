/* Experiment -> compiled model (model_build.h). */
#include "tools/model_build.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/fe_lower.h"
#include "ir/ir_ops.h"
#include "passes/simplify.h"
#include "passes/train_graph.h"
#include "runtime/rt_assert.h"
#include "runtime/rt_progress.h"
#include "tools/experiment.h"

static IrGraph *simplified(IrGraph *g) {
  if (!g) return NULL;
  IrGraph *s = pass_simplify(g, NULL);
  ir_graph_free(g);
  return s;
}

IrGraph *model_train_graph(const FePreset *p, int batch, const FeLoss *loss, const FeOptimizer *opt,
                           bool clip, RtDiags *d) {
  FeLowerOptions lo = {.kind = FE_GRAPH_TRAIN, .batch = batch, .loss = loss->kind};
  IrGraph *g = fe_lower(p, &lo, NULL, d);
  if (!g) return NULL;
  PassOptimizer po = {.kind = experiment_pass_optimizer(opt->kind), .nesterov = opt->nesterov, .clip_grad_norm = clip};
  PassTraining tr;
  if (!pass_build_training(g, g->outputs[0], &po, &tr, d)) {
    ir_graph_free(g);
    return NULL;
  }
  return simplified(g);
}

IrGraph *model_eval_graph(const FePreset *p, int batch, FeLossKind loss, RtDiags *d) {
  FeLowerOptions lo = {.kind = FE_GRAPH_EVAL, .batch = batch, .loss = loss};
  return simplified(fe_lower(p, &lo, NULL, d));
}

IrGraph *model_infer_graph(const FePreset *p, int batch, RtDiags *d) {
  FeLowerOptions lo = {.kind = FE_GRAPH_INFER, .batch = batch};
  return simplified(fe_lower(p, &lo, NULL, d));
}

static RtSlot slot_of(ModelBuild *b, const IrGraph *g, PassSlot where, IrId id, const char *name) {
  const IrNode *n = g->nodes[id];
  RtSlot s = {.name = rt_arena_strdup(&b->arena, name ? name : n->name), .dtype = n->type.dtype == IR_F32 ? RT_F32 : RT_I32,
              .rank = n->type.shape.rank, .offset = where.offset,
              .init = n->init < IR_INIT_DATA ? (RtInitKind)n->init : RT_INIT_ZEROS, .init_value = n->value,
              .trainable = n->kind == IR_NODE_PARAM};
  for (int k = 0; k < s.rank; k++) s.dims[k] = n->type.shape.dims[k];
  return s;
}

/* Named inputs, then the outputs under the ABI's names. */
RtSlot *model_io_slots(ModelBuild *b, const IrGraph *g, const PassPlan *plan, const char *const *outputs,
                        int n_outputs, int *n) {
  RtSlot *s = rt_arena_alloc(&b->arena, ((size_t)g->n_nodes + 4) * sizeof *s);
  *n = 0;
  for (IrId id = 0; id < g->n_nodes; id++)
    if (g->nodes[id]->kind == IR_NODE_INPUT) s[(*n)++] = slot_of(b, g, plan->slots[id], id, NULL);
  for (int i = 0; i < n_outputs && i < g->n_outputs; i++)
    s[(*n)++] = slot_of(b, g, plan->output_slots[i], g->outputs[i], outputs[i]);
  return s;
}

void model_describe(const FePreset *p, int batch, const IrGraph *train, const PassPlan *train_plan,
                    const IrGraph *eval, const PassPlan *eval_plan, ModelBuild *b) {
  RtModel *m = &b->model;
  m->state_bytes = train_plan->region_bytes[PASS_REGION_STATE];
  b->state = rt_arena_alloc(&b->arena, ((size_t)train->n_nodes + 1) * sizeof *b->state);
  for (IrId id = 0; id < train->n_nodes; id++) {
    IrNodeKind k = train->nodes[id]->kind;
    if (k != IR_NODE_PARAM && k != IR_NODE_STATE) continue;
    b->state[m->n_state++] = slot_of(b, train, train_plan->slots[id], id, NULL);
    if (k == IR_NODE_PARAM) m->params += ir_shape_numel(&train->nodes[id]->type.shape);
  }
  m->state = b->state;
  static const char *const train_out[] = {"loss", "logits"}, *const eval_out[] = {"loss", "pred"};
  b->train_io = model_io_slots(b, train, train_plan, train_out, 2, &m->train.n_io);
  b->eval_io = model_io_slots(b, eval, eval_plan, eval_out, 2, &m->eval.n_io);
  m->train.io = b->train_io;
  m->eval.io = b->eval_io;
  m->train.io_bytes = train_plan->region_bytes[PASS_REGION_IO];
  m->train.scratch_bytes = train_plan->region_bytes[PASS_REGION_SCRATCH];
  m->eval.io_bytes = eval_plan->region_bytes[PASS_REGION_IO];
  m->eval.scratch_bytes = eval_plan->region_bytes[PASS_REGION_SCRATCH];
  const FeLayer *head = p->head;
  m->head = head->kind == FE_LAYER_CTC ? RT_HEAD_CTC : RT_HEAD_ATTENTION;
  m->batch = batch;
  m->channels = p->channels, m->height = p->height, m->width = p->width;
  m->max_len = head->head.max_length;
  m->classes = head->head.classes;
  m->symbols = head->head.symbols;
  const RtSlot *pred = rt_graph_slot(&m->eval, "pred");
  m->time_steps = pred && m->head == RT_HEAD_CTC ? (int)pred->dims[1] : 0;
  m->preset_name = p->name;
}

void model_build_free(ModelBuild *b) {
  cg_program_free(b->train);
  cg_program_free(b->eval);
  ir_graph_free(b->train_graph);
  ir_graph_free(b->eval_graph);
  free((void *)b->model.preset_text);
  rt_arena_free(&b->arena);
  memset(b, 0, sizeof *b);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = rt_xmalloc((size_t)(n > 0 ? n : 0) + 1);
  size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
  s[got] = 0;
  fclose(f);
  return s;
}

bool model_build(const FeExperiment *e, const ModelBuildOptions *o, ModelBuild *b, RtDiags *d) {
  double t0 = rt_now_seconds();
  memset(b, 0, sizeof *b);
  const FePreset *p = e->preset;
  b->train_graph = model_train_graph(p, e->batch_size, &e->loss, &e->optimizer, e->grad_clip > 0, d);
  b->eval_graph = b->train_graph ? model_eval_graph(p, e->batch_size, e->loss.kind, d) : NULL;
  if (!b->eval_graph) {
    model_build_free(b);
    return false;
  }
  CgOptions co = {.serial = o && o->serial};
  b->train = cg_program_compile(b->train_graph, &co, d);
  co.state_like = b->train ? b->train->plan : NULL;
  b->eval = b->train ? cg_program_compile(b->eval_graph, &co, d) : NULL;
  if (!b->eval) {
    model_build_free(b);
    return false;
  }
  model_describe(p, e->batch_size, b->train_graph, b->train->plan, b->eval_graph, b->eval->plan, b);
  b->model.train.step = b->train->step;
  b->model.eval.step = b->eval->step;
  b->model.train.kernels = b->train->kernel_names;
  b->model.train.n_kernels = b->train->n_kernel_names;
  b->model.eval.kernels = b->eval->kernel_names;
  b->model.eval.n_kernels = b->eval->n_kernel_names;
  b->model.preset_text = read_text(p->path);
  b->build_seconds = rt_now_seconds() - t0;
  if (o && o->log)
    fprintf(o->log, "compiled %s (batch %d): training step %d kernels (%d unique)%s, evaluation %d kernels%s, %.1f s\n",
            p->name, e->batch_size, b->train->n_kernels, b->train->n_unique, b->train->from_cache ? " from cache" : "",
            b->eval->n_kernels, b->eval->from_cache ? " from cache" : "", b->build_seconds);
  return true;
}
