/*
 * flow.c: the dataflow that keeps every schema's HyperViews materialized
 * (docs/hyperviews.md, "How the engine maintains them"). Built once per
 * rf_hv with the public engine API; schemas are data, so a schema change
 * flows through it like any delta.
 *
 *   dead   = iterate: targets of counting negations whose negator is live
 *   live   = delta antijoin dead
 *   top    = (O, p, d) for live selecting pointers; a view keyed by O
 *   rules  = live schema rules; a view keyed by (kind, S)
 *   TR     = (r, S, S2): the winning transform of role r in schema S,
 *            both schemas existing
 *   edge   = (S, O, S2, X): O's view under S embeds X's view under S2
 *   incl   = iterate: (S0, O0, S, X), every view (S, X) embedded at any
 *            depth in (S0, O0), roots (S0, O0, S0, O0) included
 *   change = incl joined with top: the change stream of every view
 */
#include <string.h>

#include "common/error.h"
#include "hyperviews/internal.h"

static const uint32_t COL0[] = {0};

/* (d, kind, S, key, S2) filters by kind. */
static int is_selection(void *ctx, const rf_value *r) { return r[1] == HV_RULE_SELECTION; }
static int is_transform(void *ctx, const rf_value *r) { return r[1] == HV_RULE_TRANSFORM; }

/* Transform rules keyed by (S, r): the latest live rule delta wins. */
static int pick_latest_rule(void *ctx, const rf_value *key, const rf_value *vals,
                            const rf_diff *counts, size_t n, rf_reduce_out *out) {
  const hv_catalog *cat = ctx;
  const hv_delta *best = NULL;
  const rf_value *best_val = NULL;
  for (size_t i = 0; i < n; i++) {
    if (counts[i] <= 0) continue;
    const rf_value *v = vals + 2 * i; /* (d, S2) */
    const hv_delta *d = hv_delta_of(cat, v[0]);
    if (!d) return rf__error(RF_ECORRUPT, "hyperviews: rule delta %llu unknown",
                             (unsigned long long)v[0]);
    if (!best || hv_delta_cmp(cat, d, best) > 0) {
      best = d;
      best_val = v;
    }
  }
  return best ? rf_reduce_push(out, &best_val[1], 1) : 0;
}

/* join of (d)->(O, p) with (d)->(r, X): (r, O, X). */
static int embed_candidate(void *ctx, const rf_value *d, const rf_value *op,
                           const rf_value *rx, rf_value *out) {
  out[0] = rx[0];
  out[1] = op[0];
  out[2] = rx[1];
  return 1;
}

/* join of (r)->(O, X) with (r)->(S, S2): (S, O, S2, X). */
static int make_edge(void *ctx, const rf_value *r, const rf_value *ox,
                     const rf_value *ss2, rf_value *out) {
  out[0] = ss2[0];
  out[1] = ox[0];
  out[2] = ss2[1];
  out[3] = ox[1];
  return 1;
}

/* join of (0)->(O) with (0)->(S): the root (S, O, S, O). */
static int make_root(void *ctx, const rf_value *k, const rf_value *o, const rf_value *s,
                     rf_value *out) {
  out[0] = s[0];
  out[1] = o[0];
  out[2] = s[0];
  out[3] = o[0];
  return 1;
}

/* (v) -> (0, v): everything under one key, for a cross product. */
static int under_zero(void *ctx, const rf_value *in, rf_value *out) {
  out[0] = 0;
  out[1] = in[0];
  return 0;
}

/* join of (S, X)->(S0, O0) with (S, X)->(S2, Y): (S0, O0, S2, Y). */
static int step_down(void *ctx, const rf_value *sx, const rf_value *root,
                     const rf_value *next, rf_value *out) {
  out[0] = root[0];
  out[1] = root[1];
  out[2] = next[0];
  out[3] = next[1];
  return 1;
}

/* join of (X)->(S0, O0, S) with (X)->(p, d): (S0, O0, S, X, p, d). */
static int make_change(void *ctx, const rf_value *x, const rf_value *inc,
                       const rf_value *pd, rf_value *out) {
  out[0] = inc[0];
  out[1] = inc[1];
  out[2] = inc[2];
  out[3] = x[0];
  out[4] = pd[0];
  out[5] = pd[1];
  return 1;
}

/* dead: iterate over the negation graph. */
static rf_coll *dead_body(void *ctx, rf_scope *s, rf_coll *dead) {
  rf_coll *neg = ctx;
  static const uint32_t target[] = {1};
  return rf_project(rf_antijoin(rf_enter(s, neg), dead), 1, target);
}

typedef struct incl_ctx {
  rf_arr *edges; /* (S, O) -> (S2, X), top scope */
  rf_coll *roots;
} incl_ctx;

static rf_coll *incl_body(void *ctx, rf_scope *s, rf_coll *incl) {
  incl_ctx *c = ctx;
  static const uint32_t by_view[] = {2, 3, 0, 1};
  rf_arr *at = rf_arrange(rf_project(incl, 4, by_view), 2);
  rf_coll *deeper = rf_join_map(at, rf_arr_enter(s, c->edges), 4, step_down, NULL);
  return rf_arr_collection(rf_distinct(rf_concat(rf_enter(s, c->roots), deeper)));
}

int hv_flow_build(rf_hv *hv) {
  hv_flow *f = &hv->flow;
  rf_config cfg = {.workers = hv->workers};
  RF_FORWARD_IF_ERROR(rf_graph_create(&cfg, &f->g));
  rf_graph *g = f->g;

  rf_coll *delta = rf_input_new(g, "delta", 1, &f->in_delta);
  rf_coll *neg = rf_input_new(g, "neg", 2, &f->in_neg);
  rf_coll *sel = rf_input_new(g, "sel", 3, &f->in_sel);
  rf_coll *ref = rf_input_new(g, "ref", 3, &f->in_ref);
  rf_coll *rule = rf_input_new(g, "rule", 5, &f->in_rule);

  /* Liveness. */
  static const uint32_t target[] = {1};
  rf_coll *dead = rf_iterate(rf_project(neg, 1, target), dead_body, neg);
  rf_coll *live = rf_antijoin(delta, dead);

  /* First-level HyperViews. */
  rf_coll *sel_live = rf_semijoin(sel, live); /* (d, O, p) */
  static const uint32_t o_p_d[] = {1, 2, 0};
  rf_arr *top = rf_arrange(rf_project(sel_live, 3, o_p_d), 1);
  rf_arr *objects = rf_distinct(rf_project(rf_arr_collection(top), 1, COL0));

  /* Schemas and their rules. */
  rf_coll *rules_live = rf_semijoin(rule, live);
  static const uint32_t kind_s_key_s2_d[] = {1, 2, 3, 4, 0};
  rf_arr *rules = rf_arrange(rf_project(rules_live, 5, kind_s_key_s2_d), 2);
  static const uint32_t s_col[] = {2};
  rf_arr *schemas = rf_distinct(rf_project(rf_filter(rules_live, is_selection, NULL), 1, s_col));
  rf_coll *schema_set = rf_arr_collection(schemas);

  static const uint32_t s_r_d_s2[] = {2, 3, 0, 4};
  rf_arr *latest = rf_reduce(
      rf_arrange(rf_project(rf_filter(rules_live, is_transform, NULL), 4, s_r_d_s2), 2), 1,
      pick_latest_rule, hv->cat); /* (S, r) -> S2 */
  static const uint32_t s2_s_r[] = {2, 0, 1}, s_s2_r[] = {1, 0, 2}, r_s_s2[] = {2, 0, 1};
  rf_coll *tr = rf_semijoin(rf_project(rf_arr_collection(latest), 3, s2_s_r), schema_set);
  tr = rf_semijoin(rf_project(tr, 3, s_s2_r), schema_set); /* (S, S2, r) */
  rf_arr *tr_by_role = rf_arrange(rf_project(tr, 3, r_s_s2), 1);

  /* Which view embeds which. */
  rf_arr *sel_by_delta = rf_arrange(sel_live, 1);
  rf_coll *cand = rf_join_map(sel_by_delta, rf_arrange(ref, 1), 3, embed_candidate, NULL);
  rf_coll *edge = rf_join_map(rf_arrange(cand, 1), tr_by_role, 4, make_edge, NULL);
  rf_arr *edges = rf_arrange(rf_arr_collection(rf_distinct(edge)), 2);

  rf_coll *roots = rf_join_map(rf_arrange(rf_map(rf_arr_collection(objects), 2, under_zero, NULL), 1),
                               rf_arrange(rf_map(schema_set, 2, under_zero, NULL), 1), 4,
                               make_root, NULL);
  incl_ctx ic = {.edges = edges, .roots = roots};
  rf_coll *incl = rf_iterate(roots, incl_body, &ic);

  /* The change stream. */
  static const uint32_t x_s0_o0_s[] = {3, 0, 1, 2};
  rf_coll *changes = rf_join_map(rf_arrange(rf_project(incl, 4, x_s0_o0_s), 1), top, 6,
                                 make_change, NULL);
  changes = rf_inspect(rf_consolidate(changes), hv_hub_on_change, hv->hub);

  f->top = rf_view_new(top);
  f->objects = rf_view_new(objects);
  f->schemas = rf_view_new(schemas);
  f->rules = rf_view_new(rules);
  /* Keep every time until the writer moves this forward (hv.c), so that
   * the four views can be read at one common time. */
  rf_view *views[] = {f->top, f->objects, f->schemas, f->rules};
  for (size_t i = 0; i < 4; i++)
    if (views[i]) RF_FORWARD_IF_ERROR(rf_view_retain_from(views[i], 0));
  f->done[0] = rf_probe_new(rf_arr_collection(top));
  f->done[1] = rf_probe_new(rf_arr_collection(objects));
  f->done[2] = rf_probe_new(schema_set);
  f->done[3] = rf_probe_new(rf_arr_collection(rules));
  f->done[4] = f->changes = rf_probe_new(changes);
  RF_FORWARD_IF_ERROR(rf_graph_start(g));
  /* Time 0 is empty: every batch is at time 1 or later. */
  rf_input *ins[] = {f->in_delta, f->in_neg, f->in_sel, f->in_ref, f->in_rule};
  for (size_t i = 0; i < 5; i++) RF_FORWARD_IF_ERROR(rf_input_advance_to(ins[i], 1));
  return 0;
}
