/*
 * batcher.c: buffers unsorted updates and seals the complete ones into
 * batches (see batcher.h). This is the hot path of every arrange: rows are
 * appended with one memcpy per pushed buffer, and a seal partitions the
 * buffer in place, radix-sorts the complete rows on (key, val, time) words,
 * and consolidates them straight into the batch builder.
 *
 * Threads: a batcher belongs to the one operator (on one worker) that
 * pushes into it and seals it; nothing here is shared.
 */
#include "arrangements/batcher.h"

#include <assert.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/sort.h"

int rf__batcher_init(rf__batcher *b, uint32_t key_arity, uint32_t val_arity, uint32_t dim) {
  b->key_arity = key_arity;
  b->val_arity = val_arity;
  b->dim = dim;
  rf__antichain_init(&b->lower, dim);
  rf__antichain_init(&b->mins, dim);
  b->pending = rf__upbuf_new(key_arity + val_arity, dim, 0);
  RF_CHECK_ALLOC(b->pending);
  uint64_t zero[RF_MAX_DIM] = {0};
  if (rf__antichain_set1(&b->lower, zero) < 0) {
    rf__upbuf_unref(b->pending);
    b->pending = NULL;
    return rf__error(RF_ENOMEM, "rf__batcher_init: out of memory");
  }
  return 0;
}

void rf__batcher_free(rf__batcher *b) {
  rf__upbuf_unref(b->pending);
  b->pending = NULL;
  rf__antichain_free(&b->lower);
  rf__antichain_free(&b->mins);
}

static int check_shape(const rf__batcher *b, const rf__upbuf *ups) {
  const rf__upbuf *p = b->pending;
  RF_RETURN_ERROR_IF(ups->arity != p->arity || ups->dim != p->dim, RF_EINVAL,
                     "rf__batcher_push: rows of arity %u and dim %u, batcher takes %u and %u",
                     ups->arity, ups->dim, p->arity, p->dim);
  return 0;
}

/* The minimal times of rows about to join the pending ones: `mins` when
 * the caller knows them, else a scan of the new rows. */
static int note_times(rf__batcher *b, const rf__upbuf *ups, const rf__antichain *mins) {
  int rc = 0;
  if (!mins) rc = rf__upbuf_min_times(ups, &b->mins);
  for (uint32_t i = 0; mins && rc == 0 && i < mins->n; i++)
    rc = rf__antichain_insert(&b->mins, rf__antichain_at(mins, i)) < 0 ? RF_ENOMEM : 0;
  RF_RETURN_ERROR_IF(rc < 0, RF_ENOMEM, "rf__batcher_push: out of memory");
  return 0;
}

static int copy_in(rf__batcher *b, const rf__upbuf *ups, const rf__antichain *mins) {
  RF_FORWARD_IF_ERROR(check_shape(b, ups));
  rf__upbuf *p = b->pending;
  if (ups->n == 0) return 0;
  RF_FORWARD_IF_ERROR(note_times(b, ups, mins));
  RF_RETURN_ERROR_IF(rf__upbuf_reserve(p, p->n + ups->n) < 0, RF_ENOMEM,
                     "rf__batcher_push: out of memory for %zu rows", p->n + ups->n);
  memcpy(rf__upbuf_row(p, p->n), ups->rows, ups->n * ups->width * sizeof(uint64_t));
  p->n += ups->n;
  return 0;
}

int rf__batcher_push(rf__batcher *b, const rf__upbuf *ups) { return copy_in(b, ups, NULL); }

int rf__batcher_reserve(rf__batcher *b, size_t rows) {
  rf__upbuf *p = b->pending;
  RF_RETURN_ERROR_IF(rf__upbuf_reserve(p, p->n + rows) < 0, RF_ENOMEM,
                     "rf__batcher_reserve: out of memory for %zu rows", p->n + rows);
  return 0;
}

int rf__batcher_take(rf__batcher *b, rf__upbuf *ups, const rf__antichain *mins) {
  rf__upbuf *p = b->pending;
  if (ups->refs != 1 || p->n != 0 || p->cap >= ups->n || ups->n == 0)
    return copy_in(b, ups, mins);
  RF_FORWARD_IF_ERROR(check_shape(b, ups));
  RF_FORWARD_IF_ERROR(note_times(b, ups, mins));
  /* Nobody else can see ups (the caller holds its one reference), so its
   * rows can change hands: they become the pending rows, and ups gets the
   * batcher's empty array, freed with it. */
  uint64_t *rows = p->rows;
  size_t cap = p->cap;
  p->rows = ups->rows;
  p->cap = ups->cap;
  p->n = ups->n;
  ups->rows = rows;
  ups->cap = cap;
  ups->n = 0;
  return 0;
}

int rf__batcher_min_times(const rf__batcher *b, rf__antichain *out) {
  for (uint32_t i = 0; i < b->mins.n; i++)
    RF_RETURN_ERROR_IF(rf__antichain_insert(out, rf__antichain_at(&b->mins, i)) < 0, RF_ENOMEM,
                       "rf__batcher_min_times: out of memory");
  return 0;
}

size_t rf__batcher_len(const rf__batcher *b) { return b->pending->n; }

/* Is the row's time complete, that is not in advance of upper? */
static inline bool row_complete(const rf__antichain *upper, const uint64_t *time) {
  if (upper->n == 1 && upper->dim == 1) return time[0] < upper->t[0];
  return !rf__antichain_le(upper, time);
}

static void swap_rows(uint64_t *a, uint64_t *b, uint32_t width) {
  for (uint32_t i = 0; i < width; i++) {
    uint64_t t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

/* Moves the rows still in the future to the front of the buffer and the
 * complete ones behind them (order not kept), and returns how many stay.
 * The rows that stay keep their place unless a complete row sat before
 * them, so a seal that cuts off a few rows moves only those; the minimal
 * times of the rows that stay are gathered on the way into `mins`. */
static int partition_future(rf__upbuf *p, const rf__antichain *upper, rf__antichain *mins,
                            size_t *n_future) {
  uint32_t w = p->width, a = p->arity;
  size_t i = 0, j = p->n;
  for (;;) {
    for (; i < j && !row_complete(upper, p->rows + i * w + a); i++) {
      const uint64_t *t = p->rows + i * w + a;
      if (!rf__antichain_le(mins, t) && rf__antichain_insert(mins, t) < 0) return RF_ENOMEM;
    }
    while (i < j && row_complete(upper, p->rows + (j - 1) * w + a)) j--;
    /* Row i is complete and row j - 1 in the future, so i < j - 1. */
    if (i >= j) break;
    swap_rows(p->rows + i * w, p->rows + (j - 1) * w, w);
    j--; /* row i, now in the future, is taken in by the next pass */
  }
  *n_future = i;
  return 0;
}

/* Whether some pending row may be complete at upper: not if every minimal
 * time of the pending rows is in advance of upper (then every row is). */
static bool any_complete(const rf__batcher *b, const rf__antichain *upper) {
  for (uint32_t i = 0; i < b->mins.n; i++)
    if (!rf__antichain_le(upper, rf__antichain_at(&b->mins, i))) return true;
  return false;
}

/* Counts, among n sorted rows, the distinct keys, (key, val)s and (key,
 * val, time)s: what the batch can hold at most, so that the builder is
 * reserved exactly. (A reservation by row count alone holds a key and a
 * val slot per row, which for a large load with few keys is most of the
 * batch again, if only for the time of the seal.) */
static void count_distinct(const uint64_t *rows, size_t n, uint32_t w, uint32_t ka, uint32_t kv,
                           size_t *n_keys, size_t *n_vals, size_t *n_upds) {
  uint32_t kw = w - 1;
  size_t keys = n > 0, vals = n > 0, upds = n > 0;
  for (size_t i = 1; i < n; i++) {
    const uint64_t *a = rows + (i - 1) * w, *r = rows + i * w;
    uint32_t c = 0;
    while (c < kw && a[c] == r[c]) c++;
    keys += c < ka;
    vals += c < kv;
    upds += c < kw;
  }
  *n_keys = keys;
  *n_vals = vals;
  *n_upds = upds;
}

/* Sorts the n complete rows from row `first` on (in place: a failure
 * loses none) and builds the batch. */
static int build_batch(rf__batcher *b, size_t first, size_t n, const rf__antichain *upper,
                       rf__batch **out) {
  const rf__upbuf *p = b->pending;
  uint64_t *rows = rf__upbuf_row(p, first);
  rf__builder bld;
  rf__builder_init(&bld, b->key_arity, b->val_arity, b->dim);
  size_t nk, nv, nu;
  int rc = RF_ENOMEM;
  if (rf__sort_rows(rows, n, p->width, p->arity + p->dim) < 0) goto out;
  count_distinct(rows, n, p->width, b->key_arity, p->arity, &nk, &nv, &nu);
  if (n > 0 && rf__builder_reserve_exact(&bld, nk, nv, nu) < 0) goto out;
#ifndef NDEBUG
  for (size_t i = 0; i < n; i++) /* pushed at a time before lower? */
    assert(rf__antichain_le(&b->lower, rf__upbuf_time(p, first + i)));
#endif
  if (rf__builder_push_sorted(&bld, rows, n, p->width) < 0) goto out;
  *out = rf__builder_done(&bld, &b->lower, upper, &b->lower);
  if (*out) rc = 0;
out:
  rf__builder_free(&bld);
  return rc == 0 ? 0 : rf__error(rc, "rf__batcher_seal: out of memory sealing %zu rows", n);
}

int rf__batcher_seal(rf__batcher *b, const rf__antichain *upper, rf__batch **out) {
  RF_RETURN_ERROR_IF(upper->dim != b->dim || !rf__antichain_dominates(&b->lower, upper),
                     RF_EINVAL, "rf__batcher_seal: upper is not in advance of lower");
  rf__upbuf *p = b->pending;
  rf__antichain next, mins;
  rf__antichain_init(&next, b->dim);
  rf__antichain_init(&mins, b->dim);
  /* Every row stays when none can be complete (a frontier that moves in
   * small steps seals many empty batches): no pass over them, and their
   * minimal times stay as they are. */
  size_t stay = p->n;
  bool cuts = any_complete(b, upper);
  int rc = rf__antichain_copy(&next, upper);
  if (rc == 0 && cuts) rc = partition_future(p, upper, &mins, &stay);
  rf__batch *batch = NULL;
  if (rc < 0) rc = rf__error(RF_ENOMEM, "rf__batcher_seal: out of memory");
  else rc = build_batch(b, stay, p->n - stay, upper, &batch);
  if (rc < 0) {
    rf__antichain_free(&next);
    rf__antichain_free(&mins);
    return rc;
  }
  rf__antichain_free(&b->lower);
  b->lower = next;
  if (cuts) {
    rf__antichain_free(&b->mins);
    b->mins = mins;
  }
  p->n = stay;
  /* A burst (a large load, a big iteration) leaves a large buffer behind:
   * give back what the rows left no longer need rather than keep it for
   * the life of the arrangement. Doubling on the next push keeps growth
   * amortized. */
  if (p->n <= p->cap / 4) rf__upbuf_shrink(p);
  *out = batch;
  return 0;
}
