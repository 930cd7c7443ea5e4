/*
 * runner.h: runs one oracle case against the engine and compares. The driver
 * builds the program (builder.c), starts the graph, and feeds the stream
 * epoch by epoch with rf_input_update and rf_input_advance_to; after each
 * step marked `wait` it runs rf_probe_wait on every output and compares the
 * engine's accumulated output with the evaluator's at every newly closed
 * time. It also checks the probe contract (a time is reported complete only
 * when it is, no update arrives for a time after it was reported complete,
 * an input left behind holds back exactly the outputs that depend on it),
 * the live views (latest, retained and incomplete times, lookups), the shape
 * of every update, and, after closing the inputs, that nothing more
 * changes. The shrinker makes a failing case small.
 */
#ifndef RF_ORACLE_RUNNER_H
#define RF_ORACLE_RUNNER_H

#include "evaluator.h"
#include "program.h"

typedef enum or_fail_kind {
  OR_FAIL_NONE = 0,
  OR_FAIL_MISMATCH, /* an output differs from the oracle */
  OR_FAIL_ERROR,    /* an API call failed */
  OR_FAIL_PROTOCOL, /* probe, inspect or callback contract broken */
  OR_FAIL_CRASH     /* (shrinker) the run died; + signal number */
} or_fail_kind;

typedef struct or_outcome {
  bool ok;
  or_fail_kind kind;
  char *report;        /* malloc'd description of the failure (NULL when ok) */
  uint64_t trace_hash; /* hash of every accumulated output checked */
} or_outcome;

/* Runs (p, s) with `workers` workers and compares with exp. Fills *out
 * (free out->report). Returns out->ok. */
bool or_run_case(const or_program *p, const or_stream *s, const or_expected *exp,
                 uint32_t workers, or_outcome *out);
void or_outcome_free(or_outcome *o);

/* The same in a child process, so that a crash or a hang (the child gives up
 * after timeout_s seconds) is a failure like any other: out->kind is then
 * OR_FAIL_CRASH and the report says which signal ended the child. */
bool or_run_case_isolated(const or_program *p, const or_stream *s, const or_expected *exp,
                          uint32_t workers, unsigned timeout_s, or_outcome *out);

/* Makes a failing case smaller: keeps one output, bypasses operators,
 * replaces loops by their initial collections, drops updates and flushes,
 * while the case still fails the same way (each attempt runs in a child
 * process, so crashes and hangs count, by signal). At most max_attempts runs. Returns
 * the number of successful reductions. */
int or_shrink(or_program *p, or_stream *s, uint32_t workers, int max_attempts);

/* Runs the case in a child process and prints its failure report (or how
 * the child died) to stderr. Returns true when the case passed. */
bool or_run_isolated(const or_program *p, const or_stream *s, uint32_t workers);

#endif /* RF_ORACLE_RUNNER_H */
