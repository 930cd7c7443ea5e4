/*
 * graph.c: the dataflow graph: operators, ports, messages, capabilities,
 * handle ownership, and the build -> start -> run life cycle.
 *
 * Building records the first error in the graph ("sticky" errors, see
 * rhizoflow.h); rf_graph_start orders the operators topologically (ignoring
 * loops' back edges) for the scheduler and, with several workers, makes a
 * replica of the dataflow for every worker (replica.c) and starts them
 * (scheduler/parallel.c).
 *
 * Sending: a message to a port that exchanges by key is split by the hash
 * of the key (dataflow/exchange.h); the part for this worker is queued
 * here, the others travel through the transport to their workers.
 */
#include "dataflow/graph.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "dataflow/exchange.h"
#include "scheduler/sched.h"

typedef enum graph_state { BUILDING, RUNNING, FAILED } graph_state;

struct rf_graph {
  uint32_t state;        /* graph_state. Atomic: a failing worker sets FAILED
                            while other threads read it */
  int err;               /* first error (building or running). Atomic: set
                            once, by compare-and-swap, from any worker */
  char err_msg[256];     /* its message, replayed by rf_last_error; written
                            by the thread that set err, before FAILED */
  rf_config cfg;
  rf__op **ops;          /* creation order (worker 0's replica) */
  size_t n_ops, ops_cap;
  void **owned;          /* handles freed with the graph */
  size_t n_owned, owned_cap;
  rf_scope top;
  rf__worker wk0;        /* worker 0: the replica built by the program */
  rf__worker **workers;  /* all W (workers[0] == &wk0); set by rf_graph_start */
  rf__sched *sched;      /* the worker threads, when W > 1 */
};

int rf_graph_create(const rf_config *cfg, rf_graph **out) {
  if (!out) return rf__error(RF_EINVAL, "rf_graph_create: out is NULL");
  uint32_t w = cfg && cfg->workers ? cfg->workers : 1;
  if (w > RF__MAX_WORKERS)
    return rf__error(RF_EINVAL, "rf_graph_create: %u workers requested; at most %d", w,
                     RF__MAX_WORKERS);
  rf_graph *g = rf__calloc(1, sizeof *g);
  RF_CHECK_ALLOC(g);
  if (cfg) g->cfg = *cfg;
  g->cfg.workers = w;
  g->top.g = g;
  g->top.parent = NULL;
  g->top.depth = 0;
  g->state = BUILDING;
  g->wk0.g = g;
  g->wk0.index = 0;
  g->wk0.dirty = true;
  *out = g;
  return 0;
}

static void free_queue(rf__port *p) {
  rf__msg *m = p->head;
  while (m) {
    rf__msg *next = m->next;
    rf__msg_free(m);
    m = next;
  }
  p->head = p->tail = NULL;
}

/* Frees one replica's operators (ops in creation order, n of them). */
static void free_ops(rf__op **ops, size_t n) {
  /* Operators first in reverse creation order: readers of a spine are
   * created after its owner, so they release their readers before the
   * spine goes. */
  for (size_t i = n; i-- > 0;) {
    rf__op *op = ops[i];
    if (op && op->cls->destroy) op->cls->destroy(op);
  }
  for (size_t i = 0; i < n; i++) {
    rf__op *op = ops[i];
    if (!op) continue;
    for (uint32_t p = 0; p < op->n_in; p++) {
      free_queue(&op->in[p]);
      rf__antichain_free(&op->in[p].frontier);
      rf__antichain_free(&op->in[p].ps);
      rf__antichain_free(&op->in[p].queued);
    }
    rf__free(op->in);
    rf__free(op->out);
    rf__antichain_free(&op->caps);
    rf__antichain_free(&op->ps);
    rf__free(op);
  }
}

void rf_graph_destroy(rf_graph *g) {
  if (!g) return;
  /* Workers stop (and their messages in flight are freed) before anything
   * they use goes. */
  rf__sched_stop(g);
  if (g->workers) {
    for (uint32_t w = 1; w < g->cfg.workers; w++) {
      rf__worker *wk = g->workers[w];
      if (!wk) continue;
      free_ops(wk->ops, wk->n_ops);
      rf__free(wk->ops);
      rf__free(wk->topo);
      rf__progress_free_counts(wk);
      rf__free(wk);
    }
  }
  free_ops(g->ops, g->n_ops);
  rf__progress_free_counts(&g->wk0);
  for (size_t i = 0; i < g->n_owned; i++) rf__free(g->owned[i]);
  rf__free(g->owned);
  rf__free(g->ops);
  rf__free(g->wk0.topo);
  rf__free(g->workers);
  rf__free(g);
}

int rf_graph_error(const rf_graph *g) {
  /* Atomic: a worker may set it (acquire pairs with its compare-and-swap). */
  return g ? (int)rf__atomic_load_acquire_32((const uint32_t *)&g->err) : RF_EINVAL;
}
/* Atomic loads of state: workers write FAILED while callers read. */
bool rf__graph_building(const rf_graph *g) {
  return rf__atomic_load_acquire_32(&g->state) == BUILDING;
}
bool rf__graph_failed(const rf_graph *g) {
  return rf__atomic_load_acquire_32(&g->state) == FAILED;
}
rf_scope *rf__graph_top(rf_graph *g) { return &g->top; }
uint32_t rf__graph_workers(const rf_graph *g) { return g->cfg.workers; }
rf__worker *rf__graph_worker(const rf_graph *g, uint32_t w) {
  return g->workers ? g->workers[w] : (rf__worker *)&g->wk0;
}
rf__worker *const *rf__graph_all_workers(const rf_graph *g) { return g->workers; }

/* Records the first error: the thread that wins the compare-and-swap on err
 * writes the message; the message is read only after state reads FAILED
 * (set after it, with release) or by the building thread itself. */
static void remember_error(rf_graph *g, int err) {
  uint32_t expect = 0;
  if (!__atomic_compare_exchange_n((uint32_t *)&g->err, &expect, (uint32_t)err, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return;
  strncpy(g->err_msg, rf_last_error(), sizeof g->err_msg - 1);
}

void rf__graph_build_error(rf_graph *g, int err) { remember_error(g, err); }

int rf__graph_fail(rf_graph *g, int err) {
  remember_error(g, err);
  /* Release: the message written above is visible to whoever sees FAILED. */
  rf__atomic_store_release_32(&g->state, FAILED);
  rf__sched_failed(g);
  return rf_graph_error(g);
}

void *rf__graph_own(rf_graph *g, size_t size) {
  void *p = rf__calloc(1, size);
  if (!p || rf__grow((void **)&g->owned, &g->owned_cap, g->n_owned + 1, sizeof(void *)) < 0) {
    rf__free(p);
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "building the graph: out of memory"));
    return NULL;
  }
  g->owned[g->n_owned++] = p;
  return p;
}

rf_coll *rf__coll_new(rf__op *op) {
  if (!op) return NULL;
  rf_coll *c = rf__graph_own(op->g, sizeof *c);
  if (c) c->op = op;
  return c;
}

rf_arr *rf__arr_new(rf__op *op, rf__spine *spine, uint32_t key_arity, uint32_t val_arity,
                    uint32_t ext) {
  if (!op) return NULL;
  rf_arr *a = rf__graph_own(op->g, sizeof *a);
  if (!a) return NULL;
  a->op = op;
  a->spine = spine;
  a->key_arity = key_arity;
  a->val_arity = val_arity;
  a->ext = ext;
  return a;
}

rf_graph *rf__coll_graph(const rf_coll *c) { return c ? c->op->g : NULL; }

uint32_t rf_coll_arity(const rf_coll *c) { return c ? c->op->arity : 0; }

rf__op *rf__op_new(rf_graph *g, rf_scope *s, const rf__op_class *cls, size_t size,
                   uint32_t n_in, uint32_t dim, uint32_t arity) {
  if (g->state != BUILDING) {
    rf__graph_build_error(g, rf__error(RF_ESTATE, "%s: the graph has already started; "
                                                  "operators can only be added while building",
                                       cls->name));
    return NULL;
  }
  rf__op *op = rf__calloc(1, size);
  rf__port *in = n_in ? rf__calloc(n_in, sizeof *in) : NULL;
  /* The first operator: the replica's op list is the graph's. */
  if (!op || (n_in && !in) ||
      rf__grow((void **)&g->ops, &g->ops_cap, g->n_ops + 1, sizeof(rf__op *)) < 0) {
    rf__free(op);
    rf__free(in);
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "%s: out of memory", cls->name));
    return NULL;
  }
  op->cls = cls;
  op->g = g;
  op->wk = &g->wk0;
  op->size = size;
  op->scope = s;
  op->name = cls->name;
  op->id = (uint32_t)g->n_ops;
  op->dim = dim;
  op->arity = arity;
  op->summary = RF__SUM_IDENTITY;
  op->n_in = n_in;
  op->in = in;
  rf__antichain_init(&op->caps, dim);
  rf__antichain_init(&op->ps, dim);
  for (uint32_t i = 0; i < n_in; i++) {
    in[i].op = op;
    in[i].index = i;
  }
  g->ops[g->n_ops++] = op;
  g->wk0.ops = g->ops;
  g->wk0.n_ops = g->n_ops;
  return op;
}

int rf__op_connect(rf__op *op, uint32_t index, rf__op *src, uint32_t exchange_key) {
  rf__port *p = &op->in[index];
  p->src = src;
  p->dim = src->dim;
  p->exchange_key = exchange_key;
  rf__antichain_init(&p->frontier, src->dim);
  rf__antichain_init(&p->ps, src->dim);
  rf__antichain_init(&p->queued, src->dim);
  if (rf__grow((void **)&src->out, &src->out_cap, src->n_out + 1, sizeof(rf__port *)) < 0) {
    rf__graph_build_error(op->g, rf__error(RF_ENOMEM, "%s: out of memory", op->name));
    return RF_ENOMEM;
  }
  src->out[src->n_out++] = p;
  return 0;
}

/* Several workers: this worker's own change of a pointstamp count. A
 * table that cannot grow leaves progress unknown: the graph fails. */
static void note(rf__worker *wk, uint32_t loc, const rf__antichain *times, int32_t delta) {
  if (rf__pcounts_note_all(wk->pc, loc, times, delta) < 0)
    rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
}

void rf__port_enqueue(rf__port *p, rf__msg *m) {
  if (p->op->wk->pc) note(p->op->wk, rf__loc_queued(p), &m->times, +1);
  m->next = NULL;
  if (p->tail) p->tail->next = m;
  else p->head = m;
  p->tail = m;
  p->n_msgs++;
  p->op->active = true;
  p->op->wk->dirty = true;
}

/* The minimal times of a batch, extended to `dim` words. */
static int batch_min_times(const rf__batch *b, uint32_t dim, rf__antichain *out) {
  uint64_t t[RF_MAX_DIM];
  /* A batch in the one-time form has a single time to look at. */
  size_t n = b->time_stride ? b->n_upds : b->n_upds > 0;
  for (size_t u = 0; u < n; u++) {
    rf__time_extend(rf__batch_time(b, u), b->dim, dim, t);
    if (rf__antichain_le(out, t)) continue; /* the common case: t adds nothing */
    if (rf__antichain_insert(out, t) < 0) return RF_ENOMEM;
  }
  return 0;
}

/* A message for ups whose minimal times are `times` (taken over). */
static rf__msg *msg_new(rf__upbuf *ups, rf__antichain *times) {
  rf__msg *m = rf__malloc(sizeof *m);
  if (!m) {
    rf__upbuf_unref(ups);
    rf__antichain_free(times);
    return NULL;
  }
  m->ups = ups;
  m->batch = NULL;
  m->dest = NULL;
  m->times = *times;
  rf__antichain_init(times, times->dim);
  return m;
}

/* Several workers: sends ups to port p split by key, each row to the
 * worker its key hashes to. This worker's part is queued at p; the others
 * go through the transport to the same port of their workers' replicas
 * (always as copies: an update buffer's reference count belongs to one
 * worker). Each part's minimal times are gathered as its rows are copied;
 * a buffer that stays whole keeps `times` when the caller knew them. */
static int exchange(rf__op *op, rf__port *p, rf__upbuf *ups, const rf__antichain *times) {
  rf_graph *g = op->g;
  uint32_t nw = g->cfg.workers, me = op->wk->index, k = p->exchange_key;
  size_t count[RF__MAX_WORKERS] = {0};
  uint8_t *dest = rf__malloc(ups->n ? ups->n : 1);
  if (!dest) return RF_ENOMEM;
  for (size_t i = 0; i < ups->n; i++) {
    dest[i] = (uint8_t)rf__exchange_route(rf__upbuf_row(ups, i), k, nw);
    count[dest[i]]++;
  }
  rf__upbuf *part[RF__MAX_WORKERS] = {0};
  rf__antichain mins[RF__MAX_WORKERS];
  int rc = 0;
  for (uint32_t w = 0; w < nw; w++) {
    rf__antichain_init(&mins[w], p->dim);
    if (!count[w] || rc < 0) continue;
    if (w == me && count[w] == ups->n) {
      part[w] = rf__upbuf_ref(ups); /* all stays here: share, as a pipeline would */
      rc = times ? rf__antichain_copy(&mins[w], times) : rf__upbuf_min_times(ups, &mins[w]);
      continue;
    }
    part[w] = rf__upbuf_new(ups->arity, ups->dim, count[w]);
    if (!part[w]) rc = RF_ENOMEM;
  }
  for (size_t i = 0; rc == 0 && i < ups->n; i++) {
    rf__upbuf *to = part[dest[i]];
    if (to == ups) continue;
    const uint64_t *row = rf__upbuf_row(ups, i);
    memcpy(to->rows + to->n * to->width, row, ups->width * sizeof(uint64_t));
    to->n++;
    const uint64_t *t = rf__upbuf_time(ups, i);
    rf__antichain *mw = &mins[dest[i]];
    if (!rf__antichain_le(mw, t) && rf__antichain_insert(mw, t) < 0) rc = RF_ENOMEM;
  }
  rf__free(dest);
  for (uint32_t w = 0; w < nw; w++) {
    if (!part[w] || rc < 0) {
      rf__upbuf_unref(part[w]);
      rf__antichain_free(&mins[w]);
      continue;
    }
    rf__msg *m = msg_new(part[w], &mins[w]);
    if (!m) {
      rc = RF_ENOMEM;
      continue;
    }
    if (w == me) {
      rf__port_enqueue(p, m);
    } else {
      rf__op *peer = rf__op_peer(p->op, g->workers, w);
      m->dest = &peer->in[p->index];
      /* Counted before it leaves, in the same log as the release of what
       * allowed it (docs/progress.md). */
      note(op->wk, rf__loc_inflight(p), &m->times, +1);
      rf__sched_send(g, me, w, m);
    }
  }
  return rc;
}

/* Sends ups or b to every consumer. `times`, when given, are the minimal
 * times of the contents (the caller knows them); else they are computed. */
static int send_msg(rf__op *op, rf__upbuf *ups, rf__batch *b, const rf__antichain *times) {
  int rc = 0;
  const rf__msg *first = NULL;
  bool several = op->g->cfg.workers > 1;
  for (uint32_t i = 0; rc == 0 && i < op->n_out; i++) {
    if (several && ups && op->out[i]->exchange_key) {
      if ((rc = exchange(op, op->out[i], ups, times)) < 0)
        rc = rf__error(RF_ENOMEM, "%s: out of memory exchanging a message", op->name);
      continue;
    }
    rf__msg *m = rf__malloc(sizeof *m);
    if (!m) {
      rc = rf__error(RF_ENOMEM, "%s: out of memory sending a message", op->name);
      break;
    }
    m->ups = ups ? rf__upbuf_ref(ups) : NULL;
    m->batch = b ? rf__batch_ref(b) : NULL;
    m->dest = NULL;
    rf__antichain_init(&m->times, op->dim);
    /* The minimal times are computed once, into the first consumer's
     * message, and copied for the others. */
    if (first)
      rc = rf__antichain_copy(&m->times, &first->times);
    else if (times)
      rc = rf__antichain_copy(&m->times, times);
    else
      rc = ups ? rf__upbuf_min_times(ups, &m->times) : batch_min_times(b, op->dim, &m->times);
    if (rc < 0) {
      rf__msg_free(m);
      rc = rf__error(RF_ENOMEM, "%s: out of memory sending a message", op->name);
      break;
    }
    rf__port_enqueue(op->out[i], m);
    if (!first) first = m;
  }
  return rc;
}

/* A buffer grown by doubling may be up to half empty; once sent it never
 * grows again (consumers only read it, or take it over whole), so a large
 * unused tail is given back before it travels. Small buffers are left as
 * they are: not worth a realloc. */
#define SEND_SHRINK_BYTES ((size_t)1 << 20)

int rf__op_send_times(rf__op *op, rf__upbuf *ups, const rf__antichain *times) {
  int rc = 0;
  size_t spare = (ups->cap - ups->n) * ups->width * sizeof(uint64_t);
  if (ups->refs == 1 && spare >= SEND_SHRINK_BYTES && ups->cap - ups->n >= ups->cap / 4)
    rf__upbuf_shrink(ups);
  if (ups->n > 0 && op->n_out > 0) rc = send_msg(op, ups, NULL, times);
  rf__upbuf_unref(ups);
  return rc;
}

int rf__op_send(rf__op *op, rf__upbuf *ups) { return rf__op_send_times(op, ups, NULL); }

int rf__op_send_batch(rf__op *op, rf__batch *b) {
  int rc = op->n_out > 0 ? send_msg(op, NULL, b, NULL) : 0;
  rf__batch_unref(b);
  return rc;
}

int rf__op_hold(rf__op *op, const rf__antichain *caps) {
  if (rf__antichain_eq(&op->caps, caps)) return 0;
  op->wk->dirty = true;
  /* New ones counted before old ones let go: a time in both never drops
   * to zero on the way. */
  if (op->wk->pc) {
    note(op->wk, op->loc, caps, +1);
    note(op->wk, op->loc, &op->caps, -1);
  }
  if (rf__antichain_copy(&op->caps, caps) < 0)
    return rf__error(RF_ENOMEM, "%s: out of memory", op->name);
  return 0;
}

int rf__op_hold_none(rf__op *op) {
  if (op->caps.n) op->wk->dirty = true;
  if (op->wk->pc) note(op->wk, op->loc, &op->caps, -1);
  rf__antichain_clear(&op->caps);
  return 0;
}

rf__msg *rf__port_pop(rf__port *p) {
  rf__msg *m = p->head;
  if (!m) return NULL;
  p->head = m->next;
  if (!p->head) p->tail = NULL;
  p->n_msgs--;
  p->op->wk->dirty = true;
  if (p->op->wk->pc) note(p->op->wk, rf__loc_queued(p), &m->times, -1);
  return m;
}

void rf__msg_free(rf__msg *m) {
  if (!m) return;
  rf__upbuf_unref(m->ups);
  rf__batch_unref(m->batch);
  rf__antichain_free(&m->times);
  rf__free(m);
}

const rf__antichain *rf__port_frontier(rf__port *p) {
  /* Recomputed now if pointstamps changed. With several workers it
   * reflects this worker's own changes and the other workers' as far as
   * their progress messages have come: conservative, since pointstamps
   * only move forward (docs/progress.md). */
  rf__worker *wk = p->op->wk;
  if (rf__progress_stale(wk)) rf__progress_recompute(wk);
  return &p->frontier;
}

void rf__port_receive(rf__msg *m) {
  rf__port *p = m->dest;
  note(p->op->wk, rf__loc_inflight(p), &m->times, -1);
  rf__port_enqueue(p, m);
}

rf__spine *rf__op_trace(rf__op *op) {
  while (op && !op->cls->spine && op->cls->passes_trace) op = op->in[0].src;
  return op && op->cls->spine ? op->cls->spine(op) : NULL;
}

/* Topological order of the operators, ignoring the output edges of
 * feedback operators (loops' back edges). Kahn's algorithm, stable in
 * creation order. */
static int order_ops(rf_graph *g) {
  size_t n = g->n_ops;
  uint32_t *indeg = rf__calloc(n ? n : 1, sizeof *indeg);
  rf__op **order = rf__malloc((n ? n : 1) * sizeof *order);
  if (!indeg || !order) {
    rf__free(indeg);
    rf__free(order);
    return rf__error(RF_ENOMEM, "rf_graph_start: out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    rf__op *op = g->ops[i];
    for (uint32_t p = 0; p < op->n_in; p++)
      if (!op->in[p].src->is_feedback) indeg[i]++;
  }
  size_t head = 0, tail = 0;
  /* Seed with operators that have no (forward) inputs, in creation order;
   * then repeatedly release consumers. A simple queue keeps creation order
   * among ready operators. */
  for (size_t i = 0; i < n; i++)
    if (indeg[i] == 0) order[tail++] = g->ops[i];
  while (head < tail) {
    rf__op *op = order[head++];
    if (op->is_feedback) continue;
    for (uint32_t o = 0; o < op->n_out; o++) {
      rf__op *c = op->out[o]->op;
      if (--indeg[c->id] == 0) order[tail++] = c;
    }
  }
  rf__free(indeg);
  if (tail != n) {
    rf__free(order);
    return rf__error(RF_EINVAL, "rf_graph_start: the graph has a cycle that is not a loop "
                                "variable's feedback");
  }
  g->wk0.topo = order;
  return 0;
}

int rf_graph_start(rf_graph *g) {
  if (!g) return rf__error(RF_EINVAL, "rf_graph_start: graph is NULL");
  if (g->err) return rf__error(g->err, "%s", g->err_msg);
  if (g->state != BUILDING)
    return rf__error(RF_ESTATE, "rf_graph_start: the graph has already started");
  for (size_t i = 0; i < g->n_ops; i++) {
    rf__op *op = g->ops[i];
    for (uint32_t p = 0; p < op->n_in; p++)
      if (!op->in[p].src)
        return rf__graph_fail(g, rf__error(RF_ESTATE,
                                           "rf_graph_start: a loop variable was never set "
                                           "(call rf_var_set)"));
  }
  int rc = order_ops(g);
  if (rc < 0) return rf__graph_fail(g, rc);
  g->wk0.ops = g->ops;
  g->wk0.n_ops = g->n_ops;
  g->wk0.dirty = true;
  for (size_t i = 0; i < g->n_ops; i++) g->ops[i]->active = true;
  uint32_t nw = g->cfg.workers;
  g->workers = rf__calloc(nw, sizeof *g->workers);
  if (!g->workers) return rf__graph_fail(g, rf__error(RF_ENOMEM, "rf_graph_start: out of memory"));
  g->workers[0] = &g->wk0;
  for (uint32_t w = 1; w < nw; w++) {
    if ((rc = rf__replicate(g, w, &g->workers[w])) < 0) return rf__graph_fail(g, rc);
  }
  rf__atomic_store_release_32(&g->state, RUNNING);
  if (nw > 1 && (rc = rf__sched_start(g, &g->sched)) < 0) return rf__graph_fail(g, rc);
  return 0;
}

int rf__graph_check_running(rf_graph *g, const char *fn) {
  uint32_t st = rf__atomic_load_acquire_32(&g->state);
  if (st == FAILED) return rf__error(rf_graph_error(g), "%s", g->err_msg);
  if (st == BUILDING)
    return rf__error(RF_ESTATE, "%s: call rf_graph_start first", fn);
  return 0;
}

rf__sched *rf__graph_sched(const rf_graph *g) { return g->sched; }
