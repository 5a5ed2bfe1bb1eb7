/* `smelt emit CHECKPOINT -o DIR`: a deployable inference object. Rebuilds the preset from the
 * checkpoint's metadata, has the driver lower and plan its inference graph at a fixed batch for
 * one thread with the checkpoint's weights as the state region, and writes DIR/NAME.o (the
 * compiled graph, the weights as 64-byte aligned read-only data, the C API of
 * driver/aot_deploy.c) and DIR/NAME.h (its documentation). The object needs only libm and libc
 * (and OpenBLAS when SMELT_GEMM=openblas). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/drv_pipeline.h"
#include "frontend/fe_preset.h"
#include "support/rt_assert.h"
#include "runtime/rt_charset.h"
#include "runtime/rt_fpenv.h"
#include "support/rt_fs.h"
#include "runtime/rt_results.h"
#include "runtime/rt_safetensors.h"
#include "driver/aot.h"
#include "tools/cli.h"
#include "driver/checkpoint_model.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt emit CHECKPOINT -o DIR [--name NAME] [--batch N] [--weights-file] [--cpu NAME]\n"
    "\n"
    "Compiles the inference graph of a checkpoint's model into DIR/NAME.o and DIR/NAME.h for\n"
    "C programs: `cc app.c NAME.o -lm`. The header documents the input layout, the\n"
    "charset, the scratch size and the functions NAME_run and NAME_decode.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR     output folder (created)\n"
    "  --name NAME       C prefix of every exported symbol and the file names (default: the\n"
    "                    preset's name)\n"
    "  --batch N         images per NAME_run call (default 1)\n"
    "  --weights-file    write the weights to DIR/NAME.weights instead of embedding them;\n"
    "                    NAME_run then takes a pointer to them\n"
    "  --cpu NAME        compile for this LLVM CPU (e.g. x86-64-v3) instead of this machine's\n"
    "  -h, --help        show this help\n";

typedef struct EmitArgs {
  const char *checkpoint, *out, *name, *cpu;
  int64_t batch;
  bool weights_file;
} EmitArgs;

static int parse_args(int argc, char **argv, EmitArgs *a) {
  static const struct option opts[] = {{"out", required_argument, NULL, 'o'},    {"name", required_argument, NULL, 'n'},
                                       {"batch", required_argument, NULL, 'b'},  {"weights-file", no_argument, NULL, 'w'},
                                       {"cpu", required_argument, NULL, 'c'},    {"help", no_argument, NULL, 'h'},
                                       {0}};
  *a = (EmitArgs){.batch = 1};
  int c;
  while ((c = cli_getopt(argc, argv, "ho:", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return -1;
      case 'o': a->out = optarg; break;
      case 'n': a->name = optarg; break;
      case 'c': a->cpu = optarg; break;
      case 'w': a->weights_file = true; break;
      case 'b':
        if (!cli_parse_int("--batch", optarg, 1, 4096, &a->batch, USAGE)) return CLI_EXIT_USAGE;
        break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one CHECKPOINT file");
  a->checkpoint = argv[optind];
  if (!a->out) return cli_usage_error(USAGE, "missing -o DIR");
  if (a->name && !aot_is_identifier(a->name))
    return cli_usage_error(USAGE, "--name must be a C identifier (letters, digits, '_'), got '%s'", a->name);
  return CLI_EXIT_OK;
}

/* The preset's name as a C identifier. */
static void default_name(const char *preset, char *buf, size_t size) {
  size_t k = 0;
  if (preset[0] >= '0' && preset[0] <= '9') buf[k++] = 'm';
  for (const char *s = preset; *s && k + 1 < size; s++) buf[k++] = isalnum((unsigned char)*s) ? *s : '_';
  buf[k] = 0;
  if (!k) snprintf(buf, size, "model");
}

/* What the object is made of, from the checkpoint file, and what goes around its step function. */
typedef struct Source {
  const EmitArgs *args;
  RtStFile *file;
  FePreset *preset;
  const char *charset, *epoch, *step;
  char name[128], step_fn[160];
  DrvProgram *prog; /* the inference graph, planned, then compiled */
  void *weights;
  AotDeploy deploy;
  char about[1024];
} Source;

static void source_free(Source *s) {
  free(s->weights);
  drv_program_free(s->prog);
  fe_preset_free(s->preset);
  rt_st_free(s->file);
}

static bool deploy_emitted(CgContext *c, const DrvProgram *p, void *user, RtDiags *d);

/* The inference graph at `batch`, planned for one thread, with the checkpoint's weights. */
static bool load_source(const EmitArgs *a, Source *s, RtDiags *d) {
  memset(s, 0, sizeof *s);
  s->args = a;
  const char *path = a->checkpoint;
  if (!checkpoint_open(path, &s->file, &s->preset, d)) return false;
  s->charset = rt_st_meta(s->file, rt_ckpt_key(RT_CKPT_CHARSET));
  s->epoch = rt_st_meta(s->file, rt_ckpt_key(RT_CKPT_EPOCH));
  s->step = rt_st_meta(s->file, rt_ckpt_key(RT_CKPT_STEP));
  if (a->name) snprintf(s->name, sizeof s->name, "%s", a->name);
  else default_name(s->preset->name, s->name, sizeof s->name);
  snprintf(s->step_fn, sizeof s->step_fn, "%s_step", s->name);
  FeQuantMode quant = FE_QUANT_NONE;
  if (!checkpoint_quant(s->file, path, &quant, d)) return false;
  DrvInput in = {.preset = s->preset, .kind = FE_GRAPH_INFER, .batch = (int)a->batch, .step = s->step_fn, .quant = quant};
  /* no thread pool: the object must not need smelt's runtime */
  DrvOptions o = {.serial = true, .cpu = a->cpu, .no_cache = true, .deployable = true, .module = s->name, .prefix = s->name,
                  .on_emitted = deploy_emitted, .user = s};
  s->prog = drv_program_new(&in, 1, &o);
  if (!drv_run(s->prog, DRV_STAGE_PLANNED, d)) return false;
  const IrGraph *g = s->prog->units[0].graph;
  const PassPlan *plan = s->prog->units[0].plan;
  RT_ASSERT(g->n_updates == 0 && g->n_outputs >= 1, "the inference graph updates state or has no output");
  s->weights = rt_xcalloc(1, (size_t)plan->region_bytes[PASS_REGION_STATE] + 1);
  for (IrId id = 0; id < g->n_nodes; id++) {
    const IrNode *n = g->nodes[id];
    if (n->kind != IR_NODE_PARAM && n->kind != IR_NODE_STATE) continue;
    RT_ASSERT(n->type.dtype == IR_F32 || n->type.dtype == IR_I8, "state %s is not f32 or i8", n->name);
    char *dst = (char *)s->weights + plan->slots[id].offset;
    bool i8 = n->type.dtype == IR_I8; /* a quantized weight */
    if (!rt_st_read(s->file, n->name, i8 ? RT_ST_I8 : RT_ST_F32, n->type.shape.rank, n->type.shape.dims, dst, d))
      return false;
    /* subnormal weights would slow every caller that runs without flush-to-zero */
    if (!i8) rt_flush_subnormals((float *)dst, ir_shape_numel(&n->type.shape));
  }
  return true;
}

/* The io slot of the graph's only input and of its first output, with the ABI's checks. */
static void describe_io(const Source *s, AotDeploy *a) {
  const IrGraph *g = s->prog->units[0].graph;
  const PassPlan *plan = s->prog->units[0].plan;
  IrId image = IR_NONE;
  for (IrId id = 0; id < g->n_nodes; id++)
    if (g->nodes[id]->kind == IR_NODE_INPUT) {
      RT_ASSERT(image == IR_NONE, "the inference graph has a second input, %s", g->nodes[id]->name);
      image = id;
    }
  IrId pred = g->outputs[0];
  const IrShape *is = &g->nodes[image]->type.shape, *ps = &g->nodes[pred]->type.shape;
  RT_ASSERT(is->rank == 4 && ps->rank == 2 && g->nodes[pred]->type.dtype == IR_I32, "unexpected model ABI");
  a->batch = (int)is->dims[0];
  a->channels = (int)is->dims[1], a->height = (int)is->dims[2], a->width = (int)is->dims[3];
  a->tokens = (int)ps->dims[1];
  a->ctc = fe_preset_is_ctc(s->preset);
  a->image_offset = plan->slots[image].offset;
  a->pred_offset = plan->output_slots[0].offset;
  a->io_bytes = plan->region_bytes[PASS_REGION_IO];
  a->scratch_bytes = plan->region_bytes[PASS_REGION_SCRATCH];
  a->weights_bytes = plan->region_bytes[PASS_REGION_STATE];
  a->charset = s->charset; /* checked by checkpoint_open */
}

/* A deployed object may call OpenBLAS and libm only; the runtime's functions are not there. */
static bool check_externals(CgContext *c, RtDiags *d) {
  for (LLVMValueRef f = LLVMGetFirstFunction(c->mod); f; f = LLVMGetNextFunction(f)) {
    const char *name = LLVMGetValueName(f);
    if (LLVMIsDeclaration(f) && !strncmp(name, "smelt_", 6)) {
      rt_diag_error(d, NULL, 0, 0, "the inference graph calls %s of smelt's runtime; it cannot be deployed", name);
      return false;
    }
  }
  return true;
}

/* Text for a C comment: no comment terminator can come through. */
static void comment_safe(char *s) {
  for (char *p = s; (p = strstr(p, "*/"));) p[1] = '|';
}

/* NAME.o, NAME.h and (when weights is not NULL) NAME.weights belong together: the object's
 * layout is the weights file's. All are written in full before any replaces its predecessor, so a
 * failure (a full disk) leaves the previous emit's set whole. */
static bool write_outputs(const char *dir, const char *name, const void *obj, size_t obj_bytes, const AotDeploy *a,
                          const void *weights, RtDiags *d) {
  size_t header_bytes = 0;
  char *header = aot_deploy_header(a, &header_bytes);
  const char *ext[3] = {"o", "h", "weights"};
  const void *data[3] = {obj, header, weights};
  size_t size[3] = {obj_bytes, header_bytes, (size_t)a->weights_bytes};
  int n = weights ? 3 : 2;
  RtFsAtomic *files[3] = {NULL};
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[i]);
    ok = (files[i] = rt_fs_atomic_begin(path, d)) != NULL;
    if (ok) rt_fs_atomic_write(files[i], data[i], size[i]);
  }
  free(header);
  if (ok) return rt_fs_atomic_commit_all(files, n, d);
  for (int i = 0; i < n; i++) rt_fs_atomic_abort(files[i]);
  return false;
}

/* The driver's EMITTED hook: the deploy API around the step function, then the check that
 * nothing of smelt's runtime is called. */
static bool deploy_emitted(CgContext *c, const DrvProgram *p, void *user, RtDiags *d) {
  Source *s = user;
  snprintf(s->about, sizeof s->about,
           " * Model: preset '%s' (%lld parameters), from %s (epoch %s, step %s).\n"
           " * Compiled by smelt %s for CPU %s.\n",
           s->preset->name, (long long)s->preset->params, s->args->checkpoint, s->epoch ? s->epoch : "?",
           s->step ? s->step : "?", SMELT_VERSION, p->target->description);
  comment_safe(s->about);
  aot_deploy_emit(c, s->step_fn, &s->deploy);
  return check_externals(c, d);
}

static bool emit(const EmitArgs *args, Source *s, RtDiags *d) {
  AotDeploy *a = &s->deploy;
  *a = (AotDeploy){.name = s->name, .about = s->about, .openblas = s->prog->opt.blas_gemm};
  describe_io(s, a);
  if (!rt_fs_mkdirs(args->out, d)) return false;
  a->weights = args->weights_file ? NULL : s->weights;
  DrvProgram *p = s->prog;
  bool ok = drv_run(p, DRV_STAGE_OBJECT, d) &&
            write_outputs(args->out, s->name, p->object, p->object_len, a, args->weights_file ? s->weights : NULL, d);
  if (ok)
    printf("wrote %s/%s.o (%.1f KiB, weights %s: %.1f KiB), %s/%s.h: batch %d, scratch %lld bytes\n", args->out,
           s->name, p->object_len / 1024.0, args->weights_file ? "in the .weights file" : "embedded",
           a->weights_bytes / 1024.0, args->out, s->name, a->batch, (long long)aot_deploy_scratch_bytes(a));
  return ok;
}

int cmd_emit(int argc, char **argv) {
  EmitArgs a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  RtDiags d = {0};
  Source s;
  bool ok = load_source(&a, &s, &d) && emit(&a, &s, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  source_free(&s);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
