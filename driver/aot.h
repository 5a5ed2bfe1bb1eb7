/* Ahead-of-time compilation, shared by `smelt build` (a standalone trainer) and `smelt emit` (a
 * deployable inference object), around the object files the driver makes (driver/drv_pipeline.h):
 * running the system C compiler, writing C source text; plus the two generators, the trainer's
 * C tables (aot_trainer.c) and the deploy API and header (aot_deploy.c). */
#ifndef SMELT_DRIVER_AOT_H
#define SMELT_DRIVER_AOT_H

#include <stdbool.h>
#include <stdio.h>

#include "codegen/cg_context.h"
#include "codegen/cg_target.h"
#include "passes/plan.h"
#include "runtime/rt_train.h"
#include "runtime/rt_trainer_main.h"

/* ---- aot.c ---- */

/* Runs argv[0] (searched in PATH) with argv and waits; false with a diagnostic quoting the
 * command when it cannot start or does not exit with 0. */
bool aot_run(const char *const *argv, RtDiags *d);
/* The system C compiler: $CC if set, else "cc". */
const char *aot_cc(void);
/* A fresh private directory under $TMPDIR (or /tmp) into buf; false with a diagnostic. */
bool aot_temp_dir(char *buf, size_t size, RtDiags *d);
/* Removes dir and the files directly in it. */
void aot_remove_dir(const char *dir);
/* s[0..n) as a C string literal (quotes, escapes; bytes >= 0x80 as octal escapes; long texts
 * split over lines at newlines). */
void aot_c_string(FILE *f, const char *s, size_t n);
/* A double that reads back exactly ("%.17g"; INFINITY / NAN by name). */
void aot_c_double(FILE *f, double v);
/* True when s is a C identifier (that may start a symbol name). */
bool aot_is_identifier(const char *s);

/* ---- aot_trainer.c: the C file of a standalone trainer ---- */

typedef struct AotTrainer {
  const RtModel *model;      /* slots, sizes and facts (steps and kernel tables are linked in) */
  const char *config_json;    /* the experiment (experiment_json): name, settings, data */
  int max_threads;
  const char *built_from;     /* --help lines */
  const char *train_step, *eval_step; /* symbols of the object's step functions */
  const char *update_step;    /* data-parallel (--mpi): the update phase's (train_step is then the
                               * gradient phase), else NULL */
  int processes;              /* data-parallel: the MPI processes it is built for; 0 or 1: none */
} AotTrainer;

/* Writes the trainer's C source (tables + main calling rt_trainer_main). */
void aot_trainer_source(FILE *out, const AotTrainer *t);

/* ---- aot_deploy.c: the inference object's C API and its header ---- */

typedef struct AotDeploy {
  const char *name;              /* C prefix of every exported symbol */
  int batch, channels, height, width;
  int tokens;                    /* pred ids per image: CTC time steps T, or attention L + 1 */
  bool ctc;                      /* head: CTC (blank 0, symbol i is i + 1) or attention (go 0,
                                    end 1, symbol i is i + 2) */
  int64_t image_offset, pred_offset; /* in the io region */
  int64_t io_bytes, scratch_bytes;   /* the plan's regions */
  const char *charset;           /* UTF-8 symbols in id order */
  const void *weights;           /* the state region to embed; NULL: passed to NAME_run */
  int64_t weights_bytes;
  const char *about;             /* lines for the header's top comment (provenance) */
  bool openblas;                 /* its GEMMs call cblas_sgemm (SMELT_GEMM=openblas): link -lopenblas */
} AotDeploy;

/* Bytes of caller memory per NAME_run: the io region, 64-byte aligned, then the scratch region. */
int64_t aot_deploy_scratch_bytes(const AotDeploy *a);
/* Adds NAME_run, NAME_decode and NAME_charset (and the embedded weights) around `step`, the
 * plan's step function in c's module, which becomes internal. */
void aot_deploy_emit(CgContext *c, const char *step, const AotDeploy *a);
/* The text of NAME.h, the API's documentation and declarations; *size gets its length. Caller frees. */
char *aot_deploy_header(const AotDeploy *a, size_t *size);

#endif
