/*
 * bfs_bench.h: the BFS-under-edge-churn benchmark runner shared by the
 * `bench_bfs` program and `rhizoflow bench bfs`, and the load/round steps
 * the `rhizoflow demo` command reuses.
 *
 * A run follows differential-dataflow's `bfs` example: roots = {0}; EDGES
 * edges inserted at time 0, the input advanced to 1 and the probe waited on
 * for time 0 (the initial computation); then each round inserts BATCH new
 * edges and removes the BATCH oldest, element e at its own time
 * 1 + r*BATCH + e (advancing the input after each element), and waits until
 * the probe has passed the round's last time. Each round's edges are drawn
 * before its timer starts.
 */
#ifndef RFW_BFS_BENCH_H
#define RFW_BFS_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bfs_dataflow.h"
#include "bfs_workload.h"

/* The most worker threads --workers accepts (rf_config.workers' limit). */
#define RFW_MAX_WORKERS 64

/* Exit codes of the benchmark programs and the CLI. */
enum {
  RFW_EXIT_OK = 0,
  RFW_EXIT_FAILURE = 1,  /* the run failed (engine error, I/O error) */
  RFW_EXIT_USAGE = 2,    /* bad command line */
  RFW_EXIT_MISMATCH = 3, /* --check-ref: the histogram differs */
  RFW_EXIT_HELP = -1     /* parse only: --help was printed, exit 0 */
};

typedef struct rfw_bfs_params {
  uint32_t nodes;
  uint64_t edges;
  uint32_t batch;
  uint32_t rounds;
  uint32_t workers;
  rfw_gen_kind gen;
  const char *inspect_path;      /* write histogram changes here */
  const char *check_ref_path;    /* compare histogram changes with this */
  const char *write_stream_path; /* write the input as an update stream */
} rfw_bfs_params;

/* 100k nodes, 1M edges, batch 1000, 100 rounds, 1 worker, dd generator. */
void rfw_bfs_params_default(rfw_bfs_params *p);
/* Parses the options in argv[0..argc) (argv[0] is the first option, not the
 * program name) into p, which holds defaults on entry. Returns 0,
 * RFW_EXIT_HELP after printing the usage to out, or RFW_EXIT_USAGE after
 * printing a message naming the bad argument to err. `prog` names the
 * command in messages. */
int rfw_bfs_params_parse(int argc, char **argv, rfw_bfs_params *p,
                         const char *prog, FILE *out, FILE *err);
void rfw_bfs_usage(FILE *f, const char *prog);
/* Parses a count: decimal, with an optional k/M/G suffix (10^3/6/9).
 * Returns 0 or -1 if s is not such a number or exceeds max. */
int rfw_parse_count(const char *s, uint64_t max, uint64_t *out);
/* Reads the value of option argv[*i] (a count in [lo, hi]) into *out and
 * steps *i past it. Returns 0, or RFW_EXIT_USAGE after a message to err
 * naming the option and the bad value. */
int rfw_opt_count(int argc, char **argv, int *i, uint64_t lo, uint64_t hi,
                  uint64_t *out, const char *prog, FILE *err);

/* ---- steps shared with the demo ---------------------------------- */

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

/* Latency statistics: sorts v[0..n) ascending; the median of sorted v; the
 * nearest-rank percentile q (in (0, 1]) of sorted v. 0 when n is 0. */
void rfw_sort_doubles(double *v, size_t n);
double rfw_median(const double *v, size_t n);
double rfw_percentile(const double *v, size_t n, double q);

/* Peak resident set of the process in bytes (getrusage). */
uint64_t rfw_peak_rss_bytes(void);
/* A monotonic clock in seconds. */
double rfw_now_s(void);

/* ---- the benchmark -------------------------------------------------- */

/* Runs the benchmark, printing one JSON line per round (round 0 is the
 * initial computation) and a summary JSON line to out, errors to err.
 * If hist_out is not NULL, it receives the consolidated histogram changes
 * (malloc'd; the caller frees) and *n_hist their count. Returns an
 * RFW_EXIT_* code. */
int rfw_bfs_bench(const rfw_bfs_params *p, FILE *out, FILE *err,
                  rfw_hist_change **hist_out, size_t *n_hist);

#endif
