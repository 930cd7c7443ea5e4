/*
 * bench_options.h: the parameters of a benchmark run and their command
 * line, shared by every workload of `rhizoflow bench` (and the bench_bfs
 * program): the options every workload takes (--workers, --seed, --rounds,
 * --batch, --times-per-round, --send, --write-inputs, --edges/--updates FILE,
 * --progress, --help), those of a family of workloads (graph: --nodes,
 * --edges, --generator; groupby: --keys, --initial, --updates; join:
 * --keys, --window) and bfs's own (--inspect, --check-ref). Defaults and
 * meanings are benchmarks/WORKLOADS.md's.
 */
#ifndef RFW_BENCH_OPTIONS_H
#define RFW_BENCH_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_common.h"
#include "bfs_workload.h"

#define RFW_DEFAULT_SEED 1

/* The families of workloads: what their input is. */
typedef enum rfw_kind {
  RFW_KIND_GRAPH,   /* bfs, degrees, cc: the edge stream */
  RFW_KIND_GROUPBY, /* one stream of (key, value) inserts and removals */
  RFW_KIND_JOIN     /* two sliding windows of (key, value) rows */
} rfw_kind;

typedef struct rfw_workload rfw_workload; /* bench_runner.h */

typedef struct rfw_params {
  const rfw_workload *wl;
  uint32_t workers;
  uint64_t seed;
  uint32_t rounds;
  bool rounds_set;          /* --rounds given (caps the rounds of read files) */
  uint32_t batch;
  uint32_t times_per_round; /* 0: one time per element */
  bool send_each_advance;   /* --send advance: inputs not buffered (rf_input_set_buffered) */
  bool progress;            /* --progress: progress lines even off a terminal */
  bool compact;             /* --compact: rf_graph_compact after round 0 */
  const char *write_inputs; /* --write-inputs DIR */
  const char *edges_file;   /* graph: --edges FILE, the initial edges */
  const char *updates_file; /* --updates FILE (join: the left side's) */
  const char *right_file;   /* join: --updates LEFT,RIGHT's right side */
  char *updates_arg;        /* join: a copy of LEFT,RIGHT, split (freed by rfw_params_free) */
  /* graph */
  uint32_t nodes;
  uint64_t edges;
  rfw_gen_kind gen;
  /* groupby, join */
  uint64_t keys;
  uint64_t initial; /* groupby */
  bool initial_set;
  uint64_t updates; /* groupby */
  uint64_t window;  /* join */
  /* bfs */
  const char *inspect_path;
  const char *check_ref_path;
  bool want_hist; /* keep the histogram's changes for the caller (rfw_result) */
} rfw_params;

/* Defaults of workload wl (WORKLOADS.md). */
void rfw_params_default(rfw_params *p, const rfw_workload *wl);
void rfw_params_free(rfw_params *p);
/* Parses the options in argv[0..argc) (argv[0] is the first option, not
 * the program name) into p, which holds defaults on entry. Returns 0,
 * RFW_EXIT_HELP after printing the usage to out, or RFW_EXIT_USAGE after
 * printing a message naming the bad argument to err. `prog` names the
 * command in messages ("rhizoflow bench degrees"). */
int rfw_params_parse(int argc, char **argv, rfw_params *p, const char *prog, FILE *out,
                     FILE *err);
void rfw_usage(FILE *f, const rfw_workload *wl, const char *prog);

/* Whether the run reads its inputs from files. */
static inline bool rfw_params_from_files(const rfw_params *p) {
  return p->edges_file || p->updates_file;
}
/* groupby: the rounds the generated stream has (ceil(updates / batch),
 * capped by --rounds). */
uint32_t rfw_groupby_rounds(const rfw_params *p);
/* groupby: the changes those rounds hold. */
uint64_t rfw_groupby_changes(const rfw_params *p);

#endif
