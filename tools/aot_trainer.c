/* The C file of a standalone trainer (aot.h): the RtModel's tables, the experiment's
 * RtTrainConfig and data settings as initialisers, and a main() that hands them to the runtime's
 * rt_trainer_main. Every field is written out by name; the size checks below make a field added
 * to one of these structs a compile error here rather than a setting the trainer silently drops. */
#include <inttypes.h>
#include <string.h>

#include "tools/aot.h"

/* x86-64 (LP64) sizes of the structs written below, with every field they have today. */
_Static_assert(sizeof(RtTrainConfig) == 320, "RtTrainConfig changed: write its new fields in aot_trainer.c");
_Static_assert(sizeof(RtScheduleConfig) == 72, "RtScheduleConfig changed: update aot_trainer.c");
_Static_assert(sizeof(RtAugmentSettings) == 72, "RtAugmentSettings changed: update aot_trainer.c");
_Static_assert(sizeof(RtModel) == 200, "RtModel changed: update aot_trainer.c");
_Static_assert(sizeof(RtGraphBin) == 56, "RtGraphBin changed: update aot_trainer.c");
_Static_assert(sizeof(RtSlot) == 96, "RtSlot changed: update aot_trainer.c");
_Static_assert(sizeof(RtTrainerData) == 64, "RtTrainerData changed: update aot_trainer.c");

static void str_or_null(FILE *f, const char *s) {
  if (s) aot_c_string(f, s, strlen(s));
  else fputs("NULL", f);
}

static void slots(FILE *f, const char *name, const RtSlot *s, int n) {
  fprintf(f, "static const RtSlot %s[] = {\n", name);
  for (int i = 0; i < n; i++) {
    fputs("    {.name = ", f);
    str_or_null(f, s[i].name);
    fprintf(f, ", .dtype = (RtDtype)%d, .rank = %d, .dims = {", (int)s[i].dtype, s[i].rank);
    for (int k = 0; k < s[i].rank; k++) fprintf(f, "%s%" PRId64, k ? ", " : "", s[i].dims[k]);
    fprintf(f, "}, .offset = %" PRId64 ", .init = (RtInitKind)%d, .init_value = ", s[i].offset, (int)s[i].init);
    aot_c_double(f, s[i].init_value);
    fprintf(f, ", .trainable = %d},\n", s[i].trainable);
  }
  if (!n) fputs("    {0},\n", f);
  fputs("};\n", f);
}

static void graph(FILE *f, const char *field, const RtGraphBin *g, const char *step, const char *io) {
  fprintf(f,
          "  m.%s = (RtGraphBin){.step = %s, .io_bytes = %" PRId64 ", .scratch_bytes = %" PRId64
          ", .io = %s, .n_io = %d,\n"
          "                       .kernels = %s_kernels, .n_kernels = %s_kernel_count};\n",
          field, step, g->io_bytes, g->scratch_bytes, io, g->n_io, step, step);
}

static void model(FILE *f, const AotTrainer *t) {
  const RtModel *m = t->model;
  fprintf(f, "  static RtModel m = {.state_bytes = %" PRId64 ", .state = STATE, .n_state = %d,\n", m->state_bytes,
          m->n_state);
  fprintf(f,
          "                     .head = (RtHead)%d, .batch = %d, .channels = %d, .height = %d, .width = %d,\n"
          "                     .max_len = %d, .classes = %d, .time_steps = %d, .symbols = %d,\n"
          "                     .params = %" PRId64 ", .preset_text = PRESET_TEXT, .preset_name = ",
          (int)m->head, m->batch, m->channels, m->height, m->width, m->max_len, m->classes, m->time_steps, m->symbols,
          m->params);
  str_or_null(f, m->preset_name);
  fputs("};\n", f);
  graph(f, "train", &m->train, t->train_step, "TRAIN_IO");
  graph(f, "eval", &m->eval, t->eval_step, "EVAL_IO");
}

#define DBL(field, value)                 \
  do {                                    \
    fprintf(f, "  %s = ", field);         \
    aot_c_double(f, value);               \
    fputs(";\n", f);                      \
  } while (0)
#define INT(field, value) fprintf(f, "  %s = %lld;\n", field, (long long)(value))

static void train_config(FILE *f, const RtTrainConfig *c) {
  fputs("  RtTrainConfig *c = &spec.train;\n  *c = rt_train_config_defaults();\n  c->experiment = ", f);
  str_or_null(f, c->experiment);
  fputs(";\n  c->config_json = CONFIG_JSON;\n", f);
  INT("c->epochs", c->epochs);
  fprintf(f, "  c->seed = %" PRIu64 "u;\n", c->seed);
  DBL("c->lr", c->lr);
  DBL("c->beta1", c->beta1);
  DBL("c->beta2", c->beta2);
  DBL("c->eps", c->eps);
  DBL("c->momentum", c->momentum);
  DBL("c->weight_decay", c->weight_decay);
  DBL("c->grad_clip", c->grad_clip);
  DBL("c->dropout", c->dropout);
  DBL("c->label_smoothing", c->label_smoothing);
  DBL("c->focal_gamma", c->focal_gamma);
  DBL("c->focal_alpha", c->focal_alpha);
  const RtScheduleConfig *s = &c->schedule;
  INT("c->schedule.kind", s->kind);
  DBL("c->schedule.base_lr", s->base_lr);
  INT("c->schedule.higher_is_better", s->higher_is_better);
  DBL("c->schedule.factor", s->factor);
  INT("c->schedule.patience", s->patience);
  DBL("c->schedule.min_lr", s->min_lr);
  INT("c->schedule.warmup_epochs", s->warmup_epochs);
  INT("c->schedule.step_size", s->step_size);
  DBL("c->schedule.gamma", s->gamma);
  INT("c->schedule.epochs", s->epochs);
  INT("c->schedule.steps_per_epoch", s->steps_per_epoch);
  INT("c->schedule_metric", c->schedule_metric);
  INT("c->early_stopping", c->early_stopping);
  INT("c->early_metric", c->early_metric);
  INT("c->patience", c->patience);
  DBL("c->min_delta", c->min_delta);
  const RtAugmentSettings *a = &c->augment;
  INT("c->augment.enabled", a->enabled);
  DBL("c->augment.rotation", a->rotation);
  DBL("c->augment.shear", a->shear);
  DBL("c->augment.scale", a->scale);
  DBL("c->augment.translate", a->translate);
  DBL("c->augment.noise", a->noise);
  DBL("c->augment.blur", a->blur);
  DBL("c->augment.contrast", a->contrast);
  DBL("c->augment.brightness", a->brightness);
  INT("c->background_loader", c->background_loader);
  INT("c->max_steps", c->max_steps);
  /* set by rt_trainer_main from the command line: out_dir, resume, progress, charset */
}

static void data(FILE *f, const RtTrainerData *d) {
  INT("spec.data.synthetic", d->synthetic);
  fputs("  spec.data.train_dir = ", f);
  str_or_null(f, d->train_dir);
  fputs(";\n  spec.data.val_dir = ", f);
  str_or_null(f, d->val_dir);
  fputs(";\n", f);
  DBL("spec.data.val_split", d->val_split);
  INT("spec.data.train_count", d->train_count);
  INT("spec.data.val_count", d->val_count);
  INT("spec.data.synth_seed", d->synth_seed);
  INT("spec.data.min_len", d->min_len);
  INT("spec.data.max_len", d->max_len);
  fputs("  spec.data.charset = ", f);
  str_or_null(f, d->charset);
  fputs(";\n", f);
}

void aot_trainer_source(FILE *f, const AotTrainer *t) {
  const RtModel *m = t->model;
  fprintf(f,
          "/* A standalone trainer generated by `smelt build` (smelt %s): the model's tables and the\n"
          " * experiment's settings. The compiled steps are in the object file linked beside this one,\n"
          " * the training loop in the runtime library (runtime/rt_trainer_main.h). Do not edit. */\n"
          "#include <math.h>\n#include <stddef.h>\n\n#include \"runtime/rt_trainer_main.h\"\n\n",
          SMELT_VERSION);
  const char *steps[2] = {t->train_step, t->eval_step};
  for (int i = 0; i < 2; i++)
    fprintf(f,
            "void %s(void *state, void *io, void *scratch);\n"
            "extern const RtKernelName %s_kernels[];\nextern const int32_t %s_kernel_count;\n",
            steps[i], steps[i], steps[i]);
  fputc('\n', f);
  slots(f, "STATE", m->state, m->n_state);
  slots(f, "TRAIN_IO", m->train.io, m->train.n_io);
  slots(f, "EVAL_IO", m->eval.io, m->eval.n_io);
  fputs("\nstatic const char PRESET_TEXT[] =\n    ", f);
  str_or_null(f, m->preset_text ? m->preset_text : "");
  fputs(";\n\nstatic const char CONFIG_JSON[] =\n    ", f);
  str_or_null(f, t->train->config_json ? t->train->config_json : "{}");
  fputs(";\n\nint main(int argc, char **argv) {\n", f);
  model(f, t);
  fprintf(f, "  RtTrainerSpec spec = {.model = &m, .max_threads = %d, .built_from =\n    ", t->max_threads);
  str_or_null(f, t->built_from);
  fputs("};\n", f);
  train_config(f, t->train);
  data(f, t->data);
  fputs("  return rt_trainer_main(argc, argv, &spec);\n}\n", f);
}
