/*
 * row_workload.c: the groupby and join row streams of row_workload.h.
 */
#include "row_workload.h"

#include <stdlib.h>
#include <string.h>

#include "splitmix64.h"

void rfw_row_gen_init(rfw_row_gen *g, uint64_t keys, uint64_t seed, uint64_t stream) {
  /* Distinct streams of one seed start far apart: the state is the seed
   * mixed with the stream number. */
  uint64_t s = seed ^ (stream * UINT64_C(0xd1b54a32d192ed03));
  g->state = rfw_splitmix64(&s);
  g->keys = keys;
}

rfw_row rfw_row_gen_next(rfw_row_gen *g) {
  rfw_row r;
  r.key = rfw_uniform(&g->state, g->keys); /* key first, then value */
  r.value = rfw_uniform(&g->state, RFW_ROW_VALUES);
  return r;
}

void rfw_groupby_gen_init(rfw_groupby_gen *g, uint64_t keys, uint64_t seed) {
  memset(g, 0, sizeof *g);
  rfw_row_gen_init(&g->g, keys, seed, 0);
}

void rfw_groupby_gen_free(rfw_groupby_gen *g) {
  free(g->live);
  g->live = NULL;
  g->n_live = g->cap = 0;
}

static int push_live(rfw_groupby_gen *g, rfw_row r) {
  if (g->n_live == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 1024;
    rfw_row *p = realloc(g->live, cap * sizeof *p);
    if (!p) return -1;
    g->live = p;
    g->cap = cap;
  }
  g->live[g->n_live++] = r;
  return 0;
}

int rfw_groupby_gen_initial(rfw_groupby_gen *g, rfw_row *out) {
  *out = rfw_row_gen_next(&g->g);
  return push_live(g, *out);
}

int rfw_groupby_gen_change(rfw_groupby_gen *g, rfw_row *out, int *diff) {
  bool insert = rfw_splitmix64(&g->g.state) >> 63; /* probability 1/2 */
  if (insert || g->n_live == 0) {
    *diff = 1;
    return rfw_groupby_gen_initial(g, out);
  }
  size_t j = (size_t)rfw_uniform(&g->g.state, g->n_live);
  *out = g->live[j];
  *diff = -1;
  g->live[j] = g->live[--g->n_live];
  return 0;
}

void rfw_window_gen_init(rfw_window_gen *g, uint64_t keys, uint64_t seed, int side) {
  rfw_row_gen_init(&g->ins, keys, seed, 1 + (uint64_t)side);
  rfw_row_gen_init(&g->del, keys, seed, 1 + (uint64_t)side);
}
