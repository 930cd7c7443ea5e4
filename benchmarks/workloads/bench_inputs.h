/*
 * bench_inputs.h: where a workload's input comes from and where
 * --write-inputs puts it (benchmarks/WORKLOADS.md, "Files"): the rounds of
 * changes as the runner feeds them, one source for every workload that
 * either draws them from the generators (bfs_workload.h, row_workload.h)
 * or reads them from files in the DESIGN §11 formats (an edge list of
 * `src dst` lines; update files of `round diff col1 col2` lines), with
 * errors that name the file, the line and what was wrong; and the writer
 * of those files and meta.json.
 *
 * A round is a list of elements, each a few updates (input, diff, two
 * columns): the unit that --times-per-round groups. Generated rounds have
 * the workloads' elements (graph: insert + remove of one edge; groupby:
 * one change; join: insert + remove on the left, then on the right). In a
 * read file an element is, for the graph workloads and each side of join,
 * an insertion line with the removal line right after it (or a lone
 * line), and for groupby every line; join's element e pairs the sides'
 * e-th elements. So a run on written files feeds the same updates in the
 * same elements as the run that wrote them.
 */
#ifndef RFW_BENCH_INPUTS_H
#define RFW_BENCH_INPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_options.h"
#include "bfs_workload.h"
#include "row_workload.h"

/* Columns and keys in files are below 2^62 (WORKLOADS.md). */
#define RFW_MAX_FILE_VALUE ((UINT64_C(1) << 62) - 1)

typedef struct rfw_update {
  uint64_t a, b;  /* the two columns */
  int32_t diff;   /* +1 or -1 */
  uint32_t input; /* which input collection (join: 0 left, 1 right) */
} rfw_update;

/* One round's updates, cut into elements. */
typedef struct rfw_round {
  uint32_t number;
  rfw_update *u;
  size_t n, cap;
  size_t *elem; /* element e is u[elem[e] .. elem[e+1]), the last one ends at n */
  size_t n_elem, elem_cap;
} rfw_round;

void rfw_round_clear(rfw_round *r);
void rfw_round_free(rfw_round *r);
/* Starts a new element. 0 or -1 (out of memory). */
int rfw_round_begin(rfw_round *r);
/* Appends an update to the current element. 0 or -1 (out of memory). */
int rfw_round_add(rfw_round *r, uint32_t input, int diff, uint64_t a, uint64_t b);
static inline size_t rfw_round_elem_end(const rfw_round *r, size_t e) {
  return e + 1 < r->n_elem ? r->elem[e + 1] : r->n;
}

/* A reader of one input file, line by line. */
typedef struct rfw_reader {
  FILE *f;
  const char *path;
  bool updates;   /* "round diff a b" lines; else "a b" (an edge list) */
  uint64_t line;  /* number of the line last read */
  char *buf;
  size_t cap;
  bool have;      /* a line read ahead (the next round's first) */
  bool eof;
  uint64_t round; /* of the line read ahead; also the last round seen */
  int diff;
  uint64_t a, b;
} rfw_reader;

/* Receives the initial input (round 0). Returns 0 or non-zero to stop
 * (that value is passed on). */
typedef int (*rfw_emit_fn)(void *ctx, uint32_t input, int diff, uint64_t a, uint64_t b);

/* A workload's input: generated from the parameters, or read. */
typedef struct rfw_source {
  const rfw_params *p;
  rfw_kind kind;
  bool files;
  uint32_t round;       /* the last round produced (0 after the initial input) */
  uint32_t max_rounds;  /* generated: the rounds there are; files: --rounds or no limit */
  uint64_t initial_n;   /* generated: initial updates (0 from files: unknown) */
  /* generated */
  rfw_bfs_stream edges;
  rfw_groupby_gen groupby;
  uint64_t groupby_left; /* changes not yet drawn */
  rfw_window_gen window[2];
  /* read */
  rfw_reader edge_file;
  rfw_reader upd[2];
  uint32_t n_upd;
  rfw_round side[2]; /* join: each side's round before they are paired */
  char err[768];     /* the message of a failed call */
} rfw_source;

/* Return value of the source's calls for an error of the source itself
 * (a bad line, an unreadable file, out of memory): src->err says which.
 * Any other non-zero value comes from the emit function. */
#define RFW_SOURCE_ERROR 2

/* Opens the source p describes (its files, if any). 0 or RFW_SOURCE_ERROR.
 * Call rfw_source_close in either case. */
int rfw_source_open(rfw_source *s, const rfw_params *p);
void rfw_source_close(rfw_source *s);
/* Emits the initial input (round 0) in order. */
int rfw_source_initial(rfw_source *s, rfw_emit_fn emit, void *ctx);
/* Fills r with the next round (r->number = its number, from 1). Returns 1,
 * 0 when there are no more rounds, or RFW_SOURCE_ERROR. An empty round
 * (a read file may skip a round number) has no elements. */
int rfw_source_next_round(rfw_source *s, rfw_round *r);

/* --write-inputs: writes the inputs p describes into p->write_inputs
 * (created with its parents if missing) and its meta.json. Returns an RFW_EXIT_* code,
 * after a message to err on failure. */
int rfw_write_inputs(const rfw_params *p, FILE *err);

#endif
