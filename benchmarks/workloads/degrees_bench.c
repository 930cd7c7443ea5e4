/*
 * degrees_bench.c: the degrees workload (benchmarks/WORKLOADS.md): the
 * out-degree of every node under edge churn, then the number of nodes per
 * out-degree (a count of a count), built with the public API:
 *
 *   degree = count(edges.project(src) arranged by src)     (src, degree)
 *   hist   = count(degree.project(degree) arranged)         (degree, nodes)
 *
 * The checksums come from an inspect callback on hist's changes: nodes
 * (sum of nodes), distinct_degrees (entries), degree_sq_sum (sum of
 * degree^2 * nodes) are running sums; max_degree is the highest degree
 * whose entry is present, from a count per degree kept by the callback.
 */
#include <stdlib.h>
#include <string.h>

#include "bench_runner.h"

typedef struct degrees_state {
  rfw_sums sums;      /* nodes, distinct_degrees, max (unused), degree_sq_sum */
  int64_t *present;   /* entries per degree (under sums.lock) */
  size_t cap;
  size_t high;        /* no degree above this is present */
} degrees_state;

enum { S_NODES, S_DISTINCT, S_MAX, S_SQ };

static void on_hist(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                    uint32_t time_dim, rf_diff diff) {
  degrees_state *st = ctx;
  int64_t degree = rf_to_i64(rec[0]), nodes = rf_to_i64(rec[1]);
  pthread_mutex_lock(&st->sums.lock);
  st->sums.v[S_NODES] += nodes * diff;
  st->sums.v[S_DISTINCT] += diff;
  st->sums.v[S_SQ] += degree * degree * nodes * diff;
  size_t d = degree > 0 ? (size_t)degree : 0;
  if (d >= st->cap) {
    size_t cap = st->cap ? st->cap : 64;
    while (cap <= d) cap *= 2;
    int64_t *p = realloc(st->present, cap * sizeof *p);
    if (p) {
      memset(p + st->cap, 0, (cap - st->cap) * sizeof *p);
      st->present = p;
      st->cap = cap;
    }
  }
  if (d < st->cap) {
    st->present[d] += diff;
    if (d > st->high) st->high = d;
  } else {
    st->sums.oom = true;
  }
  pthread_mutex_unlock(&st->sums.lock);
}

static int degrees_build(rf_graph *g, const rfw_params *p, rfw_dataflow *df, char *err_msg,
                         size_t err_len) {
  degrees_state *st = calloc(1, sizeof *st);
  if (!st) return RF_ENOMEM;
  rfw_sums_init(&st->sums);
  df->state = st;
  static const uint32_t src_col[1] = {0}, degree_col[1] = {1};
  rf_coll *edges = rf_input_new(g, "edges", 2, &df->inputs[0]);
  df->n_inputs = 1;
  rf_arr *degree = rf_count(rf_arrange(rf_project(edges, 1, src_col), 1));
  rf_arr *hist = rf_count(rf_arrange(rf_project(rf_arr_collection(degree), 1, degree_col), 1));
  df->probe = rf_probe_new(rf_inspect(rf_arr_collection(hist), on_hist, st));
  return rf_graph_error(g);
}

static int degrees_read_sums(void *state, int64_t *sums) {
  degrees_state *st = state;
  pthread_mutex_lock(&st->sums.lock);
  while (st->high > 0 && st->present[st->high] == 0) st->high--;
  st->sums.v[S_MAX] = st->cap && st->present[st->high] ? (int64_t)st->high : 0;
  pthread_mutex_unlock(&st->sums.lock);
  return rfw_sums_read(&st->sums, sums, 4);
}

static void degrees_free_state(void *state) {
  degrees_state *st = state;
  rfw_sums_destroy(&st->sums);
  free(st->present);
  free(st);
}

const rfw_workload rfw_workload_degrees = {
    .name = "degrees",
    .summary = "out-degree per node, then nodes per out-degree, under edge churn",
    .help = "The out-degree of every node of a random directed multigraph (edge\n"
            "copies per source), then the number of nodes per out-degree (a count of\n"
            "a count), kept up to date while rounds of BATCH elements (insert a new\n"
            "edge, remove the oldest) change the graph. Checksums over the histogram:\n"
            "nodes (with an out-edge), distinct_degrees, max_degree and degree_sq_sum\n"
            "(sum over the nodes of degree squared).",
    .kind = RFW_KIND_GRAPH,
    .n_sums = 4,
    .sum_names = {"nodes", "distinct_degrees", "max_degree", "degree_sq_sum"},
    .build = degrees_build,
    .read_sums = degrees_read_sums,
    .free_state = degrees_free_state,
};
