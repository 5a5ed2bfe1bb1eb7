/* Checkpoint -> compiled model with its weights (checkpoint_model.h). */
#include "driver/checkpoint_model.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "driver/model_build.h"
#include "runtime/rt_checkpoint.h"
#include "runtime/rt_results.h"
#include "runtime/rt_safetensors.h"
#include "runtime/rt_settings.h"
#include "support/rt_assert.h"

/* The loss kind and hyperparameters recorded in the stored experiment settings (experiment_json),
 * read by the settings reader; the head's default loss and the built-in options where absent. */
static void stored_loss(const char *config_json, const FePreset *p, CheckpointModel *m) {
  RtSettings s = rt_settings_defaults();
  s.loss_kind = fe_preset_is_ctc(p) ? RT_LOSS_CTC : RT_LOSS_CROSS_ENTROPY;
  cJSON *o = config_json ? cJSON_Parse(config_json) : NULL;
  RtDiags ignored = {0}; /* a damaged entry keeps the defaults, as a missing one does */
  if (o) rt_settings_from_json(o, &s, "checkpoint", &ignored);
  rt_diags_free(&ignored);
  m->loss = (FeLossKind)s.loss_kind;
  RtTrainConfig c = rt_settings_train_config(&s);
  m->loss_scalars = (RtLossScalars){c.label_smoothing, c.focal_gamma, c.focal_alpha};
  cJSON_Delete(o);
}

bool checkpoint_open(const char *path, RtStFile **file, FePreset **preset, RtDiags *d) {
  *file = NULL;
  *preset = NULL;
  RtStFile *f = rt_st_load(path, d);
  if (!f || !rt_checkpoint_check_meta(f, path, d)) {
    rt_st_free(f);
    return false;
  }
  const char *text = rt_st_meta(f, rt_ckpt_key(RT_CKPT_PRESET));
  const char *name = rt_st_meta(f, rt_ckpt_key(RT_CKPT_PRESET_NAME));
  char label[600];
  snprintf(label, sizeof label, "%s (preset '%s' stored in the checkpoint)", path, name ? name : "?");
  FePreset *p = fe_preset_parse(label, text, strlen(text), d);
  if (!p || !rt_checkpoint_check_symbols(f, path, p->head->head.symbols, d)) {
    if (p) fe_preset_free(p);
    rt_st_free(f);
    return false;
  }
  if (name) p->name = rt_arena_strdup(&p->arena, name);
  *file = f;
  *preset = p;
  return true;
}

bool checkpoint_quant(const RtStFile *f, const char *path, FeQuantMode *quant, RtDiags *d) {
  const char *q = rt_st_meta(f, rt_ckpt_key(RT_CKPT_QUANTIZED));
  if (!q) return true;
  if (strcmp(q, "int8") != 0) {
    rt_diag_error(d, path, 0, 0, "is quantized as '%s', which this smelt does not know (it knows int8)", q);
    return false;
  }
  if (*quant == FE_QUANT_OBSERVE) {
    rt_diag_error(d, path, 0, 0, "is already quantized: quantize the fp32 checkpoint it was made from");
    return false;
  }
  *quant = FE_QUANT_INT8;
  return true;
}

bool checkpoint_model_load(const char *path, FeGraphKind kind, int batch, FeQuantMode quant, CheckpointModel *m,
                           RtDiags *d) {
  memset(m, 0, sizeof *m);
  RtStFile *f;
  if (!checkpoint_open(path, &f, &m->preset, d)) return false;
  if (!checkpoint_quant(f, path, &quant, d)) {
    rt_st_free(f);
    checkpoint_model_free(m);
    return false;
  }
  m->quant = quant;
  m->charset = strdup(rt_st_meta(f, rt_ckpt_key(RT_CKPT_CHARSET)));
  stored_loss(rt_st_meta(f, rt_ckpt_key(RT_CKPT_CONFIG)), m->preset, m);
  DrvInput in = {.preset = m->preset, .kind = kind, .batch = batch,
                 .loss = kind == FE_GRAPH_EVAL ? m->loss : FE_LOSS_CROSS_ENTROPY, .quant = quant};
  m->compiled = drv_compile(&in, NULL, DRV_STAGE_LOADED, d);
  if (m->compiled) {
    m->graph = m->compiled->units[0].graph;
    m->program = m->compiled->units[0].program;
  }
  if (!m->program) {
    rt_st_free(f);
    checkpoint_model_free(m);
    return false;
  }
  /* the graph's params and state, read from the checkpoint by name */
  const IrGraph *g = m->graph;
  const PassPlan *plan = m->program->plan;
  m->state = rt_region_alloc(plan->region_bytes[PASS_REGION_STATE]);
  int before = d->errors;
  for (IrId id = 0; id < g->n_nodes && d->errors == before; id++) {
    const IrNode *n = g->nodes[id];
    if (n->kind != IR_NODE_PARAM && n->kind != IR_NODE_STATE) continue;
    rt_st_read(f, n->name, n->type.dtype == IR_I8 ? RT_ST_I8 : RT_ST_F32, n->type.shape.rank, n->type.shape.dims,
               (char *)m->state + plan->slots[id].offset, d);
  }
  rt_st_free(f);
  if (d->errors != before) {
    checkpoint_model_free(m);
    return false;
  }
  /* an RtModel whose eval graph is this one (rt_evaluate, rt_io_*) */
  ModelBuild b = {0};
  model_describe(m->preset, batch, g, plan, NULL, g, plan, &b);
  if (kind == FE_GRAPH_INFER) { /* the prediction, then (FE_QUANT_OBSERVE) the calibration output */
    static const char *const out[] = {"pred", "absmax"};
    RT_ASSERT(g->n_outputs <= 2, "an inference graph has %d outputs", g->n_outputs);
    b.model.eval.io = model_io_slots(&b, g, plan, out, g->n_outputs, &b.model.eval.n_io);
    const RtSlot *pred = rt_graph_slot(&b.model.eval, "pred");
    b.model.time_steps = pred && b.model.head == RT_HEAD_CTC ? (int)pred->dims[1] : 0;
  }
  m->model = b.model;
  m->model.blas_gemm = m->compiled->opt.blas_gemm;
  m->arena = b.arena;
  m->model.eval.step = m->program->step;
  m->model.train = (RtGraphBin){0};
  return true;
}

void checkpoint_model_free(CheckpointModel *m) {
  drv_program_free(m->compiled);
  if (m->preset) fe_preset_free(m->preset);
  free(m->charset);
  free(m->state);
  rt_arena_free(&m->arena);
  memset(m, 0, sizeof *m);
}
