/*
 * sched.h: the worker threads of a graph with several workers (parallel.c),
 * as seen by the graph, the operators and the public calls that wait.
 *
 * Threads: rf__sched_start and rf__sched_stop run on the thread that calls
 * rf_graph_start / rf_graph_destroy; rf__sched_send on workers; the rest on
 * any thread. Every function accepts a graph with one worker (no threads)
 * and then does nothing, except the waits, which are not called for it.
 */
#ifndef RF_SCHEDULER_SCHED_H
#define RF_SCHEDULER_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "dataflow/graph.h"

typedef struct rf__sched rf__sched;

rf__sched *rf__graph_sched(const rf_graph *g);

/* Starts the W worker threads of a started graph. 0 or a negative error
 * (then no thread runs). */
int rf__sched_start(rf_graph *g, rf__sched **out);
/* Stops and joins the workers and frees what is in flight between them. */
void rf__sched_stop(rf_graph *g);
/* A worker's message for another worker's port (m->dest). */
void rf__sched_send(rf_graph *g, uint32_t from, uint32_t to, rf__msg *m);
/* An input handle published work (data, a new time, a close): wakes the
 * workers if they are parked. */
void rf__sched_submitted(rf_graph *g);
/* The graph failed: every waiting thread and parked worker re-checks. */
void rf__sched_failed(rf_graph *g);
/* A probe's frontier moved: threads waiting on probes re-check. */
void rf__sched_progressed(rf_graph *g);
/* Blocks until everything submitted so far has been processed and the
 * workers found no work, or the graph failed. 0 or the graph's error. */
int rf__sched_wait_idle(rf_graph *g, const char *fn);
/* Asks every worker to compact its traces when next idle
 * (rf__worker_compact) and blocks until all did, or the graph failed. 0 or
 * the graph's error. */
int rf__sched_compact(rf_graph *g);
/* Merges each trace the worker owns into one batch (rf__spine_compact), on
 * the worker's thread. 0 or RF_ENOMEM (the graph is not failed here). */
int rf__worker_compact(rf__worker *wk);
/* Blocks until done(ctx), or the graph failed (its error). When the
 * workers are idle and done is still false, stalled(ctx) decides: a
 * negative error (RF_ESTALL) is returned; 0 means another thread may still
 * submit what is missing, and the wait goes on until it does. */
int rf__sched_wait_until(rf_graph *g, bool (*done)(void *), int (*stalled)(void *), void *ctx,
                         const char *fn);

#endif
