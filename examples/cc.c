/*
 * cc.c: connected components of an undirected graph by label propagation,
 * kept up to date while edges come and go.
 *
 * Every node starts labelled with its own id; each iteration a node takes
 * the least label among its own and its neighbours'. At the fixed point a
 * component's nodes all carry its least node id. Removing an edge can split
 * a component: the labels then have to grow again, which differential
 * dataflow handles by retracting the now unsupported derivations (the loop
 * is not monotone in time, only in iterations).
 *
 * The sizes of the components are counted (rf_count) and read through a
 * live view (rf_view_scan). Only nodes on some edge exist in this graph.
 *
 * Build: cmake --build build --target example_cc; run: build/examples/example_cc
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "rhizoflow.h"

#define NODES 30
#define EDGES 20
#define ROUNDS 5
#define CHURN 3

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

/* (a, b) -> (a, a): every endpoint starts as its own label. */
static int own_label(void *ctx, const rf_value *in, rf_value *out) {
  out[0] = in[0];
  out[1] = in[0];
  return 0;
}

/* A node's label crosses an edge to the neighbour: (neighbour, label). */
static int spread(void *ctx, const rf_value *node, const rf_value *label,
                  const rf_value *neighbour, rf_value *out) {
  out[0] = neighbour[0];
  out[1] = label[0];
  return 1;
}

/* Nodes whose label changed at the last time (from an inspect). */
static int n_relabelled;
static void on_label(void *ctx, const rf_value *rec, uint32_t arity,
                     const uint64_t *time, uint32_t time_dim, rf_diff diff) {
  if (diff > 0) n_relabelled++;
}

/* Prints one component from the view: key = label, value = its size. */
static int print_component(void *ctx, const rf_value *label, const rf_value *size,
                           rf_diff count) {
  int *n = ctx;
  printf("  {%" PRIu64 ": %" PRId64 " nodes}", rf_to_u64(label[0]), rf_to_i64(size[0]));
  if (++*n % 5 == 0) printf("\n");
  return 0; /* go on */
}

static void report(rf_view *sizes) {
  int n = 0;
  int rc = rf_view_scan(sizes, RF_TIME_LATEST, print_component, &n);
  if (rc < 0) {
    fprintf(stderr, "rf_view_scan: %s (%s)\n", rf_strerror(rc), rf_last_error());
    exit(1);
  }
  if (n % 5) printf("\n");
  printf("  %d components; %d nodes relabelled\n", n, n_relabelled);
  n_relabelled = 0;
}

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %s (%s)\n", what, rf_strerror(rc), rf_last_error());
    exit(1);
  }
}

int main(void) {
  rf_graph *g;
  check(rf_graph_create(NULL, &g), "rf_graph_create");
  rf_input *edges_in;
  rf_coll *edges = rf_input_new(g, "edges", 2, &edges_in);

  /* Undirected: each edge in both directions. */
  static const uint32_t swap[2] = {1, 0};
  rf_coll *both = rf_concat(edges, rf_project(edges, 2, swap));
  rf_arr *neighbours = rf_arrange(both, 1); /* by node, shared by the loop */
  rf_coll *start = rf_map(both, 2, own_label, NULL);

  /* label = min per node of (own id ∪ neighbours' labels) */
  rf_scope *loop = rf_scope_new(g, NULL);
  rf_coll *start_in = rf_enter(loop, start);
  rf_var *label = rf_var_new(loop, start_in);
  rf_coll *heard = rf_join_map(rf_arrange(rf_var_coll(label), 1),
                               rf_arr_enter(loop, neighbours), 2, spread, NULL);
  rf_coll *next = rf_arr_collection(rf_min(rf_arrange(rf_concat(heard, start_in), 1)));
  rf_var_set(label, next);
  rf_coll *labels = rf_inspect(rf_consolidate(rf_leave(next)), on_label, NULL);

  /* Component sizes: count the nodes per label; keep them readable. */
  static const uint32_t label_col[1] = {1};
  rf_arr *sizes = rf_count(rf_arrange(rf_project(labels, 1, label_col), 1));
  rf_view *view = rf_view_new(sizes);
  rf_probe *done = rf_probe_new(rf_arr_collection(sizes));
  check(rf_graph_start(g), "building the dataflow");

  uint32_t graph[EDGES][2];
  for (int i = 0; i < EDGES; i++) {
    graph[i][0] = rnd(NODES);
    graph[i][1] = rnd(NODES);
    const rf_value e[2] = {graph[i][0], graph[i][1]};
    check(rf_input_insert(edges_in, e, 2), "insert");
  }
  check(rf_input_advance_to(edges_in, 1), "advance");
  check(rf_probe_wait(done, 0), "wait");
  printf("time 0: %d random edges over %d nodes; components as {least node: size}\n",
         EDGES, NODES);
  report(view);

  for (uint64_t t = 1; t <= ROUNDS; t++) {
    printf("time %" PRIu64 ":", t);
    for (int c = 0; c < CHURN; c++) {
      int i = (int)rnd(EDGES);
      const rf_value old[2] = {graph[i][0], graph[i][1]};
      graph[i][0] = rnd(NODES);
      graph[i][1] = rnd(NODES);
      const rf_value now[2] = {graph[i][0], graph[i][1]};
      check(rf_input_remove(edges_in, old, 2), "remove");
      check(rf_input_insert(edges_in, now, 2), "insert");
      printf(" -{%u,%u} +{%u,%u}", (unsigned)old[0], (unsigned)old[1],
             (unsigned)now[0], (unsigned)now[1]);
    }
    printf("\n");
    check(rf_input_advance_to(edges_in, t + 1), "advance");
    check(rf_probe_wait(done, t), "wait");
    report(view);
  }
  rf_graph_destroy(g);
  return 0;
}
