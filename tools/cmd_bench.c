/* `smelt bench PRESET`: the figures we compare with the PyTorch peer, measured in one process:
 * compile time (cold and from the cache), training samples/s (Adam; CE with label smoothing or
 * CTC), greedy inference latency at batch 1 and samples/s at batch B, the GFLOP/s of GEMM work
 * these achieve, peak memory while running; `--peak` measures the machine's fp32 peak
 * (driver/drv_peak.h) and prints the figures as fractions of it; `--peer` runs
 * ../shared/peers/torch_presets.py right after, on the same machine, and prints the ratios.
 * Timings are medians over --steps runs after a warm-up. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/drv_peak.h"
#include "driver/drv_pipeline.h"
#include "frontend/fe_lower.h"
#include "ir/ir_ops.h"
#include "runtime/rt_blas.h"
#include "runtime/rt_model.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_progress.h"
#include "support/rt_assert.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt bench PRESET [--batch N] [--steps N] [--peak] [--peer [PATH]] [--profile]\n"
    "                          [--precision fp32|bf16] [--int8]\n"
    "       smelt bench --peak\n"
    "\n"
    "Measures a preset's compiled training step and inference graph on this machine: compile\n"
    "time (cold and cached), training samples/s, inference latency at batch 1 and samples/s at\n"
    "batch N, the GFLOP/s of matrix work (matmuls, convolutions) they achieve, and peak memory.\n"
    "\n"
    "options:\n"
    "  --batch N     batch size (default 32)\n"
    "  --steps N     timed runs of each step after a warm-up (default 6)\n"
    "  --peak        measure this machine's fp32 peak (chains of vector FMAs on one thread and\n"
    "                on all) and print the GFLOP/s above as percentages of it\n"
    "  --peer [PATH] also run the PyTorch peer (default ../shared/peers/torch_presets.py) with\n"
    "                /usr/bin/python3, OPENBLAS_NUM_THREADS=1 and our thread count, and print\n"
    "                the ratios\n"
    "  --profile     print the time per kernel of the training step and of batch-N inference\n"
    "  --precision P fp32 (default) or bf16: the training step's matrix products on bf16-rounded\n"
    "                inputs, as `precision: bf16` trains (on AMX tiles where the CPU has them);\n"
    "                inference stays fp32\n"
    "  --int8        measure inference with int8 products (as smelt quantize makes them; the\n"
    "                peer's figures stay fp32)\n"
    "  -h, --help    show this help\n";

typedef struct Figures {
  double compile_cold, compile_cached, train_sps, infer_ms_b1, infer_sps, peak_mib;
  double train_gflop, infer_gflop_b1, infer_gflop; /* GEMM work of one step (ir_graph_macs) */
  /* where the peak's bytes go, MiB: the state region the three programs share (passes/plan.h),
   * their io regions, the scratch region they share (one program runs at a time), the three
   * objects' code; the rest is "other" */
  double state_mib, io_mib, scratch_mib, code_mib;
} Figures;

static double median(double *v, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The memory the benchmark's programs run in, as a training process holds it: one state region
 * (the training step's layout, which the inference programs share), an io region per program,
 * one scratch region as large as the largest program's (they never run at the same time). */
typedef struct Regions {
  void *state, *scratch, *io[3];
  int64_t state_bytes, scratch_bytes, io_bytes;
} Regions;

/* Finite O(1) values, like real weights and inputs. */
static void fill_plausible(void *region, int64_t bytes) {
  float *f = region;
  for (int64_t k = 0; k < bytes / 4; k++) f[k] = 0.01f * (float)((k * 7919) % 201 - 100) / 100.0f;
}

static Regions regions(const CgProgram *const *p, int n) {
  Regions r = {.state_bytes = p[0]->plan->region_bytes[PASS_REGION_STATE]};
  for (int i = 0; i < n; i++) {
    const int64_t *b = p[i]->plan->region_bytes;
    RT_ASSERT(i == 0 || b[PASS_REGION_STATE] <= r.state_bytes, "program %d's state outgrows the shared one", i);
    if (b[PASS_REGION_SCRATCH] > r.scratch_bytes) r.scratch_bytes = b[PASS_REGION_SCRATCH];
    r.io[i] = rt_region_alloc(b[PASS_REGION_IO]);
    fill_plausible(r.io[i], b[PASS_REGION_IO]);
    r.io_bytes += b[PASS_REGION_IO];
  }
  r.state = rt_region_alloc(r.state_bytes);
  fill_plausible(r.state, r.state_bytes);
  r.scratch = rt_region_alloc(r.scratch_bytes);
  return r;
}

static void free_regions(Regions *r) {
  free(r->state);
  free(r->scratch);
  for (int i = 0; i < 3; i++) free(r->io[i]);
}

/* Median seconds of `steps` runs of p (in io region `io` of r) after two warm-up runs. */
static double time_steps(const CgProgram *p, const Regions *r, int io, int steps) {
  double t[64];
  for (int i = 0; i < 2; i++) p->step(r->state, r->io[io], r->scratch);
  for (int i = 0; i < steps; i++) {
    double t0 = rt_now_seconds();
    p->step(r->state, r->io[io], r->scratch);
    t[i] = rt_now_seconds() - t0;
  }
  return median(t, steps);
}

/* Peak resident memory since the last reset (VmHWM), in MiB; -1 if unknown. */
static double peak_mib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  double kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmHWM:", 6)) kib = atof(line + 6);
  if (f) fclose(f);
  return kib < 0 ? -1 : kib / 1024;
}

static void reset_peak(void) {
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f) {
    fputs("5", f);
    fclose(f);
  }
}

/* g (simplified, borrowed) through the rest of the pipeline to the JIT, its state laid out as
 * state_like's when given; *seconds gets the compile time (planning to loading, or the cache
 * load). */
static DrvProgram *compile(const IrGraph *g, bool cache, const DrvProgram *state_like, bool bf16, double *seconds,
                           RtDiags *d) {
  DrvInput in = {.graph = g, .done = DRV_STAGE_SIMPLIFIED};
  DrvOptions o = {.no_cache = !cache, .state_like = state_like ? state_like->units[0].plan : NULL, .bf16 = bf16};
  DrvProgram *p = drv_compile(&in, &o, DRV_STAGE_LOADED, d);
  if (p) *seconds = p->units[0].program->compile_seconds;
  return p;
}

/* A preset's graph, lowered (and trained) and simplified. */
static DrvProgram *graph(const FePreset *pr, FeGraphKind kind, int batch, const FeLoss *loss, const FeOptimizer *opt,
                         FeQuantMode quant, RtDiags *d) {
  DrvInput in = {.preset = pr, .kind = kind, .batch = batch, .loss = loss ? loss->kind : FE_LOSS_CROSS_ENTROPY,
                 .quant = quant};
  DrvOptions o = {.optimizer = opt ? drv_optimizer(opt, false) : (PassOptimizer){0}};
  return drv_compile(&in, &o, DRV_STAGE_SIMPLIFIED, d);
}

static const CgProgram *jit(const DrvProgram *p) { return p->units[0].program; }
static const IrGraph *graph_of(const DrvProgram *p) { return p->units[0].graph; }

/* Runs one step of P with the per-kernel profiler on and prints its report. */
static void profile_step(const CgProgram *p, const Regions *r, int io) {
  rt_profile_reset();
  rt_profile_enable(true);
  p->step(r->state, r->io[io], r->scratch);
  rt_profile_enable(false);
  rt_profile_report(stdout, p->kernel_names, p->n_kernel_names, 25);
}

/* bf16: the training step's products on bf16-rounded inputs (`precision: bf16`); inference stays
 * fp32, as it does in training's evaluation. int8: the inference graphs with int8 products
 * (smelt quantize's), laid out on their own (their params are not the training step's); the
 * values in their weights and scales are plausible numbers, not calibrated ones, which integer
 * kernels take the same time on. */
static bool bench(const FePreset *pr, int batch, int steps, bool profile, bool bf16, bool int8, Figures *f,
                  RtDiags *d) {
  FeLoss loss = {.kind = fe_preset_is_ctc(pr) ? FE_LOSS_CTC : FE_LOSS_CROSS_ENTROPY, .label_smoothing = 0.05};
  FeOptimizer adam = {.kind = FE_OPT_ADAM, .betas = {0.9, 0.999}, .eps = 1e-8};
  FeQuantMode quant = int8 ? FE_QUANT_INT8 : FE_QUANT_NONE;
  DrvProgram *train = graph(pr, FE_GRAPH_TRAIN, batch, &loss, &adam, FE_QUANT_NONE, d);
  DrvProgram *infer = graph(pr, FE_GRAPH_INFER, batch, NULL, NULL, quant, d);
  DrvProgram *infer1 = graph(pr, FE_GRAPH_INFER, 1, NULL, NULL, quant, d);
  if (!train || !infer || !infer1) return false;
  double t_train, t_infer, t;
  DrvProgram *p = compile(graph_of(train), false, NULL, bf16, &t_train, d);
  DrvProgram *q = p ? compile(graph_of(infer), false, int8 ? NULL : p, false, &t_infer, d) : NULL;
  if (!p || !q) return false;
  f->compile_cold = t_train + t_infer;
  drv_program_free(q);
  /* fill the cache (a cold compile bypasses it), then time loads from it */
  drv_program_free(compile(graph_of(train), true, NULL, bf16, &t, d));
  drv_program_free(compile(graph_of(infer), true, int8 ? NULL : p, false, &t, d));
  drv_program_free(p);
  p = compile(graph_of(train), true, NULL, bf16, &t_train, d);
  q = p ? compile(graph_of(infer), true, int8 ? NULL : p, false, &t_infer, d) : NULL;
  DrvProgram *q1 = q ? compile(graph_of(infer1), true, int8 ? q : p, false, &t, d) : NULL;
  if (!p || !q || !q1) return false;
  f->compile_cached = t_train + t_infer;
  const CgProgram *progs[3] = {jit(p), jit(q), jit(q1)};
  Regions r = regions(progs, 3);
  reset_peak();
  f->train_sps = batch / time_steps(jit(p), &r, 0, steps);
  f->infer_sps = batch / time_steps(jit(q), &r, 1, steps);
  f->infer_ms_b1 = 1000 * time_steps(jit(q1), &r, 2, steps * 2 > 64 ? 64 : steps * 2);
  f->peak_mib = peak_mib();
  f->state_mib = (double)r.state_bytes / (1 << 20);
  f->io_mib = (double)r.io_bytes / (1 << 20);
  f->scratch_mib = (double)r.scratch_bytes / (1 << 20);
  f->code_mib = (double)(p->object_len + q->object_len + q1->object_len) / (1 << 20);
  f->train_gflop = 2 * ir_graph_macs(graph_of(train)) / 1e9;
  f->infer_gflop = 2 * ir_graph_macs(graph_of(infer)) / 1e9;
  f->infer_gflop_b1 = 2 * ir_graph_macs(graph_of(infer1)) / 1e9;
  if (profile) {
    printf("profile of one training step (batch %d):\n", batch);
    profile_step(jit(p), &r, 0);
    printf("profile of one inference run (batch %d):\n", batch);
    profile_step(jit(q), &r, 1);
  }
  free_regions(&r);
  drv_program_free(p);
  drv_program_free(q);
  drv_program_free(q1);
  drv_program_free(train);
  drv_program_free(infer);
  drv_program_free(infer1);
  return true;
}

/* Runs the peer and scans its lines ("train: X samples/s", "infer batch 1: X ms", ...). */
static bool run_peer(const char *script, const char *preset, int batch, Figures *f) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 /usr/bin/python3 %s --preset %s --threads %d --batch %d 2>&1",
           script, preset, rt_pool_threads(), batch);
  printf("peer: %s\n", cmd);
  fflush(stdout);
  FILE *p = popen(cmd, "r");
  if (!p) return false;
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, p)) {
    printf("  | %s", line);
    double v;
    if (sscanf(line, "train: %lf samples/s", &v) == 1) f->train_sps = v, found++;
    else if (sscanf(line, "infer batch 1: %lf ms", &v) == 1) f->infer_ms_b1 = v, found++;
    else if (strncmp(line, "infer batch", 11) == 0 && sscanf(strchr(line, ':') + 1, "%lf samples/s", &v) == 1)
      f->infer_sps = v, found++;
    else if (sscanf(line, "peak RSS: %lf MiB", &v) == 1) f->peak_mib = v, found++;
  }
  return pclose(p) == 0 && found == 4;
}

/* "X GFLOP/s" of `gflop` done in `seconds`, and its share of the measured peak of all threads
 * (the threads the step runs on) when there is one. */
static void print_rate(const char *what, double gflop, double seconds, const DrvPeak *peak) {
  double rate = gflop / seconds;
  printf("  %s: %.1f GFLOP/s", what, rate);
  if (peak) printf(" (%.0f%% of the measured peak)", 100 * rate / peak->gflops_all);
  printf("\n");
}

static bool measure_peak(DrvPeak *peak) {
  RtDiags d = {0};
  bool ok = drv_measure_peak(0.25, 5, peak, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (ok)
    printf("fp32 peak (%s, chains of %d-bit FMAs): %.1f GFLOP/s on one thread, %.1f GFLOP/s on %d thread%s\n",
           peak->cpu, peak->vector_bits, peak->gflops_one, peak->gflops_all, peak->threads, peak->threads == 1 ? "" : "s");
  fflush(stdout);
  return ok;
}

static void print_figures(const FePreset *pr, int batch, bool bf16, bool int8, const Figures *f, const DrvPeak *peak) {
  int wino = drv_conv_winograd_m(false);
  printf("smelt %s, batch %d, %d thread%s, %s GEMMs%s%s, 3x3 convolutions by ", pr->name, batch, rt_pool_threads(),
         rt_pool_threads() == 1 ? "" : "s", rt_gemm_openblas() ? "OpenBLAS's" : "smelt's own",
         bf16 ? " (the training step's on bf16 inputs)" : "",
         int8 ? " (inference: int8 products, fp32 where smelt quantize leaves them)" : "");
  if (wino)
    printf("Winograd F(%d,3):\n", wino);
  else
    printf("im2col:\n");
  fflush(stdout);
  rt_blas_warn(stderr);
  printf("  compile (training step + inference): cold %.2f s, cached %.3f s\n", f->compile_cold, f->compile_cached);
  printf("  train: %.1f samples/s (%.0f ms/step); 4000-sample epoch %.0f s\n", f->train_sps,
         1000 * batch / f->train_sps, 4000 / f->train_sps);
  printf("  infer batch 1: %.2f ms\n  infer batch %d: %.1f samples/s\n  peak RSS while running: %.0f MiB\n",
         f->infer_ms_b1, batch, f->infer_sps, f->peak_mib);
  double known = f->state_mib + f->io_mib + f->scratch_mib + f->code_mib;
  printf("    state %.1f MiB (weights, optimizer moments; inference reads the same), inputs and outputs %.1f, "
         "scratch %.1f (shared: one step runs at a time), code %.1f, other %.1f (libraries, LLVM, OpenBLAS "
         "buffers, heap)\n",
         f->state_mib, f->io_mib, f->scratch_mib, f->code_mib, f->peak_mib - known);
  printf("matrix work (matmuls and convolutions as direct products, though Winograd ones do fewer multiplies; "
         "a multiply-add counts 2): training step %.2f GFLOP, inference %.3f GFLOP a sample\n",
         f->train_gflop, f->infer_gflop_b1);
  print_rate("training step", f->train_gflop, batch / f->train_sps, peak);
  print_rate("inference batch 1", f->infer_gflop_b1, f->infer_ms_b1 / 1000, peak);
  char what[64];
  snprintf(what, sizeof what, "inference batch %d", batch);
  print_rate(what, f->infer_gflop, batch / f->infer_sps, peak);
}

int cmd_bench(int argc, char **argv) {
  static const struct option opts[] = {{"batch", required_argument, NULL, 'b'}, {"steps", required_argument, NULL, 's'},
                                        {"peer", optional_argument, NULL, 'p'},  {"profile", no_argument, NULL, 'P'},
                                        {"peak", no_argument, NULL, 'k'},        {"help", no_argument, NULL, 'h'},
                                        {"precision", required_argument, NULL, 'r'}, {"int8", no_argument, NULL, 'i'},
                                        {0}};
  int64_t batch = 32, steps = 6;
  const char *peer = NULL;
  bool profile = false, want_peak = false, bf16 = false, int8 = false;
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
      case 'b': if (!cli_parse_int("--batch", optarg, 1, 4096, &batch, USAGE)) return CLI_EXIT_USAGE; break;
      case 's': if (!cli_parse_int("--steps", optarg, 1, 64, &steps, USAGE)) return CLI_EXIT_USAGE; break;
      case 'p': peer = optarg ? optarg : "../shared/peers/torch_presets.py"; break;
      case 'P': profile = true; break;
      case 'k': want_peak = true; break;
      case 'i': int8 = true; break;
      case 'r': {
        int i = rt_settings_name_index(optarg, RT_PRECISION_NAMES, RT_PRECISION_COUNT);
        if (i < 0) return cli_usage_error(USAGE, "--precision expects fp32 or bf16, not '%s'", optarg);
        bf16 = i == RT_PRECISION_BF16;
        break;
      }
      default: return CLI_EXIT_USAGE;
    }
  }
  if (want_peak && optind == argc) {
    DrvPeak peak;
    return measure_peak(&peak) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one PRESET");
  RtDiags d = {0};
  char *dir = fe_presets_default_dir();
  FePreset *pr = fe_preset_resolve(argv[optind], dir, (FeLoc){0}, &d);
  free(dir);
  Figures ours = {0}, theirs = {0};
  DrvPeak peak;
  bool have_peak = pr && want_peak && measure_peak(&peak);
  char why[256];
  if (bf16 && !drv_bf16_supported(NULL, why, sizeof why)) {
    fprintf(stderr, "smelt: --precision bf16: %s\n", why);
    return CLI_EXIT_FAIL;
  }
  bool ok = pr && (!want_peak || have_peak) && bench(pr, (int)batch, (int)steps, profile, bf16, int8, &ours, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (ok) print_figures(pr, (int)batch, bf16, int8, &ours, have_peak ? &peak : NULL);
  if (ok && peer) {
    if (run_peer(peer, pr->name, (int)batch, &theirs))
      printf("ratios (smelt / PyTorch; > 1 is better for smelt): train %.2fx, infer batch 1 %.2fx, infer batch "
             "%lld %.2fx, memory %.2fx less\n",
             ours.train_sps / theirs.train_sps, theirs.infer_ms_b1 / ours.infer_ms_b1, (long long)batch,
             ours.infer_sps / theirs.infer_sps, theirs.peak_mib / ours.peak_mib);
    else
      fprintf(stderr, "smelt: the peer did not run or printed something unexpected\n");
  }
  if (pr) fe_preset_free(pr);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
