/*
 * pcounts.h: counted pointstamps, the progress state of a dataflow that
 * runs on several workers (docs/progress.md, "Several workers").
 *
 * Every worker keeps a table of counts indexed by (location, time): its
 * view of every pointstamp of every replica. A location is logical (the
 * same in every replica): an operator's output (capabilities), the
 * messages on their way to an input port (sent by another worker, not yet
 * received: "in flight"), or the messages queued at an input port
 * ("arrived"). A worker changes counts only for what it does itself
 * (rf__pcounts_note): +1 for a capability it holds or a message it queues
 * or sends, -1 when it lets go of one. Each change goes into its own table
 * at once and into a log, which the worker broadcasts, consolidated, to
 * every other worker (rf__pcounts_take_log); they apply it whole
 * (rf__pcounts_apply), in the order each sender sent its logs.
 *
 * A count may be negative for a while (a receiver's -1 can overtake the
 * sender's +1 at a third worker); frontiers are computed from the
 * positive entries only (progress.c).
 *
 * Threads: a table and its log belong to one worker's thread. A log taken
 * from it (rf__pmsg) is owned by whoever holds it: the transport carries
 * it, and the receiving worker applies and frees it.
 */
#ifndef RF_DATAFLOW_PCOUNTS_H
#define RF_DATAFLOW_PCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/mpsc.h"
#include "dataflow/time.h"

/* One change: count(loc, t) += delta. */
typedef struct rf__pchange {
  uint32_t loc;
  int32_t delta;
  uint64_t t[RF_MAX_DIM]; /* the location's dim words; the rest zero */
} rf__pchange;

/* A consolidated log on its way from one worker to another. */
typedef struct rf__pmsg {
  rf__mpsc_node node; /* link in the receiver's progress inbox */
  uint32_t from;
  size_t n;
  rf__pchange v[]; /* sorted by (loc, t), no zero deltas */
} rf__pmsg;

typedef struct rf__pentry {
  int64_t count;
  uint64_t t[RF_MAX_DIM];
} rf__pentry;

/* One location's distinct times with a non-zero count: a hash table of
 * cap slots (a power of two, or 0), n of them in use; a slot is empty when
 * its count is 0. Iterate over all cap slots. */
typedef struct rf__ploc {
  rf__pentry *e;
  uint32_t n, cap;
  uint32_t dim;
  /* The minimal positive times, kept for progress tracking's recompute
   * (rf__pcounts_minimal) and rebuilt only when the set of positive
   * entries here changed (`stale`). */
  rf__antichain pos;
  bool stale;
} rf__ploc;

typedef struct rf__pcounts {
  rf__ploc *locs;
  uint32_t n_locs;
  rf__pchange *log; /* this worker's changes not yet broadcast */
  size_t n_log, cap_log;
  /* Set when the set of positive entries changed: frontiers need a
   * recompute. Cleared by the recompute. */
  bool changed;
} rf__pcounts;

/* n_locs locations; dims[i] is location i's time words. 0 or RF_ENOMEM. */
int rf__pcounts_init(rf__pcounts *pc, uint32_t n_locs, const uint32_t *dims);
void rf__pcounts_free(rf__pcounts *pc);

/* Counts (loc, t) += delta in the table, without logging: the state a
 * worker starts from. 0 or RF_ENOMEM. */
int rf__pcounts_add(rf__pcounts *pc, uint32_t loc, const uint64_t *t, int64_t delta);
/* This worker's own change: counts it and logs it for the others. */
int rf__pcounts_note(rf__pcounts *pc, uint32_t loc, const uint64_t *t, int32_t delta);
/* The same for every element of an antichain. */
int rf__pcounts_note_all(rf__pcounts *pc, uint32_t loc, const rf__antichain *a, int32_t delta);

/* The minimal times with a positive count at loc. NULL on ENOMEM. */
const rf__antichain *rf__pcounts_minimal(rf__pcounts *pc, uint32_t loc);

/* Consolidates the log and hands it over as a message (its `from` set);
 * *out = NULL when the changes cancelled out. 0 or RF_ENOMEM. */
int rf__pcounts_take_log(rf__pcounts *pc, uint32_t from, rf__pmsg **out);
/* A copy of a message (for another receiver); NULL on ENOMEM. */
rf__pmsg *rf__pmsg_copy(const rf__pmsg *m);
/* Applies another worker's message to the table (does not free it). */
int rf__pcounts_apply(rf__pcounts *pc, const rf__pmsg *m);
void rf__pmsg_free(rf__pmsg *m);

#endif
