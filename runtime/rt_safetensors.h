/* The safetensors file format (Hugging Face): 8-byte little-endian header length N, N bytes of
 * JSON header {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__":
 * {string: string}} padded with spaces to a multiple of 8, then the raw little-endian row-major
 * tensor bytes, offsets counted from the end of the header. Smelt's checkpoints use it.
 * The reader treats every file as hostile: any inconsistency is an RtDiags error naming the file,
 * never a crash or an out-of-bounds read. */
#ifndef SMELT_RT_SAFETENSORS_H
#define SMELT_RT_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/rt_diag.h"

/* Every dtype of the format (smelt itself writes F32, I32, I64, F64 and U8). */
typedef enum RtStDtype {
  RT_ST_BOOL, RT_ST_U8, RT_ST_I8, RT_ST_F8_E5M2, RT_ST_F8_E4M3, RT_ST_I16, RT_ST_U16, RT_ST_F16,
  RT_ST_BF16, RT_ST_I32, RT_ST_U32, RT_ST_F32, RT_ST_F64, RT_ST_I64, RT_ST_U64,
  RT_ST_DTYPE_COUNT
} RtStDtype;

enum { RT_ST_MAX_RANK = 8 };

const char *rt_st_dtype_name(RtStDtype t); /* "F32", ... */
size_t rt_st_dtype_size(RtStDtype t);      /* bytes per element */
/* The dtype named s, or -1. */
int rt_st_dtype_parse(const char *s);

/* ---- Writing ---- */

typedef struct RtStWriter RtStWriter;

RtStWriter *rt_st_writer_new(void);
void rt_st_writer_free(RtStWriter *w);

/* Adds a tensor: shape[0..rank) (rank <= RT_ST_MAX_RANK, dims >= 0), data = product(shape) *
 * dtype size bytes. The name and shape are copied; data is borrowed until the last write or
 * serialize call. A duplicate name or "__metadata__" is a bug (RT_ASSERT). */
void rt_st_writer_add(RtStWriter *w, const char *name, RtStDtype dtype, int rank, const int64_t *shape,
                      const void *data);
/* Sets a metadata entry (copied); setting a key again replaces its value. */
void rt_st_writer_set_meta(RtStWriter *w, const char *key, const char *value);

/* The whole file in memory (caller frees). Tensors are laid out by decreasing element size, in the
 * order added within one size, so that each is aligned to its element size (as the reference
 * writer does); the header lists __metadata__ first, then the tensors in file order. */
uint8_t *rt_st_writer_serialize(const RtStWriter *w, size_t *size);
/* Writes the file atomically (rt_fs: temporary file, fsync, rename, fsync of the directory),
 * streaming tensor data without a second copy in memory. */
bool rt_st_writer_write(const RtStWriter *w, const char *path, RtDiags *d);

/* ---- Reading ---- */

typedef struct RtStTensor {
  const char *name;
  RtStDtype dtype;
  int rank;
  int64_t shape[RT_ST_MAX_RANK];
  int64_t count;       /* product(shape) */
  const uint8_t *data; /* count * dtype size bytes inside the file buffer; not necessarily aligned
                          for the dtype in files from other writers: copy out (rt_st_read) */
  size_t nbytes;
} RtStTensor;

typedef struct RtStFile RtStFile;

/* Reads and validates a file. NULL with one diagnostic per problem found (each naming path). */
RtStFile *rt_st_load(const char *path, RtDiags *d);
/* The same for bytes in memory (copied); name is used in diagnostics. */
RtStFile *rt_st_parse(const char *name, const uint8_t *bytes, size_t size, RtDiags *d);
void rt_st_free(RtStFile *f);

/* Tensors in file (offset) order. */
int rt_st_count(const RtStFile *f);
const RtStTensor *rt_st_tensor(const RtStFile *f, int i);
/* By name (binary search); NULL when absent. */
const RtStTensor *rt_st_find(const RtStFile *f, const char *name);

/* Metadata entries in header order; rt_st_meta returns NULL for an absent key. */
int rt_st_meta_count(const RtStFile *f);
void rt_st_meta_at(const RtStFile *f, int i, const char **key, const char **value);
const char *rt_st_meta(const RtStFile *f, const char *key);

/* Copies tensor `name` into dst after checking that it exists, has the dtype and exactly the shape
 * given (rank, shape[0..rank)); otherwise an error names the file, the tensor and the mismatch
 * ("did you mean" for a missing name). */
bool rt_st_read(const RtStFile *f, const char *name, RtStDtype dtype, int rank, const int64_t *shape,
                void *dst, RtDiags *d);

#endif
