/* Measuring the fp32 peak (drv_peak.h): build the FMA-chain module, compile it as every module
 * is compiled (drv_module_object), load it into a JIT of its own, calibrate the iteration count
 * to the requested run time, then take the best of a few runs on one thread and on all. */
#include "driver/drv_peak.h"

#include <stdio.h>
#include <stdlib.h>

#include "codegen/cg_jit.h"
#include "codegen/cg_peak.h"
#include "codegen/cg_target.h"
#include "driver/drv_pipeline.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_progress.h"

typedef struct PeakRun {
  CgPeakFn fn;
  int64_t iterations;
  volatile float sink; /* keeps the result, so that no call can be left out */
} PeakRun;

static void run_chunk(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  (void)worker;
  PeakRun *r = ctx;
  for (int64_t i = begin; i < end; i++) r->sink = r->fn(r->iterations);
}

/* Seconds of the fastest of `repeats` runs of `copies` calls split over the pool (one per
 * thread when copies equals the thread count). */
static double best_seconds(PeakRun *r, int copies, int repeats) {
  double best = 1e30;
  for (int k = 0; k < repeats; k++) {
    double t0 = rt_now_seconds();
    if (copies == 1) run_chunk(r, 0, 1, 0);
    else smelt_rt_parallel_for(run_chunk, r, copies, 1);
    double t = rt_now_seconds() - t0;
    if (t < best) best = t;
  }
  return best;
}

bool drv_measure_peak(double seconds, int repeats, DrvPeak *out, RtDiags *d) {
  if (!cg_target_init(d)) return false;
  CgTarget *t = cg_target_new(NULL, d);
  if (!t) return false;
  CgContext c;
  cg_context_init(&c, "peak", "smelt");
  cg_peak_emit(&c, t->vector_bits);
  void *object = NULL;
  size_t len = 0;
  bool ok = drv_module_object(c.mod, t, &object, &len, d);
  cg_context_dispose(&c);
  CgJit *jit = ok ? cg_jit_new(d) : NULL;
  PeakRun r = {0};
  ok = jit && cg_jit_add_object(jit, object, len, d) && (r.fn = (CgPeakFn)cg_jit_lookup(jit, CG_PEAK_SYMBOL, d));
  free(object);
  if (ok) {
    *out = (DrvPeak){.vector_bits = t->vector_bits, .threads = rt_pool_start_workers()};
    snprintf(out->cpu, sizeof out->cpu, "%s", t->cpu);
    /* calibrate: double the iterations until one run takes a tenth of the time asked for */
    r.iterations = 1 << 16;
    double once;
    while ((once = best_seconds(&r, 1, 1)) < seconds / 10 && r.iterations < ((int64_t)1 << 40)) r.iterations *= 2;
    r.iterations = (int64_t)(r.iterations * (seconds / once));
    if (r.iterations < 1) r.iterations = 1;
    double flops = cg_peak_flops_per_iteration(t->vector_bits) * (double)r.iterations;
    out->gflops_one = flops / best_seconds(&r, 1, repeats) / 1e9;
    out->gflops_all = flops * out->threads / best_seconds(&r, out->threads, repeats) / 1e9;
  }
  cg_jit_free(jit);
  cg_target_free(t);
  return ok;
}
