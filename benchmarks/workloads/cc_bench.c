/*
 * cc_bench.c: the cc workload (benchmarks/WORKLOADS.md): connected
 * components of the undirected graph (each edge read both ways) by label
 * propagation under edge churn, built with the public API as
 * examples/cc.c:
 *
 *   both   = edges ++ edges.project(dst, src)     arranged by node, once
 *   start  = both.map((a, b) -> (a, a))           every endpoint its own label
 *   labels = iterate(start, |l| min per node of
 *                     (join(l by node, both).map((neighbour, label)) ++ start))
 *
 * At the fixed point every endpoint carries the least node id of its
 * component. The checksums come from an inspect callback on the
 * consolidated labels' changes: nodes (+diff), label_sum (+label * diff)
 * and components (+diff for the records (n, n): a component's least node
 * is the one node labelled with itself).
 */
#include <stdlib.h>

#include "bench_runner.h"

typedef struct cc_state {
  rfw_sums sums; /* nodes, components, label_sum */
} cc_state;

/* (a, b) -> (a, a) */
static int own_label(void *ctx, const rf_value *in, rf_value *out) {
  out[0] = in[0];
  out[1] = in[0];
  return 0;
}

/* (node, label) joined with (node, neighbour) -> (neighbour, label) */
static int spread(void *ctx, const rf_value *node, const rf_value *label,
                  const rf_value *neighbour, rf_value *out) {
  out[0] = neighbour[0];
  out[1] = label[0];
  return 1;
}

static void on_label(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                     uint32_t time_dim, rf_diff diff) {
  cc_state *st = ctx;
  uint64_t node = rf_to_u64(rec[0]), label = rf_to_u64(rec[1]);
  pthread_mutex_lock(&st->sums.lock);
  st->sums.v[0] += diff;
  if (node == label) st->sums.v[1] += diff;
  st->sums.v[2] += (int64_t)label * diff;
  pthread_mutex_unlock(&st->sums.lock);
}

static int cc_build(rf_graph *g, const rfw_params *p, rfw_dataflow *df, char *err_msg,
                    size_t err_len) {
  cc_state *st = calloc(1, sizeof *st);
  if (!st) return RF_ENOMEM;
  rfw_sums_init(&st->sums);
  df->state = st;
  rf_coll *edges = rf_input_new(g, "edges", 2, &df->inputs[0]);
  df->n_inputs = 1;
  static const uint32_t swap[2] = {1, 0};
  rf_coll *both = rf_concat(edges, rf_project(edges, 2, swap));
  rf_arr *neighbours = rf_arrange(both, 1); /* shared by every iteration */
  rf_coll *start = rf_map(both, 2, own_label, NULL);

  rf_scope *loop = rf_scope_new(g, NULL);
  rf_coll *start_in = rf_enter(loop, start);
  rf_var *label = rf_var_new(loop, start_in);
  rf_coll *heard = rf_join_map(rf_arrange(rf_var_coll(label), 1),
                               rf_arr_enter(loop, neighbours), 2, spread, NULL);
  rf_coll *next = rf_arr_collection(rf_min(rf_arrange(rf_concat(heard, start_in), 1)));
  int set_rc = label ? rf_var_set(label, next) : 0;
  /* Leaving sums every iteration's updates, which may cancel:
   * consolidated, they are the labels' real changes. */
  rf_coll *labels = rf_inspect(rf_consolidate(rf_leave(next)), on_label, st);
  df->probe = rf_probe_new(labels);
  int rc = rf_graph_error(g);
  return rc ? rc : set_rc;
}

static int cc_read_sums(void *state, int64_t *sums) {
  return rfw_sums_read(&((cc_state *)state)->sums, sums, 3);
}

static void cc_free_state(void *state) {
  cc_state *st = state;
  rfw_sums_destroy(&st->sums);
  free(st);
}

const rfw_workload rfw_workload_cc = {
    .name = "cc",
    .summary = "connected components by label propagation (iterate + min), under edge churn",
    .help = "Connected components of a random undirected graph (each edge read both\n"
            "ways) by label propagation: iterate, each node taking the least label of\n"
            "itself and its neighbours, so that every endpoint of a present edge ends\n"
            "labelled with the least node id of its component; kept up to date while\n"
            "rounds of BATCH elements (insert a new edge, remove the oldest) change the\n"
            "graph. Checksums: nodes (labelled), components (distinct labels) and\n"
            "label_sum.",
    .kind = RFW_KIND_GRAPH,
    .n_sums = 3,
    .sum_names = {"nodes", "components", "label_sum"},
    .build = cc_build,
    .read_sums = cc_read_sums,
    .free_state = cc_free_state,
};
