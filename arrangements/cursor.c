/*
 * cursor.c: a k-way cursor over a list of batches (see cursor.h).
 *
 * Each batch keeps its own position (kpos, and vpos, an absolute index into
 * its vals that stays inside the current key's range). The current key is
 * the least key among the batches not yet exhausted; at_key marks the
 * batches positioned at it. Likewise the current val is the least val among
 * the at_key batches, and at_val marks those positioned at it. There are
 * usually few batches (under 20), so the minimum is a linear scan; seeks
 * gallop (exponential then binary search) inside each batch.
 *
 * Threads: a cursor belongs to the thread using it. It holds a reference to
 * each batch, so the batches outlive any merge of the trace meanwhile.
 */
#include "arrangements/cursor.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/sort.h"

/* The current val when val_arity is 0: every key has one empty val, and a
 * valid val must be a non-NULL pointer. */
static const uint64_t empty_val[1];

/* First index in [lo, hi) whose row (of `n` words, rows `stride` apart) is
 * >= target, or hi. Gallops from lo, so nearby targets cost O(log d). */
static size_t gallop(const uint64_t *base, size_t stride, uint32_t n, size_t lo, size_t hi,
                     const uint64_t *target) {
  if (lo >= hi || rf__words_cmp(base + lo * stride, target, n) >= 0) return lo;
  size_t step = 1;
  while (lo + step < hi && rf__words_cmp(base + (lo + step) * stride, target, n) < 0) {
    lo += step;
    step <<= 1;
  }
  /* Row lo < target; the answer lies in (lo, min(lo + step, hi)]. */
  size_t end = lo + step < hi ? lo + step : hi;
  lo++;
  while (lo < end) {
    size_t mid = lo + (end - lo) / 2;
    if (rf__words_cmp(base + mid * stride, target, n) < 0)
      lo = mid + 1;
    else
      end = mid;
  }
  return lo;
}

static inline size_t val_end(const rf__batch *b, size_t kpos) { return b->key_off[kpos + 1]; }

static const uint64_t *val_ptr(const rf__cursor *c, uint32_t i) {
  return c->val_arity ? rf__batch_val(c->b[i], c->vpos[i]) : empty_val;
}

/* Recomputes the current val from the vpos of the at_key batches. */
static void settle_val(rf__cursor *c) {
  const uint64_t *min = NULL;
  for (uint32_t i = 0; i < c->n; i++) {
    c->at_val[i] = false;
    if (!c->at_key[i] || c->vpos[i] >= val_end(c->b[i], c->kpos[i])) continue;
    const uint64_t *v = val_ptr(c, i);
    if (!min || rf__words_cmp(v, min, c->val_arity) < 0) min = v;
  }
  c->val = min;
  if (!min) return;
  for (uint32_t i = 0; i < c->n; i++)
    c->at_val[i] = c->at_key[i] && c->vpos[i] < val_end(c->b[i], c->kpos[i]) &&
                   rf__words_cmp(val_ptr(c, i), min, c->val_arity) == 0;
}

/* Recomputes the current key from the kpos of every batch, and starts its
 * vals from the beginning. */
static void settle_key(rf__cursor *c) {
  const uint64_t *min = NULL;
  for (uint32_t i = 0; i < c->n; i++) {
    const rf__batch *b = c->b[i];
    if (c->kpos[i] >= b->n_keys) continue;
    const uint64_t *k = rf__batch_key(b, c->kpos[i]);
    if (!min || rf__words_cmp(k, min, c->key_arity) < 0) min = k;
  }
  c->key = min;
  for (uint32_t i = 0; i < c->n; i++) {
    const rf__batch *b = c->b[i];
    c->at_key[i] = min && c->kpos[i] < b->n_keys &&
                   rf__words_cmp(rf__batch_key(b, c->kpos[i]), min, c->key_arity) == 0;
    if (c->at_key[i]) c->vpos[i] = b->key_off[c->kpos[i]];
  }
  settle_val(c);
}

int rf__cursor_init(rf__cursor *c, rf__batch *const *batches, uint32_t n) {
  /* One block: batch pointers and positions (8-byte aligned), then flags. */
  size_t words = (size_t)n * (sizeof(rf__batch *) + 2 * sizeof(size_t));
  char *block = rf__malloc(words + 2 * (size_t)n * sizeof(bool));
  RF_CHECK_ALLOC(block);
  c->b = (rf__batch **)block;
  c->kpos = (size_t *)(block + (size_t)n * sizeof(rf__batch *));
  c->vpos = c->kpos + n;
  c->at_key = (bool *)(block + words);
  c->at_val = c->at_key + n;
  c->n = n;
  c->key_arity = n ? batches[0]->key_arity : 0;
  c->val_arity = n ? batches[0]->val_arity : 0;
  c->dim = n ? batches[0]->dim : 0;
  for (uint32_t i = 0; i < n; i++) {
    c->b[i] = rf__batch_ref(batches[i]);
    c->kpos[i] = 0;
  }
  settle_key(c);
  return 0;
}

void rf__cursor_free(rf__cursor *c) {
  for (uint32_t i = 0; i < c->n; i++) rf__batch_unref(c->b[i]);
  rf__free(c->b);
  c->b = NULL;
  c->n = 0;
  c->key = c->val = NULL;
}

void rf__cursor_step_key(rf__cursor *c) {
  if (!c->key) return;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->at_key[i]) c->kpos[i]++;
  settle_key(c);
}

void rf__cursor_seek_key(rf__cursor *c, const uint64_t *key) {
  if (!c->key || rf__words_cmp(c->key, key, c->key_arity) >= 0) return;
  for (uint32_t i = 0; i < c->n; i++) {
    const rf__batch *b = c->b[i];
    c->kpos[i] = gallop(b->keys, c->key_arity, c->key_arity, c->kpos[i], b->n_keys, key);
  }
  settle_key(c);
}

void rf__cursor_step_val(rf__cursor *c) {
  if (!c->val) return;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->at_val[i]) c->vpos[i]++;
  settle_val(c);
}

void rf__cursor_seek_val(rf__cursor *c, const uint64_t *val) {
  if (!c->val || rf__words_cmp(c->val, val, c->val_arity) >= 0) return;
  for (uint32_t i = 0; i < c->n; i++) {
    if (!c->at_key[i]) continue;
    const rf__batch *b = c->b[i];
    c->vpos[i] = gallop(b->vals, c->val_arity, c->val_arity, c->vpos[i],
                        val_end(b, c->kpos[i]), val);
  }
  settle_val(c);
}

void rf__cursor_rewind_vals(rf__cursor *c) {
  if (!c->key) return;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->at_key[i]) c->vpos[i] = c->b[i]->key_off[c->kpos[i]];
  settle_val(c);
}

void rf__cursor_map_times(const rf__cursor *c, rf__time_fn fn, void *ctx) {
  if (!c->val) return;
  for (uint32_t i = 0; i < c->n; i++) {
    if (!c->at_val[i]) continue;
    const rf__batch *b = c->b[i];
    for (size_t u = b->val_off[c->vpos[i]]; u < b->val_off[c->vpos[i] + 1]; u++)
      fn(ctx, rf__batch_time(b, u), b->diffs[u]);
  }
}
