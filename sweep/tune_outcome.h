/* What a sweep knows about one run comes from the files its trainer wrote, read only through the
 * validating readers (rt_results_load, rt_epoch_log_load), and from how its child process ended.
 * This module decides how a run starts (fresh, resumed, or not at all because --resume finds it
 * complete), follows its metrics while it runs, and turns its end into a status and a reason. */
#ifndef SMELT_SWEEP_TUNE_OUTCOME_H
#define SMELT_SWEEP_TUNE_OUTCOME_H

#include "sweep/tune_sweep.h"

/* The log a run's child writes its output to, inside the run's folder. */
#define TUNE_FILE_LOG "train.log"

/* Decides how r starts, deleting nothing. With s->resume: a run whose results.json records the
 * same settings and ended as ok (all requested epochs), early_stopped or diverged is complete
 * (r->skip, status and history filled in); one with a checkpoint continues from it (r->resume,
 * history so far filled in) unless its results.json records other settings; the rest start over.
 * `note` gets a line for the terminal ("" when there is nothing to say), including why a
 * results.json could not be used. False with diagnostics when the folder cannot be created. */
bool tune_outcome_prepare(const TuneSweep *s, TuneRun *r, char *note, size_t note_size, RtDiags *d);

/* For a run that starts over (neither complete nor resumed): removes the trainer's files of an
 * earlier run, so a stale results.json can never stand in for this run's. Called once the sweep
 * knows it can start (config and data checked). False with diagnostics when a file stays. */
bool tune_outcome_clear(const TuneRun *r, RtDiags *d);

/* Puts r, whose trainer was lost with its rank (MPI sweeps), back in the queue: resumed from the
 * checkpoint its folder holds, else started over (the lost attempt's files removed). */
void tune_outcome_requeue(TuneRun *r);

/* Classifies r after its child ended with wait status ws (waitpid): pruned when the sweep killed
 * it for the median rule; failed with "killed by signal N (NAME)" for any other signal; else from
 * its results.json (diverged, failed, ok, early_stopped), where an ok run whose epochs differ from
 * the requested ones becomes failed with epochs_mismatch, and a missing or unreadable results.json
 * becomes failed with the last error line of its log. */
void tune_outcome_finish(TuneRun *r, int ws);

/* Re-reads r's metrics.jsonl when it changed on disk; true when the history grew. A file caught
 * mid-write is left for the next call. */
bool tune_outcome_poll(TuneRun *r);

/* Sets r->module_ready once r's trainer has its model compiled (or loaded from the cache): a fresh
 * run has created its metrics.jsonl, or its log has the line the trainer prints then. */
void tune_outcome_scan_log(TuneRun *r);

#endif
