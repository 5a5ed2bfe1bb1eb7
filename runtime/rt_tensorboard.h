/* TensorBoard event files with scalar summaries, written without TensorFlow: a file
 * `events.out.tfevents.<unix time>.<hostname>` in a log directory holding TFRecords (framing with
 * masked CRC-32C) of `Event` protocol buffers, the first one carrying file_version
 * "brain.Event:2" and each later one a step, a wall time and one Summary.Value {tag, simple_value}.
 * One writer per file; in a multi-process run only rank 0 opens one. */
#ifndef SMELT_RT_TENSORBOARD_H
#define SMELT_RT_TENSORBOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "support/rt_diag.h"

typedef struct RtTbWriter RtTbWriter;

/* Event files are named RT_TB_FILE_PREFIX<unix time>.<host>, as TensorBoard expects. */
#define RT_TB_FILE_PREFIX "events.out.tfevents."

/* Creates logdir if needed (mkdir -p) and a new event file in it; never overwrites an existing
 * one (a second file in the same second gets a `.<pid>.<n>` suffix). NULL with a diagnostic on
 * failure. */
RtTbWriter *rt_tb_open(const char *logdir, RtDiags *d);

/* The event file's path (owned by the writer). */
const char *rt_tb_path(const RtTbWriter *w);

/* Appends one scalar (stored as a float, as TensorBoard's simple_value is) at a step, stamped
 * with the current wall time. Buffered: call rt_tb_flush to make it durable. A write failure is
 * remembered and reported by the next flush or close. */
void rt_tb_scalar(RtTbWriter *w, const char *tag, int64_t step, double value);

/* Pushes buffered events to the file and fsyncs it, so a crash loses nothing written before.
 * Call it after each epoch's scalars. */
bool rt_tb_flush(RtTbWriter *w, RtDiags *d);

/* Flushes, closes and frees the writer (NULL is allowed). */
bool rt_tb_close(RtTbWriter *w, RtDiags *d);

#endif
