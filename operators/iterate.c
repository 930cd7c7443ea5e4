/*
 * iterate.c: nested scopes for iteration: entering collections and
 * arrangements, loop variables with their feedback edge, and leaving.
 *
 * Design
 *   Inside a scope, times have one more coordinate: the iteration. A loop
 *   variable v starts as `initial` (entered at iteration 0) and is, at
 *   iteration i + 1, what rf_var_set's collection was at iteration i. As in
 *   differential dataflow, v = initial + feedback, where the feedback edge
 *   carries (next - initial) one iteration later; so nothing circulates
 *   once `next` stops changing.
 *
 *   The feedback operator buffers updates until its input frontier passes
 *   their time, consolidates them, and sends them with the iteration
 *   advanced by one. Consolidating before sending is what lets a loop go
 *   quiet when additions and retractions of the same record meet, even if
 *   they arrive in different steps.
 *
 *   Leaving a scope drops the iteration coordinate: the updates of every
 *   iteration, summed, are the fixed point.
 *
 * Invariants
 *   - The feedback operator holds capabilities at (its buffered times + 1
 *     iteration), so its own pending output, carried around the loop,
 *     keeps its input frontier from passing the next iteration too early.
 *   - An entered arrangement is the outer spine, read with times extended
 *     by a zero iteration; nothing is copied.
 */
#include <string.h>

#include "arrangements/batcher.h"
#include "common/alloc.h"
#include "common/error.h"
#include "dataflow/graph.h"
#include "operators/ops.h"

struct rf_var {
  rf_scope *scope;
  rf__op *concat;    /* initial + feedback: the variable's collection */
  rf__op *feedback;  /* the back edge */
  rf_coll *initial;
  rf_coll *coll;
  bool set;
};

rf_scope *rf_scope_new(rf_graph *g, rf_scope *parent) {
  if (!g) return NULL;
  if (!rf__graph_building(g)) {
    rf__graph_build_error(g, rf__error(RF_ESTATE, "rf_scope_new: the graph has already started"));
    return NULL;
  }
  rf_scope *p = parent ? parent : rf__graph_top(g);
  if (p->g != g) {
    rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_scope_new: parent scope of another graph"));
    return NULL;
  }
  if (p->depth >= RF_MAX_NESTING) {
    rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_scope_new: scopes nest at most %d deep",
                                       RF_MAX_NESTING));
    return NULL;
  }
  rf_scope *s = rf__graph_own(g, sizeof *s);
  if (!s) return NULL;
  s->g = g;
  s->parent = p;
  s->depth = p->depth + 1;
  return s;
}

/* ------------------------------------------------------------------ */
/* Enter and leave (collections)                                       */
/* ------------------------------------------------------------------ */

static int retime_run(rf__op *op) {
  rf__msg *m;
  while ((m = rf__port_pop(&op->in[0]))) {
    const rf__upbuf *in = m->ups;
    rf__upbuf *out = rf__upbuf_new(op->arity, op->dim, in->n);
    int rc = out ? 0 : RF_ENOMEM;
    for (size_t i = 0; rc == 0 && i < in->n; i++) {
      uint64_t *row = rf__upbuf_push_raw(out);
      memcpy(row, rf__upbuf_row(in, i), in->arity * sizeof(uint64_t));
      /* enter: copy the time and append iteration 0; leave: drop the last
       * coordinate (extend copies min(in, out) words, zero-filling). */
      rf__time_extend(rf__upbuf_time(in, i), op->dim < in->dim ? op->dim : in->dim, op->dim,
                      row + op->arity);
      row[op->arity + op->dim] = (uint64_t)rf__upbuf_diff(in, i);
    }
    if (rc == 0) rc = rf__op_send(op, out);
    else rf__upbuf_unref(out);
    rf__msg_free(m);
    if (rc < 0) return rf__error(RF_ENOMEM, "%s: out of memory", op->name);
  }
  return 0;
}

static const rf__op_class enter_class = {.name = "enter", .run = retime_run};
static const rf__op_class leave_class = {.name = "leave", .run = retime_run};

rf_coll *rf_enter(rf_scope *s, rf_coll *outer) {
  if (!s || !outer) return NULL;
  if (outer->op->scope != s->parent) {
    rf__graph_build_error(s->g, rf__error(RF_ESCOPE, "rf_enter: the collection is not in the "
                                                     "scope's parent"));
    return NULL;
  }
  rf__op *op = rf__op_new(s->g, s, &enter_class, sizeof(rf__op), 1, s->depth + 1,
                          outer->op->arity);
  if (!op) return NULL;
  op->summary = RF__SUM_ENTER;
  if (rf__op_connect(op, 0, outer->op, 0) < 0) return NULL;
  return rf__coll_new(op);
}

rf_coll *rf_leave(rf_coll *inner) {
  if (!inner) return NULL;
  rf_scope *s = inner->op->scope;
  if (!s->parent) {
    rf__graph_build_error(s->g, rf__error(RF_ESCOPE, "rf_leave: the collection is at the top "
                                                     "scope"));
    return NULL;
  }
  rf__op *op = rf__op_new(s->g, s->parent, &leave_class, sizeof(rf__op), 1, s->depth,
                          inner->op->arity);
  if (!op) return NULL;
  op->summary = RF__SUM_LEAVE;
  if (rf__op_connect(op, 0, inner->op, 0) < 0) return NULL;
  return rf__coll_new(op);
}

/* ------------------------------------------------------------------ */
/* Entering an arrangement                                             */
/* ------------------------------------------------------------------ */

/* Passes the outer arrangement's batches on; consumers extend times. */
static int arr_enter_run(rf__op *op) {
  rf__msg *m;
  while ((m = rf__port_pop(&op->in[0]))) {
    int rc = rf__op_send_batch(op, rf__batch_ref(m->batch));
    rf__msg_free(m);
    RF_FORWARD_IF_ERROR(rc);
  }
  return 0;
}

static const rf__op_class arr_enter_class = {
    .name = "arr_enter", .run = arr_enter_run, .passes_trace = true};

rf_arr *rf_arr_enter(rf_scope *s, rf_arr *outer) {
  if (!s || !outer) return NULL;
  if (outer->op->scope != s->parent) {
    rf__graph_build_error(s->g, rf__error(RF_ESCOPE, "rf_arr_enter: the arrangement is not in "
                                                     "the scope's parent"));
    return NULL;
  }
  rf__op *op = rf__op_new(s->g, s, &arr_enter_class, sizeof(rf__op), 1, s->depth + 1,
                          outer->op->arity);
  if (!op) return NULL;
  op->summary = RF__SUM_ENTER;
  if (rf__op_connect(op, 0, outer->op, 0) < 0) return NULL;
  rf_arr *a = rf__arr_new(op, outer->spine, outer->key_arity, outer->val_arity, outer->ext + 1);
  if (a) a->base = outer;
  return a;
}

/* ------------------------------------------------------------------ */
/* Loop variables and feedback                                         */
/* ------------------------------------------------------------------ */

typedef struct feedback_op {
  rf__op op;
  rf__batcher batcher;
  rf__antichain caps;
} feedback_op;

static int feedback_hold(feedback_op *f) {
  rf__antichain_clear(&f->caps);
  rf__antichain times;
  rf__antichain_init(&times, f->op.dim);
  int rc = rf__batcher_min_times(&f->batcher, &times);
  for (uint32_t i = 0; rc == 0 && i < times.n; i++) {
    uint64_t t[RF_MAX_DIM];
    memcpy(t, rf__antichain_at(&times, i), f->op.dim * sizeof(uint64_t));
    t[f->op.dim - 1]++;
    rc = rf__antichain_insert(&f->caps, t) < 0 ? RF_ENOMEM : 0;
  }
  rf__antichain_free(&times);
  if (rc == 0) rc = rf__op_hold(&f->op, &f->caps);
  return rc;
}

static int feedback_run(rf__op *op) {
  feedback_op *f = (feedback_op *)op;
  rf__msg *m;
  while ((m = rf__port_pop(&op->in[0]))) {
    int rc = rf__batcher_take(&f->batcher, m->ups, &m->times);
    rf__msg_free(m);
    if (rc < 0) return rf__error(RF_ENOMEM, "feedback: out of memory");
  }
  RF_FORWARD_IF_ERROR(feedback_hold(f));
  const rf__antichain *fr = rf__port_frontier(&op->in[0]);
  if (rf__antichain_eq(fr, &f->batcher.lower)) return 0;
  rf__batch *b;
  int rc;
  if ((rc = rf__batcher_seal(&f->batcher, fr, &b)) < 0) /* its own message says why */
    return rc == RF_ENOMEM ? rf__error(RF_ENOMEM, "feedback: out of memory") : rc;
  if (b->n_upds > 0) {
    rf__upbuf *out = rf__upbuf_new(op->arity, op->dim, b->n_upds);
    rc = out ? 0 : RF_ENOMEM;
    for (size_t k = 0; rc == 0 && k < b->n_keys; k++)
      for (size_t u = rf__batch_upd(b, b->key_off[k]); u < rf__batch_upd(b, b->key_off[k + 1]);
           u++) {
        uint64_t *row = rf__upbuf_push_raw(out);
        memcpy(row, rf__batch_key(b, k), op->arity * sizeof(uint64_t));
        memcpy(row + op->arity, rf__batch_time(b, u), op->dim * sizeof(uint64_t));
        row[op->arity + op->dim - 1]++; /* next iteration */
        row[op->arity + op->dim] = (uint64_t)b->diffs[u];
      }
    if (rc == 0) rc = rf__op_send(op, out);
    else rf__upbuf_unref(out);
  }
  rf__batch_unref(b);
  if (rc < 0) return rf__error(RF_ENOMEM, "feedback: out of memory");
  return feedback_hold(f);
}

static void feedback_destroy(rf__op *op) {
  feedback_op *f = (feedback_op *)op;
  rf__batcher_free(&f->batcher);
  rf__antichain_free(&f->caps);
}

static int feedback_init(feedback_op *f) {
  rf__antichain_init(&f->caps, f->op.dim);
  return rf__batcher_init(&f->batcher, f->op.arity, 0, f->op.dim);
}

static int feedback_clone(const rf__op *src, rf__op *dst) {
  (void)src;
  return feedback_init((feedback_op *)dst) < 0 ? RF_ENOMEM : 0;
}

static const rf__op_class feedback_class = {.name = "feedback",
                                            .run = feedback_run,
                                            .destroy = feedback_destroy,
                                            .clone = feedback_clone};

rf_var *rf_var_new(rf_scope *s, rf_coll *initial) {
  if (!s || !initial) return NULL;
  rf_graph *g = s->g;
  if (initial->op->scope != s) {
    rf__graph_build_error(g, rf__error(RF_ESCOPE, "rf_var_new: the initial collection is not "
                                                  "in the scope (rf_enter it first)"));
    return NULL;
  }
  if (s->depth == 0) {
    rf__graph_build_error(g, rf__error(RF_ESCOPE, "rf_var_new: loop variables live in a scope "
                                                  "made by rf_scope_new"));
    return NULL;
  }
  uint32_t dim = s->depth + 1, arity = initial->op->arity;
  rf_var *v = rf__graph_own(g, sizeof *v);
  if (!v) return NULL;
  feedback_op *f = (feedback_op *)rf__op_new(g, s, &feedback_class, sizeof *f, 1, dim, arity);
  if (!f) return NULL;
  f->op.summary = RF__SUM_FEEDBACK;
  f->op.is_feedback = true;
  if (feedback_init(f) < 0) {
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "rf_var_new: out of memory"));
    return NULL;
  }
  rf__op *c = rf__concat_op_new(g, s, 2, dim, arity);
  if (!c || rf__op_connect(c, 0, initial->op, 0) < 0 || rf__op_connect(c, 1, &f->op, 0) < 0)
    return NULL;
  v->scope = s;
  v->concat = c;
  v->feedback = &f->op;
  v->initial = initial;
  v->coll = rf__coll_new(c);
  return v->coll ? v : NULL;
}

rf_coll *rf_var_coll(rf_var *v) { return v ? v->coll : NULL; }

int rf_var_set(rf_var *v, rf_coll *next) {
  if (!v) return rf__error(RF_EINVAL, "rf_var_set: variable is NULL");
  rf_graph *g = v->scope->g;
  int err = rf_graph_error(g);
  if (!next) {
    if (err) return err;
    rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_var_set: collection is NULL"));
    return RF_EINVAL;
  }
  if (v->set) {
    rf__graph_build_error(g, rf__error(RF_ESTATE, "rf_var_set: the variable is already set"));
    return RF_ESTATE;
  }
  if (next->op->scope != v->scope) {
    rf__graph_build_error(g, rf__error(RF_ESCOPE, "rf_var_set: the collection is not in the "
                                                  "variable's scope"));
    return RF_ESCOPE;
  }
  if (next->op->arity != v->concat->arity) {
    rf__graph_build_error(g, rf__error(RF_EARITY, "rf_var_set: %u columns for a variable of %u",
                                       next->op->arity, v->concat->arity));
    return RF_EARITY;
  }
  rf_coll *delta = rf_concat(next, rf_negate(v->initial));
  if (!delta) return rf_graph_error(g);
  /* Exchanged by the first column: with several workers, the changes to
   * one record (an initial +1 on one worker, its -1 from a join on
   * another) must meet in one feedback batcher to cancel, or each worker
   * would carry its half around the loop forever. Any function of the
   * record sends equal records to one worker; the first column is the key
   * of the arrangements a loop usually feeds (rf_arrange(v, 1)) and of the
   * reduce that usually produces its next value, so the changes mostly
   * stay on the worker that made them and need no other hop. */
  int rc = rf__op_connect(v->feedback, 0, delta->op, v->concat->arity < 1 ? v->concat->arity : 1);
  if (rc < 0) return rc;
  v->set = true;
  return 0;
}

rf_coll *rf_iterate(rf_coll *initial, rf_iterate_fn body, void *ctx) {
  rf_graph *g = rf__coll_graph(initial);
  if (!g) return NULL;
  if (!body) {
    rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_iterate: body is NULL"));
    return NULL;
  }
  rf_scope *s = rf_scope_new(g, initial->op->scope);
  rf_var *v = rf_var_new(s, rf_enter(s, initial));
  if (!v) return NULL;
  rf_coll *result = body(ctx, s, rf_var_coll(v));
  if (rf_var_set(v, result) < 0) return NULL;
  return rf_leave(result);
}
