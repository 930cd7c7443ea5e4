/*
 * bench_runner.h: one runner for every workload of `rhizoflow bench`
 * (benchmarks/WORKLOADS.md). A workload describes itself (rfw_workload:
 * its family of inputs, its checksum fields, how to build its dataflow
 * with the public API and read its checksums); the runner does the rest:
 *
 *   round 0: the initial input at time 0 (loading: load_s), every input
 *            advanced to 1, the probe waited on for time 0 (initial_s =
 *            load_s + that wait; the round's latency_ms is the wait);
 *   round r: the round's elements are cut into T groups (--times-per-round;
 *            T = the element count by default for the graph workloads),
 *            group g at its own time, every input advanced after each
 *            group, then the probe waited on for the round's last time.
 *            A round's input is drawn (or read) before its timer starts.
 *
 * After each round it prints a JSON line with the round's latency and the
 * workload's checksums, and at the end a summary line (WORKLOADS.md
 * "Output"; benchmarks/README.md lists every field). Checksums come from
 * the workload's inspect callbacks, which sum the output's changes as they
 * pass (rfw_sums), so reading them costs nothing per round.
 */
#ifndef RFW_BENCH_RUNNER_H
#define RFW_BENCH_RUNNER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_options.h"
#include "bfs_dataflow.h"
#include "rhizoflow.h"

#define RFW_MAX_SUMS 6   /* checksum fields of a workload, at most */
#define RFW_MAX_INPUTS 2 /* input collections of a workload, at most */

/* What a run reports besides its output lines: every round's checksums
 * (for tests; sums[r * RFW_MAX_SUMS + k] is field k after round r) and,
 * for bfs, the histogram's changes. Free with rfw_result_free. */
typedef struct rfw_result {
  int64_t *sums;
  uint32_t n_rounds; /* rounds run, round 0 included */
  uint64_t last_time; /* the last dataflow time used */
  rfw_hist_change *hist; /* bfs: consolidated histogram changes (p->want_hist) */
  size_t n_hist;
} rfw_result;

void rfw_result_free(rfw_result *r);

/* A built dataflow, filled by the workload's build. */
typedef struct rfw_dataflow {
  rf_input *inputs[RFW_MAX_INPUTS]; /* 2 columns each */
  uint32_t n_inputs;
  rf_probe *probe; /* done(t): every checksum change at t has been seen */
  void *state;     /* the workload's: callbacks' context, freed by free_state */
} rfw_dataflow;

struct rfw_workload {
  const char *name;
  const char *summary;  /* one line, for `rhizoflow bench --help` */
  const char *help;     /* what it computes, for WORKLOAD --help */
  rfw_kind kind;
  bool value_i64; /* feed the second column as rf_from_i64 (values to sum) */
  uint32_t n_sums;
  const char *sum_names[RFW_MAX_SUMS];
  /* Builds the dataflow into g (not started); sets df's inputs, probe
   * and state (malloc'd, at a fixed address). Returns 0 or an RF_E* code;
   * err_msg may receive a message of its own (a bad --check-ref file). */
  int (*build)(rf_graph *g, const rfw_params *p, rfw_dataflow *df, char *err_msg,
               size_t err_len);
  /* Optional: after rf_graph_start (bfs inserts its root). */
  int (*started)(rfw_dataflow *df);
  /* Copies the current checksums (n_sums of them); -1 if the callbacks
   * ran out of memory. */
  int (*read_sums)(void *state, int64_t *sums);
  /* Optional: after the last round (last_time: the last dataflow time
   * used); may print to err, add ",\"f\":v" fields to the summary (json),
   * fill res (may be NULL). Returns an RFW_EXIT_* code. */
  int (*finish)(void *state, const rfw_params *p, uint64_t last_time, rfw_result *res,
                FILE *err, char *json, size_t json_len);
  void (*free_state)(void *state);
};

extern const rfw_workload rfw_workload_bfs, rfw_workload_degrees, rfw_workload_cc,
    rfw_workload_groupby, rfw_workload_join;
/* Every workload, NULL-terminated, in the order of `rhizoflow bench --help`. */
extern const rfw_workload *const rfw_workloads[];
const rfw_workload *rfw_workload_find(const char *name);

/* Runs p->wl as described above (or, with --write-inputs, writes its
 * inputs and returns). res may be NULL. Returns an RFW_EXIT_* code. */
int rfw_bench_run(const rfw_params *p, FILE *out, FILE *err, rfw_result *res);

/* Parses argv (after the workload name) and runs: the body of
 * `rhizoflow bench WORKLOAD` and of the bench_bfs program. */
int rfw_bench_main(const rfw_workload *wl, int argc, char **argv, const char *prog);

/* Checksums maintained by inspect callbacks, which may run on several
 * worker threads at once: every change goes through the mutex. */
typedef struct rfw_sums {
  pthread_mutex_t lock;
  int64_t v[RFW_MAX_SUMS];
  bool oom;
} rfw_sums;

void rfw_sums_init(rfw_sums *s);
void rfw_sums_destroy(rfw_sums *s);
/* Copies n sums; -1 if s->oom. */
int rfw_sums_read(rfw_sums *s, int64_t *out, uint32_t n);

#endif
