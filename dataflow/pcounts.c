/*
 * pcounts.c: counted pointstamps (see pcounts.h and docs/progress.md).
 *
 * A location holds few distinct times (a capability or two, the minimal
 * times of the messages queued or in flight), so each keeps a small
 * unsorted array searched linearly. The table tracks only whether the SET
 * of positive entries changed, since that is all the frontiers depend on:
 * a message queued behind another at the same time changes a count from 1
 * to 2 and asks for no recompute.
 */
#include "dataflow/pcounts.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

int rf__pcounts_init(rf__pcounts *pc, uint32_t n_locs, const uint32_t *dims) {
  memset(pc, 0, sizeof *pc);
  pc->locs = rf__calloc(n_locs ? n_locs : 1, sizeof *pc->locs);
  if (!pc->locs) return RF_ENOMEM;
  pc->n_locs = n_locs;
  for (uint32_t i = 0; i < n_locs; i++) pc->locs[i].dim = dims[i];
  return 0;
}

void rf__pcounts_free(rf__pcounts *pc) {
  if (!pc->locs) return;
  for (uint32_t i = 0; i < pc->n_locs; i++) rf__free(pc->locs[i].e);
  rf__free(pc->locs);
  rf__free(pc->log);
  memset(pc, 0, sizeof *pc);
}

int rf__pcounts_add(rf__pcounts *pc, uint32_t loc, const uint64_t *t, int64_t delta) {
  rf__ploc *l = &pc->locs[loc];
  uint32_t d = l->dim;
  for (uint32_t i = 0; i < l->n; i++) {
    rf__pentry *e = &l->e[i];
    if (!rf__time_eq(e->t, t, d)) continue;
    int64_t before = e->count;
    e->count += delta;
    if ((before > 0) != (e->count > 0)) pc->changed = true;
    if (e->count == 0) l->e[i] = l->e[--l->n];
    return 0;
  }
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? 2 * l->cap : 4;
    rf__pentry *e = rf__realloc(l->e, cap * sizeof *e);
    if (!e) return RF_ENOMEM;
    l->e = e;
    l->cap = cap;
  }
  rf__pentry *e = &l->e[l->n++];
  memset(e->t, 0, sizeof e->t);
  memcpy(e->t, t, d * sizeof(uint64_t));
  e->count = delta;
  if (delta > 0) pc->changed = true;
  return 0;
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
