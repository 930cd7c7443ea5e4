/*
 * join_bench.c: the join workload (benchmarks/WORKLOADS.md): two sliding
 * windows of (key, value) rows, left and right, joined on the key, and
 * the number of joined pairs per key, built with the public API:
 *
 *   pairs = count(join(left by key, right by key).map(key) arranged)
 *                                                        (key, pairs)
 *
 * Each joined pair is a record of the join (projected to its key in the
 * join function), counted per key. An inspect callback on the counts'
 * changes keeps the checksums: keys (+diff), pairs (+count * diff) and
 * pairs_sq_sum (+count^2 * diff).
 */
#include <stdlib.h>

#include "bench_runner.h"

typedef struct join_state {
  rfw_sums sums; /* keys, pairs, pairs_sq_sum */
} join_state;

/* (key, left value, right value) -> (key) */
static int pair_key(void *ctx, const rf_value *key, const rf_value *left,
                    const rf_value *right, rf_value *out) {
  out[0] = key[0];
  return 1;
}

static void on_pairs(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                     uint32_t time_dim, rf_diff diff) {
  join_state *st = ctx;
  int64_t n = rf_to_i64(rec[1]);
  pthread_mutex_lock(&st->sums.lock);
  st->sums.v[0] += diff;
  st->sums.v[1] += n * diff;
  st->sums.v[2] += n * n * diff;
  pthread_mutex_unlock(&st->sums.lock);
}

static int join_build(rf_graph *g, const rfw_params *p, rfw_dataflow *df, char *err_msg,
                      size_t err_len) {
  join_state *st = calloc(1, sizeof *st);
  if (!st) return RF_ENOMEM;
  rfw_sums_init(&st->sums);
  df->state = st;
  rf_coll *left = rf_input_new(g, "left", 2, &df->inputs[0]);
  rf_coll *right = rf_input_new(g, "right", 2, &df->inputs[1]);
  df->n_inputs = 2;
  rf_coll *joined = rf_join_map(rf_arrange(left, 1), rf_arrange(right, 1), 1, pair_key, NULL);
  rf_arr *pairs = rf_count(rf_arrange(joined, 1));
  df->probe = rf_probe_new(rf_inspect(rf_arr_collection(pairs), on_pairs, st));
  return rf_graph_error(g);
}

static int join_read_sums(void *state, int64_t *sums) {
  return rfw_sums_read(&((join_state *)state)->sums, sums, 3);
}

static void join_free_state(void *state) {
  join_state *st = state;
  rfw_sums_destroy(&st->sums);
  free(st);
}

const rfw_workload rfw_workload_join = {
    .name = "join",
    .summary = "two sliding windows joined on a key; joined pairs per key",
    .help = "Two collections of (key, value) rows, left and right, each a sliding\n"
            "window of W rows: W rows each in round 0, then rounds of BATCH elements,\n"
            "each inserting a new random row on each side and removing that side's\n"
            "oldest. The sides are joined on the key and the joined pairs counted per\n"
            "key. Checksums over the keys with a pair: keys, pairs and pairs_sq_sum.",
    .kind = RFW_KIND_JOIN,
    .n_sums = 3,
    .sum_names = {"keys", "pairs", "pairs_sq_sum"},
    .build = join_build,
    .read_sums = join_read_sums,
    .free_state = join_free_state,
};
