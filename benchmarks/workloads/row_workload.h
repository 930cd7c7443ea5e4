/*
 * row_workload.h: the row streams of the groupby and join workloads
 * (benchmarks/WORKLOADS.md): rows (key, value), key uniform in [0, KEYS),
 * value uniform in [0, 1,000,000), drawn from splitmix64 streams seeded
 * from --seed, so that a seed names one input exactly.
 *
 * groupby: one stream draws, per change, a coin (insert with probability
 * 1/2, or always while no row is present), then either the new row (key,
 * then value) or the index of the row to remove, uniform among the rows
 * present; present rows are kept in an array where a removed row's slot is
 * filled by the last row (so the index refers to that order).
 *
 * join: per side, an insert stream draws the W initial rows and then one
 * new row per element; a delete stream replays it from the start, so each
 * element also removes that side's oldest row still present (a sliding
 * window, as the graph workloads' edge stream). The sides' streams start
 * from different states derived from the seed.
 */
#ifndef RFW_ROW_WORKLOAD_H
#define RFW_ROW_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFW_ROW_VALUES 1000000 /* values are uniform in [0, RFW_ROW_VALUES) */

typedef struct rfw_row {
  uint64_t key, value;
} rfw_row;

/* A row source: key in [0, keys), value in [0, RFW_ROW_VALUES). */
typedef struct rfw_row_gen {
  uint64_t state, keys;
} rfw_row_gen;

void rfw_row_gen_init(rfw_row_gen *g, uint64_t keys, uint64_t seed, uint64_t stream);
rfw_row rfw_row_gen_next(rfw_row_gen *g);

/* The groupby stream. */
typedef struct rfw_groupby_gen {
  rfw_row_gen g;
  rfw_row *live; /* the present rows */
  size_t n_live, cap;
} rfw_groupby_gen;

void rfw_groupby_gen_init(rfw_groupby_gen *g, uint64_t keys, uint64_t seed);
void rfw_groupby_gen_free(rfw_groupby_gen *g);
/* The next initial row (inserted). Returns -1 when out of memory. */
int rfw_groupby_gen_initial(rfw_groupby_gen *g, rfw_row *out);
/* The next change: *out and *diff (+1 insert, -1 remove). -1: no memory. */
int rfw_groupby_gen_change(rfw_groupby_gen *g, rfw_row *out, int *diff);

/* One side of the join: an insert stream and its replay. */
typedef struct rfw_window_gen {
  rfw_row_gen ins, del;
} rfw_window_gen;

/* side 0 = left, 1 = right. */
void rfw_window_gen_init(rfw_window_gen *g, uint64_t keys, uint64_t seed, int side);
static inline rfw_row rfw_window_gen_next_load(rfw_window_gen *g) {
  return rfw_row_gen_next(&g->ins);
}
/* One element: the new row and the oldest row to remove. */
static inline void rfw_window_gen_next(rfw_window_gen *g, rfw_row *ins, rfw_row *del) {
  *ins = rfw_row_gen_next(&g->ins);
  *del = rfw_row_gen_next(&g->del);
}

#endif
