/*
 * pcounts.c: counted pointstamps (see pcounts.h and docs/progress.md).
 *
 * Each location keeps its (time, count) entries in a small open-addressing
 * hash table (linear probing, XXH3 of the time's words, deletion by
 * backward shift, so no tombstones): a port fed one message per time, as
 * an input advanced after every change feeds its consumers, can hold a
 * thousand distinct times at once, and each message queued and popped
 * must find its entry in constant time. A slot is empty when its count is
 * zero, since entries that reach zero are removed. The table tracks only
 * whether the SET of positive entries changed, since that is all the
 * frontiers depend on: a message queued behind another at the same time
 * changes a count from 1 to 2 and asks for no recompute.
 */
#include "dataflow/pcounts.h"

#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/alloc.h"
#include "common/error.h"

int rf__pcounts_init(rf__pcounts *pc, uint32_t n_locs, const uint32_t *dims) {
  memset(pc, 0, sizeof *pc);
  pc->locs = rf__calloc(n_locs ? n_locs : 1, sizeof *pc->locs);
  if (!pc->locs) return RF_ENOMEM;
  pc->n_locs = n_locs;
  for (uint32_t i = 0; i < n_locs; i++) {
    pc->locs[i].dim = dims[i];
    rf__antichain_init(&pc->locs[i].pos, dims[i]);
  }
  return 0;
}

void rf__pcounts_free(rf__pcounts *pc) {
  if (!pc->locs) return;
  for (uint32_t i = 0; i < pc->n_locs; i++) {
    rf__free(pc->locs[i].e);
    rf__antichain_free(&pc->locs[i].pos);
  }
  rf__free(pc->locs);
  rf__free(pc->log);
  memset(pc, 0, sizeof *pc);
}

static inline uint32_t slot_of(const rf__ploc *l, const uint64_t *t) {
  return (uint32_t)XXH3_64bits(t, l->dim * sizeof(uint64_t)) & (l->cap - 1);
}

/* The slot holding t, or the empty slot where it would go. */
static uint32_t find(const rf__ploc *l, const uint64_t *t) {
  uint32_t mask = l->cap - 1, i = slot_of(l, t);
  while (l->e[i].count != 0 && !rf__time_eq(l->e[i].t, t, l->dim)) i = (i + 1) & mask;
  return i;
}

/* Empties slot i, moving later entries of its probe run back so that
 * every entry stays reachable from its home slot. */
static void remove_at(rf__ploc *l, uint32_t i) {
  uint32_t mask = l->cap - 1, j = i;
  for (;;) {
    j = (j + 1) & mask;
    if (l->e[j].count == 0) break;
    uint32_t home = slot_of(l, l->e[j].t);
    /* e[j] may move to i unless its home lies cyclically in (i, j]. */
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    l->e[i] = l->e[j];
    i = j;
  }
  l->e[i].count = 0;
  l->n--;
}

static int grow(rf__ploc *l) {
  uint32_t cap = l->cap ? 2 * l->cap : 8;
  rf__pentry *old = l->e;
  uint32_t old_cap = l->cap;
  l->e = rf__calloc(cap, sizeof *l->e);
  if (!l->e) {
    l->e = old;
    return RF_ENOMEM;
  }
  l->cap = cap;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old[i].count != 0) l->e[find(l, old[i].t)] = old[i];
  rf__free(old);
  return 0;
}

int rf__pcounts_add(rf__pcounts *pc, uint32_t loc, const uint64_t *t, int64_t delta) {
  rf__ploc *l = &pc->locs[loc];
  if (delta == 0) return 0;
  /* At most half full, so probe runs stay short. */
  if (2 * (l->n + 1) > l->cap && grow(l) < 0) return RF_ENOMEM;
  uint32_t i = find(l, t);
  rf__pentry *e = &l->e[i];
  if (e->count == 0) {
    memset(e->t, 0, sizeof e->t);
    memcpy(e->t, t, l->dim * sizeof(uint64_t));
    e->count = delta;
    l->n++;
    if (delta > 0) pc->changed = l->stale = true;
    return 0;
  }
  int64_t before = e->count;
  e->count += delta;
  if ((before > 0) != (e->count > 0)) pc->changed = l->stale = true;
  if (e->count == 0) remove_at(l, i);
  return 0;
}

const rf__antichain *rf__pcounts_minimal(rf__pcounts *pc, uint32_t loc) {
  rf__ploc *l = &pc->locs[loc];
  if (!l->stale) return &l->pos;
  rf__antichain_clear(&l->pos);
  for (uint32_t k = 0; k < l->cap; k++) {
    const uint64_t *t = l->e[k].t;
    if (l->e[k].count > 0 && !rf__antichain_le(&l->pos, t) && rf__antichain_insert(&l->pos, t) < 0)
      return NULL;
  }
  l->stale = false;
  return &l->pos;
}

int rf__pcounts_note(rf__pcounts *pc, uint32_t loc, const uint64_t *t, int32_t delta) {
  if (rf__grow((void **)&pc->log, &pc->cap_log, pc->n_log + 1, sizeof *pc->log) < 0)
    return RF_ENOMEM;
  if (rf__pcounts_add(pc, loc, t, delta) < 0) return RF_ENOMEM;
  rf__pchange *c = &pc->log[pc->n_log++];
  c->loc = loc;
  c->delta = delta;
  memset(c->t, 0, sizeof c->t);
  memcpy(c->t, t, pc->locs[loc].dim * sizeof(uint64_t));
  return 0;
}

int rf__pcounts_note_all(rf__pcounts *pc, uint32_t loc, const rf__antichain *a, int32_t delta) {
  for (uint32_t k = 0; k < a->n; k++)
    if (rf__pcounts_note(pc, loc, rf__antichain_at(a, k), delta) < 0) return RF_ENOMEM;
  return 0;
}

static int change_cmp(const void *x, const void *y) {
  const rf__pchange *a = x, *b = y;
  if (a->loc != b->loc) return a->loc < b->loc ? -1 : 1;
  return rf__time_cmp(a->t, b->t, RF_MAX_DIM); /* unused words are zero */
}

int rf__pcounts_take_log(rf__pcounts *pc, uint32_t from, rf__pmsg **out) {
  *out = NULL;
  size_t n = pc->n_log;
  if (n == 0) return 0;
  rf__pchange *v = pc->log;
  /* Consolidate: a message queued and popped in the same run, or a
   * capability held and released, cancels out and is never sent. */
  if (n > 1) qsort(v, n, sizeof *v, change_cmp);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (k > 0 && v[k - 1].loc == v[i].loc && rf__time_eq(v[k - 1].t, v[i].t, RF_MAX_DIM)) {
      v[k - 1].delta += v[i].delta;
      if (v[k - 1].delta == 0) k--;
      continue;
    }
    v[k++] = v[i];
  }
  pc->n_log = 0;
  if (k == 0) return 0;
  rf__pmsg *m = rf__malloc(sizeof *m + k * sizeof(rf__pchange));
  if (!m) return RF_ENOMEM;
  m->from = from;
  m->n = k;
  memcpy(m->v, v, k * sizeof(rf__pchange));
  *out = m;
  return 0;
}

rf__pmsg *rf__pmsg_copy(const rf__pmsg *m) {
  size_t bytes = sizeof *m + m->n * sizeof(rf__pchange);
  rf__pmsg *c = rf__malloc(bytes);
  if (c) memcpy(c, m, bytes);
  return c;
}

int rf__pcounts_apply(rf__pcounts *pc, const rf__pmsg *m) {
  for (size_t i = 0; i < m->n; i++)
    if (rf__pcounts_add(pc, m->v[i].loc, m->v[i].t, m->v[i].delta) < 0) return RF_ENOMEM;
  return 0;
}

void rf__pmsg_free(rf__pmsg *m) { rf__free(m); }
