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
  /* One block: batch pointers, then per batch kpos, next, apos, anext and
   * runs, then per step its five per-batch arrays of words (8-byte
   * aligned), then the live list and each step's hit batches. */
  enum { STEPS = RF__SEEK_AHEAD + 1, STEP_WORDS = 5 };
  size_t per_batch = sizeof(rf__batch *) + (5 + STEPS * STEP_WORDS) * sizeof(size_t);
  size_t words = (size_t)n * per_batch;
  char *block = rf__malloc(words + (1 + STEPS) * (size_t)n * sizeof(uint32_t));
  RF_CHECK_ALLOC(block);
  s->b = (rf__batch **)block;
  size_t *w = (size_t *)(block + (size_t)n * sizeof(rf__batch *));
  s->kpos = w, w += n;
  s->next = (uint64_t *)w, w += n;
  s->apos = w, w += n;
  s->anext = (uint64_t *)w, w += n;
  s->runs = w, w += n;
  uint32_t *u = (uint32_t *)(block + words);
  s->live = u, u += n;
  for (uint32_t k = 0; k < STEPS; k++) {
    rf__seek_step *e = &s->steps[k];
    e->lb = w, w += n;
    e->to = w, w += n;
    e->hit_k = w, w += n;
    e->hit_v0 = w, w += n;
    e->hit_v1 = w, w += n;
    e->hit_i = u, u += n;
  }
  s->n = n;
  s->key_arity = n ? batches[0]->key_arity : 0;
  s->val_arity = n ? batches[0]->val_arity : 0;
  s->dim = n ? batches[0]->dim : 0;
  for (uint32_t i = 0; i < n; i++) {
    s->b[i] = rf__batch_ref(batches[i]);
    s->kpos[i] = 0;
    if (batches[i]->n_keys == 0) continue;
    s->next[i] = batches[i]->keys[0];
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

/* The stages of a seek. A seek touches, in each batch holding the key, its
 * keys, key_off, val_off (when present), vals, times and diffs: far apart
 * in a large trace, so each is likely a cache miss, and each address
 * depends on the load before. So a seek goes in stages, each over every
 * batch concerned, each starting the loads the next one reads:
 *   1 block    the fence block where each large batch has the key (1-word
 *              keys; announced keys only: a seek that goes straight through
 *              the stages searches the block at once);
 *   2 locate   the key's position in every batch, and the batches holding
 *              it, whose key_off entries start loading;
 *   3 vals     its range of vals there; val_off (or the updates) load;
 *   4 updates  its range of updates; the updates load;
 * then the seek gathers. The misses of different batches overlap within a
 * stage; the misses of different announced keys overlap across stages
 * (rf__seeker_ahead moves each announced key one stage on), so that a key
 * announced RF__SEEK_AHEAD seeks before it is sought costs no wait. */
static inline void prefetch_upds(const rf__batch *b, size_t v0, size_t u0) {
  __builtin_prefetch(b->diffs + u0);
  __builtin_prefetch(rf__batch_time(b, u0));
  if (b->val_arity) __builtin_prefetch(b->vals + v0 * b->val_arity);
}

static void step_block(rf__seeker *s, rf__seek_step *e) {
  for (uint32_t j = 0; j < s->n_live; j++) {
    uint32_t i = s->live[j];
    const rf__batch *b = s->b[i];
    e->to[i] = 0;
    /* A batch whose next key is past this one has its block in cache
     * already; a small one is searched in cache anyway. */
    if (s->apos[i] == b->n_keys || s->anext[i] >= e->key || !b->fence) continue;
    size_t from, to;
    fence_block(b, s->apos[i], e->key, &from, &to);
    e->lb[i] = from;
    e->to[i] = to;
    /* The whole block, a line at a time: the loads go out together. */
    for (size_t k = from; k < to; k += 64 / sizeof(uint64_t)) __builtin_prefetch(b->keys + k);
    __builtin_prefetch(b->keys + to - 1);
  }
}

/* `announced`: e is an announced key, located from apos (its block
 * searched in stage 1); otherwise from kpos, which moves with it. */
static void step_locate(rf__seeker *s, rf__seek_step *e, const uint64_t *key, bool announced) {
  uint32_t ka = s->key_arity;
  size_t *pos = announced ? s->apos : s->kpos;
  uint64_t *next = announced ? s->anext : s->next;
  e->n_hits = 0;
  for (uint32_t j = 0; j < s->n_live; j++) {
    uint32_t i = s->live[j];
    const rf__batch *b = s->b[i];
    size_t k = pos[i];
    if (k == b->n_keys) {
      e->lb[i] = k;
      continue;
    }
    if (ka == 1) {
      /* With 1-word keys each batch's next key is at hand: a batch whose
       * next key is beyond this one costs a comparison, and its key array
       * is not touched. */
      if (next[i] < key[0]) {
        if (announced && e->to[i]) k = gallop1(b->keys, e->lb[i], e->to[i], key[0]);
        else k = find_key1(b, k, key[0]);
        pos[i] = k;
        if (k < b->n_keys) next[i] = b->keys[k];
      }
      e->lb[i] = k;
      if (k == b->n_keys || next[i] != key[0]) continue;
    } else {
      k = pos[i] = gallop(b->keys, ka, ka, k, b->n_keys, key);
      e->lb[i] = k;
      if (k == b->n_keys || rf__words_cmp(rf__batch_key(b, k), key, ka) != 0) continue;
    }
    __builtin_prefetch(b->key_off + k);
    e->hit_i[e->n_hits] = i;
    e->hit_k[e->n_hits++] = k;
  }
}

static void step_vals(rf__seeker *s, rf__seek_step *e) {
  for (uint32_t h = 0; h < e->n_hits; h++) {
    const rf__batch *b = s->b[e->hit_i[h]];
    size_t v0 = b->key_off[e->hit_k[h]];
    e->hit_v0[h] = v0;
    e->hit_v1[h] = b->key_off[e->hit_k[h] + 1];
    if (b->val_off)
      __builtin_prefetch(b->val_off + v0);
    else
      prefetch_upds(b, v0, v0);
  }
}

static void step_upds(rf__seeker *s, rf__seek_step *e) {
  for (uint32_t h = 0; h < e->n_hits; h++) {
    const rf__batch *b = s->b[e->hit_i[h]];
    if (b->val_off) prefetch_upds(b, e->hit_v0[h], b->val_off[e->hit_v0[h]]);
  }
}

/* Moves an announced key one stage on. */
static void step_on(rf__seeker *s, rf__seek_step *e) {
  if (e->stage == 1) step_locate(s, e, &e->key, true);
  else if (e->stage == 2) step_vals(s, e);
  else if (e->stage == 3) step_upds(s, e);
  else return;
  e->stage++;
}

static rf__seek_step *ring_at(rf__seeker *s, uint32_t k) {
  return &s->steps[(s->ring_head + k) % RF__SEEK_AHEAD];
}

/* Drops the oldest announced key (sought, or never to be). */
static void ring_pop(rf__seeker *s) {
  s->ring_head = (s->ring_head + 1) % RF__SEEK_AHEAD;
  s->ring_n--;
}

bool rf__seeker_ahead(rf__seeker *s, const uint64_t *key) {
  if (s->key_arity != 1 || s->ring_n == RF__SEEK_AHEAD) return false;
  if (s->ring_n > 0 ? key[0] <= ring_at(s, s->ring_n - 1)->key
                    : s->sought_any && key[0] <= s->last)
    return false;
  if (s->ring_n == 0) {
    /* Locating starts where the seeks are. */
    for (uint32_t j = 0; j < s->n_live; j++) {
      uint32_t i = s->live[j];
      s->apos[i] = s->kpos[i];
      s->anext[i] = s->next[i];
    }
  }
  /* Oldest first: their loads went out longest ago. */
  for (uint32_t k = 0; k < s->ring_n; k++) step_on(s, ring_at(s, k));
  rf__seek_step *e = ring_at(s, s->ring_n++);
  e->key = key[0];
  e->stage = 1;
  step_block(s, e);
  return true;
}

/* The last stage: gathers the key's updates (located in e) and moves every
 * batch's position past it. */
static int gather(rf__seeker *s, const rf__seek_step *e, bool by_val) {
  uint32_t va = s->val_arity;
  size_t total = 0;
  for (uint32_t h = 0; h < e->n_hits; h++) {
    const rf__batch *b = s->b[e->hit_i[h]];
    total += rf__batch_upd(b, e->hit_v1[h]) - rf__batch_upd(b, e->hit_v0[h]);
  }
  if (rf__grow((void **)&s->upds, &s->upds_cap, total, sizeof(rf__upd_ref)) < 0) return RF_ENOMEM;
  for (uint32_t h = 0; h < e->n_hits; h++) {
    const rf__batch *b = s->b[e->hit_i[h]];
    s->runs[h] = s->n_upds;
    rf__upd_ref *o = s->upds + s->n_upds;
    for (size_t v = e->hit_v0[h]; v < e->hit_v1[h]; v++) {
      const uint64_t *val = va ? b->vals + v * va : empty_val;
      for (size_t u = rf__batch_upd(b, v); u < rf__batch_upd(b, v + 1); u++, o++) {
        o->val = val;
        o->time = rf__batch_time(b, u);
        o->diff = b->diffs[u];
      }
    }
    s->n_upds = (size_t)(o - s->upds);
  }
  /* Keys come in increasing order: every batch moves to its first key
   * after this one, and the exhausted ones leave the live list. */
  uint32_t live = 0;
  for (uint32_t j = 0, h = 0; j < s->n_live; j++) {
    uint32_t i = s->live[j];
    const rf__batch *b = s->b[i];
    size_t k = e->lb[i];
    if (h < e->n_hits && e->hit_i[h] == i) k++, h++;
    if (k == b->n_keys) continue;
    if (k != s->kpos[i]) {
      s->kpos[i] = k;
      if (s->key_arity == 1) s->next[i] = b->keys[k];
    }
    s->live[live++] = i;
  }
  s->n_live = live;
  if (by_val && va > 0 && e->n_hits > 1) return merge_runs(s, e->n_hits);
  return 0;
}

int rf__seeker_seek(rf__seeker *s, const uint64_t *key, bool by_val) {
  s->n_upds = 0;
  /* Announced keys before this one will not be sought. */
  while (s->ring_n > 0 && ring_at(s, 0)->key < key[0]) ring_pop(s);
  int rc;
  if (s->ring_n > 0 && ring_at(s, 0)->key == key[0]) {
    rf__seek_step *e = ring_at(s, 0);
    while (e->stage < 4) step_on(s, e);
    rc = gather(s, e, by_val);
    ring_pop(s);
  } else {
    rf__seek_step *e = &s->steps[RF__SEEK_AHEAD];
    step_locate(s, e, key, false);
    step_vals(s, e);
    step_upds(s, e);
    rc = gather(s, e, by_val);
  }
  if (s->key_arity == 1) {
    s->last = key[0];
    s->sought_any = true;
  }
  return rc;
}
