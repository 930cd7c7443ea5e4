/*
 * bfs_dataflow.h: hop-count BFS from a set of roots, built with the public
 * rhizoflow API, as differential-dataflow's `bfs` example computes it.
 *
 *   nodes = roots.map(n -> (n, 0))
 *   dist  = iterate(nodes, |d| min_per_node(join(d by node, edges by src)
 *                                           .map((dst, dist + 1))
 *                                           .concat(nodes)))
 *   hist  = dist.project(distance).consolidate().inspect(...)   (probed)
 *
 * The edges are arranged once by source outside the loop and entered into
 * the scope with rf_arr_enter, so every iteration reads the same shared
 * arrangement. The histogram of distances is kept up to date by an inspect
 * callback (cheap: one update per changed (distance, time)), which also
 * logs its changes (distance, time, diff) when asked, in the shape of the
 * Rust example's `inspect` output.
 */
#ifndef RFW_BFS_DATAFLOW_H
#define RFW_BFS_DATAFLOW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rhizoflow.h"

/* One change of the distance histogram. */
typedef struct rfw_hist_change {
  uint64_t distance;
  uint64_t time;
  int64_t diff;
} rfw_hist_change;

/* The histogram of distances, maintained from the inspect callback. With
 * several workers the callback may run on any worker thread, so updates go
 * through a mutex (a handful of updates per time; never contended in
 * practice). */
typedef struct rfw_bfs_hist {
  pthread_mutex_t lock;
  int64_t *count;        /* nodes at each distance */
  size_t count_cap;
  int64_t reachable;     /* sum of counts */
  int64_t distance_sum;  /* sum of distance * count */
  bool keep_log;         /* record every change in log */
  rfw_hist_change *log;
  size_t n_log, log_cap;
  bool oom;              /* an allocation failed in the callback */
} rfw_bfs_hist;

typedef struct rfw_bfs_options {
  bool keep_log;      /* log histogram changes (for --inspect, --check-ref) */
  bool count_changes; /* count per-node distance updates (demo output) */
} rfw_bfs_options;

/* Handles of a built BFS dataflow. The graph owns the rf_* handles. */
typedef struct rfw_bfs {
  rf_input *roots;   /* 1 column: node */
  rf_input *edges;   /* 2 columns: src, dst */
  rf_probe *probe;   /* on the histogram: done(t) means every output at t is in */
  rf_coll *dist;     /* (node, distance) at the top scope */
  rfw_bfs_hist hist;
  /* count_changes: per-node output updates seen, by sign. */
  atomic_uint_fast64_t node_ups, node_downs;
} rfw_bfs;

/* Builds the BFS dataflow into g (not yet started). b must stay at the same
 * address while the graph runs (the callbacks point into it). Returns 0 or
 * the graph's first building error; rfw_bfs_free releases b's own memory
 * (call it after rf_graph_destroy). */
int rfw_bfs_build(rf_graph *g, rfw_bfs *b, const rfw_bfs_options *opts);
void rfw_bfs_free(rfw_bfs *b);

/* Sorts changes by (time, distance) and sums the diffs of equal pairs,
 * dropping zeros: the order and form of the reference files. Returns the
 * new length. */
size_t rfw_hist_consolidate(rfw_hist_change *c, size_t n);
/* Writes changes as "(distance, time, diff)" lines. 0 or -1 on error. */
int rfw_hist_write(FILE *f, const rfw_hist_change *c, size_t n);
/* Reads a file of "(distance, time, diff)" lines into *out (malloc'd).
 * Returns the count, or -1 (message in err, size err_len). */
long rfw_hist_read(const char *path, rfw_hist_change **out, char *err, size_t err_len);
/* Compares ours with ref over the changes at times <= max_time. Returns 0
 * on a match; otherwise 1 and a description of the first difference. */
int rfw_hist_compare(const rfw_hist_change *ours, size_t n_ours,
                     const rfw_hist_change *ref, size_t n_ref, uint64_t max_time,
                     char *msg, size_t msg_len);

#endif
