/* The child processes of a sweep: each run is `smelt train CONFIG --experiment NAME --out OUT
 * --epochs N --quiet [--resume]`, fork+exec'ed with its output in OUT/<name>/train.log, so a crash,
 * an out-of-memory kill or a divergence ends that run only. Up to `jobs` run at once with
 * SMELT_THREADS = max(1, cores / jobs) each and OpenBLAS single-threaded; children die with the
 * sweep (PR_SET_PDEATHSIG), so a killed sweep leaves no trainer writing behind its back. */
#ifndef SMELT_SWEEP_TUNE_SCHED_H
#define SMELT_SWEEP_TUNE_SCHED_H

#include "sweep/tune_sweep.h"

/* Runs every pending run of s to its end (the median rule applied as epochs arrive, the terminal
 * kept up to date); after each run's end, `on_end` (may be NULL) is called, e.g. to rewrite the
 * report. Returns false when *s->interrupted was set: the running children are then stopped and
 * left resumable. */
bool tune_sched_run(TuneSweep *s, void (*on_end)(TuneSweep *s, TuneRun *r));

/* Whether run i may start now: pending, not complete on disk, not pruned; a run that shares its
 * compiled module with an earlier one waits until that one has compiled it (so the module is
 * compiled once and loaded from the cache by the others); with pruning, a resumed run waits
 * until the epochs it already has are decided. */
bool tune_sched_can_start(const TuneSweep *s, int i);

#endif
