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
 *   each worker seeds from its table of counted pointstamps of every
 *   replica (pcounts.h): positive counts only; messages in flight to a
 *   port start at the port, queued ones past it. The table lags the other
 *   workers' actions, which only makes frontiers conservative;
 *   docs/progress.md says why the order of the counts makes it safe.
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

static int fail_oom(rf__worker *wk) {
  return rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
}

/* From the seeds in every location's `ps` and every port's `queued` (and
 * the items already on the worklist w, which it takes over) to the
 * frontiers of every port. A port whose frontier moved activates its
 * operator. */
static int propagate(rf__worker *wk, worklist w) {
  size_t n = wk->n_ops;
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
      if (op->on_frontier) op->on_frontier(op);
    }
  }
  return 0;
oom:
  return fail_oom(wk);
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

/* One worker: seeds straight from the queues and capabilities, so that a
 * port with a thousand queued messages contributes only their minimal
 * times. */
static int recompute_one(rf__worker *wk) {
  clear_ps(wk);
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    if (seed_caps(&op->ps, op) < 0) return fail_oom(wk);
    for (uint32_t p = 0; p < op->n_in; p++)
      if (seed_queue(&op->in[p].queued, &op->in[p]) < 0) return fail_oom(wk);
  }
  worklist w = {0};
  int rc = propagate(wk, w);
  if (rc == 0) wk->dirty = false;
  return rc;
}

/* Seeds a location's minimal positive counts into dst. */
static int seed_counts(rf__antichain *dst, rf__pcounts *pc, uint32_t loc) {
  const rf__antichain *a = rf__pcounts_minimal(pc, loc);
  if (!a) return RF_ENOMEM;
  for (uint32_t k = 0; k < a->n; k++)
    if (seed_insert(dst, rf__antichain_at(a, k)) < 0) return RF_ENOMEM;
  return 0;
}

/* Several workers: seeds from the counted pointstamps of every replica.
 * Messages in flight to a port can still arrive there: they start at the
 * port itself (a worklist item), where queued ones start past it. */
static int recompute_counts(rf__worker *wk) {
  rf__pcounts *pc = wk->pc;
  clear_ps(wk);
  worklist w = {0};
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    if (seed_counts(&op->ps, pc, op->loc) < 0) goto fail;
    for (uint32_t p = 0; p < op->n_in; p++) {
      rf__port *port = &op->in[p];
      if (seed_counts(&port->queued, pc, rf__loc_queued(port)) < 0) goto fail;
      const rf__antichain *a = rf__pcounts_minimal(pc, rf__loc_inflight(port));
      if (!a) goto fail;
      for (uint32_t k = 0; k < a->n; k++)
        if (push(&w, op, port, rf__antichain_at(a, k), port->dim) < 0) goto fail;
    }
  }
  int rc = propagate(wk, w);
  if (rc == 0) pc->changed = false;
  return rc;
fail:
  rf__free(w.items);
  return fail_oom(wk);
}

int rf__progress_recompute(rf__worker *wk) {
  return wk->pc ? recompute_counts(wk) : recompute_one(wk);
}

/* Counts one replica's pointstamps into a table. */
static int count_replica(rf__pcounts *pc, const rf__worker *wk) {
  for (size_t i = 0; i < wk->n_ops; i++) {
    const rf__op *op = wk->ops[i];
    for (uint32_t k = 0; k < op->caps.n; k++)
      if (rf__pcounts_add(pc, op->loc, rf__antichain_at(&op->caps, k), 1) < 0) return RF_ENOMEM;
    for (uint32_t p = 0; p < op->n_in; p++)
      for (const rf__msg *m = op->in[p].head; m; m = m->next)
        for (uint32_t k = 0; k < m->times.n; k++)
          if (rf__pcounts_add(pc, rf__loc_queued(&op->in[p]), rf__antichain_at(&m->times, k),
                              1) < 0)
            return RF_ENOMEM;
  }
  return 0;
}

int rf__progress_init_counts(rf_graph *g) {
  uint32_t nw = rf__graph_workers(g);
  rf__worker *const *all = rf__graph_all_workers(g);
  const rf__worker *w0 = all[0];
  uint32_t n_locs = 0;
  for (size_t i = 0; i < w0->n_ops; i++) n_locs += 1 + 2 * w0->ops[i]->n_in;
  uint32_t *dims = rf__calloc(n_locs ? n_locs : 1, sizeof *dims);
  if (!dims) return RF_ENOMEM;
  uint32_t loc = 0;
  for (size_t i = 0; i < w0->n_ops; i++) {
    const rf__op *op = w0->ops[i];
    for (uint32_t w = 0; w < nw; w++) all[w]->ops[i]->loc = loc;
    dims[loc] = op->dim;
    for (uint32_t p = 0; p < op->n_in; p++) {
      dims[loc + 1 + 2 * p] = op->in[p].dim;
      dims[loc + 2 + 2 * p] = op->in[p].dim;
    }
    loc += 1 + 2 * op->n_in;
  }
  int rc = 0;
  for (uint32_t w = 0; w < nw && rc == 0; w++) {
    rf__pcounts *pc = rf__calloc(1, sizeof *pc);
    if (!pc || rf__pcounts_init(pc, n_locs, dims) < 0) {
      rf__free(pc);
      rc = RF_ENOMEM;
      break;
    }
    all[w]->pc = pc;
    for (uint32_t v = 0; v < nw && rc == 0; v++) rc = count_replica(pc, all[v]);
    pc->changed = true;
  }
  rf__free(dims);
  return rc;
}

void rf__progress_free_counts(rf__worker *wk) {
  if (!wk->pc) return;
  rf__pcounts_free(wk->pc);
  rf__free(wk->pc);
  wk->pc = NULL;
}
