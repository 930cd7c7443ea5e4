/*
 * groupby_bench.c: the groupby workload (benchmarks/WORKLOADS.md): a
 * stream of (key, value) inserts and removals in batches, with count,
 * sum, min and max per key kept up to date by the built-in reducers, all
 * four reading one arrangement of the rows by key (as examples/groupby.c):
 *
 *   rows by key -> rf_count, rf_sum, rf_min, rf_max     (key, aggregate)
 *
 * Values are fed as i64 (rf_from_i64: rf_sum sums that encoding, and it
 * keeps min and max in order). An inspect callback on each aggregate's
 * changes keeps the checksums: keys (+diff of the count's entries), count,
 * sum, min_sum and max_sum (+aggregate * diff). The probe is on the four
 * outputs concatenated, so a round is done when all four are.
 */
#include <stdlib.h>

#include "bench_runner.h"

enum { S_KEYS, S_COUNT, S_SUM, S_MIN, S_MAX };

typedef struct groupby_state {
  rfw_sums sums;
  struct agg { /* one per aggregate: the callbacks' context */
    struct groupby_state *st;
    int field;
  } agg[4];
} groupby_state;

static void on_agg(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                   uint32_t time_dim, rf_diff diff) {
  const struct agg *a = ctx;
  rfw_sums *s = &a->st->sums;
  int64_t v = rf_to_i64(rec[1]);
  pthread_mutex_lock(&s->lock);
  if (a->field == S_COUNT) s->v[S_KEYS] += diff;
  s->v[a->field] += v * diff;
  pthread_mutex_unlock(&s->lock);
}

static int groupby_build(rf_graph *g, const rfw_params *p, rfw_dataflow *df, char *err_msg,
                         size_t err_len) {
  groupby_state *st = calloc(1, sizeof *st);
  if (!st) return RF_ENOMEM;
  rfw_sums_init(&st->sums);
  df->state = st;
  rf_coll *rows = rf_input_new(g, "rows", 2, &df->inputs[0]);
  df->n_inputs = 1;
  rf_arr *by_key = rf_arrange(rows, 1); /* one arrangement, four readers */
  rf_arr *aggs[4] = {rf_count(by_key), rf_sum(by_key), rf_min(by_key), rf_max(by_key)};
  static const int fields[4] = {S_COUNT, S_SUM, S_MIN, S_MAX};
  rf_coll *outs[4];
  for (int i = 0; i < 4; i++) {
    st->agg[i] = (struct agg){st, fields[i]};
    outs[i] = rf_inspect(rf_arr_collection(aggs[i]), on_agg, &st->agg[i]);
  }
  df->probe = rf_probe_new(rf_concat_n(outs, 4));
  return rf_graph_error(g);
}

static int groupby_read_sums(void *state, int64_t *sums) {
  return rfw_sums_read(&((groupby_state *)state)->sums, sums, 5);
}

static void groupby_free_state(void *state) {
  groupby_state *st = state;
  rfw_sums_destroy(&st->sums);
  free(st);
}

const rfw_workload rfw_workload_groupby = {
    .name = "groupby",
    .summary = "count, sum, min and max per key over a stream of inserts and removals",
    .help = "A stream of (key, value) rows: I rows in round 0, then U changes in rounds\n"
            "of BATCH, each the insertion of a random row (probability 1/2, or while\n"
            "no row is present) or the removal of a present row chosen uniformly.\n"
            "Count, sum, min and max of the values per key, kept by the built-in\n"
            "reducers over one shared arrangement. Checksums over the keys with a\n"
            "row: keys, count, sum, min_sum and max_sum.",
    .kind = RFW_KIND_GROUPBY,
    .value_i64 = true,
    .n_sums = 5,
    .sum_names = {"keys", "count", "sum", "min_sum", "max_sum"},
    .build = groupby_build,
    .read_sums = groupby_read_sums,
    .free_state = groupby_free_state,
};
