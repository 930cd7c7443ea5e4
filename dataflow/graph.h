/*
 * graph.h: the dataflow graph and the operator interface, shared by the
 * scheduler (which runs operators only through rf__op_class) and the
 * operators (which receive messages, send messages and hold capabilities).
 *
 * A graph is a set of operators. Each operator has input ports and one
 * output; the output feeds any number of ports. Messages are either update
 * buffers (rf__upbuf) or arrangement batches (rf__batch); both are
 * reference-counted and shared by all consumers of an output.
 *
 * Progress: a message queued at a port is a pointstamp at that port (at the
 * minimal times of its contents); a capability held by an operator is a
 * pointstamp at its output. rf__port_frontier() gives the frontier of a port:
 * every time that could still arrive there (see progress.c and
 * docs/progress.md). The rules every operator keeps:
 *   1. it sends updates at time t only while it holds a capability <= t, or
 *      while it is handling a message it popped whose times are <= t;
 *   2. before asking for a frontier after popping messages, it holds
 *      capabilities for every time it still has to send (rf__op_hold).
 */
#ifndef RF_DATAFLOW_GRAPH_H
#define RF_DATAFLOW_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrangements/batch.h"
#include "arrangements/spine.h"
#include "common/atomic.h"
#include "common/mpsc.h"
#include "dataflow/pcounts.h"
#include "dataflow/time.h"
#include "dataflow/upbuf.h"
#include "rhizoflow.h"

typedef struct rf__op rf__op;
typedef struct rf__worker rf__worker;

/* The most worker threads a graph runs (rf_config.workers). */
#define RF__MAX_WORKERS 64

/* How an operator changes times between its inputs and its output. */
typedef enum rf__summary {
  RF__SUM_IDENTITY, /* t -> t */
  RF__SUM_ENTER,    /* t -> (t, 0): into a nested scope */
  RF__SUM_LEAVE,    /* (t, i) -> t: out of a nested scope */
  RF__SUM_FEEDBACK, /* (t, i) -> (t, i + 1): a loop's back edge */
} rf__summary;

typedef struct rf__msg {
  struct rf__msg *next;
  rf__mpsc_node node;  /* link while it travels to another worker (transport)
                          or from an input handle to an input operator */
  struct rf__port *dest; /* where it goes on arrival (another worker's port) */
  rf__upbuf *ups;      /* updates (port's dim), or NULL */
  rf__batch *batch;    /* a batch (dim <= port's dim; shorter times are
                          extended with zeros), or NULL */
  rf__antichain times; /* minimal times of the contents, in the port's dim */
} rf__msg;

typedef struct rf__port {
  rf__op *op;            /* the operator this port belongs to */
  rf__op *src;           /* the producer feeding it */
  uint32_t index;        /* input number at op */
  uint32_t dim;          /* time words of messages here (src's dim) */
  uint32_t exchange_key; /* 0: pipeline; k: routed by the hash of k key
                            columns when there are several workers */
  rf__msg *head, *tail;  /* queued messages, oldest first */
  size_t n_msgs;
  rf__antichain frontier; /* computed by progress tracking */
  rf__antichain ps;       /* scratch for progress: pointstamps reaching here */
  rf__antichain queued;   /* scratch for progress: minimal times of the messages
                             queued here (in every replica) */
} rf__port;

typedef struct rf__op_class {
  const char *name;
  /* Does the operator's work. Returns 0 or a negative error. */
  int (*run)(rf__op *op);
  /* Frees what the operator owns (not the rf__op itself). May be NULL. */
  void (*destroy)(rf__op *op);
  /* Idle work (merging arrangements): spend up to fuel; return 1 if idle
   * work remains, 0 if none, or a negative error. May be NULL. */
  int (*idle)(rf__op *op, size_t fuel);
  /* The spine whose batches this operator's output carries, or NULL. */
  rf__spine *(*spine)(rf__op *op);
  /* Several workers: makes `dst`, a replica of `src` for another worker,
   * ready to run. rf_graph_start has copied src's bytes into dst and given
   * it its own ports, capabilities and worker; the hook replaces what src
   * owns (spines, readers, buffers) with dst's own. NULL: the operator owns
   * nothing and a byte copy is a replica. Returns 0 or a negative error. */
  int (*clone)(const rf__op *src, rf__op *dst);
  /* Several workers: called on the worker between rounds; returns true if
   * work came from outside the dataflow (an input handle). May be NULL. */
  bool (*poll)(rf__op *op);
  /* Its output carries another operator's trace unchanged (an entered
   * arrangement): rf__op_trace looks through it. */
  bool passes_trace;
} rf__op_class;

struct rf__op {
  const rf__op_class *cls;
  rf_graph *g;
  rf__worker *wk;      /* the worker whose replica this is (its only thread) */
  size_t size;         /* bytes of the operator's struct (for replicas) */
  rf_scope *scope;
  const char *name;    /* for error messages: the class name or a user name */
  uint32_t id;         /* creation order */
  uint32_t dim;        /* time words of the output */
  uint32_t arity;      /* record columns of the output (update outputs) */
  rf__summary summary; /* input -> output time summary */
  uint32_t n_in;
  rf__port *in;        /* n_in ports */
  rf__port **out;      /* ports this output feeds */
  uint32_t n_out;
  size_t out_cap;
  rf__antichain caps;  /* capabilities held, at the output (dim) */
  rf__antichain ps;    /* scratch for progress: pointstamps reaching the output */
  uint32_t loc;        /* several workers: its first progress location (below) */
  bool active;         /* has work: run at the next step */
  bool is_feedback;    /* its output edge closes a loop (ignored in topo order) */
  /* Called by progress tracking when an input frontier changes, for
   * operators that publish it to other threads (views). May be NULL. */
  void (*on_frontier)(rf__op *op);
};

/* Creates an operator of `size` bytes (a struct starting with rf__op) with
 * n_in ports in scope s. Records ENOMEM in the graph and returns NULL. */
rf__op *rf__op_new(rf_graph *g, rf_scope *s, const rf__op_class *cls, size_t size,
                   uint32_t n_in, uint32_t dim, uint32_t arity);
/* Connects src's output to port `index` of op. */
int rf__op_connect(rf__op *op, uint32_t index, rf__op *src, uint32_t exchange_key);

/* Sends updates to every consumer (consumes the caller's reference; an empty
 * buffer is dropped). */
int rf__op_send(rf__op *op, rf__upbuf *ups);
/* The same when the caller knows the minimal times of the rows (an input
 * knows the time of its oldest staged row; an operator passing a message's
 * buffer on unchanged has the message's times): the rows are not scanned
 * for them. `times` must be exactly that antichain, in the output's dim. */
int rf__op_send_times(rf__op *op, rf__upbuf *ups, const rf__antichain *times);
/* Sends a batch to every consumer (consumes the reference). */
int rf__op_send_batch(rf__op *op, rf__batch *b);
/* Replaces the capabilities the operator holds. */
int rf__op_hold(rf__op *op, const rf__antichain *caps);
int rf__op_hold_none(rf__op *op);

/* Queues a message at a port (its pointstamp) and activates the port's
 * operator. Owner worker only. */
void rf__port_enqueue(rf__port *p, rf__msg *m);
/* Takes the oldest message of a port (NULL if none). Its pointstamp is
 * released: hold capabilities for what you keep before asking for a
 * frontier. */
rf__msg *rf__port_pop(rf__port *p);
void rf__msg_free(rf__msg *m);
/* The port's frontier: what may still arrive. */
const rf__antichain *rf__port_frontier(rf__port *p);

/* Records an error in the graph (the first one sticks) and returns it. */
int rf__graph_fail(rf_graph *g, int err);
/* Builder helper: records err (with rf__error's message) while building. */
void rf__graph_build_error(rf_graph *g, int err);
bool rf__graph_building(const rf_graph *g);
rf_graph *rf__coll_graph(const rf_coll *c);

/* Public handle structs (opaque in rhizoflow.h). */
struct rf_scope {
  rf_graph *g;
  rf_scope *parent; /* NULL: the top scope */
  uint32_t depth;   /* 0 at top; times have depth + 1 words */
};

struct rf_coll {
  rf__op *op; /* its producer */
};

struct rf_arr {
  rf__op *op;        /* sends the arrangement's batches */
  rf__spine *spine;  /* the trace (shared by every reader) */
  uint32_t key_arity, val_arity;
  uint32_t ext;      /* scopes entered: readers extend batch times by ext zeros */
  rf_arr *base;      /* the arrangement it was entered from, or NULL */
  uint32_t n_readers; /* readers registered on the root arrangement */
};

/* A reader on the arrangement's spine (counted on the root arrangement, so
 * that an arrangement nobody reads keeps no history). */
rf__reader *rf__arr_reader(rf_arr *a);

/* Allocates handles owned by the graph (freed with it). */
rf_coll *rf__coll_new(rf__op *op);
rf_arr *rf__arr_new(rf__op *op, rf__spine *spine, uint32_t key_arity, uint32_t val_arity,
                    uint32_t ext);
void *rf__graph_own(rf_graph *g, size_t size); /* zeroed, freed with the graph */
rf_scope *rf__graph_top(rf_graph *g);

/* One worker's replica of the dataflow. Worker 0's replica is the graph the
 * program built; rf_graph_start copies it for workers 1..W-1. Every field
 * is touched only by the worker's own thread, except where noted. */
struct rf__worker {
  rf_graph *g;
  uint32_t index;        /* 0..W-1 */
  rf__op **ops;          /* creation order: ops[i]->id == i in every replica */
  rf__op **topo;         /* run order */
  size_t n_ops;
  bool dirty;            /* one worker: pointstamps changed since the last recompute */
  /* Several workers: counted pointstamps of every replica, as this worker
   * knows them, and its own changes still to broadcast (pcounts.h); NULL
   * with one worker. */
  rf__pcounts *pc;
  uint64_t saw_submitted; /* submissions from outside it had seen when it last polled */
  /* Spine statistics, published after every round for rf_graph_stats on
   * other threads. Atomic: written by the worker, read by any thread. */
  uint64_t stat_updates, stat_batches, stat_bytes;
  /* Scheduler activity (rf_stats), counted as it happens. Atomic: written
   * by the worker only (rf__stat_bump), read by any thread. */
  uint64_t stat_runs, stat_data_msgs, stat_progress_msgs, stat_idle_waits;
};

/* Adds n to one of the worker's activity counters. Only the worker's own
 * thread writes them, so a relaxed load and store suffice (no read-modify-
 * write); readers on other threads see some recent value. */
static inline void rf__stat_bump(uint64_t *counter, uint64_t n) {
  rf__atomic_store_relaxed_64(counter, rf__atomic_load_relaxed_64(counter) + n);
}

/* Progress tracking (progress.c): recomputes the frontiers of every port
 * of the worker's replica, from its own queues and capabilities (one
 * worker) or from its counted pointstamps (several; docs/progress.md).
 * Operators whose frontier moved become active. 0 or RF_ENOMEM (the graph
 * has failed). */
int rf__progress_recompute(rf__worker *wk);
/* Whether pointstamps changed since the last recompute. */
static inline bool rf__progress_stale(const rf__worker *wk) {
  return wk->pc ? wk->pc->changed : wk->dirty;
}
/* Several workers: progress locations. Operator op's output is op->loc;
 * input port p has two: messages in flight to it (sent by another worker,
 * not yet received), and messages queued at it. Numbered alike in every
 * replica. */
static inline uint32_t rf__loc_inflight(const rf__port *p) { return p->op->loc + 1 + 2 * p->index; }
static inline uint32_t rf__loc_queued(const rf__port *p) { return p->op->loc + 2 + 2 * p->index; }
/* Numbers the locations of worker 0's replica and gives every worker a
 * table that counts the pointstamps of all replicas now (rf_graph_start,
 * before the worker threads run). 0 or RF_ENOMEM. */
int rf__progress_init_counts(rf_graph *g);
void rf__progress_free_counts(rf__worker *wk);
/* Worker side: records that this worker received message m from another
 * worker and queues it at its destination port. */
void rf__port_receive(rf__msg *m);

/* The graph's workers (1..W) and operators. */
uint32_t rf__graph_workers(const rf_graph *g);
rf__worker *rf__graph_worker(const rf_graph *g, uint32_t w);
/* The same operator in worker w's replica. */
static inline rf__op *rf__op_peer(const rf__op *op, rf__worker *const *all, uint32_t w) {
  return all[w]->ops[op->id];
}
rf__worker *const *rf__graph_all_workers(const rf_graph *g);
/* rf_graph_start: makes worker w's replica of worker 0's dataflow
 * (replica.c). */
int rf__replicate(rf_graph *g, uint32_t w, rf__worker **out);
/* The spine an arrangement operator's output carries (looking through
 * entered arrangements), or NULL. */
rf__spine *rf__op_trace(rf__op *op);
/* Several workers: submits what the calling thread staged in input
 * handles (operators/basic.c); called by the calls that wait. */
void rf__inputs_submit_own(rf_graph *g);
/* 0 if the graph is running; else the error to return from `fn`. */
int rf__graph_check_running(rf_graph *g, const char *fn);
bool rf__graph_failed(const rf_graph *g);

/* Extends a time of from_dim words to to_dim words with zeros. */
static inline void rf__time_extend(const uint64_t *t, uint32_t from_dim, uint32_t to_dim,
                                   uint64_t *out) {
  uint32_t i = 0;
  for (; i < from_dim; i++) out[i] = t[i];
  for (; i < to_dim; i++) out[i] = 0;
}

#endif
