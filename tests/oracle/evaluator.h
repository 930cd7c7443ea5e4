/*
 * evaluator.h: the naive, recompute-from-scratch meaning of an oracle
 * program. For a top-level time t it accumulates every input update with
 * time <= t, then evaluates each operator on whole accumulated collections
 * (differential dataflow's semantics, DESIGN.md section 4): per-record
 * functions record by record, join as a nested loop over matching keys,
 * reduce as a function of each key's sorted (value, count) list, and iterate
 * as the plain sequence v0 = initial, v(i+1) = body(v(i)) until two
 * consecutive values are equal. Nothing is incremental and nothing is shared,
 * so the result is obviously right; speed does not matter.
 */
#ifndef RF_ORACLE_EVALUATOR_H
#define RF_ORACLE_EVALUATOR_H

#include "program.h"

typedef enum or_eval_status {
  OR_EVAL_OK = 0,
  OR_EVAL_DIVERGED, /* some loop did not reach a fixed point within the cap */
  OR_EVAL_TOO_BIG,  /* a collection or count grew past the evaluator's limits */
  OR_EVAL_INVALID   /* the program is malformed (a generator bug) */
} or_eval_status;

typedef struct or_eval_limits {
  int max_iterations;  /* per loop and outer state (e.g. 1000) */
  size_t max_records;  /* per collection */
  rf_diff max_count;   /* per record, in absolute value */
  uint64_t max_work;   /* records made by all operators in one or_eval (0: no limit) */
} or_eval_limits;

/* Default limits: 1000 iterations, 6000 records, counts below 2^24, no work
 * limit. */
or_eval_limits or_eval_default_limits(void);

/* Computes every output of p at top-level time t over stream s. outs must
 * hold p->n_outputs collections; each is (re)initialized and left normalized.
 * On a status other than OR_EVAL_OK, msg (if not NULL, of msg_len bytes)
 * says what happened and the outputs are unspecified (but freeable). */
or_eval_status or_eval(const or_program *p, const or_stream *s, rf_time t,
                       const or_eval_limits *lim, or_coll *outs, char *msg, size_t msg_len);

const char *or_eval_status_name(or_eval_status st);

/* The outputs at every time 0 .. or_stream_last_time(s): colls[t * n_outputs
 * + o]. */
typedef struct or_expected {
  rf_time n_times;
  int n_outputs;
  or_coll *colls;
} or_expected;

/* or_eval at every time the stream closes. On failure, *out is empty. */
or_eval_status or_eval_all(const or_program *p, const or_stream *s, const or_eval_limits *lim,
                           or_expected *out, char *msg, size_t msg_len);
void or_expected_free(or_expected *e);
static inline const or_coll *or_expected_at(const or_expected *e, rf_time t, int o) {
  return &e->colls[t * (rf_time)e->n_outputs + (rf_time)o];
}

#endif /* RF_ORACLE_EVALUATOR_H */
