/*
 * graph.c: the dataflow graph: operators, ports, messages, capabilities,
 * handle ownership, and the build -> start -> run life cycle.
 *
 * Building records the first error in the graph ("sticky" errors, see
 * rhizoflow.h); rf_graph_start orders the operators topologically (ignoring
 * loops' back edges) for the scheduler.
 */
#include "dataflow/graph.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

typedef enum graph_state { BUILDING, RUNNING, FAILED } graph_state;

struct rf_graph {
  graph_state state;
  int err;               /* first error (building or running) */
  char err_msg[256];     /* its message, replayed by rf_last_error */
  rf_config cfg;
  rf__op **ops;          /* creation order */
  size_t n_ops, ops_cap;
  rf__op **topo;         /* run order, set by rf_graph_start */
  void **owned;          /* handles freed with the graph */
  size_t n_owned, owned_cap;
  rf_scope top;
  bool progress_dirty;   /* pointstamps changed since the last recompute */
};

int rf_graph_create(const rf_config *cfg, rf_graph **out) {
  rf_graph *g = rf__calloc(1, sizeof *g);
  RF_CHECK_ALLOC(g);
  if (cfg) g->cfg = *cfg;
  if (g->cfg.workers == 0) g->cfg.workers = 1;
  if (g->cfg.workers > 1) {
    rf__free(g);
    return rf__error(RF_EINVAL, "rf_graph_create: %u workers requested; this version runs "
                                "one worker, on the calling thread",
                     cfg->workers);
  }
  g->top.g = g;
  g->top.parent = NULL;
  g->top.depth = 0;
  g->state = BUILDING;
  g->progress_dirty = true;
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

void rf_graph_destroy(rf_graph *g) {
  if (!g) return;
  /* Operators first in reverse creation order: readers of a spine are
   * created after its owner, so they release their readers before the
   * spine goes. */
  for (size_t i = g->n_ops; i-- > 0;) {
    rf__op *op = g->ops[i];
    if (op->cls->destroy) op->cls->destroy(op);
  }
  for (size_t i = 0; i < g->n_ops; i++) {
    rf__op *op = g->ops[i];
    for (uint32_t p = 0; p < op->n_in; p++) {
      free_queue(&op->in[p]);
      rf__antichain_free(&op->in[p].frontier);
      rf__antichain_free(&op->in[p].ps);
    }
    rf__free(op->in);
    rf__free(op->out);
    rf__antichain_free(&op->caps);
    rf__antichain_free(&op->ps);
    rf__free(op);
  }
  for (size_t i = 0; i < g->n_owned; i++) rf__free(g->owned[i]);
  rf__free(g->owned);
  rf__free(g->ops);
  rf__free(g->topo);
  rf__free(g);
}

int rf_graph_error(const rf_graph *g) { return g ? g->err : RF_EINVAL; }
bool rf__graph_building(const rf_graph *g) { return g->state == BUILDING; }
rf_scope *rf__graph_top(rf_graph *g) { return &g->top; }
size_t rf__graph_n_ops(const rf_graph *g) { return g->n_ops; }
rf__op *rf__graph_op(const rf_graph *g, size_t i) { return g->topo ? g->topo[i] : g->ops[i]; }
bool rf__graph_progress_dirty(const rf_graph *g) { return g->progress_dirty; }

static void remember_error(rf_graph *g, int err) {
  if (g->err) return;
  g->err = err;
  strncpy(g->err_msg, rf_last_error(), sizeof g->err_msg - 1);
}

void rf__graph_build_error(rf_graph *g, int err) { remember_error(g, err); }

int rf__graph_fail(rf_graph *g, int err) {
  remember_error(g, err);
  g->state = FAILED;
  return g->err;
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
  if (!op || (n_in && !in) ||
      rf__grow((void **)&g->ops, &g->ops_cap, g->n_ops + 1, sizeof(rf__op *)) < 0) {
    rf__free(op);
    rf__free(in);
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "%s: out of memory", cls->name));
    return NULL;
  }
  op->cls = cls;
  op->g = g;
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
  return op;
}

int rf__op_connect(rf__op *op, uint32_t index, rf__op *src, uint32_t exchange_key) {
  rf__port *p = &op->in[index];
  p->src = src;
  p->dim = src->dim;
  p->exchange_key = exchange_key;
  rf__antichain_init(&p->frontier, src->dim);
  rf__antichain_init(&p->ps, src->dim);
  if (rf__grow((void **)&src->out, &src->out_cap, src->n_out + 1, sizeof(rf__port *)) < 0) {
    rf__graph_build_error(op->g, rf__error(RF_ENOMEM, "%s: out of memory", op->name));
    return RF_ENOMEM;
  }
  src->out[src->n_out++] = p;
  return 0;
}

static void enqueue(rf__port *p, rf__msg *m) {
  m->next = NULL;
  if (p->tail) p->tail->next = m;
  else p->head = m;
  p->tail = m;
  p->n_msgs++;
  p->op->active = true;
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

/* Sends ups or b to every consumer. `times`, when given, are the minimal
 * times of the contents (the caller knows them); else they are computed. */
static int send_msg(rf__op *op, rf__upbuf *ups, rf__batch *b, const rf__antichain *times) {
  int rc = 0;
  const rf__msg *first = NULL;
  for (uint32_t i = 0; rc == 0 && i < op->n_out; i++) {
    rf__msg *m = rf__malloc(sizeof *m);
    if (!m) {
      rc = rf__error(RF_ENOMEM, "%s: out of memory sending a message", op->name);
      break;
    }
    m->ups = ups ? rf__upbuf_ref(ups) : NULL;
    m->batch = b ? rf__batch_ref(b) : NULL;
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
    enqueue(op->out[i], m);
    if (!first) first = m;
  }
  op->g->progress_dirty = true;
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
  op->g->progress_dirty = true;
  if (rf__antichain_copy(&op->caps, caps) < 0)
    return rf__error(RF_ENOMEM, "%s: out of memory", op->name);
  return 0;
}

int rf__op_hold_none(rf__op *op) {
  if (op->caps.n) op->g->progress_dirty = true;
  rf__antichain_clear(&op->caps);
  return 0;
}

rf__msg *rf__port_pop(rf__port *p) {
  rf__msg *m = p->head;
  if (!m) return NULL;
  p->head = m->next;
  if (!p->head) p->tail = NULL;
  p->n_msgs--;
  p->op->g->progress_dirty = true;
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
  rf_graph *g = p->op->g;
  if (g->progress_dirty) rf__progress_recompute(g);
  return &p->frontier;
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
  g->topo = order;
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
  g->state = RUNNING;
  g->progress_dirty = true;
  for (size_t i = 0; i < g->n_ops; i++) g->ops[i]->active = true;
  return 0;
}

int rf__graph_check_running(rf_graph *g, const char *fn) {
  if (g->state == FAILED) return rf__error(g->err, "%s", g->err_msg);
  if (g->state == BUILDING)
    return rf__error(RF_ESTATE, "%s: call rf_graph_start first", fn);
  return 0;
}


void rf__graph_clear_dirty(rf_graph *g) { g->progress_dirty = false; }
