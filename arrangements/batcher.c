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
}

int rf__batcher_push(rf__batcher *b, const rf__upbuf *ups) {
  rf__upbuf *p = b->pending;
  RF_RETURN_ERROR_IF(ups->arity != p->arity || ups->dim != p->dim, RF_EINVAL,
                     "rf__batcher_push: rows of arity %u and dim %u, batcher takes %u and %u",
                     ups->arity, ups->dim, p->arity, p->dim);
  if (ups->n == 0) return 0;
  RF_RETURN_ERROR_IF(rf__upbuf_reserve(p, p->n + ups->n) < 0, RF_ENOMEM,
                     "rf__batcher_push: out of memory for %zu rows", p->n + ups->n);
  memcpy(rf__upbuf_row(p, p->n), ups->rows, ups->n * ups->width * sizeof(uint64_t));
  p->n += ups->n;
  return 0;
}

int rf__batcher_min_times(const rf__batcher *b, rf__antichain *out) {
  RF_RETURN_ERROR_IF(rf__upbuf_min_times(b->pending, out) < 0, RF_ENOMEM,
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

/* Moves the complete rows to the front of the buffer (order not kept) and
 * returns how many there are. */
static size_t partition_complete(rf__upbuf *p, const rf__antichain *upper) {
  uint32_t w = p->width, a = p->arity;
  size_t i = 0, j = p->n;
  for (;;) {
    while (i < j && row_complete(upper, p->rows + i * w + a)) i++;
    while (i < j && !row_complete(upper, p->rows + (j - 1) * w + a)) j--;
    /* Row i is in the future and row j - 1 complete, so i < j - 1. */
    if (i >= j) return i;
    swap_rows(p->rows + i * w, p->rows + (j - 1) * w, w);
    i++;
    j--;
  }
}

/* Sums the diffs of runs of equal (key, val, time) among n sorted rows and
 * pushes the non-zero sums. */
static int build_consolidated(rf__builder *bld, const rf__upbuf *p, size_t n,
                              const rf__antichain *lower) {
  uint32_t w = p->width, ka = bld->key_arity, kv = p->arity, kw = p->arity + p->dim;
  const uint64_t *rows = p->rows;
  for (size_t i = 0; i < n;) {
    const uint64_t *r = rows + i * w;
    int64_t sum = (int64_t)r[kw];
    size_t j = i + 1;
    while (j < n && rf__words_cmp(rows + j * w, r, kw) == 0) sum += (int64_t)rows[j++ * w + kw];
    assert(rf__antichain_le(lower, r + kv)); /* pushed at a time before lower */
    if (sum != 0 && rf__builder_push(bld, r, r + ka, r + kv, sum) < 0) return RF_ENOMEM;
    i = j;
  }
  return 0;
}

static int build_batch(rf__batcher *b, size_t n, const rf__antichain *upper, rf__batch **out) {
  rf__upbuf *p = b->pending;
  rf__builder bld;
  rf__builder_init(&bld, b->key_arity, b->val_arity, b->dim);
  int rc = RF_ENOMEM;
  if (rf__sort_rows(p->rows, n, p->width, p->arity + p->dim) < 0) goto out;
  if (n > 0 && rf__builder_reserve(&bld, n) < 0) goto out;
  if (build_consolidated(&bld, p, n, &b->lower) < 0) goto out;
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
  size_t n = partition_complete(p, upper);
  rf__batch *batch = NULL;
  RF_FORWARD_IF_ERROR(build_batch(b, n, upper, &batch));
  rf__antichain next;
  rf__antichain_init(&next, b->dim);
  if (rf__antichain_copy(&next, upper) < 0) {
    rf__batch_unref(batch);
    return rf__error(RF_ENOMEM, "rf__batcher_seal: out of memory");
  }
  rf__antichain_free(&b->lower);
  b->lower = next;
  if (n < p->n) memmove(p->rows, rf__upbuf_row(p, n), (p->n - n) * p->width * sizeof(uint64_t));
  p->n -= n;
  *out = batch;
  return 0;
}
