/*
 * cursor.c: a k-way cursor over a list of batches (see cursor.h).
 *
 * Each batch keeps its own position (kpos, and vpos, an absolute index into
 * its vals that stays inside the current key's range). The current key is
 * the least key among the batches not yet exhausted (the `live` list); the
 * batches positioned at it are listed in `keyed` (and flagged in at_key).
 * Likewise the current val is the least val among the keyed batches, which
 * are listed in `valued` (flagged in at_val). Steps and seeks touch only
 * the batches of the relevant list, in batch order (oldest first). There
 * are usually few batches (under 20), so a minimum is a linear scan; seeks
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

/* Recomputes the current val from the vpos of the batches at the key. */
static void settle_val(rf__cursor *c) {
  for (uint32_t j = 0; j < c->n_valued; j++) c->at_val[c->valued[j]] = false;
  const uint64_t *min = NULL;
  uint32_t n = 0;
  for (uint32_t j = 0; j < c->n_keyed; j++) {
    uint32_t i = c->keyed[j];
    if (c->vpos[i] >= val_end(c->b[i], c->kpos[i])) continue;
    const uint64_t *v = val_ptr(c, i);
    int cmp = min ? rf__words_cmp(v, min, c->val_arity) : -1;
    if (cmp < 0) {
      min = v;
      n = 0;
    }
    if (cmp <= 0) c->valued[n++] = i;
  }
  for (uint32_t j = 0; j < n; j++) c->at_val[c->valued[j]] = true;
  c->n_valued = n;
  c->val = min;
}

/* Recomputes the current key from the kpos of the live batches (dropping
 * exhausted ones), and starts its vals from the beginning. */
static void settle_key(rf__cursor *c) {
  for (uint32_t j = 0; j < c->n_keyed; j++) c->at_key[c->keyed[j]] = false;
  const uint64_t *min = NULL;
  uint32_t live = 0, n = 0;
  for (uint32_t j = 0; j < c->n_live; j++) {
    uint32_t i = c->live[j];
    const rf__batch *b = c->b[i];
    if (c->kpos[i] >= b->n_keys) continue;
    c->live[live++] = i;
    const uint64_t *k = rf__batch_key(b, c->kpos[i]);
    int cmp = min ? rf__words_cmp(k, min, c->key_arity) : -1;
    if (cmp < 0) {
      min = k;
      n = 0;
    }
    if (cmp <= 0) c->keyed[n++] = i;
  }
  c->n_live = live;
  for (uint32_t j = 0; j < n; j++) {
    uint32_t i = c->keyed[j];
    c->at_key[i] = true;
    c->vpos[i] = c->b[i]->key_off[c->kpos[i]];
  }
  c->n_keyed = n;
  c->key = min;
  settle_val(c);
}

int rf__cursor_init(rf__cursor *c, rf__batch *const *batches, uint32_t n) {
  /* One block: batch pointers and positions (8-byte aligned), the three
   * index lists, then the flags. */
  size_t words = (size_t)n * (sizeof(rf__batch *) + 2 * sizeof(size_t));
  size_t lists = 3 * (size_t)n * sizeof(uint32_t);
  char *block = rf__malloc(words + lists + 2 * (size_t)n * sizeof(bool));
  RF_CHECK_ALLOC(block);
  c->b = (rf__batch **)block;
  c->kpos = (size_t *)(block + (size_t)n * sizeof(rf__batch *));
  c->vpos = c->kpos + n;
  c->live = (uint32_t *)(block + words);
  c->keyed = c->live + n;
  c->valued = c->keyed + n;
  c->at_key = (bool *)(block + words + lists);
  c->at_val = c->at_key + n;
  c->n = c->n_live = n;
  c->n_keyed = c->n_valued = 0;
  c->key_arity = n ? batches[0]->key_arity : 0;
  c->val_arity = n ? batches[0]->val_arity : 0;
  c->dim = n ? batches[0]->dim : 0;
  for (uint32_t i = 0; i < n; i++) {
    c->b[i] = rf__batch_ref(batches[i]);
    c->kpos[i] = 0;
    c->live[i] = i;
    c->at_key[i] = c->at_val[i] = false;
  }
  settle_key(c);
  return 0;
}

void rf__cursor_free(rf__cursor *c) {
  for (uint32_t i = 0; i < c->n; i++) rf__batch_unref(c->b[i]);
  rf__free(c->b);
  c->b = NULL;
  c->n = c->n_live = c->n_keyed = c->n_valued = 0;
  c->key = c->val = NULL;
}

void rf__cursor_step_key(rf__cursor *c) {
  if (!c->key) return;
  for (uint32_t j = 0; j < c->n_keyed; j++) c->kpos[c->keyed[j]]++;
  settle_key(c);
}

void rf__cursor_seek_key(rf__cursor *c, const uint64_t *key) {
  if (!c->key || rf__words_cmp(c->key, key, c->key_arity) >= 0) return;
  for (uint32_t j = 0; j < c->n_live; j++) {
    uint32_t i = c->live[j];
    const rf__batch *b = c->b[i];
    c->kpos[i] = gallop(b->keys, c->key_arity, c->key_arity, c->kpos[i], b->n_keys, key);
  }
  settle_key(c);
}

void rf__cursor_step_val(rf__cursor *c) {
  if (!c->val) return;
  for (uint32_t j = 0; j < c->n_valued; j++) c->vpos[c->valued[j]]++;
  settle_val(c);
}

void rf__cursor_seek_val(rf__cursor *c, const uint64_t *val) {
  if (!c->val || rf__words_cmp(c->val, val, c->val_arity) >= 0) return;
  for (uint32_t j = 0; j < c->n_keyed; j++) {
    uint32_t i = c->keyed[j];
    const rf__batch *b = c->b[i];
    c->vpos[i] = gallop(b->vals, c->val_arity, c->val_arity, c->vpos[i],
                        val_end(b, c->kpos[i]), val);
  }
  settle_val(c);
}

void rf__cursor_rewind_vals(rf__cursor *c) {
  if (!c->key) return;
  for (uint32_t j = 0; j < c->n_keyed; j++) {
    uint32_t i = c->keyed[j];
    c->vpos[i] = c->b[i]->key_off[c->kpos[i]];
  }
  settle_val(c);
}

void rf__cursor_map_times(const rf__cursor *c, rf__time_fn fn, void *ctx) {
  for (uint32_t j = 0; j < c->n_valued; j++) {
    const rf__batch *b = c->b[c->valued[j]];
    size_t v = c->vpos[c->valued[j]];
    for (size_t u = b->val_off[v]; u < b->val_off[v + 1]; u++)
      fn(ctx, rf__batch_time(b, u), b->diffs[u]);
  }
}
