/*
 * builder.h: turns an oracle program into an rf_graph through the public API
 * only. Every output gets an inspect callback that records the engine's
 * output updates (time, record, diff) and a probe; intermediate inspect
 * nodes check that updates carry the time dimension of their scope, and the
 * general reducer's adapter checks the reduce contract (values sorted,
 * counts non-zero). Loops are built with rf_iterate or with rf_scope_new /
 * rf_var_new / rf_var_set / rf_leave as the program says, entering outer
 * collections with rf_enter and arrangements with rf_arr_enter.
 */
#ifndef RF_ORACLE_BUILDER_H
#define RF_ORACLE_BUILDER_H

#include <pthread.h>

#include "program.h"

/* The updates one output has produced so far. Filled from worker threads
 * (under the mutex); read by the driver between runs of the dataflow. */
typedef struct or_capture {
  pthread_mutex_t mu;
  uint32_t arity;
  size_t n, cap;
  rf_time *times;
  rf_value *recs;
  rf_diff *diffs;
  bool closed_valid;  /* the probe has reported every time <= closed complete */
  rf_time closed;
  size_t late;        /* updates that came at a time already reported complete */
  size_t bad_shape;   /* updates with the wrong time dimension or arity */
  char first_problem[256];
} or_capture;

typedef struct or_built or_built;

typedef struct or_inspect_ctx {
  or_built *b;
  int node;
  uint32_t expect_dim, arity;
} or_inspect_ctx;

typedef struct or_body_ctx {
  or_built *b;
  int scope;
} or_body_ctx;

struct or_built {
  const or_program *p;
  rf_graph *g;
  rf_input *inputs[OR_MAX_INPUTS];
  rf_probe *probes[OR_MAX_OUTPUTS];
  or_capture caps[OR_MAX_OUTPUTS];
  /* a live view of every output: of its arrangement, or of an arrangement
   * of it made for the view; even outputs retain every time from 0 */
  rf_view *views[OR_MAX_OUTPUTS];
  uint32_t view_key_arity[OR_MAX_OUTPUTS];
  bool view_retains[OR_MAX_OUTPUTS];
  rf_time view_retain_from[OR_MAX_OUTPUTS]; /* moved forward by the driver */
  /* handles per node and scope */
  bool built[OR_MAX_NODES];
  rf_coll *coll[OR_MAX_NODES];
  rf_arr *arr[OR_MAX_NODES];
  rf_scope *scope[OR_MAX_SCOPES];
  rf_var *var[OR_MAX_SCOPES][OR_MAX_VARS];
  rf_coll *var_coll[OR_MAX_SCOPES][OR_MAX_VARS];
  or_inspect_ctx insp[OR_MAX_NODES];
  or_body_ctx body[OR_MAX_SCOPES];
  /* problems seen by callbacks (any thread) */
  pthread_mutex_t mu;
  size_t contract_errors;
  char first_contract_error[256];
  /* the first building error */
  int build_rc;
  char build_err[512];
};

/* Creates the graph with `workers` workers and builds p into it (not
 * started). Returns 0, or an error with b->build_err saying which node
 * failed and rf_last_error()'s message. b must stay at one address while
 * the graph lives (callbacks point into it); p must outlive it too. */
int or_build(or_built *b, const or_program *p, uint32_t workers);
/* Destroys the graph and frees the captures. */
void or_built_destroy(or_built *b);

/* The output's accumulated collection at time t (updates with time <= t),
 * or at every time when all_times. */
void or_capture_accumulate(or_capture *c, rf_time t, bool all_times, or_coll *out);

#endif /* RF_ORACLE_BUILDER_H */
