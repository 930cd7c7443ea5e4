/*
 * bfs.c: hop-count breadth-first search that stays up to date while the
 * graph changes.
 *
 * The dataflow: distances start at (root, 0); each iteration follows every
 * edge from a reached node (dist + 1 at its destination) and keeps, per node,
 * the least distance seen. When edges come and go, rhizoflow recomputes only
 * what the change touches, and the inspect callback below sees exactly the
 * distances that changed: (node, old distance, -1) and (node, new, +1).
 *
 * Build: cmake --build build --target example_bfs; run: build/examples/example_bfs
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "rhizoflow.h"

#define NODES 24
#define EDGES 40
#define ROUNDS 5
#define CHURN 4 /* edges replaced per round */

/* A tiny deterministic random generator (xorshift64*). */
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

/* ---- the dataflow's callbacks ---- */

/* roots -> (root, 0) */
static int at_zero(void *ctx, const rf_value *in, rf_value *out) {
  out[0] = in[0];
  out[1] = rf_from_u64(0);
  return 0;
}

/* key = node, dist = its distance, dst = an edge's destination */
static int step(void *ctx, const rf_value *node, const rf_value *dist,
                const rf_value *dst, rf_value *out) {
  out[0] = dst[0];
  out[1] = rf_from_u64(rf_to_u64(dist[0]) + 1);
  return 1; /* emit */
}

/* Changes of (node, distance) within one round, collected by inspect. */
typedef struct change {
  uint64_t node, dist;
  int64_t diff;
} change;
static change changes[4 * NODES * ROUNDS];
static size_t n_changes;

static void on_change(void *ctx, const rf_value *rec, uint32_t arity,
                      const uint64_t *time, uint32_t time_dim, rf_diff diff) {
  if (n_changes < sizeof changes / sizeof changes[0])
    changes[n_changes++] = (change){rf_to_u64(rec[0]), rf_to_u64(rec[1]), diff};
}

static int by_node(const void *a, const void *b) {
  const change *x = a, *y = b;
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  return (x->diff > y->diff) - (x->diff < y->diff); /* the -1 (old) first */
}

/* Prints "node N: old -> new" per node that changed this round. */
static void print_changes(void) {
  qsort(changes, n_changes, sizeof changes[0], by_node);
  for (size_t i = 0; i < n_changes;) {
    uint64_t node = changes[i].node;
    long old = -1, now = -1;
    for (; i < n_changes && changes[i].node == node; i++) {
      if (changes[i].diff < 0) old = (long)changes[i].dist;
      else now = (long)changes[i].dist;
    }
    printf("  node %2" PRIu64 ": ", node);
    if (old < 0) printf("unreachable");
    else printf("%ld", old);
    printf(" -> ");
    if (now < 0) printf("unreachable\n");
    else printf("%ld\n", now);
  }
  n_changes = 0;
}

static int check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %s (%s)\n", what, rf_strerror(rc), rf_last_error());
    exit(1);
  }
  return rc;
}

int main(void) {
  rf_graph *g;
  check(rf_graph_create(NULL, &g), "rf_graph_create");

  /* Inputs: roots (node) and edges (src, dst). */
  rf_input *roots_in, *edges_in;
  rf_coll *roots = rf_input_new(g, "roots", 1, &roots_in);
  rf_coll *edges = rf_input_new(g, "edges", 2, &edges_in);

  /* Edges indexed by source, once; the loop below reads this arrangement. */
  rf_arr *edges_by_src = rf_arrange(edges, 1);
  rf_coll *start = rf_map(roots, 2, at_zero, NULL);

  /* The loop: dist = min per node of (start ∪ follow(dist, edges)). */
  rf_scope *loop = rf_scope_new(g, NULL);
  rf_coll *start_in = rf_enter(loop, start);
  rf_var *dist = rf_var_new(loop, start_in);
  rf_coll *reached = rf_join_map(rf_arrange(rf_var_coll(dist), 1),
                                 rf_arr_enter(loop, edges_by_src), 2, step, NULL);
  rf_coll *next = rf_arr_collection(rf_min(rf_arrange(rf_concat(reached, start_in), 1)));
  rf_var_set(dist, next);

  /* Out of the loop: consolidate (leaving the loop sums the iterations'
   * updates of a time, which may cancel), watch the changes, and know when
   * a time is done. */
  rf_probe *done =
      rf_probe_new(rf_inspect(rf_consolidate(rf_leave(next)), on_change, NULL));
  check(rf_graph_start(g), "building the dataflow"); /* reports any building error */

  /* Time 0: root 0 and a random graph. */
  uint32_t graph[EDGES][2];
  for (int i = 0; i < EDGES; i++) {
    graph[i][0] = rnd(NODES);
    graph[i][1] = rnd(NODES);
    const rf_value e[2] = {graph[i][0], graph[i][1]};
    check(rf_input_insert(edges_in, e, 2), "insert");
  }
  const rf_value root[1] = {0};
  check(rf_input_insert(roots_in, root, 1), "insert root");
  check(rf_input_close(roots_in), "close roots");
  check(rf_input_advance_to(edges_in, 1), "advance");
  check(rf_probe_wait(done, 0), "wait");
  printf("time 0: distances from node 0 (%d nodes, %d edges)\n", NODES, EDGES);
  print_changes();

  /* Each round, at its own time: replace a few random edges. */
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
      printf(" -(%u,%u) +(%u,%u)", (unsigned)old[0], (unsigned)old[1],
             (unsigned)now[0], (unsigned)now[1]);
    }
    printf("\n");
    check(rf_input_advance_to(edges_in, t + 1), "advance");
    check(rf_probe_wait(done, t), "wait"); /* every change at time t is out */
    if (n_changes == 0) printf("  (no distance changed)\n");
    print_changes();
  }
  rf_graph_destroy(g);
  return 0;
}
