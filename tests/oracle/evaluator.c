/*
 * evaluator.c: the oracle's reference semantics, recomputed from scratch.
 *
 * Evaluation happens in frames. The top frame evaluates the nodes of the top
 * scope at one time t. A loop scope is evaluated by a fixed-point frame: its
 * variables start as their initial collections, every node of the scope is
 * recomputed with the current variable values, the variables take their
 * `next` values, and this repeats until the next values equal the current
 * ones; the nodes' values in that last round are the limits that leave the
 * scope. Nodes of a frame are memoized for one round; entered collections are
 * read from the parent frame, which is constant while the child iterates.
 */
#include "evaluator.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ev {
  const or_program *p;
  const or_stream *s;
  rf_time t;
  or_eval_limits lim;
  or_eval_status st;
  char msg[512];
  uint64_t work;
} ev;

typedef struct frame frame;
struct frame {
  ev *E;
  int scope;
  frame *parent;
  or_coll *memo; /* per node */
  bool *have;
  bool vars_ready;
  or_coll vars[OR_MAX_VARS];
  frame *child[OR_MAX_SCOPES]; /* fixed points of child scopes, this round */
};

or_eval_limits or_eval_default_limits(void) {
  or_eval_limits l = {1000, 6000, (rf_diff)1 << 24, 0};
  return l;
}

const char *or_eval_status_name(or_eval_status st) {
  switch (st) {
  case OR_EVAL_OK: return "ok";
  case OR_EVAL_DIVERGED: return "diverged";
  case OR_EVAL_TOO_BIG: return "too big";
  case OR_EVAL_INVALID: return "invalid program";
  }
  return "?";
}

static void fail(ev *E, or_eval_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(ev *E, or_eval_status st, const char *fmt, ...) {
  if (E->st != OR_EVAL_OK) return;
  E->st = st;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(E->msg, sizeof E->msg, fmt, ap);
  va_end(ap);
}

static frame *frame_new(ev *E, int scope, frame *parent) {
  frame *f = calloc(1, sizeof *f);
  int n = E->p->n_nodes ? E->p->n_nodes : 1;
  if (!f) abort();
  f->E = E;
  f->scope = scope;
  f->parent = parent;
  f->memo = calloc((size_t)n, sizeof *f->memo);
  f->have = calloc((size_t)n, sizeof *f->have);
  if (!f->memo || !f->have) abort();
  return f;
}

static void frame_free(frame *f);

/* Forgets this round: memoized nodes and child fixed points. */
static void frame_reset(frame *f) {
  for (int i = 0; i < f->E->p->n_nodes; i++) {
    if (f->have[i]) or_coll_free(&f->memo[i]);
    f->have[i] = false;
  }
  for (int s = 0; s < OR_MAX_SCOPES; s++) {
    frame_free(f->child[s]);
    f->child[s] = NULL;
  }
}

static void frame_free(frame *f) {
  if (!f) return;
  frame_reset(f);
  for (int j = 0; j < OR_MAX_VARS; j++) or_coll_free(&f->vars[j]);
  free(f->memo);
  free(f->have);
  free(f);
}

static const or_coll *eval(frame *f, int i);
static frame *fixpoint(frame *f, int s);

static void check_limits(ev *E, int i, const or_coll *c) {
  E->work += c->n;
  if (E->lim.max_work && E->work > E->lim.max_work) {
    fail(E, OR_EVAL_TOO_BIG, "more than %" PRIu64 " records made in all", E->lim.max_work);
    return;
  }
  if (c->n > E->lim.max_records) {
    fail(E, OR_EVAL_TOO_BIG, "n%d has %zu records", i, c->n);
    return;
  }
  for (size_t k = 0; k < c->n; k++)
    if (c->cnt[k] > E->lim.max_count || c->cnt[k] < -E->lim.max_count) {
      fail(E, OR_EVAL_TOO_BIG, "n%d has a count of %" PRId64, i, c->cnt[k]);
      return;
    }
}

typedef struct push_ctx {
  or_coll *out;
  const rf_value *key;
  uint32_t key_arity, val_arity;
  rf_diff mult;
} push_ctx;

static int emit_rec(void *ctx, const rf_value *rec) {
  push_ctx *pc = ctx;
  or_coll_push(pc->out, rec, pc->mult);
  return 0;
}

static int push_val(void *ctx, const rf_value *val, rf_diff count) {
  push_ctx *pc = ctx;
  rf_value rec[2 * OR_MAX_ARITY];
  memcpy(rec, pc->key, pc->key_arity * sizeof *rec);
  if (pc->val_arity) memcpy(rec + pc->key_arity, val, pc->val_arity * sizeof *rec);
  if (count != 0) or_coll_push(pc->out, rec, count);
  return 0;
}

static bool key_present(const or_coll *keys, const rf_value *key) {
  for (size_t i = 0; i < keys->n; i++)
    if (keys->cnt[i] > 0 && or_rec_cmp(or_coll_rec(keys, i), key, keys->arity) == 0) return true;
  return false;
}

/* Per key of a normalized arrangement value, the built-in and general
 * reducers (and threshold, which works record by record). */
static void eval_reduce(ev *E, const or_node *n, const or_node *in, const or_coll *a, or_coll *r) {
  uint32_t k = in->key_arity, va = in->arity - k;
  rf_value *vals = malloc((a->n + 1) * (va ? va : 1) * sizeof *vals);
  rf_diff *counts = malloc((a->n + 1) * sizeof *counts);
  if (!vals || !counts) abort();
  for (size_t g = 0; g < a->n;) {
    const rf_value *key = or_coll_rec(a, g);
    size_t e = g;
    while (e < a->n && or_rec_cmp(or_coll_rec(a, e), key, k) == 0) e++;
    size_t m = e - g;
    for (size_t i = 0; i < m; i++) {
      if (va) memcpy(vals + i * va, or_coll_rec(a, g + i) + k, va * sizeof *vals);
      counts[i] = a->cnt[g + i];
    }
    rf_value rec[2 * OR_MAX_ARITY];
    memcpy(rec, key, k * sizeof *rec);
    switch (n->op) {
    case OR_COUNT: {
      rf_diff sum = 0;
      for (size_t i = 0; i < m; i++) sum += counts[i];
      rec[k] = rf_from_i64(sum);
      or_coll_push(r, rec, 1);
      break;
    }
    case OR_SUM: {
      uint64_t sum = 0; /* wrapping, like two's complement int64 */
      for (size_t i = 0; i < m; i++) sum += (uint64_t)rf_to_i64(vals[i * va]) * (uint64_t)counts[i];
      rec[k] = rf_from_i64((int64_t)sum);
      or_coll_push(r, rec, 1);
      break;
    }
    case OR_MIN:
    case OR_MAX: {
      size_t pick = n->op == OR_MIN ? 0 : m - 1;
      memcpy(rec + k, vals + pick * va, va * sizeof *rec);
      or_coll_push(r, rec, 1);
      break;
    }
    case OR_REDUCE: {
      push_ctx pc = {r, key, k, n->fn.out_arity, 1};
      or_reduce_apply(&n->fn, key, vals, counts, m, push_val, &pc);
      break;
    }
    case OR_THRESHOLD:
      for (size_t i = 0; i < m; i++) {
        rf_diff c = or_threshold_apply(&n->fn, counts[i]);
        if (c != 0) or_coll_push(r, or_coll_rec(a, g + i), c);
      }
      break;
    default:
      fail(E, OR_EVAL_INVALID, "eval_reduce on %s", or_op_name(n->op));
      break;
    }
    g = e;
  }
  free(vals);
  free(counts);
}

static void eval_join(ev *E, const or_node *n, const or_node *na, const or_node *nb,
                      const or_coll *a, const or_coll *b, or_coll *r) {
  uint32_t k = na->key_arity, va = na->arity - k, vb = nb->arity - k;
  if ((uint64_t)a->n * b->n > 400000) {
    fail(E, OR_EVAL_TOO_BIG, "join of %zu x %zu records", a->n, b->n);
    return;
  }
  for (size_t i = 0; i < a->n; i++) {
    const rf_value *ra = or_coll_rec(a, i);
    for (size_t j = 0; j < b->n; j++) {
      const rf_value *rb = or_coll_rec(b, j);
      if (or_rec_cmp(ra, rb, k)) continue;
      rf_value rec[3 * OR_MAX_ARITY];
      rf_diff c = a->cnt[i] * b->cnt[j];
      if (n->op == OR_JOIN) {
        memcpy(rec, ra, (k + va) * sizeof *rec);
        memcpy(rec + k + va, rb + k, vb * sizeof *rec);
        or_coll_push(r, rec, c);
      } else if (or_join_map_apply(&n->fn, ra, ra + k, rb + k, rec)) {
        or_coll_push(r, rec, c);
      }
    }
  }
}

static const or_coll *eval(frame *f, int i) {
  ev *E = f->E;
  const or_program *p = E->p;
  const or_node *n = &p->nodes[i];
  if (f->have[i]) return &f->memo[i];
  or_coll *r = &f->memo[i];
  or_coll_init(r, n->arity);
  f->have[i] = true;
  if (E->st) return r;
  if (n->scope != f->scope) {
    fail(E, OR_EVAL_INVALID, "n%d (scope s%d) used in scope s%d", i, n->scope, f->scope);
    return r;
  }
  const or_coll *a = NULL, *b = NULL;
  /* operands of the same scope first (enter/leave/var read elsewhere) */
  if (n->op != OR_ENTER && n->op != OR_ARR_ENTER && n->op != OR_LEAVE) {
    if (n->n_in >= 1) a = eval(f, n->in[0]);
    if (n->n_in >= 2) b = eval(f, n->in[1]);
    if (E->st) return r;
  }
  switch (n->op) {
  case OR_INPUT:
    for (int k = 0; k < E->s->n_steps; k++) {
      const or_step *st = &E->s->steps[k];
      if (st->time > E->t) break;
      for (int u = st->first; u < st->first + st->count; u++)
        if (E->s->updates[u].input == n->input)
          or_coll_push(r, E->s->updates[u].rec, E->s->updates[u].diff);
    }
    break;
  case OR_MAP: {
    rf_value out[OR_MAX_ARITY];
    for (size_t k = 0; k < a->n; k++) {
      or_map_apply(&n->fn, or_coll_rec(a, k), out);
      or_coll_push(r, out, a->cnt[k]);
    }
    break;
  }
  case OR_FILTER:
    for (size_t k = 0; k < a->n; k++)
      if (or_filter_apply(&n->fn, or_coll_rec(a, k))) or_coll_push(r, or_coll_rec(a, k), a->cnt[k]);
    break;
  case OR_FLAT_MAP:
    for (size_t k = 0; k < a->n; k++) {
      push_ctx pc = {r, NULL, 0, 0, a->cnt[k]};
      or_flat_map_apply(&n->fn, or_coll_rec(a, k), emit_rec, &pc);
    }
    break;
  case OR_PROJECT: {
    rf_value out[OR_MAX_ARITY];
    for (size_t k = 0; k < a->n; k++) {
      for (uint32_t j = 0; j < n->arity; j++) out[j] = or_coll_rec(a, k)[n->cols[j]];
      or_coll_push(r, out, a->cnt[k]);
    }
    break;
  }
  case OR_CONCAT:
    for (int j = 0; j < n->n_in; j++) {
      const or_coll *c = eval(f, n->in[j]);
      if (E->st) return r;
      for (size_t k = 0; k < c->n; k++) or_coll_push(r, or_coll_rec(c, k), c->cnt[k]);
    }
    break;
  case OR_NEGATE:
    for (size_t k = 0; k < a->n; k++) or_coll_push(r, or_coll_rec(a, k), -a->cnt[k]);
    break;
  case OR_CONSOLIDATE:
  case OR_INSPECT:
  case OR_ARRANGE:
  case OR_ARR_COLL:
    or_coll_copy(r, a);
    break;
  case OR_JOIN:
  case OR_JOIN_MAP:
    eval_join(E, n, &p->nodes[n->in[0]], &p->nodes[n->in[1]], a, b, r);
    break;
  case OR_SEMIJOIN:
  case OR_ANTIJOIN:
    for (size_t k = 0; k < a->n; k++) {
      bool present = key_present(b, or_coll_rec(a, k));
      if (present == (n->op == OR_SEMIJOIN)) or_coll_push(r, or_coll_rec(a, k), a->cnt[k]);
    }
    break;
  case OR_REDUCE:
  case OR_COUNT:
  case OR_SUM:
  case OR_MIN:
  case OR_MAX:
  case OR_THRESHOLD:
    eval_reduce(E, n, &p->nodes[n->in[0]], a, r);
    break;
  case OR_DISTINCT:
    for (size_t k = 0; k < a->n; k++)
      if (a->cnt[k] > 0) or_coll_push(r, or_coll_rec(a, k), 1);
    break;
  case OR_ENTER:
  case OR_ARR_ENTER:
    if (!f->parent) {
      fail(E, OR_EVAL_INVALID, "n%d enters into the top scope", i);
      return r;
    }
    a = eval(f->parent, n->in[0]);
    if (E->st) return r;
    or_coll_copy(r, a);
    break;
  case OR_VAR:
    if (!f->vars_ready || n->sub >= p->scopes[f->scope].n_vars) {
      fail(E, OR_EVAL_INVALID, "n%d reads a variable of s%d outside the loop", i, f->scope);
      return r;
    }
    or_coll_copy(r, &f->vars[n->sub]);
    break;
  case OR_LEAVE: {
    frame *F = fixpoint(f, n->sub);
    if (E->st) return r;
    a = eval(F, n->in[0]);
    if (E->st) return r;
    or_coll_copy(r, a);
    break;
  }
  case OR_ITERATE: {
    frame *F = fixpoint(f, n->sub);
    if (E->st) return r;
    or_coll_copy(r, &F->vars[0]);
    break;
  }
  default:
    fail(E, OR_EVAL_INVALID, "n%d has an unknown operator", i);
    return r;
  }
  if (E->st) return r;
  or_coll_normalize(r);
  check_limits(E, i, r);
  return r;
}

/* The fixed point of child scope s of frame f (cached for f's round). */
static frame *fixpoint(frame *f, int s) {
  ev *E = f->E;
  const or_scope *sc = &E->p->scopes[s];
  if (f->child[s]) return f->child[s];
  frame *F = frame_new(E, s, f);
  f->child[s] = F;
  if (sc->parent != f->scope) {
    fail(E, OR_EVAL_INVALID, "scope s%d is not a child of s%d", s, f->scope);
    return F;
  }
  or_coll v[OR_MAX_VARS], nv[OR_MAX_VARS];
  for (int j = 0; j < sc->n_vars; j++) {
    const or_coll *init = sc->iterate_style ? eval(f, sc->var_init[j]) : eval(F, sc->var_init[j]);
    or_coll_init(&v[j], 0);
    if (!E->st) or_coll_copy(&v[j], init);
  }
  for (int it = 0;; it++) {
    if (E->st) break;
    if (it >= E->lim.max_iterations) {
      fail(E, OR_EVAL_DIVERGED, "scope s%d: no fixed point after %d iterations at time %" PRIu64,
           s, it, E->t);
      break;
    }
    frame_reset(F);
    for (int j = 0; j < sc->n_vars; j++) {
      or_coll_free(&F->vars[j]);
      F->vars[j] = v[j];
      or_coll_init(&v[j], 0);
    }
    F->vars_ready = true;
    bool same = true;
    for (int j = 0; j < sc->n_vars; j++) {
      const or_coll *next = eval(F, sc->var_next[j]);
      or_coll_init(&nv[j], 0);
      if (E->st) continue;
      if (next->arity != F->vars[j].arity) {
        fail(E, OR_EVAL_INVALID, "scope s%d var%d: next has arity %u, var %u", s, j, next->arity,
             F->vars[j].arity);
        continue;
      }
      or_coll_copy(&nv[j], next);
      if (!or_coll_equal(&nv[j], &F->vars[j])) same = false;
    }
    /* every other node of the body too: the engine runs them all in every
     * round, so a loop nested in the body must converge even when nothing
     * reads it */
    for (int i = 0; i < E->p->n_nodes && !E->st; i++)
      if (!E->p->nodes[i].dead && E->p->nodes[i].scope == s) eval(F, i);
    if (E->st || same) {
      for (int j = 0; j < sc->n_vars; j++) or_coll_free(&nv[j]);
      break;
    }
    for (int j = 0; j < sc->n_vars; j++) v[j] = nv[j];
  }
  for (int j = 0; j < sc->n_vars; j++) or_coll_free(&v[j]);
  return F;
}

or_eval_status or_eval(const or_program *p, const or_stream *s, rf_time t,
                       const or_eval_limits *lim, or_coll *outs, char *msg, size_t msg_len) {
  ev E;
  memset(&E, 0, sizeof E);
  E.p = p;
  E.s = s;
  E.t = t;
  E.lim = lim ? *lim : or_eval_default_limits();
  if (or_program_check(p, E.msg, sizeof E.msg)) {
    for (int o = 0; o < p->n_outputs; o++) or_coll_init(&outs[o], p->nodes[p->outputs[o]].arity);
    if (msg && msg_len) snprintf(msg, msg_len, "%s", E.msg);
    return OR_EVAL_INVALID;
  }
  frame *top = frame_new(&E, 0, NULL);
  for (int o = 0; o < p->n_outputs; o++) {
    const or_coll *c = eval(top, p->outputs[o]);
    or_coll_init(&outs[o], p->nodes[p->outputs[o]].arity);
    if (!E.st) or_coll_copy(&outs[o], c);
  }
  /* nodes nothing reads are built and run too: their loops must converge */
  for (int i = 0; i < p->n_nodes && !E.st; i++)
    if (!p->nodes[i].dead && p->nodes[i].scope == 0) eval(top, i);
  frame_free(top);
  if (E.st && msg && msg_len) snprintf(msg, msg_len, "%s", E.msg);
  return E.st;
}

void or_expected_free(or_expected *e) {
  if (e->colls)
    for (rf_time i = 0; i < e->n_times * (rf_time)e->n_outputs; i++) or_coll_free(&e->colls[i]);
  free(e->colls);
  memset(e, 0, sizeof *e);
}

or_eval_status or_eval_all(const or_program *p, const or_stream *s, const or_eval_limits *lim,
                           or_expected *out, char *msg, size_t msg_len) {
  memset(out, 0, sizeof *out);
  out->n_times = or_stream_last_time(s) + 1;
  out->n_outputs = p->n_outputs;
  out->colls = calloc((size_t)(out->n_times * (rf_time)(p->n_outputs ? p->n_outputs : 1)),
                      sizeof *out->colls);
  if (!out->colls) abort();
  for (rf_time t = 0; t < out->n_times; t++) {
    or_eval_status st = or_eval(p, s, t, lim, &out->colls[t * (rf_time)p->n_outputs], msg, msg_len);
    if (st != OR_EVAL_OK) {
      or_expected_free(out);
      return st;
    }
  }
  return OR_EVAL_OK;
}
