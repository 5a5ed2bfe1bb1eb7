/* Experiment -> compiled model (model_build.h). */
#include "driver/model_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/experiment.h"
#include "frontend/fe_lower.h"
#include "ir/ir_ops.h"
#include "passes/train_split.h"
#include "runtime/rt_progress.h"
#include "support/rt_assert.h"

PassOptimizer model_optimizer(const FeExperiment *e) {
  PassOptimizer o = drv_optimizer(&e->optimizer, e->grad_clip > 0);
  o.layer_norms = true;
  return o;
}

DrvInput model_input(const FeExperiment *e, FeGraphKind kind, const char *step) {
  return (DrvInput){.preset = e->preset, .kind = kind, .batch = e->batch_size, .loss = e->loss.kind, .step = step};
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

/* The io slot name of a layer's squared gradient norm, RT_SLOT_GRAD_SQ "<layer>", in b's arena. */
static const char *grad_sq_name(ModelBuild *b, const char *layer) {
  size_t size = strlen(RT_SLOT_GRAD_SQ) + strlen(layer) + 1;
  char *name = rt_arena_alloc(&b->arena, size);
  snprintf(name, size, "%s%s", RT_SLOT_GRAD_SQ, layer);
  return name;
}

void model_describe(const FePreset *p, int batch, const IrGraph *train, const PassPlan *train_plan,
                    const PassTraining *training, const IrGraph *eval, const PassPlan *eval_plan, ModelBuild *b) {
  RtModel *m = &b->model;
  m->state_bytes = train_plan->region_bytes[PASS_REGION_STATE];
  b->state = rt_arena_alloc(&b->arena, ((size_t)train->n_nodes + 1) * sizeof *b->state);
  for (IrId id = 0; id < train->n_nodes; id++) {
    IrNodeKind k = train->nodes[id]->kind;
    if (k != IR_NODE_PARAM && k != IR_NODE_STATE) continue;
    RtSlot *s = &b->state[m->n_state++];
    *s = slot_of(b, train, train_plan->slots[id], id, NULL);
    if (k != IR_NODE_PARAM) continue;
    m->params += ir_shape_numel(&train->nodes[id]->type.shape);
    s->lstm_bias = fe_preset_param_is_lstm_bias(p, s->name);
  }
  m->state = b->state;
  static const char *const train_out[] = {"loss", "logits"}, *const eval_out[] = {"loss", "pred", "attention"};
  /* the layer norms, when the step has them, are its outputs from first_norm_output on */
  const char **layers = NULL;
  int n_layers = training && training->n_layers ? pass_grad_layers(train, &b->arena, &layers) : 0;
  int first = n_layers ? training->first_norm_output : train->n_outputs;
  RT_ASSERT(!n_layers || (n_layers == training->n_layers && first + n_layers == train->n_outputs && first <= 2),
            "training step with %d outputs, layer norms from %d, for %d layers", train->n_outputs, first, n_layers);
  const char **names = rt_arena_alloc(&b->arena, ((size_t)train->n_outputs + 1) * sizeof *names);
  for (int i = 0; i < train->n_outputs; i++) {
    if (i < first) {
      names[i] = i < 2 ? train_out[i] : NULL; /* listed only up to the ABI's two */
      continue;
    }
    names[i] = grad_sq_name(b, layers[i - first]);
  }
  int listed = n_layers ? train->n_outputs : train->n_outputs < 2 ? train->n_outputs : 2;
  b->train_io = model_io_slots(b, train, train_plan, names, listed, &m->train.n_io);
  b->eval_io = model_io_slots(b, eval, eval_plan, eval_out, 3, &m->eval.n_io);
  m->train.io = b->train_io;
  m->eval.io = b->eval_io;
  m->train.io_bytes = train_plan->region_bytes[PASS_REGION_IO];
  m->train.scratch_bytes = train_plan->region_bytes[PASS_REGION_SCRATCH];
  m->eval.io_bytes = eval_plan->region_bytes[PASS_REGION_IO];
  m->eval.scratch_bytes = eval_plan->region_bytes[PASS_REGION_SCRATCH];
  const FeLayer *head = p->head;
  m->head = fe_preset_is_ctc(p) ? RT_HEAD_CTC : RT_HEAD_ATTENTION;
  m->batch = batch;
  m->channels = p->channels, m->height = p->height, m->width = p->width;
  m->max_len = head->head.max_length;
  m->classes = head->head.classes;
  m->symbols = head->head.symbols;
  const RtSlot *pred = rt_graph_slot(&m->eval, "pred");
  m->time_steps = pred && m->head == RT_HEAD_CTC ? (int)pred->dims[1] : 0;
  m->preset_name = p->name;
}

void model_describe_update(const IrGraph *gradients, const PassPlan *gradients_plan, const IrGraph *update,
                           const PassPlan *update_plan, ModelBuild *b) {
  RtModel *m = &b->model;
  const char **layers = NULL;
  int n_layers = pass_grad_layers(update, &b->arena, &layers);
  RT_ASSERT(n_layers == update->n_outputs, "update phase with %d outputs for %d layers", update->n_outputs, n_layers);
  const char **norm_names = rt_arena_alloc(&b->arena, ((size_t)n_layers + 1) * sizeof *norm_names);
  for (int i = 0; i < n_layers; i++) norm_names[i] = grad_sq_name(b, layers[i]);
  m->update.io = model_io_slots(b, update, update_plan, norm_names, n_layers, &m->update.n_io);
  m->update.io_bytes = update_plan->region_bytes[PASS_REGION_IO];
  m->update.scratch_bytes = update_plan->region_bytes[PASS_REGION_SCRATCH];
  /* the gradient phase's outputs: the step's own, then one per gradient input, in their order */
  const char **grads = rt_arena_alloc(&b->arena, ((size_t)update->n_nodes + 1) * sizeof *grads);
  int n_grads = 0;
  size_t plen = strlen(PASS_GRAD_INPUT_PREFIX);
  for (IrId id = 0; id < update->n_nodes; id++) {
    const IrNode *n = update->nodes[id];
    if (n->kind == IR_NODE_INPUT && n->name && !strncmp(n->name, PASS_GRAD_INPUT_PREFIX, plen)) grads[n_grads++] = n->name;
  }
  int first = gradients->n_outputs - n_grads;
  RT_ASSERT(first >= 1 && first <= 2, "gradient phase with %d outputs for %d gradients", gradients->n_outputs, n_grads);
  static const char *const step_out[] = {"loss", "logits"};
  const char **names = rt_arena_alloc(&b->arena, ((size_t)gradients->n_outputs + 1) * sizeof *names);
  for (int i = 0; i < gradients->n_outputs; i++) names[i] = i < first ? step_out[i] : grads[i - first];
  m->train.io = model_io_slots(b, gradients, gradients_plan, names, gradients->n_outputs, &m->train.n_io);
  b->train_io = (RtSlot *)m->train.io;
  for (int i = 0; i < n_grads; i++) {
    const RtSlot *out = rt_graph_slot(&m->train, grads[i]), *in = rt_graph_slot(&m->update, grads[i]);
    RT_ASSERT(out && in && rt_slot_numel(out) == rt_slot_numel(in), "gradient %s does not match its input", grads[i]);
  }
}

void model_build_free(ModelBuild *b) {
  drv_program_free(b->update);
  drv_program_free(b->train);
  drv_program_free(b->eval);
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

bool model_build(const FeExperiment *experiment, const ModelBuildOptions *o, ModelBuild *b, RtDiags *d) {
  double t0 = rt_now_seconds();
  memset(b, 0, sizeof *b);
  int shards = o && o->shards > 1 ? o->shards : 1;
  RT_ASSERT(experiment->batch_size % shards == 0, "batch %d over %d processes", experiment->batch_size, shards);
  FeExperiment local = *experiment; /* each process's share of the batch */
  local.batch_size /= shards;
  const FeExperiment *e = &local;
  const FePreset *p = e->preset;
  /* bf16 is the training step's: the evaluation graph, whose metrics are reported, stays fp32 */
  DrvOptions opt = {.optimizer = model_optimizer(e), .serial = o && o->serial, .bf16 = e->precision == RT_PRECISION_BF16};
  bool phases = shards > 1;
  DrvInput train = model_input(e, FE_GRAPH_TRAIN, NULL), eval = model_input(e, FE_GRAPH_EVAL, NULL);
  train.phase = phases ? DRV_PHASE_GRADIENTS : DRV_PHASE_STEP;
  train.sync_processes = phases && e->sync_batchnorm ? shards : 0;
  b->train = drv_compile(&train, &opt, DRV_STAGE_LOADED, d);
  opt.state_like = b->train ? b->train->units[0].plan : NULL;
  if (phases && b->train) { /* the optimizer is elementwise: no products to round to bf16 */
    DrvInput update = train;
    update.phase = DRV_PHASE_UPDATE;
    b->update = drv_compile(&update, &opt, DRV_STAGE_LOADED, d);
  }
  opt.bf16 = false;
  b->eval = b->train && (!phases || b->update) ? drv_compile(&eval, &opt, DRV_STAGE_LOADED, d) : NULL;
  if (!b->eval) {
    model_build_free(b);
    return false;
  }
  const DrvUnit *tu = &b->train->units[0], *eu = &b->eval->units[0];
  model_describe(p, e->batch_size, tu->graph, tu->plan, &tu->training, eu->graph, eu->plan, b);
  if (phases) {
    const DrvUnit *uu = &b->update->units[0];
    model_describe_update(tu->graph, tu->plan, uu->graph, uu->plan, b);
    b->model.update.step = uu->program->step;
    b->model.update.kernels = uu->program->kernel_names;
    b->model.update.n_kernels = uu->program->n_kernel_names;
  }
  b->model.blas_gemm = b->train->opt.blas_gemm;
  b->model.train.step = tu->program->step;
  b->model.eval.step = eu->program->step;
  b->model.train.kernels = tu->program->kernel_names;
  b->model.train.n_kernels = tu->program->n_kernel_names;
  b->model.eval.kernels = eu->program->kernel_names;
  b->model.eval.n_kernels = eu->program->n_kernel_names;
  b->model.preset_text = read_text(p->path);
  b->build_seconds = rt_now_seconds() - t0;
  if (o && o->log)
    fprintf(o->log, "compiled %s (batch %d%s): training step %d kernels (%d unique)%s%s, evaluation %d kernels%s, %.1f s\n",
            p->name, e->batch_size, phases ? " a process" : "", tu->n_kernels, tu->n_unique,
            b->train->from_cache ? " from cache" : "", phases ? " in two phases" : "", eu->n_kernels,
            b->eval->from_cache ? " from cache" : "", b->build_seconds);
  return true;
}
