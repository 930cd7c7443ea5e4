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

#include <string.h>

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
    for (size_t u = rf__batch_upd(b, v); u < rf__batch_upd(b, v + 1); u++)
      fn(ctx, rf__batch_time(b, u), b->diffs[u]);
  }
}

/* ---- seekers ------------------------------------------------------------ */

/* First index in [lo, hi) whose 1-word key is >= target: gallop as above,
 * specialised for the common single-word key. */
static size_t gallop1(const uint64_t *keys, size_t lo, size_t hi, uint64_t target) {
  if (lo >= hi || keys[lo] >= target) return lo;
  size_t step = 1;
  while (lo + step < hi && keys[lo + step] < target) {
    lo += step;
    step <<= 1;
  }
  size_t end = lo + step < hi ? lo + step : hi;
  lo++;
  while (lo < end) {
    size_t mid = lo + (end - lo) / 2;
    if (keys[mid] < target)
      lo = mid + 1;
    else
      end = mid;
  }
  return lo;
}

/* The fence part of find_key1: the range [*from, *to) of b's keys, after
 * lo and at most a block long, where the first key >= target is (or *to,
 * when none of them is). */
static void fence_block(const rf__batch *b, size_t lo, uint64_t target, size_t *from,
                        size_t *to) {
  /* The fence entries from j0 on start blocks wholly after lo. */
  size_t j0 = (lo >> RF__FENCE_SHIFT) + 1;
  size_t j = gallop1(b->fence, j0, b->n_fence, target);
  /* Now fence[j - 1] < target (or j == j0) and fence[j] >= target (or j ==
   * n_fence): the answer is in [max(lo, start of block j - 1), start of
   * block j], the end itself when no key before it qualifies. */
  *from = (j - 1) << RF__FENCE_SHIFT;
  *to = j << RF__FENCE_SHIFT;
  if (*from < lo) *from = lo;
  if (*to > b->n_keys) *to = b->n_keys;
}

/* The first position in [lo, n_keys) of a batch of 1-word keys whose key is
 * >= target (n_keys if none). With a fence (batch.h) the search runs on the
 * fence, which stays in cache, and then on one block of RF__FENCE_STEP keys:
 * a few cache misses wherever the target is, where galloping across a large
 * key array misses at nearly every step (the seeks of small reduce and join
 * runs, whose targets lie far apart, spent most of their time there). */
static size_t find_key1(const rf__batch *b, size_t lo, uint64_t target) {
  if (!b->fence) return gallop1(b->keys, lo, b->n_keys, target);
  size_t from, to;
  fence_block(b, lo, target, &from, &to);
  return gallop1(b->keys, from, to, target);
}

int rf__seeker_init(rf__seeker *s, rf__batch *const *batches, uint32_t n) {
  memset(s, 0, sizeof *s);
  /* One block: batch pointers, positions, run starts, next keys and the
   * hit scratch (8-byte aligned), then the live list and hit slots. */
  size_t words = (size_t)n * (sizeof(rf__batch *) + 5 * sizeof(size_t) + sizeof(uint64_t));
  char *block = rf__malloc(words + 2 * (size_t)n * sizeof(uint32_t));
  RF_CHECK_ALLOC(block);
  s->b = (rf__batch **)block;
  s->kpos = (size_t *)(block + (size_t)n * sizeof(rf__batch *));
  s->runs = s->kpos + n;
  s->next = (uint64_t *)(s->runs + n);
  s->hit_k = (size_t *)(s->next + n);
  s->hit_v0 = s->hit_k + n;
  s->hit_v1 = s->hit_v0 + n;
  s->live = (uint32_t *)(block + words);
  s->hit_slot = s->live + n;
  s->n = n;
  s->key_arity = n ? batches[0]->key_arity : 0;
  s->val_arity = n ? batches[0]->val_arity : 0;
  s->dim = n ? batches[0]->dim : 0;
  for (uint32_t i = 0; i < n; i++) {
    s->b[i] = rf__batch_ref(batches[i]);
    s->kpos[i] = 0;
    if (batches[i]->n_keys == 0) continue;
    s->next[s->n_live] = batches[i]->keys[0];
    s->live[s->n_live++] = i;
  }
  return 0;
}

void rf__seeker_free(rf__seeker *s) {
  for (uint32_t i = 0; i < s->n; i++) rf__batch_unref(s->b[i]);
  rf__free(s->b);
  rf__free(s->upds);
  rf__free(s->tmp);
  memset(s, 0, sizeof *s);
}

void rf__seeker_prefetch(const rf__seeker *s, const uint64_t *key) {
  if (s->key_arity != 1) return;
  for (uint32_t j = 0; j < s->n_live; j++) {
    const rf__batch *b = s->b[s->live[j]];
    /* A batch at or past the key already has its block in cache; a small
     * one is searched in cache anyway. */
    if (s->next[j] >= key[0] || !b->fence) continue;
    size_t from, to;
    fence_block(b, s->kpos[s->live[j]], key[0], &from, &to);
    /* The whole block, a line at a time: the loads go out together. */
    for (size_t i = from; i < to; i += 64 / sizeof(uint64_t)) __builtin_prefetch(b->keys + i);
    __builtin_prefetch(b->keys + to - 1);
  }
}

/* Merges the sorted runs upds[runs[i] .. runs[i + 1]) (i < n_runs, the last
 * ending at n_upds) into one run sorted by value, stably: run by run, each
 * merged into the accumulated prefix through tmp. The runs come from
 * different batches and are few (one per batch holding the key). */
static int merge_runs(rf__seeker *s, uint32_t n_runs) {
  if (rf__grow((void **)&s->tmp, &s->tmp_cap, s->n_upds, sizeof(rf__upd_ref)) < 0)
    return RF_ENOMEM;
  uint32_t va = s->val_arity;
  for (uint32_t r = 1; r < n_runs; r++) {
    size_t mid = s->runs[r], end = r + 1 < n_runs ? s->runs[r + 1] : s->n_upds;
    const rf__upd_ref *u = s->upds;
    /* Already in order across the boundary (disjoint value ranges, common
     * when batches hold different values of the key): nothing to do. */
    if (rf__words_cmp(u[mid - 1].val, u[mid].val, va) <= 0) continue;
    size_t i = 0, j = mid, o = 0;
    while (i < mid && j < end)
      s->tmp[o++] = rf__words_cmp(u[j].val, u[i].val, va) < 0 ? u[j++] : u[i++];
    while (i < mid) s->tmp[o++] = u[i++];
    while (j < end) s->tmp[o++] = u[j++];
    memcpy(s->upds, s->tmp, end * sizeof(rf__upd_ref));
  }
  return 0;
}

/* Drops the live slots marked exhausted (kpos at the end), keeping order. */
static void drop_exhausted(rf__seeker *s) {
  uint32_t live = 0;
  for (uint32_t j = 0; j < s->n_live; j++) {
    uint32_t i = s->live[j];
    if (s->kpos[i] == s->b[i]->n_keys) continue;
    s->next[live] = s->next[j];
    s->live[live++] = i;
  }
  s->n_live = live;
}

/* Memory-level parallelism. A seek touches, in each batch holding the
 * key, its keys, key_off, val_off (when present), vals, times and diffs:
 * far apart in a large trace, so each is likely a cache miss, and one
 * depends on the next. Done batch by batch, those misses come one after
 * another. So a seek goes in phases, each over every batch concerned:
 * locate the key (prefetching its key_off entry), read its val range
 * (prefetching val_off, or the updates themselves), read its update range
 * (prefetching the updates), then gather. The misses of different batches
 * then overlap. (Measured: the seeks of the BFS reduce spent most of their
 * time waiting on these loads.) */
static inline void prefetch_upds(const rf__batch *b, size_t v0, size_t u0) {
  __builtin_prefetch(b->diffs + u0);
  __builtin_prefetch(rf__batch_time(b, u0));
  if (b->val_arity) __builtin_prefetch(b->vals + v0 * b->val_arity);
}

int rf__seeker_seek(rf__seeker *s, const uint64_t *key, bool by_val) {
  uint32_t ka = s->key_arity, va = s->val_arity, n_hits = 0;
  bool dropped = false;
  s->n_upds = 0;
  /* Locate the key in every live batch. */
  for (uint32_t j = 0; j < s->n_live; j++) {
    uint32_t i = s->live[j];
    const rf__batch *b = s->b[i];
    size_t k = s->kpos[i];
    if (ka == 1) {
      /* With 1-word keys each live batch's next key is at hand: a batch
       * whose next key is beyond this one costs a comparison, and its key
       * array is not touched. */
      if (s->next[j] > key[0]) continue;
      if (s->next[j] < key[0]) {
        k = s->kpos[i] = find_key1(b, k, key[0]);
        if (k == b->n_keys) {
          dropped = true;
          continue;
        }
        s->next[j] = b->keys[k];
        if (s->next[j] != key[0]) continue;
      }
    } else {
      k = s->kpos[i] = gallop(b->keys, ka, ka, k, b->n_keys, key);
      if (k == b->n_keys) {
        dropped = true;
        continue;
      }
      if (rf__words_cmp(rf__batch_key(b, k), key, ka) != 0) continue;
    }
    __builtin_prefetch(b->key_off + k);
    s->hit_slot[n_hits] = j;
    s->hit_k[n_hits++] = k;
  }
  /* Its vals; then its updates. */
  size_t total = 0;
  for (uint32_t h = 0; h < n_hits; h++) {
    const rf__batch *b = s->b[s->live[s->hit_slot[h]]];
    size_t v0 = b->key_off[s->hit_k[h]], v1 = b->key_off[s->hit_k[h] + 1];
    s->hit_v0[h] = v0;
    s->hit_v1[h] = v1;
    if (b->val_off)
      __builtin_prefetch(b->val_off + v0);
    else
      prefetch_upds(b, v0, v0);
  }
  for (uint32_t h = 0; h < n_hits; h++) {
    const rf__batch *b = s->b[s->live[s->hit_slot[h]]];
    size_t u0 = rf__batch_upd(b, s->hit_v0[h]);
    total += rf__batch_upd(b, s->hit_v1[h]) - u0;
    if (b->val_off) prefetch_upds(b, s->hit_v0[h], u0);
  }
  int rc = rf__grow((void **)&s->upds, &s->upds_cap, total, sizeof(rf__upd_ref));
  /* Gather. */
  for (uint32_t h = 0; rc == 0 && h < n_hits; h++) {
    uint32_t j = s->hit_slot[h], i = s->live[j];
    const rf__batch *b = s->b[i];
    s->runs[h] = s->n_upds;
    rf__upd_ref *o = s->upds + s->n_upds;
    for (size_t v = s->hit_v0[h]; v < s->hit_v1[h]; v++) {
      const uint64_t *val = va ? b->vals + v * va : empty_val;
      for (size_t u = rf__batch_upd(b, v); u < rf__batch_upd(b, v + 1); u++, o++) {
        o->val = val;
        o->time = rf__batch_time(b, u);
        o->diff = b->diffs[u];
      }
    }
    s->n_upds = (size_t)(o - s->upds);
    /* Keys come in increasing order: this one is done with. */
    size_t k = s->kpos[i] = s->hit_k[h] + 1;
    if (k == b->n_keys)
      dropped = true;
    else if (ka == 1)
      s->next[j] = b->keys[k];
  }
  if (dropped) drop_exhausted(s);
  if (rc < 0) return RF_ENOMEM;
  if (by_val && va > 0 && n_hits > 1) return merge_runs(s, n_hits);
  return 0;
}
