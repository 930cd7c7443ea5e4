/*
 * progress.c: progress tracking: from pointstamps to the frontier of every
 * input port, for one worker or for several.
 *
 * Design
 *   Pointstamps are (location, time) pairs that say "something at this
 *   location may still produce updates at this time or later": each message
 *   queued at a port (at the minimal times of its contents) and each
 *   capability an operator holds (at its output). The frontier of a port is
 *   the antichain of minimal times that could still arrive there: every
 *   pointstamp whose location can reach the port, carried along the path by
 *   the operators' summaries (identity; enter appends an iteration 0; leave
 *   drops it; a loop's feedback adds 1 to it). Messages already queued at
 *   the port have arrived: they count for everything downstream of its
 *   operator (they go on to its output), not for the port's own frontier,
 *   so an operator that takes its queued messages and then reads its
 *   frontier (arrange, feedback) can seal them in the same step, and with
 *   several workers in the same round in which they arrived.
 *
 *   rf__progress_recompute propagates every pointstamp through the graph
 *   with a worklist, keeping at each location only the antichain of minimal
 *   times. It runs lazily, when a frontier is asked for after pointstamps
 *   changed. Loops terminate because feedback only makes times larger:
 *   a time that comes around a loop is dominated by the one that entered it.
 *
 *   Several workers: every worker runs a replica of the same graph, and a
 *   port's frontier is over the logical port, the same port in every
 *   replica (an exchanging port receives from every worker's producer). So
 *   each worker seeds its own pointstamps (rf__progress_seed) into `seed`
 *   antichains, and after the round's barrier every worker propagates the
 *   union of all workers' seeds over its own copy of the graph
 *   (rf__progress_propagate): all compute the same frontiers, in parallel,
 *   with no further messages. docs/progress.md says why the rounds make
 *   this safe.
 *
 * Invariants
 *   - Safety: a port's frontier is <= every time that can still arrive there,
 *     because operators send only at times >= a capability they hold or a
 *     message they hold (graph.h, rule 1), and both are pointstamps counted
 *     here, carried by summaries that never decrease times.
 *   - A frontier computed before some pointstamp changes stays conservative:
 *     new pointstamps are at times >= existing ones, so reading a stale
 *     frontier can only delay work, never make it wrong.
 *   - Operators hold capabilities for what they keep before reading a
 *     frontier (graph.h, rule 2), so their own pending work, carried around
 *     a loop, holds their own frontier back.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "dataflow/graph.h"

typedef struct work_item {
  rf__op *op;      /* location: op's output when port == NULL */
  rf__port *port;  /* or this input port */
  uint64_t t[RF_MAX_DIM];
} work_item;

typedef struct worklist {
  work_item *items;
  size_t n, cap;
} worklist;

static int push(worklist *w, rf__op *op, rf__port *port, const uint64_t *t, uint32_t dim) {
  if (rf__grow((void **)&w->items, &w->cap, w->n + 1, sizeof(work_item)) < 0)
    return RF_ENOMEM;
  work_item *it = &w->items[w->n++];
  it->op = op;
  it->port = port;
  memcpy(it->t, t, dim * sizeof(uint64_t));
  return 0;
}

/* Applies an operator's summary to a time at one of its inputs. */
static uint32_t summarize(const rf__op *op, const uint64_t *in, uint32_t in_dim,
                          uint64_t *out) {
  switch (op->summary) {
  case RF__SUM_ENTER:
    memcpy(out, in, in_dim * sizeof(uint64_t));
    out[in_dim] = 0;
    return in_dim + 1;
  case RF__SUM_LEAVE:
    memcpy(out, in, (in_dim - 1) * sizeof(uint64_t));
    return in_dim - 1;
  case RF__SUM_FEEDBACK:
    memcpy(out, in, in_dim * sizeof(uint64_t));
    out[in_dim - 1]++;
    return in_dim;
  case RF__SUM_IDENTITY:
  default:
    memcpy(out, in, in_dim * sizeof(uint64_t));
    return in_dim;
  }
}

/* Inserts t into a location's antichain; returns 1 if it changed, 0 if t was
 * dominated, RF_ENOMEM. The first test is the common case: a single element
 * already <= t (messages at a port are queued oldest first). */
static inline int seed_insert(rf__antichain *ps, const uint64_t *t) {
  if (ps->n == 1 && rf__time_le(ps->t, t, ps->dim)) return 0;
  return rf__antichain_insert(ps, t);
}

/* Seeds `dst` with a location's own pointstamps, minimal only. */
static int seed_caps(rf__antichain *dst, const rf__op *op) {
  for (uint32_t k = 0; k < op->caps.n; k++)
    if (seed_insert(dst, rf__antichain_at(&op->caps, k)) < 0) return RF_ENOMEM;
  return 0;
}

static int seed_queue(rf__antichain *dst, const rf__port *port) {
  for (const rf__msg *m = port->head; m; m = m->next)
    for (uint32_t k = 0; k < m->times.n; k++)
      if (seed_insert(dst, rf__antichain_at(&m->times, k)) < 0) return RF_ENOMEM;
  return 0;
}

int rf__progress_seed(rf__worker *wk) {
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    rf__antichain_clear(&op->seed);
    if (seed_caps(&op->seed, op) < 0) goto oom;
    for (uint32_t p = 0; p < op->n_in; p++) {
      rf__antichain_clear(&op->in[p].seed);
      if (seed_queue(&op->in[p].seed, &op->in[p]) < 0) goto oom;
    }
  }
  wk->dirty = false;
  return 0;
oom:
  return rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
}

static int union_into(rf__antichain *dst, const rf__antichain *src) {
  for (uint32_t k = 0; k < src->n; k++)
    if (seed_insert(dst, rf__antichain_at(src, k)) < 0) return RF_ENOMEM;
  return 0;
}

/* From the seeds in every location's `ps` to the frontiers of every port.
 * Sets *changed if a frontier moved (its operator is then active). */
static int propagate(rf__worker *wk, bool *changed) {
  size_t n = wk->n_ops;
  worklist w = {0};
  int rc = 0;
  /* Each seeded element takes its first hop: what propagation would have
   * done had it come off the worklist. An element later displaced by a
   * smaller time has still been carried on; that is harmless, since the
   * smaller time follows it everywhere and dominates it (the result is the
   * set of minimal times reaching each location, whatever the order of
   * insertion). */
  for (size_t i = 0; i < n && rc == 0; i++) {
    rf__op *op = wk->topo[i];
    for (uint32_t k = 0; k < op->ps.n && rc == 0; k++)
      for (uint32_t o = 0; o < op->n_out && rc == 0; o++)
        rc = push(&w, op->out[o]->op, op->out[o], rf__antichain_at(&op->ps, k), op->dim);
    /* Messages queued at a port go on to its operator's output; they are
     * not part of the port's own frontier (see the top of the file). */
    for (uint32_t p = 0; p < op->n_in && rc == 0; p++) {
      rf__port *port = &op->in[p];
      for (uint32_t k = 0; k < port->queued.n && rc == 0; k++) {
        uint64_t t2[RF_MAX_DIM];
        summarize(op, rf__antichain_at(&port->queued, k), port->dim, t2);
        rc = push(&w, op, NULL, t2, op->dim);
      }
    }
  }
  /* Propagate: a time that changes a location's antichain moves on. */
  while (w.n > 0 && rc == 0) {
    work_item it = w.items[--w.n];
    if (it.port) {
      int ch = rf__antichain_insert(&it.port->ps, it.t);
      if (ch < 0) rc = ch;
      if (ch <= 0) continue;
      uint64_t t2[RF_MAX_DIM];
      summarize(it.port->op, it.t, it.port->dim, t2);
      rc = push(&w, it.port->op, NULL, t2, it.port->op->dim);
    } else {
      int ch = rf__antichain_insert(&it.op->ps, it.t);
      if (ch < 0) rc = ch;
      if (ch <= 0) continue;
      for (uint32_t o = 0; o < it.op->n_out && rc == 0; o++)
        rc = push(&w, it.op->out[o]->op, it.op->out[o], it.t, it.op->dim);
    }
  }
  rf__free(w.items);
  if (rc < 0) goto oom;
  /* Publish: a port whose frontier changed activates its operator. */
  for (size_t i = 0; i < n; i++) {
    rf__op *op = wk->topo[i];
    for (uint32_t p = 0; p < op->n_in; p++) {
      rf__port *port = &op->in[p];
      if (rf__antichain_eq(&port->frontier, &port->ps)) continue;
      if (rf__antichain_copy(&port->frontier, &port->ps) < 0) goto oom;
      op->active = true;
      *changed = true;
      if (op->on_frontier) op->on_frontier(op);
    }
  }
  return 0;
oom:
  return rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
}

static void clear_ps(rf__worker *wk) {
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    rf__antichain_clear(&op->ps);
    for (uint32_t p = 0; p < op->n_in; p++) {
      rf__antichain_clear(&op->in[p].ps);
      rf__antichain_clear(&op->in[p].queued);
    }
  }
}

int rf__progress_recompute(rf__worker *wk) {
  /* One worker: seed straight into the propagation antichains, so that a
   * port with a thousand queued messages contributes only their minimal
   * times. */
  clear_ps(wk);
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    if (seed_caps(&op->ps, op) < 0)
      return rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
    for (uint32_t p = 0; p < op->n_in; p++)
      if (seed_queue(&op->in[p].queued, &op->in[p]) < 0)
        return rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
  }
  bool changed = false;
  int rc = propagate(wk, &changed);
  if (rc == 0) wk->dirty = false;
  return rc;
}

int rf__progress_propagate(rf__worker *wk, rf__worker *const *peers, uint32_t n_peers,
                           bool *changed) {
  /* Reads the other workers' seeds: they wrote them before the round's
   * barrier and do not touch them again until after the next one. */
  clear_ps(wk);
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    for (uint32_t w = 0; w < n_peers; w++) {
      const rf__op *peer = peers[w]->ops[i];
      if (union_into(&op->ps, &peer->seed) < 0) goto oom;
      for (uint32_t p = 0; p < op->n_in; p++)
        if (union_into(&op->in[p].queued, &peer->in[p].seed) < 0) goto oom;
    }
  }
  return propagate(wk, changed);
oom:
  return rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
}
