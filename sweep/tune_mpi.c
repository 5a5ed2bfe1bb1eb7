/* Sweeps over MPI ranks (tune_mpi.h). The protocol, rank 0 <-> worker, in MPI_COMM_WORLD:
 *   HELLO   both ways at the start: each worker's host name and whether its data is ready
 *   TASK    0 -> w   a run to train (name, epochs, resume), followed by its files when resumed
 *                    and a PASS
 *   FILE    both     a file of a run's folder (header, then DATA with its bytes)
 *   PASS    w -> 0   the files sent since the last PASS are one consistent snapshot: rank 0
 *                    writes them now (a worker lost midway leaves the previous snapshot)
 *   SIGNAL  0 -> w   a signal for a run's trainer (the median rule's SIGKILL, SIGTERM to stop)
 *   END     w -> 0   a run's trainer ended (its wait status), after its last files
 *   BEAT    both     every second, so that each side knows the other is alive
 *   QUIT    0 -> w   no more work: stop
 * Messages between two ranks arrive in the order they were sent, so a run's files always reach
 * rank 0 before its END. After the hellos (which wait while the workers prepare their data)
 * nothing here blocks for longer than the timeout: every transfer is a non-blocking request
 * polled against a deadline, and a peer that misses it is lost. A worker's clock on rank 0
 * starts with rank 0's first message after the hellos (rank 0 checks the config and data first).
 * Rank 0 and a worker never both send files at once: a resumed run's files go only to a worker
 * that runs nothing, since two large sends waiting for each other's receives would both stall. */
#define _XOPEN_SOURCE 700
#include "sweep/tune_mpi.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mpi.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/mpi/rt_mpi.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_progress.h"
#include "runtime/rt_results.h"
#include "support/rt_assert.h"
#include "support/rt_fs.h"
#include "sweep/tune_child.h"
#include "sweep/tune_outcome.h"
#include "sweep/tune_status.h"

enum { TAG_HELLO = 1, TAG_TASK, TAG_FILE, TAG_DATA, TAG_PASS, TAG_SIGNAL, TAG_END, TAG_BEAT, TAG_QUIT };
enum { NAME_MAX_BYTES = 256, CHUNK = 1 << 26, HOST_BYTES = MPI_MAX_PROCESSOR_NAME };

typedef struct HelloMsg {
  int32_t ready; /* the worker could prepare the sweep's data */
  char host[HOST_BYTES];
  char scratch[PATH_MAX]; /* its runs' folders are scratch/<experiment> */
  char error[512];
} HelloMsg;
typedef struct TaskMsg {
  int32_t run, epochs, resume; /* a resumed run's files follow, then PASS */
  char name[NAME_MAX_BYTES];
} TaskMsg;
typedef struct FileMsg {
  int32_t run;
  int64_t size;
  char name[NAME_MAX_BYTES];
} FileMsg;
typedef struct SignalMsg {
  int32_t run, sig;
} SignalMsg;
typedef struct EndMsg {
  int32_t run, wait_status;
} EndMsg;

static double timeout_seconds(void) {
  const char *v = getenv("SMELT_MPI_TIMEOUT");
  double t = v ? atof(v) : 0;
  return t > 0 ? t : 60;
}

static void sleep_ms(int ms) { nanosleep(&(struct timespec){.tv_nsec = (long)ms * 1000000L}, NULL); }

/* Polls rq until it completes or `seconds` pass; on timeout a receive is cancelled, and the
 * request is let go either way (a send to a lost rank may never complete). A request let go may
 * still read or write its buffer later (a peer that was only paused wakes up): after false, the
 * buffer must stay allocated and unused for good (send_bytes, recv_bytes). */
static bool wait_for(MPI_Request *rq, double seconds, bool receive) {
  double end = rt_now_seconds() + seconds;
  for (;;) {
    int done = 0;
    MPI_Test(rq, &done, MPI_STATUS_IGNORE);
    if (done) return true;
    if (rt_now_seconds() > end) {
      if (receive) MPI_Cancel(rq);
      MPI_Request_free(rq);
      return false;
    }
    sleep_ms(1);
  }
}

/* Messages up to this size travel through a buffer of their own, which a transfer that times
 * out leaves to MPI (wait_for): the caller's (often a stack variable) is then free to go. Larger
 * ones (files' bytes) use the caller's heap buffer, which the caller leaves allocated when the
 * transfer fails (send_file, recv_data). A lost rank costs at most one buffer. */
enum { BOUNCE_MAX = 1 << 16 };

static bool send_bytes(const void *data, int64_t n, int to, int tag, double seconds) {
  void *bounce = NULL;
  if (n > 0 && n <= BOUNCE_MAX) {
    bounce = rt_xmalloc((size_t)n);
    memcpy(bounce, data, (size_t)n);
    data = bounce;
  }
  for (int64_t at = 0; at < n || (n == 0 && at == 0); at += CHUNK) {
    int count = (int)(n - at < CHUNK ? n - at : CHUNK);
    MPI_Request rq;
    MPI_Isend((const char *)data + at, count, MPI_BYTE, to, tag, MPI_COMM_WORLD, &rq);
    if (!wait_for(&rq, seconds, false)) return false; /* bounce stays MPI's */
    if (n == 0) break;
  }
  free(bounce);
  return true;
}

/* Waits for the next message from `from` (any tag) for at most `seconds`. */
static bool probe_from(int from, MPI_Status *st, double seconds) {
  double end = rt_now_seconds() + seconds;
  for (;;) {
    int flag = 0;
    MPI_Iprobe(from, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, st);
    if (flag) return true;
    if (rt_now_seconds() > end) return false;
    sleep_ms(1);
  }
}

static bool recv_bytes(void *data, int64_t n, int from, int tag, double seconds) {
  void *into = n > 0 && n <= BOUNCE_MAX ? rt_xmalloc((size_t)n) : data;
  for (int64_t at = 0; at < n || (n == 0 && at == 0); at += CHUNK) {
    int count = (int)(n - at < CHUNK ? n - at : CHUNK);
    MPI_Request rq;
    MPI_Irecv((char *)into + at, count, MPI_BYTE, from, tag, MPI_COMM_WORLD, &rq);
    if (!wait_for(&rq, seconds, true)) return false; /* a bounce buffer stays MPI's */
    if (n == 0) break;
  }
  if (into != data) {
    memcpy(data, into, (size_t)n);
    free(into);
  }
  return true;
}

/* A file of a run's folder worth mirroring: not hidden (locks), not a temporary file of an
 * atomic write. */
static bool mirrored(const char *name) { return name[0] != '.' && !strstr(name, ".tmp."); }

/* Sends file dir/name as FILE + DATA; false when the peer is lost (a file that vanished is
 * skipped: true). */
static bool send_file(int to, int run, const char *dir, const char *name, double seconds) {
  char path[2 * PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  uint8_t *data = NULL;
  size_t size = 0;
  RtDiags d = {0};
  bool read = rt_fs_read_file(path, &data, &size, &d);
  rt_diags_free(&d);
  if (!read) return true;
  FileMsg m = {.run = run, .size = (int64_t)size};
  snprintf(m.name, sizeof m.name, "%s", name);
  if (!send_bytes(&m, sizeof m, to, TAG_FILE, seconds)) {
    free(data);
    return false;
  }
  bool ok = send_bytes(data, (int64_t)size, to, TAG_DATA, seconds);
  if (ok || size <= BOUNCE_MAX) free(data); /* else MPI may still read it (wait_for) */
  return ok;
}

/* A worker's results.json names its checkpoints in its scratch folder (`from`/...): on rank 0
 * they are in the run's folder of OUT (`to`/...), as a sweep on one machine records them. NULL
 * when there is nothing to change. */
static char *relocate_results(const uint8_t *data, size_t size, const char *from, const char *to) {
  cJSON *o = cJSON_ParseWithLength((const char *)data, size);
  cJSON *ck = cJSON_GetObjectItem(o, "checkpoints");
  bool changed = false;
  size_t n = strlen(from);
  for (cJSON *c = ck ? ck->child : NULL; c; c = c->next) {
    if (!cJSON_IsString(c) || strncmp(c->valuestring, from, n) || c->valuestring[n] != '/') continue;
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s%s", to, c->valuestring + n);
    cJSON_SetValuestring(c, path);
    changed = true;
  }
  char *text = changed ? cJSON_Print(o) : NULL;
  cJSON_Delete(o);
  return text;
}

/* The DATA of file header m from `from` (malloc'ed), or NULL when the sender is lost. */
static uint8_t *recv_data(int from, const FileMsg *m, double seconds) {
  uint8_t *data = malloc(m->size > 0 ? (size_t)m->size : 1);
  if (!data) rt_out_of_memory("a file sent by another rank", (size_t)m->size);
  if (recv_bytes(data, m->size, from, TAG_DATA, seconds)) return data;
  if (m->size <= BOUNCE_MAX) free(data); /* else MPI may still write into it (wait_for) */
  return NULL;
}

/* Writes a received file (atomically) into dir, its results.json's checkpoints moved from the
 * sender's folder `sender_dir` to dir (when given). Names with a path in them are refused. */
static void write_file(const char *dir, const char *name, const uint8_t *data, int64_t size, const char *sender_dir) {
  if (!mirrored(name) || strchr(name, '/')) return;
  char path[PATH_MAX + NAME_MAX_BYTES];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *moved = sender_dir && !strcmp(name, RT_FILE_RESULTS) ? relocate_results(data, (size_t)size, sender_dir, dir)
                                                             : NULL;
  RtDiags d = {0};
  if (!rt_fs_mkdirs(dir, &d) ||
      !rt_fs_write_atomic(path, moved ? (const void *)moved : data, moved ? strlen(moved) : (size_t)size, &d))
    rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  free(moved);
}

/* Names of the mirrored files of dir (malloc'ed array of malloc'ed names); *n their count. */
static char **list_files(const char *dir, int *n) {
  *n = 0;
  DIR *dp = opendir(dir);
  if (!dp) return NULL;
  char **names = NULL;
  int cap = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    if (!mirrored(e->d_name) || strlen(e->d_name) >= NAME_MAX_BYTES) continue;
    char path[PATH_MAX + NAME_MAX_BYTES];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (*n == cap) names = realloc(names, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *names);
    names[(*n)++] = strdup(e->d_name);
  }
  closedir(dp);
  return names;
}

static void free_names(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* ---- rank 0 ---- */

/* A file received from a worker, written with the rest of its snapshot (PASS). */
typedef struct Staged {
  int32_t run;
  char name[NAME_MAX_BYTES];
  uint8_t *data;
  int64_t size;
} Staged;

struct TuneRanks {
  RtComm *comm;
  Staged **staged; /* (n) per rank, n_staged[r] files */
  int *n_staged;
  int n, jobs, hosts, n_lost;
  char (*host)[HOST_BYTES];
  char (*scratch)[PATH_MAX];
  int *running;
  bool *lost;
  bool *idle; /* could not prepare the data: alive, but takes no experiments */
  double *heard, *told; /* when each rank was last heard from, and last sent a beat */
  double timeout;
};

int tune_ranks_size(const TuneRanks *t) { return t->n; }
int tune_ranks_hosts(const TuneRanks *t) { return t->hosts; }
int tune_ranks_lost(const TuneRanks *t) { return t->n_lost; }
const char *tune_ranks_host(const TuneRanks *t, int r) { return t->host[r]; }

TuneRanks *tune_ranks_new(RtComm *comm, int jobs) {
  TuneRanks *t = rt_xcalloc(1, sizeof *t);
  t->comm = comm;
  t->n = comm->size;
  t->jobs = jobs;
  t->timeout = timeout_seconds();
  t->host = rt_xcalloc((size_t)t->n, sizeof *t->host);
  t->scratch = rt_xcalloc((size_t)t->n, sizeof *t->scratch);
  t->staged = rt_xcalloc((size_t)t->n, sizeof *t->staged);
  t->n_staged = rt_xcalloc((size_t)t->n, sizeof *t->n_staged);
  t->running = rt_xcalloc((size_t)t->n, sizeof *t->running);
  t->lost = rt_xcalloc((size_t)t->n, sizeof *t->lost);
  t->idle = rt_xcalloc((size_t)t->n, sizeof *t->idle);
  t->heard = rt_xcalloc((size_t)t->n, sizeof *t->heard);
  t->told = rt_xcalloc((size_t)t->n, sizeof *t->told);
  int len = 0;
  MPI_Get_processor_name(t->host[0], &len);
  /* each worker says hello once it has prepared the sweep's data (generated sets included) */
  for (int r = 1; r < t->n; r++) {
    HelloMsg h;
    MPI_Recv(&h, sizeof h, MPI_BYTE, r, TAG_HELLO, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    snprintf(t->host[r], sizeof t->host[r], "%s", h.host);
    snprintf(t->scratch[r], sizeof t->scratch[r], "%s", h.scratch);
    t->heard[r] = rt_now_seconds();
    if (!h.ready) {
      fprintf(stderr, "smelt tune: rank %d (%s) takes no experiments: %s\n", r, h.host, h.error);
      t->idle[r] = true;
    }
  }
  for (int r = 0; r < t->n; r++) {
    bool seen = false;
    for (int q = 0; q < r && !seen; q++) seen = !strcmp(t->host[q], t->host[r]);
    t->hosts += !seen;
  }
  return t;
}

static void send_small(TuneRanks *t, int to, int tag, const void *data, int64_t n) {
  if (t->lost[to]) return;
  if (!send_bytes(data, n, to, tag, t->timeout)) {
    fprintf(stderr, "smelt tune: rank %d (%s) does not take messages any more\n", to, t->host[to]);
    t->heard[to] = 0; /* the next poll declares it lost */
  }
}

static void drop_staged(TuneRanks *t, int rank) {
  for (int i = 0; i < t->n_staged[rank]; i++) free(t->staged[rank][i].data);
  free(t->staged[rank]);
  t->staged[rank] = NULL;
  t->n_staged[rank] = 0;
}

/* Writes worker `rank`'s snapshot into the folders of the runs it still has: checkpoints last, so
 * that rank 0 stopped midway leaves metrics ahead of its checkpoint, never behind (a resume
 * redoes an epoch then). */
static void commit_staged(TuneRanks *t, TuneSweep *s, int rank) {
  for (int checkpoints = 0; checkpoints < 2; checkpoints++)
    for (int i = 0; i < t->n_staged[rank]; i++) {
      const Staged *f = &t->staged[rank][i];
      const TuneRun *r = &s->runs[f->run];
      if (r->rank != rank || (strstr(f->name, ".safetensors") != NULL) != checkpoints) continue;
      char sender_dir[2 * PATH_MAX];
      snprintf(sender_dir, sizeof sender_dir, "%s/%s", t->scratch[rank], r->e.name);
      write_file(r->dir, f->name, f->data, f->size, sender_dir);
    }
  drop_staged(t, rank);
}

bool tune_ranks_free(TuneRanks *t) {
  if (!t) return false;
  for (int r = 1; r < t->n; r++) send_small(t, r, TAG_QUIT, "", 0);
  bool lost = t->n_lost > 0;
  for (int r = 0; r < t->n; r++) drop_staged(t, r);
  free(t->staged);
  free(t->n_staged);
  free(t->host);
  free(t->scratch);
  free(t->running);
  free(t->lost);
  free(t->idle);
  free(t->heard);
  free(t->told);
  free(t);
  return lost;
}

int tune_ranks_free_slot(const TuneRanks *t, bool resume) {
  int best = -1;
  for (int r = 1; r < t->n; r++) {
    /* heard 0: a send to it just failed (declared lost at the next poll); a resumed run's files
     * go only to a rank that is not sending files of its own, as both sends would wait */
    bool usable = !t->lost[r] && !t->idle[r] && t->heard[r] > 0 && t->running[r] < t->jobs;
    if (usable && (!resume || t->running[r] == 0) && (best < 0 || t->running[r] < t->running[best])) best = r;
  }
  return best;
}

bool tune_ranks_start(TuneRanks *t, TuneSweep *s, TuneRun *r, int rank) {
  int n_files = 0;
  char **files = r->resume ? list_files(r->dir, &n_files) : NULL;
  TaskMsg m = {.run = (int32_t)(r - s->runs), .epochs = r->e.epochs, .resume = r->resume};
  snprintf(m.name, sizeof m.name, "%s", r->e.name);
  bool ok = send_bytes(&m, sizeof m, rank, TAG_TASK, t->timeout);
  for (int i = 0; i < n_files && ok; i++) ok = send_file(rank, m.run, r->dir, files[i], t->timeout);
  if (ok && r->resume) ok = send_bytes("", 0, rank, TAG_PASS, t->timeout);
  free_names(files, n_files);
  if (!ok) { /* at once: no second run waits on it */
    fprintf(stderr, "smelt tune: rank %d (%s) does not take messages any more\n", rank, t->host[rank]);
    t->heard[rank] = 0;
    return false;
  }
  t->running[rank]++;
  r->rank = rank;
  return true;
}

void tune_ranks_signal(TuneRanks *t, const TuneSweep *s, const TuneRun *r, int sig) {
  SignalMsg m = {.run = (int32_t)(r - s->runs), .sig = sig};
  send_small(t, r->rank, TAG_SIGNAL, &m, sizeof m);
}

/* Rank `rank` is lost: each of its runs fails with the reason, or goes back to the queue. */
static void lose(TuneRanks *t, TuneSweep *s, int rank, double silent,
                 void (*ended)(TuneSweep *s, TuneRun *r, int ws)) {
  t->lost[rank] = true;
  t->n_lost++;
  t->running[rank] = 0;
  drop_staged(t, rank); /* a snapshot it did not finish */
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    if (r->rank != rank) continue;
    if (r->status != TUNE_RUNNING) { /* pruned, its trainer killed: it ends as pruned */
      ended(s, r, SIGKILL);
      continue;
    }
    r->rank = -1;
    char why[300];
    snprintf(why, sizeof why, "its rank %d (host %s) was lost: no word from it for %.0f s", rank, t->host[rank],
             silent);
    if (r->retries_used < s->retries) {
      r->retries_used++;
      tune_outcome_requeue(r);
      tune_status_event(s, r, "%s; queued again (retry %d of %d)%s", why, r->retries_used, s->retries,
                        r->resume ? ", from its last checkpoint" : "");
    } else {
      r->status = TUNE_FAILED;
      snprintf(r->reason, sizeof r->reason, "%s", why);
      tune_status_event(s, r, "FAILED: %s", r->reason);
    }
  }
}

/* The run a message of `from` is about, when it is still that rank's (running, or pruned and
 * not yet ended). */
static TuneRun *run_of(TuneSweep *s, int from, int32_t run) {
  if (run < 0 || run >= s->n) return NULL;
  TuneRun *r = &s->runs[run];
  return r->rank == from ? r : NULL;
}

/* Receives and drops a probed message nobody wants (small: a beat, a quit). */
static void drop_message(const MPI_Status *st) {
  int n = 0;
  MPI_Get_count(st, MPI_BYTE, &n);
  void *buf = malloc(n > 0 ? (size_t)n : 1);
  MPI_Recv(buf, n, MPI_BYTE, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  free(buf);
}

/* One probed message of worker `from`; false when it could not be received in time. */
static bool receive_from(TuneRanks *t, TuneSweep *s, int from, const MPI_Status *st,
                       void (*ended)(TuneSweep *s, TuneRun *r, int ws)) {
  bool ok = true;
  switch (st->MPI_TAG) {
    case TAG_FILE: {
      FileMsg m;
      ok = recv_bytes(&m, sizeof m, from, TAG_FILE, t->timeout);
      uint8_t *data = ok ? recv_data(from, &m, t->timeout) : NULL;
      ok = data != NULL;
      if (ok && run_of(s, from, m.run)) {
        t->staged[from] = realloc(t->staged[from], ((size_t)t->n_staged[from] + 1) * sizeof *t->staged[from]);
        Staged *f = &t->staged[from][t->n_staged[from]++];
        *f = (Staged){.run = m.run, .data = data, .size = m.size};
        snprintf(f->name, sizeof f->name, "%s", m.name);
      } else {
        free(data);
      }
      break;
    }
    case TAG_PASS:
      drop_message(st);
      commit_staged(t, s, from);
      break;
    case TAG_END: {
      EndMsg m;
      ok = recv_bytes(&m, sizeof m, from, TAG_END, t->timeout);
      TuneRun *r = ok ? run_of(s, from, m.run) : NULL;
      if (r) {
        t->running[from]--;
        r->rank = -1;
        ended(s, r, m.wait_status);
      }
      break;
    }
    default: drop_message(st); break; /* BEAT, or nothing rank 0 expects */
  }
  return ok;
}

void tune_ranks_poll(TuneRanks *t, TuneSweep *s, void (*ended)(TuneSweep *s, TuneRun *r, int ws)) {
  double now = rt_now_seconds();
  for (int r = 1; r < t->n; r++)
    if (!t->lost[r] && now - t->told[r] >= 1) {
      send_small(t, r, TAG_BEAT, "", 0);
      t->told[r] = now;
    }
  /* rank by rank, never from a lost one: a dead sender's message may never finish arriving */
  for (int from = 1; from < t->n; from++) {
    for (bool ok = true; ok && !t->lost[from];) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(from, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
      if (!flag) break;
      ok = receive_from(t, s, from, &st, ended);
      t->heard[from] = ok ? rt_now_seconds() : 0;
    }
  }
  now = rt_now_seconds();
  for (int r = 1; r < t->n; r++)
    if (!t->lost[r] && now - t->heard[r] > t->timeout)
      lose(t, s, r, t->heard[r] > 0 ? now - t->heard[r] : t->timeout, ended);
}

/* ---- workers ---- */

typedef struct Mirror { /* what was last sent of a file */
  char name[NAME_MAX_BYTES];
  int64_t size;
  struct timespec mtime;
} Mirror;

typedef struct Slot {
  int32_t run; /* -1: free */
  pid_t pid;
  char dir[PATH_MAX + NAME_MAX_BYTES];
  Mirror *sent;
  int n_sent, cap_sent;
} Slot;

typedef struct Worker {
  RtComm *comm;
  const char *exe, *config;
  char scratch[PATH_MAX];
  Slot *slots;
  int jobs;
  char **env;
  double timeout, heard, told, mirrored_at; /* heard: 0 until rank 0's first message */
  bool quit, stopping;
} Worker;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* What was last sent of file `name` of slot sl; a new entry (size -1, never equal) when nothing. */
static Mirror *mirror_of(Slot *sl, const char *name) {
  for (int k = 0; k < sl->n_sent; k++)
    if (!strcmp(sl->sent[k].name, name)) return &sl->sent[k];
  if (sl->n_sent == sl->cap_sent)
    sl->sent = rt_xrealloc(sl->sent, (size_t)(sl->cap_sent = sl->cap_sent ? 2 * sl->cap_sent : 16) * sizeof *sl->sent);
  Mirror *m = &sl->sent[sl->n_sent++];
  *m = (Mirror){.size = -1};
  snprintf(m->name, sizeof m->name, "%s", name);
  return m;
}

/* Checkpoints before the rest: the trainer appends an epoch to metrics.jsonl before it writes
 * the checkpoint of that epoch, so a snapshot read in this order never has a checkpoint ahead of
 * its metrics (which a resume refuses). */
static int checkpoints_first(const void *a, const void *b) {
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  bool cx = strstr(x, ".safetensors") != NULL, cy = strstr(y, ".safetensors") != NULL;
  return cx != cy ? (cx ? -1 : 1) : strcmp(x, y);
}

/* Sends the files of slot's folder that changed since they were last sent, then PASS. */
static bool mirror_slot(Worker *w, Slot *sl) {
  int n = 0;
  char **names = list_files(sl->dir, &n);
  if (n > 1) qsort(names, (size_t)n, sizeof *names, checkpoints_first);
  bool ok = true, sent = false;
  for (int i = 0; i < n && ok; i++) {
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", sl->dir, names[i]);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    Mirror *m = mirror_of(sl, names[i]);
    if (m->size == st.st_size && m->mtime.tv_sec == st.st_mtim.tv_sec && m->mtime.tv_nsec == st.st_mtim.tv_nsec)
      continue;
    m->size = st.st_size;
    m->mtime = st.st_mtim;
    ok = send_file(0, sl->run, sl->dir, names[i], w->timeout);
    sent = true;
  }
  free_names(names, n);
  return ok && (!sent || send_bytes("", 0, 0, TAG_PASS, w->timeout));
}

static Slot *slot_of(Worker *w, int32_t run) {
  for (int i = 0; i < w->jobs; i++)
    if (w->slots[i].run == run && w->slots[i].pid > 0) return &w->slots[i];
  return NULL;
}

/* A task from rank 0: its files (when resumed) into a fresh folder, then its trainer. */
static bool start_task(Worker *w, const TaskMsg *m) {
  Slot *sl = NULL;
  for (int i = 0; i < w->jobs && !sl; i++)
    if (w->slots[i].run < 0) sl = &w->slots[i];
  char dir[PATH_MAX + NAME_MAX_BYTES];
  snprintf(dir, sizeof dir, "%s/%s", w->scratch, m->name);
  remove_tree(dir);
  mkdir(dir, 0755);
  int got = 0;
  char (*received)[NAME_MAX_BYTES] = NULL; /* names of the files rank 0 sent */
  while (m->resume) { /* a resumed run's files, up to PASS */
    MPI_Status st;
    if (!probe_from(0, &st, w->timeout)) return false;
    if (st.MPI_TAG == TAG_PASS) {
      drop_message(&st);
      break;
    }
    FileMsg f;
    uint8_t *data = recv_bytes(&f, sizeof f, 0, TAG_FILE, w->timeout) ? recv_data(0, &f, w->timeout) : NULL;
    if (!data) return false;
    write_file(dir, f.name, data, f.size, NULL);
    free(data);
    received = rt_xrealloc(received, ((size_t)got + 1) * sizeof *received);
    snprintf(received[got++], sizeof *received, "%s", f.name);
  }
  EndMsg failed = {.run = m->run, .wait_status = 127 << 8};
  if (w->stopping) { /* leaving: rank 0 counts the run with the rest of this rank's, as lost */
    free(received);
    return true;
  }
  if (!sl) { /* rank 0 gave more than --jobs: refuse this one */
    free(received);
    return send_bytes(&failed, sizeof failed, 0, TAG_END, w->timeout);
  }
  sl->run = m->run;
  snprintf(sl->dir, sizeof sl->dir, "%s", dir);
  sl->n_sent = 0;
  for (int i = 0; i < got; i++) { /* rank 0 has these: they go back only once they change */
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, received[i]);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    Mirror *r = mirror_of(sl, received[i]);
    r->size = st.st_size;
    r->mtime = st.st_mtim;
  }
  free(received);
  char log[2 * PATH_MAX], epochs[16];
  snprintf(log, sizeof log, "%s/%s", dir, TUNE_FILE_LOG);
  snprintf(epochs, sizeof epochs, "%d", m->epochs);
  char *argv[] = {(char *)w->exe, "train", (char *)w->config, "--experiment", (char *)m->name, "--out", w->scratch,
                  "--epochs", epochs, "--quiet", m->resume ? "--resume" : NULL, NULL};
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    char host[HOST_BYTES] = "";
    int len = 0;
    MPI_Get_processor_name(host, &len);
    dprintf(fd, "== smelt tune: rank %d on %s: %s train %s --experiment %s --epochs %s --quiet%s\n", w->comm->rank,
            host, w->exe, w->config, m->name, epochs, m->resume ? " --resume" : "");
    sl->pid = tune_child_start(w->exe, argv, w->env, fd);
    close(fd);
  }
  if (fd < 0 || sl->pid < 0) {
    sl->run = -1;
    sl->pid = 0;
    return send_bytes(&failed, sizeof failed, 0, TAG_END, w->timeout);
  }
  return true;
}

/* Messages from rank 0; false when it is lost. */
static bool worker_receive(Worker *w) {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
    if (!flag) return true;
    w->heard = rt_now_seconds();
    switch (st.MPI_TAG) {
      case TAG_TASK: {
        TaskMsg m;
        if (!recv_bytes(&m, sizeof m, 0, TAG_TASK, w->timeout) || !start_task(w, &m)) return false;
        break;
      }
      case TAG_SIGNAL: {
        SignalMsg m;
        if (!recv_bytes(&m, sizeof m, 0, TAG_SIGNAL, w->timeout)) return false;
        Slot *sl = slot_of(w, m.run);
        if (sl) kill(sl->pid, m.sig);
        break;
      }
      case TAG_QUIT: w->quit = true; drop_message(&st); break;
      default: drop_message(&st); break;
    }
  }
}

/* Reaps ended trainers: their last files, then END. */
static bool worker_reap(Worker *w) {
  for (int i = 0; i < w->jobs; i++) {
    Slot *sl = &w->slots[i];
    if (sl->pid <= 0) continue;
    int ws = 0;
    if (waitpid(sl->pid, &ws, WNOHANG) != sl->pid) continue;
    EndMsg m = {.run = sl->run, .wait_status = ws};
    sl->pid = 0;
    if (!mirror_slot(w, sl) || !send_bytes(&m, sizeof m, 0, TAG_END, w->timeout)) return false;
    remove_tree(sl->dir);
    sl->run = -1;
  }
  return true;
}

static volatile sig_atomic_t worker_stop;
static void on_worker_signal(int sig) { worker_stop = sig; }

int tune_worker(RtComm *comm, const char *exe, const char *config, int jobs, bool ready, const char *error) {
  Worker w = {.comm = comm, .exe = exe, .config = config, .jobs = jobs, .timeout = timeout_seconds()};
  HelloMsg h = {.ready = ready};
  int len = 0;
  MPI_Get_processor_name(h.host, &len);
  snprintf(h.error, sizeof h.error, "%s", error ? error : "");
  const char *tmp = getenv("TMPDIR");
  snprintf(w.scratch, sizeof w.scratch, "%s/smelt-tune-rank%d-XXXXXX", tmp && *tmp ? tmp : "/tmp", comm->rank);
  if (ready && !mkdtemp(w.scratch)) {
    ready = false;
    h.ready = false;
    snprintf(h.error, sizeof h.error, "cannot create a scratch folder %.300s: %s", w.scratch, strerror(errno));
  }
  snprintf(h.scratch, sizeof h.scratch, "%s", w.scratch);
  MPI_Send(&h, sizeof h, MPI_BYTE, 0, TAG_HELLO, MPI_COMM_WORLD);
  /* processes of one host share its cores */
  int threads = rt_pool_threads() / (rt_mpi_host_processes() * jobs);
  char threads_var[64];
  w.env = tune_child_environment(threads > 1 ? threads : 1, threads_var, sizeof threads_var);
  w.slots = rt_xcalloc((size_t)jobs, sizeof *w.slots);
  for (int i = 0; i < jobs; i++) w.slots[i].run = -1;
  struct sigaction sa = {.sa_handler = on_worker_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* rank 0 may still be checking the config and loading data: the clock on it starts with the
   * first word it sends after the hellos */
  w.heard = 0;
  w.told = rt_now_seconds();
  bool ok = true;
  int running = 0;
  while (ok) {
    ok = worker_receive(&w) && worker_reap(&w);
    running = 0;
    for (int i = 0; i < jobs; i++) running += w.slots[i].pid > 0;
    double now = rt_now_seconds();
    if (ok && now - w.mirrored_at >= 1) { /* the running trainers' new files */
      for (int i = 0; i < jobs && ok; i++)
        if (w.slots[i].pid > 0) ok = mirror_slot(&w, &w.slots[i]);
      w.mirrored_at = now;
    }
    if (ok && now - w.told >= 1) {
      ok = send_bytes("", 0, 0, TAG_BEAT, w.timeout);
      w.told = now;
    }
    if (worker_stop && !w.stopping) { /* Ctrl-C passed on, or this host stopped: the trainers leave
                                        * checkpoints, and the worker leaves when they have ended */
      w.stopping = true;
      for (int i = 0; i < jobs; i++)
        if (w.slots[i].pid > 0) kill(w.slots[i].pid, SIGTERM);
    }
    if (w.quit && running == 0) break;
    if (w.stopping && running == 0) { /* rank 0 counts it lost (and re-queues with --retries) */
      ok = false;
      break;
    }
    if (w.heard > 0 && now - w.heard > w.timeout) {
      fprintf(stderr, "smelt tune: rank %d: no word from rank 0 for %.0f s; stopping\n", comm->rank, now - w.heard);
      ok = false;
    }
    if (ok) sleep_ms(100);
  }
  for (int i = 0; i < jobs; i++)
    if (w.slots[i].pid > 0) kill(w.slots[i].pid, SIGKILL);
  for (int i = 0; i < jobs; i++) free(w.slots[i].sent);
  free(w.slots);
  free(w.env);
  if (ready) remove_tree(w.scratch); /* ready: the scratch folder was made */
  return ok ? 0 : 1;
}
