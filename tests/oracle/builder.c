/*
 * builder.c: builds an oracle program into an rf_graph with the public API.
 *
 * Nodes are built on demand (operands first) and, scope by scope, in index
 * order, so every node of the program exists in the graph, including nodes
 * whose output nothing reads. Before a loop scope is opened, every node of
 * the enclosing scope that the loop enters is built, so no operator of an
 * outer scope is ever created from inside a loop body. The callback adapters
 * here call the shared semantic functions of program.c, which the evaluator
 * calls too.
 */
#include "builder.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Callback adapters                                                   */
/* ------------------------------------------------------------------ */

static int cb_map(void *ctx, const rf_value *in, rf_value *out) {
  or_map_apply(ctx, in, out);
  return 0;
}

static int cb_filter(void *ctx, const rf_value *rec) { return or_filter_apply(ctx, rec); }

static int emit_adapter(void *ctx, const rf_value *rec) { return rf_emit(ctx, rec); }

static int cb_flat_map(void *ctx, const rf_value *in, rf_emitter *out) {
  return or_flat_map_apply(ctx, in, emit_adapter, out);
}

static int cb_join_map(void *ctx, const rf_value *key, const rf_value *va, const rf_value *vb,
                       rf_value *out) {
  return or_join_map_apply(ctx, key, va, vb, out);
}

static int push_adapter(void *ctx, const rf_value *val, rf_diff count) {
  return rf_reduce_push(ctx, val, count);
}

static void contract_error(or_built *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void contract_error(or_built *b, const char *fmt, ...) {
  pthread_mutex_lock(&b->mu);
  if (b->contract_errors++ == 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->first_contract_error, sizeof b->first_contract_error, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&b->mu);
}

/* The reducer's context is the node's inspect slot (it has the builder and
 * the node index); the function's parameters are in the program. */
static int cb_reduce(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                     size_t n, rf_reduce_out *out) {
  or_inspect_ctx *ic = ctx;
  const or_fn *fn = &ic->b->p->nodes[ic->node].fn;
  uint32_t va = fn->va;
  for (size_t i = 0; i < n; i++) {
    if (counts[i] == 0) contract_error(ic->b, "reduce n%d: value %zu has count 0", ic->node, i);
    if (i > 0 && or_rec_cmp(vals + (i - 1) * va, vals + i * va, va) >= 0)
      contract_error(ic->b, "reduce n%d: values %zu and %zu are not sorted and distinct", ic->node,
                     i - 1, i);
  }
  return or_reduce_apply(fn, key, vals, counts, n, push_adapter, out);
}

static rf_diff cb_threshold(void *ctx, rf_diff count) { return or_threshold_apply(ctx, count); }

static void cb_inspect_node(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                            uint32_t time_dim, rf_diff diff) {
  or_inspect_ctx *ic = ctx;
  if (time_dim != ic->expect_dim || arity != ic->arity)
    contract_error(ic->b, "inspect n%d: update with %u columns and %u time coordinates, expected %u and %u",
                   ic->node, arity, time_dim, ic->arity, ic->expect_dim);
}

static void cb_capture(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                       uint32_t time_dim, rf_diff diff) {
  or_capture *c = ctx;
  pthread_mutex_lock(&c->mu);
  if (time_dim != 1 || arity != c->arity) {
    if (c->bad_shape++ == 0)
      snprintf(c->first_problem, sizeof c->first_problem,
               "output update with %u columns and %u time coordinates (expected %u and 1)", arity,
               time_dim, c->arity);
    pthread_mutex_unlock(&c->mu);
    return;
  }
  if (c->closed_valid && time[0] <= c->closed && c->late++ == 0) {
    or_buf b;
    or_buf_init(&b);
    or_dump_record(&b, rec, arity);
    snprintf(c->first_problem, sizeof c->first_problem,
             "update %s%+" PRId64 " at time %" PRIu64 " came after the probe said %" PRIu64
             " was complete",
             b.s, diff, time[0], c->closed);
    or_buf_free(&b);
  }
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 64;
    c->times = realloc(c->times, c->cap * sizeof *c->times);
    c->recs = realloc(c->recs, c->cap * c->arity * sizeof *c->recs);
    c->diffs = realloc(c->diffs, c->cap * sizeof *c->diffs);
    if (!c->times || !c->recs || !c->diffs) abort();
  }
  c->times[c->n] = time[0];
  memcpy(c->recs + c->n * c->arity, rec, arity * sizeof *rec);
  c->diffs[c->n++] = diff;
  pthread_mutex_unlock(&c->mu);
}

void or_capture_accumulate(or_capture *c, rf_time t, bool all_times, or_coll *out) {
  or_coll_free(out);
  or_coll_init(out, c->arity);
  pthread_mutex_lock(&c->mu);
  for (size_t i = 0; i < c->n; i++)
    if (all_times || c->times[i] <= t) or_coll_push(out, c->recs + i * c->arity, c->diffs[i]);
  pthread_mutex_unlock(&c->mu);
  or_coll_normalize(out);
}

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */

static void build_node(or_built *b, int i);

static rf_coll *C(or_built *b, int i) {
  build_node(b, i);
  return b->coll[i];
}

static rf_arr *A(or_built *b, int i) {
  build_node(b, i);
  return b->arr[i];
}

static void note_null(or_built *b, int i, const char *what) {
  if (b->build_rc) return;
  b->build_rc = rf_graph_error(b->g) ? rf_graph_error(b->g) : RF_EINVAL;
  snprintf(b->build_err, sizeof b->build_err, "building n%d (%s) with %s failed: %s (%s)", i,
           or_op_name(b->p->nodes[i].op), what, rf_err_name(b->build_rc), rf_last_error());
}

/* Builds the nodes of the parent scope that scope s enters (and, for
 * rf_iterate, its initial collection) before the scope is opened. */
static void prebuild_entered(or_built *b, int s) {
  const or_program *p = b->p;
  const or_scope *sc = &p->scopes[s];
  if (sc->iterate_style) build_node(b, sc->var_init[0]);
  for (int i = 0; i < p->n_nodes; i++) {
    const or_node *n = &p->nodes[i];
    if (!n->dead && n->scope == s && (n->op == OR_ENTER || n->op == OR_ARR_ENTER))
      build_node(b, n->in[0]);
  }
}

static void build_scope_nodes(or_built *b, int s) {
  for (int i = 0; i < b->p->n_nodes; i++)
    if (!b->p->nodes[i].dead && b->p->nodes[i].scope == s) build_node(b, i);
}

static rf_coll *cb_body(void *ctx, rf_scope *s, rf_coll *var) {
  or_body_ctx *bc = ctx;
  or_built *b = bc->b;
  const or_scope *sc = &b->p->scopes[bc->scope];
  b->scope[bc->scope] = s;
  b->var_coll[bc->scope][0] = var;
  build_scope_nodes(b, bc->scope);
  return C(b, sc->var_next[0]);
}

/* An explicit scope: rf_scope_new, a variable per initial collection, every
 * node of the body, then rf_var_set for each variable. */
static void build_explicit_scope(or_built *b, int s) {
  const or_scope *sc = &b->p->scopes[s];
  if (b->scope[s]) return;
  prebuild_entered(b, s);
  b->scope[s] = rf_scope_new(b->g, sc->parent > 0 ? b->scope[sc->parent] : NULL);
  if (!b->scope[s]) {
    if (!b->build_rc) {
      b->build_rc = rf_graph_error(b->g) ? rf_graph_error(b->g) : RF_EINVAL;
      snprintf(b->build_err, sizeof b->build_err, "rf_scope_new for s%d failed: %s (%s)", s,
               rf_err_name(b->build_rc), rf_last_error());
    }
    return;
  }
  for (int j = 0; j < sc->n_vars; j++) {
    b->var[s][j] = rf_var_new(b->scope[s], C(b, sc->var_init[j]));
    b->var_coll[s][j] = b->var[s][j] ? rf_var_coll(b->var[s][j]) : NULL;
    if (!b->var_coll[s][j]) note_null(b, sc->var_init[j], "rf_var_new/rf_var_coll");
  }
  build_scope_nodes(b, s);
  for (int j = 0; j < sc->n_vars; j++) {
    int rc = rf_var_set(b->var[s][j], C(b, sc->var_next[j]));
    if (rc && !b->build_rc) {
      b->build_rc = rc;
      snprintf(b->build_err, sizeof b->build_err, "rf_var_set(s%d var%d, n%d) failed: %s (%s)", s,
               j, sc->var_next[j], rf_err_name(rc), rf_last_error());
    }
  }
}

static void build_node(or_built *b, int i) {
  if (b->built[i]) return;
  b->built[i] = true;
  const or_program *p = b->p;
  const or_node *n = &p->nodes[i];
  void *fn = (void *)&n->fn;
  rf_scope *sh = b->scope[n->scope];
  rf_coll *c = NULL;
  rf_arr *a = NULL;
  char name[16];
  switch (n->op) {
  case OR_INPUT:
    snprintf(name, sizeof name, "in%d", n->input);
    c = rf_input_new(b->g, name, n->arity, &b->inputs[n->input]);
    break;
  case OR_MAP:
    c = rf_map(C(b, n->in[0]), n->arity, cb_map, fn);
    break;
  case OR_FILTER:
    c = rf_filter(C(b, n->in[0]), cb_filter, fn);
    break;
  case OR_FLAT_MAP:
    c = rf_flat_map(C(b, n->in[0]), n->arity, cb_flat_map, fn);
    break;
  case OR_PROJECT:
    c = rf_project(C(b, n->in[0]), n->arity, n->cols);
    break;
  case OR_CONCAT:
    if (n->n_in == 2 && i % 2 == 0) {
      c = rf_concat(C(b, n->in[0]), C(b, n->in[1]));
    } else {
      rf_coll *ins[OR_MAX_IN];
      for (int j = 0; j < n->n_in; j++) ins[j] = C(b, n->in[j]);
      c = rf_concat_n(ins, (size_t)n->n_in);
    }
    break;
  case OR_NEGATE:
    c = rf_negate(C(b, n->in[0]));
    break;
  case OR_CONSOLIDATE:
    c = rf_consolidate(C(b, n->in[0]));
    break;
  case OR_INSPECT:
    b->insp[i].b = b;
    b->insp[i].node = i;
    b->insp[i].expect_dim = (uint32_t)p->scopes[n->scope].depth + 1;
    b->insp[i].arity = n->arity;
    c = rf_inspect(C(b, n->in[0]), cb_inspect_node, &b->insp[i]);
    break;
  case OR_ARRANGE:
    a = rf_arrange(C(b, n->in[0]), n->key_arity);
    break;
  case OR_ARR_COLL:
    c = rf_arr_collection(A(b, n->in[0]));
    break;
  case OR_JOIN:
    c = rf_join(A(b, n->in[0]), A(b, n->in[1]));
    break;
  case OR_JOIN_MAP:
    c = rf_join_map(A(b, n->in[0]), A(b, n->in[1]), n->arity, cb_join_map, fn);
    break;
  case OR_SEMIJOIN:
    c = rf_semijoin(C(b, n->in[0]), C(b, n->in[1]));
    break;
  case OR_ANTIJOIN:
    c = rf_antijoin(C(b, n->in[0]), C(b, n->in[1]));
    break;
  case OR_REDUCE:
    b->insp[i].b = b;
    b->insp[i].node = i;
    a = rf_reduce(A(b, n->in[0]), n->fn.out_arity, cb_reduce, &b->insp[i]);
    break;
  case OR_COUNT:
    a = rf_count(A(b, n->in[0]));
    break;
  case OR_SUM:
    a = rf_sum(A(b, n->in[0]));
    break;
  case OR_MIN:
    a = rf_min(A(b, n->in[0]));
    break;
  case OR_MAX:
    a = rf_max(A(b, n->in[0]));
    break;
  case OR_DISTINCT:
    a = rf_distinct(C(b, n->in[0]));
    break;
  case OR_THRESHOLD:
    a = rf_threshold(A(b, n->in[0]), cb_threshold, fn);
    break;
  case OR_ENTER:
    c = rf_enter(sh, C(b, n->in[0]));
    break;
  case OR_ARR_ENTER:
    a = rf_arr_enter(sh, A(b, n->in[0]));
    break;
  case OR_VAR:
    c = b->var_coll[n->scope][n->sub];
    break;
  case OR_LEAVE:
    build_explicit_scope(b, n->sub);
    c = rf_leave(C(b, n->in[0]));
    break;
  case OR_ITERATE:
    prebuild_entered(b, n->sub);
    b->body[n->sub].b = b;
    b->body[n->sub].scope = n->sub;
    c = rf_iterate(C(b, p->scopes[n->sub].var_init[0]), cb_body, &b->body[n->sub]);
    break;
  default:
    break;
  }
  b->coll[i] = c;
  b->arr[i] = a;
  if (n->is_arr ? !a : !c) note_null(b, i, or_op_name(n->op));
}

int or_build(or_built *b, const or_program *p, uint32_t workers) {
  memset(b, 0, sizeof *b);
  b->p = p;
  pthread_mutex_init(&b->mu, NULL);
  for (int o = 0; o < OR_MAX_OUTPUTS; o++) pthread_mutex_init(&b->caps[o].mu, NULL);
  rf_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.workers = workers;
  int rc = rf_graph_create(&cfg, &b->g);
  if (rc) {
    b->build_rc = rc;
    snprintf(b->build_err, sizeof b->build_err, "rf_graph_create(workers %u) failed: %s (%s)",
             workers, rf_err_name(rc), rf_last_error());
    return rc;
  }
  build_scope_nodes(b, 0);
  for (int o = 0; o < p->n_outputs && !b->build_rc; o++) {
    int i = p->outputs[o];
    rf_coll *c = p->nodes[i].is_arr ? rf_arr_collection(b->arr[i]) : b->coll[i];
    b->caps[o].arity = p->nodes[i].arity;
    rf_coll *ic = rf_inspect(c, cb_capture, &b->caps[o]);
    b->probes[o] = rf_probe_new(ic);
    if (!b->probes[o]) note_null(b, i, "the output's inspect and probe");
    const or_node *n = &p->nodes[i];
    uint32_t k = n->is_arr ? n->key_arity : 1 + (uint32_t)o % (n->arity < 2 ? 1 : 2);
    rf_arr *va = n->is_arr ? b->arr[i] : rf_arrange(c, k);
    b->views[o] = rf_view_new(va);
    b->view_key_arity[o] = k;
    b->view_retains[o] = o % 2 == 0;
    if (!b->views[o]) {
      note_null(b, i, "the output's view");
    } else if (b->view_retains[o]) {
      int vrc = rf_view_retain_from(b->views[o], 0);
      if (vrc && !b->build_rc) {
        b->build_rc = vrc;
        snprintf(b->build_err, sizeof b->build_err,
                 "rf_view_retain_from(view of o%d, 0) before start failed: %s (%s)", o,
                 rf_err_name(vrc), rf_last_error());
      }
    }
  }
  if (!b->build_rc && rf_graph_error(b->g)) {
    b->build_rc = rf_graph_error(b->g);
    snprintf(b->build_err, sizeof b->build_err,
             "every builder returned a handle, yet rf_graph_error says %s (%s)",
             rf_err_name(b->build_rc), rf_last_error());
  }
  return b->build_rc;
}

void or_built_destroy(or_built *b) {
  rf_graph_destroy(b->g);
  b->g = NULL;
  for (int o = 0; o < OR_MAX_OUTPUTS; o++) {
    free(b->caps[o].times);
    free(b->caps[o].recs);
    free(b->caps[o].diffs);
    pthread_mutex_destroy(&b->caps[o].mu);
  }
  pthread_mutex_destroy(&b->mu);
}
