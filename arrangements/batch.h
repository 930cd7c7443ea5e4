/*
 * batch.h: immutable, columnar, reference-counted batches of updates, and
 * the builder that makes them.
 *
 * A batch holds exactly the updates with times in [lower, upper) (times may
 * have been advanced to `since` by compaction), sorted by (key, val, time)
 * and consolidated: no two updates share (key, val, time) and no diff is 0.
 *
 * Layout (every array is one allocation, no per-record pointers):
 *   keys    n_keys * key_arity words, strictly increasing
 *   key_off n_keys + 1 entries: key i's values are vals[key_off[i] .. key_off[i+1])
 *   vals    n_vals * val_arity words, strictly increasing within a key
 *   val_off n_vals + 1 entries: val j's updates are [val_off[j] .. val_off[j+1]);
 *           NULL when every val has exactly one update (val j's is update j)
 *   times   n_upds * dim words, strictly increasing (rf__time_cmp) within a
 *           val; when every update is at the same time (a load at time 0, a
 *           batch compacted to its since), that one time only:
 *           time_stride is then 0 instead of dim
 *   diffs   n_upds
 *   fence   with 1-word keys and at least RF__FENCE_MIN of them: every
 *           RF__FENCE_STEP-th key (fence[j] = keys[j * RF__FENCE_STEP]),
 *           n_fence entries; NULL otherwise. A seek searches this small
 *           array (it stays in cache) before a block of RF__FENCE_STEP keys,
 *           instead of galloping across the large key array, a cache miss
 *           a step (arrangements/cursor.c).
 * Read them through rf__batch_upd and rf__batch_time, which know the two
 * compact forms. The compact forms halve a batch of distinct (key, val)
 * pairs at one time (an edge list) from 32 to 16 bytes per update.
 * A val_arity of 0 is allowed: every key then has exactly one (empty) value.
 *
 * Threads: a batch never changes after rf__builder_done. Its reference count
 * is atomic, so that readers on other threads (live views) may hold it.
 */
#ifndef RF_ARRANGEMENTS_BATCH_H
#define RF_ARRANGEMENTS_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "dataflow/time.h"

typedef struct rf__batch {
  uint32_t refs;                 /* atomic (common/atomic.h) */
  uint32_t key_arity, val_arity, dim;
  size_t n_keys, n_vals, n_upds;
  uint64_t *keys;
  size_t *key_off;
  uint64_t *vals;
  size_t *val_off;               /* NULL: one update per val */
  uint64_t *times;
  uint32_t time_stride;          /* dim, or 0: every update at times[0..dim) */
  int64_t *diffs;
  uint64_t *fence;               /* NULL, or n_fence sampled keys (above) */
  size_t n_fence;
  rf__antichain lower, upper, since;
  struct rf__batch *owner;       /* batch whose arrays these are (a reframed
                                    batch shares them), NULL if its own */
} rf__batch;

/* The fence's spacing (a power of two: 64 keys, eight cache lines, so that
 * the fences of a few million-key batches stay in a core's L2 cache) and
 * the fewest keys a batch needs to get one. */
#define RF__FENCE_SHIFT 6
#define RF__FENCE_STEP ((size_t)1 << RF__FENCE_SHIFT)
#define RF__FENCE_MIN ((size_t)1024)

rf__batch *rf__batch_ref(rf__batch *b);
void rf__batch_unref(rf__batch *b); /* accepts NULL; frees at zero */
/* An empty batch [lower, upper) with since = lower. NULL on ENOMEM. */
rf__batch *rf__batch_empty(uint32_t key_arity, uint32_t val_arity, uint32_t dim,
                           const rf__antichain *lower, const rf__antichain *upper);
/* The updates of b under new frontiers, sharing b's arrays in O(1) (b's
 * arrays stay alive until the new batch is freed). The caller vouches that
 * the description still holds, e.g. b merged with an empty neighbour. NULL
 * on ENOMEM. */
rf__batch *rf__batch_reframe(rf__batch *b, const rf__antichain *lower,
                             const rf__antichain *upper, const rf__antichain *since);
/* Bytes of b's arrays (shared arrays counted in full). */
size_t rf__batch_bytes(const rf__batch *b);

static inline const uint64_t *rf__batch_key(const rf__batch *b, size_t i) {
  return b->keys + i * b->key_arity;
}
static inline const uint64_t *rf__batch_val(const rf__batch *b, size_t j) {
  return b->vals + j * b->val_arity;
}
/* The first update of val j (j == n_vals: one past the last update). */
static inline size_t rf__batch_upd(const rf__batch *b, size_t j) {
  return b->val_off ? b->val_off[j] : j;
}
static inline const uint64_t *rf__batch_time(const rf__batch *b, size_t u) {
  return b->times + u * b->time_stride;
}

/* Builds a batch from updates pushed in (key, val, time) order. The caller
 * consolidates: equal (key, val, time) pushed twice is a bug (asserted).
 *
 * The builder starts in the compact forms of batch.h: while every update
 * pushed is at one time it keeps that time only (in `time`, times NULL),
 * and while every val has one update it keeps no val_off (NULL). The first
 * update that breaks a form allocates the full array (at the reserved
 * capacity) and fills in what the compact form implied. */
typedef struct rf__builder {
  uint32_t key_arity, val_arity, dim;
  size_t n_keys, n_vals, n_upds;
  size_t keys_cap, key_off_cap, vals_cap, upds_cap;
  uint64_t *keys;
  size_t *key_off;
  uint64_t *vals;
  size_t *val_off;            /* NULL: every val so far has one update */
  uint64_t *times;            /* NULL: every update so far is at `time` */
  uint64_t time[RF_MAX_DIM];  /* the one time, while times is NULL */
  int64_t *diffs;
} rf__builder;

void rf__builder_init(rf__builder *b, uint32_t key_arity, uint32_t val_arity,
                      uint32_t dim);
/* Reserves room for at least n_keys keys, n_vals vals and n_upds updates, so
 * that pushing that many never allocates. */
int rf__builder_reserve_exact(rf__builder *b, size_t n_keys, size_t n_vals, size_t n_upds);
int rf__builder_push(rf__builder *b, const uint64_t *key, const uint64_t *val,
                     const uint64_t *time, int64_t diff);
/* Pushes every update of one (key, val) at once: n rows of dim time words
 * then a diff word, times strictly increasing, diffs non-zero. The (key,
 * val) must come after the last one pushed. n == 0 pushes nothing. */
int rf__builder_push_val(rf__builder *b, const uint64_t *key, const uint64_t *val,
                         const uint64_t *rows, size_t n);
/* Pushes n rows of w words, each (key words, val words, time words, diff),
 * sorted by (key, val, time) and coming after everything pushed so far:
 * runs of equal (key, val, time) have their diffs summed and zero sums are
 * dropped. The batcher's bulk path: one comparison of neighbouring rows
 * decides both the consolidation and where keys and vals change. */
int rf__builder_push_sorted(rf__builder *b, const uint64_t *rows, size_t n, uint32_t w);
/* Hands the pushed updates over as a batch (the builder is empty again).
 * lower, upper and since are copied. Returns NULL on ENOMEM. */
rf__batch *rf__builder_done(rf__builder *b, const rf__antichain *lower,
                            const rf__antichain *upper, const rf__antichain *since);
void rf__builder_free(rf__builder *b);

#endif
