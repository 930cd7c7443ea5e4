/*
 * upbuf.h: an update buffer, the payload of messages between operators: a
 * growable array of rows (record words, time words, diff), unsorted.
 *
 * Row layout: [arity record values][dim time words][1 diff word (int64)].
 * An upbuf is reference-counted so that one message can be delivered to
 * several consumers without copying; once shared it is read-only.
 */
#ifndef RF_DATAFLOW_UPBUF_H
#define RF_DATAFLOW_UPBUF_H

#include <stddef.h>
#include <stdint.h>

#include "dataflow/time.h"

typedef struct rf__upbuf {
  uint32_t refs;   /* holders; only touched by the owning worker */
  uint32_t arity;  /* record columns */
  uint32_t dim;    /* time words */
  uint32_t width;  /* words per row: arity + dim + 1 */
  size_t n;        /* rows */
  size_t cap;      /* row capacity */
  uint64_t *rows;  /* n * width words */
} rf__upbuf;

/* A new, empty buffer with one reference. NULL on ENOMEM. */
rf__upbuf *rf__upbuf_new(uint32_t arity, uint32_t dim, size_t cap_hint);
rf__upbuf *rf__upbuf_ref(rf__upbuf *b);
void rf__upbuf_unref(rf__upbuf *b);
int rf__upbuf_reserve(rf__upbuf *b, size_t rows);
/* Gives back the capacity beyond the rows held (all of it when empty). If
 * the allocator cannot move the array it stays as it is. */
void rf__upbuf_shrink(rf__upbuf *b);
/* Appends one row. Returns 0 or RF_ENOMEM. */
int rf__upbuf_push(rf__upbuf *b, const uint64_t *rec, const uint64_t *time, int64_t diff);
/* Appends every row of src (same arity and dim). Returns 0 or RF_ENOMEM
 * (then b is unchanged). */
int rf__upbuf_append(rf__upbuf *b, const rf__upbuf *src);
/* Appends a row and returns a pointer to its (uninitialised) words, or NULL.
 * Inline: the room is almost always there. */
static inline uint64_t *rf__upbuf_push_raw(rf__upbuf *b) {
  if (b->n == b->cap && rf__upbuf_reserve(b, b->n + 1) < 0) return NULL;
  return b->rows + (b->n++) * b->width;
}

static inline uint64_t *rf__upbuf_row(const rf__upbuf *b, size_t i) {
  return b->rows + i * b->width;
}
static inline uint64_t *rf__upbuf_time(const rf__upbuf *b, size_t i) {
  return b->rows + i * b->width + b->arity;
}
static inline int64_t rf__upbuf_diff(const rf__upbuf *b, size_t i) {
  return (int64_t)b->rows[i * b->width + b->arity + b->dim];
}

/* Sorts rows by (record, time) and sums the diffs of equal rows, dropping
 * zeros. */
int rf__upbuf_consolidate(rf__upbuf *b);
/* Inserts the minimal times of the rows into `out` (dim must match). */
int rf__upbuf_min_times(const rf__upbuf *b, rf__antichain *out);

#endif
