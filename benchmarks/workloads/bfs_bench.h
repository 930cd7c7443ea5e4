/*
 * bfs_bench.h: the bfs workload of `rhizoflow bench` (rfw_workload_bfs,
 * run by bench_runner.c: hop distances from node 0 under edge churn, as
 * differential-dataflow's `bfs` example runs it, with its --inspect and
 * --check-ref), and the load/round steps the `rhizoflow demo` command
 * reuses.
 *
 * The demo's steps follow the example: roots = {0}; EDGES edges inserted
 * at time 0, the input advanced to 1 and the probe waited on for time 0
 * (the initial computation); then each round inserts BATCH new edges and
 * removes the BATCH oldest, element e at its own time 1 + r*BATCH + e
 * (advancing the input after each element), and waits until the probe has
 * passed the round's last time.
 */
#ifndef RFW_BFS_BENCH_H
#define RFW_BFS_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_common.h"
#include "bench_options.h"
#include "bfs_dataflow.h"
#include "bfs_workload.h"

/* A graph with the BFS dataflow built and started. */
typedef struct rfw_bfs_run {
  rf_graph *g;
  rfw_bfs bfs;
} rfw_bfs_run;

/* Creates, builds and starts; inserts root 0 and closes the roots. Returns
 * 0 or an RF_E* code (rf_last_error says more); on error nothing is left
 * to free. run must not move afterwards. */
int rfw_bfs_run_start(rfw_bfs_run *run, uint32_t workers,
                      const rfw_bfs_options *opts);
void rfw_bfs_run_finish(rfw_bfs_run *run);

/* Called every `every` loaded edges with the number loaded so far. */
typedef void (*rfw_progress_fn)(void *ctx, uint64_t done, uint64_t total);
/* Loads `edges` edges from s at time 0 and advances the edge input to 1
 * (not waiting). Returns 0 or an RF_E* code. */
int rfw_bfs_load(rfw_bfs_run *run, rfw_bfs_stream *s, uint64_t edges,
                 rfw_progress_fn progress, void *ctx, uint64_t every);
/* Waits for the initial computation (time 0). */
int rfw_bfs_wait_initial(rfw_bfs_run *run);
/* Round `round`: for each element, inserts ins[e], removes del[e] and
 * advances to the element's time + 1; then waits for the round's last
 * time. Returns 0 or an RF_E* code. */
int rfw_bfs_round(rfw_bfs_run *run, uint32_t batch, uint32_t round,
                  const rfw_edge *ins, const rfw_edge *del);

#endif
