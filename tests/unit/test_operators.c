/*
 * test_operators.c: every operator on hand-worked cases: the empty
 * collection, a key that drops to zero and returns, several epochs fed
 * before one step, joins (self-join and a shared arrangement), reduce
 * built-ins, iterate (non-monotone and nested), and live views.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "collect.h"
#include "rhizoflow.h"

static rf_graph *new_graph(void) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  return g;
}

static void start(rf_graph *g) {
  int rc = rf_graph_start(g);
  cr_assert_eq(rc, 0, "start: %s (%s)", rf_strerror(rc), rf_last_error());
}

static void upd(rf_input *in, rf_value a, rf_value b, rf_diff d) {
  rf_value r[2] = {a, b};
  cr_assert_eq(rf_input_update(in, r, 2, d), 0, "%s", rf_last_error());
}

static void upd1(rf_input *in, rf_value a, rf_diff d) {
  cr_assert_eq(rf_input_update(in, &a, 1, d), 0, "%s", rf_last_error());
}

static void settle(rf_input *in, rf_probe *p, rf_time t) {
  cr_assert_eq(rf_input_advance_to(in, t + 1), 0);
  int rc = rf_probe_wait(p, t);
  cr_assert_eq(rc, 0, "probe_wait(%llu): %s", (unsigned long long)t, rf_last_error());
}

static rf_diff count2(const collected *c, rf_value a, rf_value b, rf_time t) {
  rf_value r[2] = {a, b};
  return collected_count(c, r, t);
}

/* ------------------------------------------------------------------ */

static int double_second(void *ctx, const rf_value *in, rf_value *out) {
  out[0] = in[0];
  out[1] = in[1] * 2;
  return 0;
}

static int keep_even_key(void *ctx, const rf_value *rec) { return rec[0] % 2 == 0; }

static int explode(void *ctx, const rf_value *in, rf_emitter *e) {
  for (rf_value i = 0; i < in[1]; i++) {
    rf_value r[2] = {in[0], i};
    if (rf_emit(e, r) < 0) return -1;
  }
  return 0;
}

Test(operators, per_record_ops) {
  rf_graph *g = new_graph();
  rf_input *in;
  rf_coll *c = rf_input_new(g, "pairs", 2, &in);
  collected mapped = {0}, filtered = {0}, flat = {0}, neg = {0}, cat = {0};
  rf_inspect(rf_map(c, 2, double_second, NULL), collect_fn, &mapped);
  rf_inspect(rf_filter(c, keep_even_key, NULL), collect_fn, &filtered);
  rf_inspect(rf_flat_map(c, 2, explode, NULL), collect_fn, &flat);
  rf_inspect(rf_negate(c), collect_fn, &neg);
  rf_probe *p = rf_probe_new(rf_inspect(rf_concat(c, c), collect_fn, &cat));
  start(g);
  upd(in, 1, 3, 1);
  upd(in, 2, 2, 1);
  settle(in, p, 0);
  cr_expect_eq(count2(&mapped, 1, 6, 0), 1);
  cr_expect_eq(count2(&mapped, 2, 4, 0), 1);
  cr_expect_eq(count2(&filtered, 2, 2, 0), 1);
  cr_expect_eq(count2(&filtered, 1, 3, 0), 0);
  cr_expect_eq(collected_size(&flat, 0), 5);
  cr_expect_eq(count2(&neg, 1, 3, 0), -1);
  cr_expect_eq(count2(&cat, 1, 3, 0), 2);
  upd(in, 1, 3, -1);
  settle(in, p, 1);
  cr_expect_eq(count2(&mapped, 1, 6, 1), 0);
  cr_expect_eq(collected_size(&flat, 1), 2);
  collected_free(&mapped), collected_free(&filtered), collected_free(&flat);
  collected_free(&neg), collected_free(&cat);
  rf_graph_destroy(g);
}

Test(operators, empty_collection) {
  rf_graph *g = new_graph();
  rf_input *in;
  rf_coll *c = rf_input_new(g, "empty", 2, &in);
  collected cnt = {0}, joined = {0};
  rf_arr *a = rf_arrange(c, 1);
  rf_inspect(rf_arr_collection(rf_count(a)), collect_fn, &cnt);
  rf_probe *p = rf_probe_new(rf_inspect(rf_join(a, a), collect_fn, &joined));
  start(g);
  for (rf_time t = 0; t < 3; t++) settle(in, p, t);
  cr_expect_eq(cnt.n, 0);
  cr_expect_eq(joined.n, 0);
  cr_expect_eq(rf_input_close(in), 0);
  cr_expect_eq(rf_graph_run(g), 0);
  cr_expect(rf_probe_done(p, 1000000));
  collected_free(&cnt), collected_free(&joined);
  rf_graph_destroy(g);
}

Test(operators, count_key_drops_to_zero_and_returns) {
  rf_graph *g = new_graph();
  rf_input *in;
  rf_coll *c = rf_input_new(g, "kv", 2, &in);
  collected cnt = {0};
  rf_probe *p = rf_probe_new(rf_inspect(rf_arr_collection(rf_count(rf_arrange(c, 1))),
                                        collect_fn, &cnt));
  start(g);
  upd(in, 7, 1, 1);
  upd(in, 7, 2, 1);
  settle(in, p, 0);
  cr_expect_eq(count2(&cnt, 7, rf_from_i64(2), 0), 1);
  upd(in, 7, 1, -1);
  upd(in, 7, 2, -1);
  settle(in, p, 1);
  cr_expect_eq(collected_size(&cnt, 1), 0, "key 7 must be absent at time 1");
  upd(in, 7, 5, 1);
  settle(in, p, 2);
  cr_expect_eq(count2(&cnt, 7, rf_from_i64(1), 2), 1);
  cr_expect_eq(collected_size(&cnt, 2), 1);
  collected_free(&cnt);
  rf_graph_destroy(g);
}

Test(operators, several_epochs_before_one_step) {
  rf_graph *g = new_graph();
  rf_input *in;
  rf_coll *c = rf_input_new(g, "kv", 2, &in);
  collected sum = {0};
  rf_probe *p = rf_probe_new(rf_inspect(rf_arr_collection(rf_sum(rf_arrange(c, 1))),
                                        collect_fn, &sum));
  start(g);
  /* Times 0..3 fed without stepping; then one wait covers them all. */
  upd(in, 1, rf_from_i64(10), 1);
  cr_assert_eq(rf_input_advance_to(in, 1), 0);
  upd(in, 1, rf_from_i64(5), 1);
  cr_assert_eq(rf_input_advance_to(in, 2), 0);
  upd(in, 1, rf_from_i64(10), -1);
  cr_assert_eq(rf_input_advance_to(in, 3), 0);
  upd(in, 1, rf_from_i64(-7), 2);
  settle(in, p, 3);
  cr_expect_eq(count2(&sum, 1, rf_from_i64(10), 0), 1);
  cr_expect_eq(count2(&sum, 1, rf_from_i64(15), 1), 1);
  cr_expect_eq(count2(&sum, 1, rf_from_i64(5), 2), 1);
  cr_expect_eq(count2(&sum, 1, rf_from_i64(-9), 3), 1);
  cr_expect_eq(collected_size(&sum, 3), 1);
  collected_free(&sum);
  rf_graph_destroy(g);
}

Test(operators, join_self_join_and_shared_arrangement) {
  rf_graph *g = new_graph();
  rf_input *ia, *ib;
  rf_coll *a = rf_input_new(g, "a", 2, &ia);
  rf_coll *b = rf_input_new(g, "b", 2, &ib);
  rf_arr *aa = rf_arrange(a, 1), *bb = rf_arrange(b, 1);
  collected ab = {0}, aa2 = {0};
  rf_coll *j1 = rf_inspect(rf_join(aa, bb), collect_fn, &ab);
  rf_coll *j2 = rf_inspect(rf_join(aa, aa), collect_fn, &aa2); /* self-join, same arrangement */
  rf_probe *p = rf_probe_new(rf_concat(rf_project(j1, 2, (uint32_t[]){0, 1}),
                                       rf_project(j2, 2, (uint32_t[]){0, 1})));
  start(g);
  upd(ia, 1, 10, 1);
  upd(ia, 1, 11, 1);
  upd(ib, 1, 20, 2);
  upd(ib, 2, 21, 1);
  cr_assert_eq(rf_input_advance_to(ib, 1), 0);
  settle(ia, p, 0);
  rf_value r[3];
  r[0] = 1, r[1] = 10, r[2] = 20;
  cr_expect_eq(collected_count(&ab, r, 0), 2);
  r[1] = 11;
  cr_expect_eq(collected_count(&ab, r, 0), 2);
  cr_expect_eq(collected_size(&ab, 0), 2);
  cr_expect_eq(collected_size(&aa2, 0), 4); /* (1,10|11,10|11) */
  /* Time 1: retract (1,10) from a, add (2,30): join updates incrementally. */
  upd(ia, 1, 10, -1);
  upd(ia, 2, 30, 1);
  cr_assert_eq(rf_input_advance_to(ib, 2), 0);
  settle(ia, p, 1);
  r[0] = 1, r[1] = 10, r[2] = 20;
  cr_expect_eq(collected_count(&ab, r, 1), 0);
  r[0] = 2, r[1] = 30, r[2] = 21;
  cr_expect_eq(collected_count(&ab, r, 1), 1);
  cr_expect_eq(collected_size(&aa2, 1), 2); /* (1,11,11) and (2,30,30) */
  collected_free(&ab), collected_free(&aa2);
  rf_graph_destroy(g);
}

Test(operators, semijoin_antijoin) {
  rf_graph *g = new_graph();
  rf_input *ic, *ik;
  rf_coll *c = rf_input_new(g, "c", 2, &ic);
  rf_coll *k = rf_input_new(g, "k", 1, &ik);
  collected semi = {0}, anti = {0};
  rf_inspect(rf_semijoin(c, k), collect_fn, &semi);
  rf_probe *p = rf_probe_new(rf_inspect(rf_antijoin(c, k), collect_fn, &anti));
  start(g);
  upd(ic, 1, 1, 1);
  upd(ic, 2, 2, 1);
  upd1(ik, 1, 3); /* duplicates in keys: still present once */
  cr_assert_eq(rf_input_advance_to(ik, 1), 0);
  settle(ic, p, 0);
  cr_expect_eq(count2(&semi, 1, 1, 0), 1);
  cr_expect_eq(count2(&semi, 2, 2, 0), 0);
  cr_expect_eq(count2(&anti, 2, 2, 0), 1);
  cr_expect_eq(count2(&anti, 1, 1, 0), 0);
  upd1(ik, 1, -3);
  upd1(ik, 2, 1);
  cr_assert_eq(rf_input_advance_to(ik, 2), 0);
  settle(ic, p, 1);
  cr_expect_eq(count2(&semi, 1, 1, 1), 0);
  cr_expect_eq(count2(&semi, 2, 2, 1), 1);
  cr_expect_eq(count2(&anti, 1, 1, 1), 1);
  cr_expect_eq(count2(&anti, 2, 2, 1), 0);
  collected_free(&semi), collected_free(&anti);
  rf_graph_destroy(g);
}

static rf_diff at_least_two(void *ctx, rf_diff c) { return c >= 2 ? 1 : 0; }

static int top_two(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                   size_t n, rf_reduce_out *out) {
  for (size_t i = n > 2 ? n - 2 : 0; i < n; i++)
    if (rf_reduce_push(out, &vals[i], 1) < 0) return -1;
  return 0;
}

Test(operators, reduce_builtins_under_retraction) {
  rf_graph *g = new_graph();
  rf_input *in;
  rf_coll *c = rf_input_new(g, "kv", 2, &in);
  rf_arr *a = rf_arrange(c, 1);
  collected mn = {0}, mx = {0}, th = {0}, dis = {0}, top = {0};
  rf_inspect(rf_arr_collection(rf_min(a)), collect_fn, &mn);
  rf_inspect(rf_arr_collection(rf_max(a)), collect_fn, &mx);
  rf_inspect(rf_arr_collection(rf_threshold(a, at_least_two, NULL)), collect_fn, &th);
  rf_inspect(rf_arr_collection(rf_distinct(c)), collect_fn, &dis);
  rf_probe *p = rf_probe_new(rf_inspect(rf_arr_collection(rf_reduce(a, 1, top_two, NULL)),
                                        collect_fn, &top));
  start(g);
  upd(in, 1, 5, 1);
  upd(in, 1, 3, 2);
  upd(in, 1, 9, 1);
  settle(in, p, 0);
  cr_expect_eq(count2(&mn, 1, 3, 0), 1);
  cr_expect_eq(count2(&mx, 1, 9, 0), 1);
  cr_expect_eq(count2(&th, 1, 3, 0), 1);
  cr_expect_eq(count2(&th, 1, 5, 0), 0);
  cr_expect_eq(count2(&dis, 1, 3, 0), 1);
  cr_expect_eq(count2(&top, 1, 5, 0), 1);
  cr_expect_eq(count2(&top, 1, 9, 0), 1);
  upd(in, 1, 3, -2); /* the minimum goes away */
  upd(in, 1, 9, -1); /* and the maximum */
  settle(in, p, 1);
  cr_expect_eq(count2(&mn, 1, 5, 1), 1);
  cr_expect_eq(count2(&mn, 1, 3, 1), 0);
  cr_expect_eq(count2(&mx, 1, 5, 1), 1);
  cr_expect_eq(collected_size(&th, 1), 0);
  cr_expect_eq(count2(&dis, 1, 3, 1), 0);
  cr_expect_eq(collected_size(&top, 1), 1);
  collected_free(&mn), collected_free(&mx), collected_free(&th), collected_free(&dis);
  collected_free(&top);
  rf_graph_destroy(g);
}

/* Reachability from node 0: reach = {0} ∪ {dst : (src, dst) ∈ edges, src ∈ reach}. */
typedef struct reach_ctx {
  rf_arr *edges;
} reach_ctx;

static int to_dst(void *ctx, const rf_value *key, const rf_value *va, const rf_value *vb,
                  rf_value *out) {
  out[0] = vb[0];
  return 1;
}

static rf_coll *reach_body(void *ctx, rf_scope *s, rf_coll *reach) {
  reach_ctx *r = ctx;
  rf_coll *next = rf_join_map(rf_arrange(reach, 1), rf_arr_enter(s, r->edges), 1, to_dst, NULL);
  /* distinct(next ∪ reach): keeps the loop from counting paths */
  return rf_arr_collection(rf_distinct(rf_concat(next, reach)));
}

Test(operators, iterate_reachability_with_retraction) {
  rf_graph *g = new_graph();
  rf_input *ie, *ir;
  rf_coll *edges = rf_input_new(g, "edges", 2, &ie);
  rf_coll *roots = rf_input_new(g, "roots", 1, &ir);
  reach_ctx ctx = {rf_arrange(edges, 1)};
  collected reach = {0};
  rf_probe *p = rf_probe_new(rf_inspect(rf_consolidate(rf_iterate(roots, reach_body, &ctx)),
                                        collect_fn, &reach));
  start(g);
  upd1(ir, 0, 1);
  upd(ie, 0, 1, 1);
  upd(ie, 1, 2, 1);
  upd(ie, 2, 0, 1); /* a cycle */
  upd(ie, 3, 4, 1);
  cr_assert_eq(rf_input_advance_to(ir, 1), 0);
  settle(ie, p, 0);
  cr_expect_eq(collected_size(&reach, 0), 3);
  rf_value n2 = 2, n3 = 3, n4 = 4;
  cr_expect_eq(collected_count(&reach, &n2, 0), 1);
  upd(ie, 1, 2, -1); /* cut: 2 no longer reachable */
  upd(ie, 0, 3, 1);  /* 3 and 4 now are */
  cr_assert_eq(rf_input_advance_to(ir, 2), 0);
  settle(ie, p, 1);
  cr_expect_eq(collected_count(&reach, &n2, 1), 0);
  cr_expect_eq(collected_count(&reach, &n3, 1), 1);
  cr_expect_eq(collected_count(&reach, &n4, 1), 1);
  cr_expect_eq(collected_size(&reach, 1), 4);
  collected_free(&reach);
  rf_graph_destroy(g);
}

/* Non-monotone: nodes reachable from 0 in an even number of steps but not
 * an odd number, as a nested computation: the outer loop repeats an inner
 * reachability (nested iterate) and subtracts with antijoin. */
static rf_coll *inner_body(void *ctx, rf_scope *s, rf_coll *x) {
  rf_arr *edges = ctx;
  rf_coll *next = rf_join_map(rf_arrange(x, 1), rf_arr_enter(s, edges), 1, to_dst, NULL);
  return rf_arr_collection(rf_distinct(rf_concat(next, x)));
}

typedef struct outer_ctx {
  rf_arr *edges;
  rf_coll *blocked;
} outer_ctx;

static rf_coll *outer_body(void *ctx, rf_scope *s, rf_coll *x) {
  outer_ctx *o = ctx;
  rf_arr *edges = rf_arr_enter(s, o->edges);
  rf_coll *reach = rf_iterate(x, inner_body, edges);                 /* nested */
  rf_coll *allowed = rf_antijoin(reach, rf_enter(s, o->blocked));    /* non-monotone */
  return rf_arr_collection(rf_distinct(rf_concat(allowed, x)));
}

Test(operators, nested_iterate_with_antijoin) {
  rf_graph *g = new_graph();
  rf_input *ie, *ir, *ib;
  rf_coll *edges = rf_input_new(g, "edges", 2, &ie);
  rf_coll *roots = rf_input_new(g, "roots", 1, &ir);
  rf_coll *blocked = rf_input_new(g, "blocked", 1, &ib);
  outer_ctx ctx = {rf_arrange(edges, 1), blocked};
  collected out = {0};
  rf_probe *p = rf_probe_new(rf_inspect(rf_consolidate(rf_iterate(roots, outer_body, &ctx)),
                                        collect_fn, &out));
  start(g);
  upd1(ir, 0, 1);
  for (rf_value i = 0; i < 5; i++) upd(ie, i, i + 1, 1); /* a path 0..5 */
  upd1(ib, 3, 1);                                          /* 3 blocked: the walk passes it */
  cr_assert_eq(rf_input_advance_to(ir, 1), 0);
  cr_assert_eq(rf_input_advance_to(ib, 1), 0);
  settle(ie, p, 0);
  /* Reachability ignores blocking (blocked nodes are just not reported):
   * {0,1,2,4,5}. */
  cr_expect_eq(collected_size(&out, 0), 5, "got %zu", collected_size(&out, 0));
  rf_value n3 = 3;
  cr_expect_eq(collected_count(&out, &n3, 0), 0);
  upd1(ib, 3, -1);
  cr_assert_eq(rf_input_advance_to(ir, 2), 0);
  cr_assert_eq(rf_input_advance_to(ib, 2), 0);
  settle(ie, p, 1);
  cr_expect_eq(collected_count(&out, &n3, 1), 1);
  cr_expect_eq(collected_size(&out, 1), 6);
  collected_free(&out);
  rf_graph_destroy(g);
}

typedef struct view_hit {
  rf_value val;
  rf_diff count;
  int n;
} view_hit;

static int view_visit(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  view_hit *h = ctx;
  h->val = val[0];
  h->count = count;
  h->n++;
  return 0;
}

Test(operators, view_lookup_and_time_travel) {
  rf_graph *g = new_graph();
  rf_input *in;
  rf_coll *c = rf_input_new(g, "kv", 2, &in);
  rf_arr *sums = rf_sum(rf_arrange(c, 1));
  rf_view *v = rf_view_new(sums);
  rf_probe *p = rf_probe_new(rf_arr_collection(sums));
  cr_assert_eq(rf_view_retain_from(v, 0), 0);
  start(g);
  rf_value key = 4;
  view_hit h = {0};
  cr_expect_eq(rf_view_lookup(v, &key, RF_TIME_LATEST, view_visit, &h), RF_EPENDING);
  upd(in, 4, rf_from_i64(3), 1);
  settle(in, p, 0);
  upd(in, 4, rf_from_i64(4), 1);
  settle(in, p, 1);
  h = (view_hit){0};
  cr_assert_eq(rf_view_lookup(v, &key, 0, view_visit, &h), 0, "%s", rf_last_error());
  cr_expect_eq(h.n, 1);
  cr_expect_eq(rf_to_i64(h.val), 3);
  h = (view_hit){0};
  cr_assert_eq(rf_view_lookup(v, &key, RF_TIME_LATEST, view_visit, &h), 0);
  cr_expect_eq(rf_to_i64(h.val), 7);
  cr_expect_eq(rf_view_lookup(v, &key, 5, view_visit, &h), RF_EPENDING);
  /* Let history go: time 0 is compacted away, the latest stays readable. */
  cr_assert_eq(rf_view_retain_from(v, 1), 0);
  settle(in, p, 2);
  cr_assert_eq(rf_graph_run(g), 0); /* compaction happens as the dataflow runs */
  cr_expect_eq(rf_view_lookup(v, &key, 0, view_visit, &h), RF_ECOMPACTED);
  h = (view_hit){0};
  cr_assert_eq(rf_view_lookup(v, &key, 2, view_visit, &h), 0, "%s", rf_last_error());
  cr_expect_eq(rf_to_i64(h.val), 7);
  rf_graph_destroy(g);
}

Test(operators, memory_falls_back_after_burst) {
  rf_graph *g = new_graph();
  rf_input *in;
  rf_coll *c = rf_input_new(g, "burst", 2, &in);
  rf_arr *a = rf_arrange(c, 1);
  rf_probe *p = rf_probe_new(rf_arr_collection(rf_count(a)));
  start(g);
  const rf_value n = 200000;
  for (rf_value i = 0; i < n; i++) upd(in, i % 5000, i, 1);
  settle(in, p, 0);
  rf_stats st;
  cr_assert_eq(rf_graph_stats(g, &st), 0);
  cr_expect_geq(st.retained_updates, n, "the arrangement holds the burst: %llu",
                (unsigned long long)st.retained_updates);
  /* Each retained update costs at least its value and diff, 16 bytes. */
  cr_expect_geq(st.retained_bytes, 16 * st.retained_updates, "%llu bytes for %llu updates",
                (unsigned long long)st.retained_bytes, (unsigned long long)st.retained_updates);
  for (rf_value i = 0; i < n; i++) upd(in, i % 5000, i, -1);
  settle(in, p, 1);
  settle(in, p, 2);
  cr_assert_eq(rf_graph_run(g), 0); /* idle merging */
  cr_assert_eq(rf_graph_stats(g, &st), 0);
  cr_expect_leq(st.retained_updates, 100, "after retraction and compaction: %llu retained",
                (unsigned long long)st.retained_updates);
  cr_expect_leq(st.retained_bytes, 64 * 1024, "after compaction: %llu bytes retained",
                (unsigned long long)st.retained_bytes);
  rf_graph_destroy(g);
}

/* A graph counting its input's changes by key (column 0), with a view of
 * the counts and a probe after them; not started. */
typedef struct counting {
  rf_graph *g;
  rf_input *in;
  rf_view *v;
  rf_probe *p;
} counting;

static counting counting_graph(uint32_t workers) {
  counting c;
  cr_assert_eq(rf_graph_create(&(rf_config){.workers = workers}, &c.g), 0);
  rf_arr *counts = rf_count(rf_arrange(rf_input_new(c.g, "changes", 2, &c.in), 1));
  c.v = rf_view_new(counts);
  c.p = rf_probe_new(rf_arr_collection(counts));
  return c;
}

/* The view's counts at t after changes 0..fed-1, change i on key i % keys:
 * one value per key, key k counted fed / keys times plus one if k < fed %
 * keys. */
static void expect_counts(rf_view *v, uint32_t workers, rf_value keys, rf_value fed, rf_time t) {
  for (rf_value k = 0; k < keys; k++) {
    view_hit h = {0};
    int64_t want = (int64_t)(fed / keys + (k < fed % keys));
    cr_assert_eq(rf_view_lookup(v, &k, t, view_visit, &h), 0, "%s", rf_last_error());
    cr_expect_eq(h.n, 1, "workers %u, key %llu at %llu", workers, (unsigned long long)k,
                 (unsigned long long)t);
    cr_expect_eq(rf_to_i64(h.val), want, "workers %u, key %llu at %llu: count %lld", workers,
                 (unsigned long long)k, (unsigned long long)t, (long long)rf_to_i64(h.val));
  }
}

/* One change per time (as the BFS benchmark feeds its rounds), counted by
 * key: the counts are right with 1 and 2 workers, and rf_graph_stats
 * counts the scheduler's activity (with 2, the arrangement's exchange
 * sends data, and progress goes between the workers). */
static void count_one_change_per_time(uint32_t workers) {
  counting c = counting_graph(workers);
  start(c.g);
  rf_stats before, after;
  cr_assert_eq(rf_graph_stats(c.g, &before), 0);
  const rf_value n = 1000, keys = 10;
  for (rf_value i = 0; i < n; i++) {
    upd(c.in, i % keys, i, 1);
    cr_assert_eq(rf_input_advance_to(c.in, i + 1), 0);
  }
  cr_assert_eq(rf_probe_wait(c.p, n - 1), 0, "%s", rf_last_error());
  /* The view's frontier may trail the probe's (rf_view_new): a step waits
   * until the workers have nothing left to do. */
  cr_assert_geq(rf_graph_step(c.g), 0, "%s", rf_last_error());
  expect_counts(c.v, workers, keys, n, n - 1);
  cr_assert_eq(rf_graph_stats(c.g, &after), 0);
  cr_expect_gt(after.operator_runs, before.operator_runs, "workers %u", workers);
  if (workers == 1) {
    cr_expect_eq(after.worker_messages, 0);
    cr_expect_eq(after.progress_messages, 0);
  } else {
    cr_expect_gt(after.worker_messages, before.worker_messages);
    cr_expect_gt(after.progress_messages, before.progress_messages);
  }
  rf_graph_destroy(c.g);
}

Test(operators, one_change_per_time_and_scheduler_stats) {
  count_one_change_per_time(1);
  count_one_change_per_time(2);
}

/* rf_graph_compact after many small batches (one change per time): every
 * arrangement ends as one batch per worker, the counts read the same
 * before and after, and later changes count on top (1, 2 and 3 workers). */
static void compact_after_small_batches(uint32_t workers) {
  counting c = counting_graph(workers);
  start(c.g);
  const rf_value n = 3000, keys = 50;
  for (rf_value i = 0; i < n; i++) {
    upd(c.in, i % keys, i, 1);
    cr_assert_eq(rf_input_advance_to(c.in, i + 1), 0);
    /* Waiting now and then: one worker then also gets many batches. */
    if (i % 100 == 99) cr_assert_eq(rf_probe_wait(c.p, i), 0, "%s", rf_last_error());
  }
  cr_assert_geq(rf_graph_step(c.g), 0, "%s", rf_last_error());
  expect_counts(c.v, workers, keys, n, n - 1);
  rf_stats before, after;
  cr_assert_eq(rf_graph_stats(c.g, &before), 0);
  cr_assert_eq(rf_graph_compact(c.g), 0, "%s", rf_last_error());
  cr_assert_eq(rf_graph_stats(c.g, &after), 0);
  /* Two arrangements (the input's and the counts'), each one batch per
   * worker. */
  cr_expect_leq(after.retained_batches, 2 * workers, "workers %u: %llu batches (%llu before)",
                workers, (unsigned long long)after.retained_batches,
                (unsigned long long)before.retained_batches);
  cr_expect_gt(before.retained_batches, after.retained_batches, "workers %u: %llu -> %llu",
               workers, (unsigned long long)before.retained_batches,
               (unsigned long long)after.retained_batches);
  cr_expect_leq(after.retained_updates, before.retained_updates);
  expect_counts(c.v, workers, keys, n, n - 1);
  for (rf_value i = n; i < 2 * n; i++) upd(c.in, i % keys, i, 1);
  cr_assert_eq(rf_input_advance_to(c.in, n + 1), 0);
  cr_assert_eq(rf_probe_wait(c.p, n), 0, "%s", rf_last_error());
  cr_assert_geq(rf_graph_step(c.g), 0, "%s", rf_last_error());
  expect_counts(c.v, workers, keys, 2 * n, n);
  rf_graph_destroy(c.g);
}

Test(operators, compact_leaves_one_batch_per_arrangement_and_worker) {
  cr_expect_eq(rf_graph_compact(NULL), RF_EINVAL);
  for (uint32_t w = 1; w <= 3; w++) compact_after_small_batches(w);
}

/* Steps the graph from a thread that does not feed its input: with several
 * workers that waits until everything submitted so far is processed, and
 * submits nothing of the feeder's own. */
static void *step_elsewhere(void *arg) {
  cr_assert_eq(rf_graph_step(arg), 0, "%s", rf_last_error());
  return NULL;
}

static void step_from_other_thread(rf_graph *g) {
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, step_elsewhere, g), 0);
  cr_assert_eq(pthread_join(t, NULL), 0);
}

/* A buffered input (rf_input_set_buffered) with 2 workers: advancing after
 * every change sends nothing (a thread that steps meanwhile finds time 0
 * still open), the changes go out at rf_input_flush, and turning buffering
 * off sends what was held back; the counts are those of every change. */
Test(operators, buffered_input_sends_at_flush) {
  cr_expect_eq(rf_input_set_buffered(NULL, true), RF_EINVAL);
  counting c = counting_graph(2);
  cr_assert_eq(rf_input_set_buffered(c.in, true), 0, "%s", rf_last_error());
  start(c.g);
  const rf_value n = 200, keys = 10;
  for (rf_value i = 0; i < n; i++) {
    upd(c.in, i % keys, i, 1);
    cr_assert_eq(rf_input_advance_to(c.in, i + 1), 0);
  }
  step_from_other_thread(c.g);
  cr_expect_not(rf_probe_done(c.p, 0), "a buffered input sent before its flush");
  cr_assert_eq(rf_input_flush(c.in), 0, "%s", rf_last_error());
  step_from_other_thread(c.g);
  cr_assert(rf_probe_done(c.p, n - 1), "the flush did not send the buffered changes");
  expect_counts(c.v, 2, keys, n, n - 1);
  /* Held back again, then sent by turning buffering off. */
  for (rf_value i = n; i < 2 * n; i++) {
    upd(c.in, i % keys, i, 1);
    cr_assert_eq(rf_input_advance_to(c.in, i + 1), 0);
  }
  step_from_other_thread(c.g);
  cr_expect_not(rf_probe_done(c.p, n), "a buffered input sent before its flush");
  cr_assert_eq(rf_input_set_buffered(c.in, false), 0, "%s", rf_last_error());
  step_from_other_thread(c.g);
  cr_assert(rf_probe_done(c.p, 2 * n - 1), "turning buffering off did not send");
  expect_counts(c.v, 2, keys, 2 * n, 2 * n - 1);
  /* Unbuffered again: every advance sends. */
  upd(c.in, 0, 2 * n, 1);
  cr_assert_eq(rf_input_advance_to(c.in, 2 * n + 1), 0);
  step_from_other_thread(c.g);
  cr_expect(rf_probe_done(c.p, 2 * n), "an unbuffered advance did not send");
  rf_graph_destroy(c.g);
}

/* Buffered inputs whose feeder waits: the wait sends them, with 1 and 2
 * workers (with one worker every input already waits for a step), also
 * when the last advance came with no change at all. */
Test(operators, buffered_input_sends_when_its_feeder_waits) {
  for (uint32_t workers = 1; workers <= 2; workers++) {
    counting c = counting_graph(workers);
    start(c.g);
    cr_assert_eq(rf_input_set_buffered(c.in, true), 0, "%s", rf_last_error());
    const rf_value per_round = 300, keys = 7;
    rf_time t = 0;
    rf_value fed = 0;
    for (int round = 0; round < 3; round++) {
      for (rf_value i = 0; i < per_round; i++, fed++) {
        upd(c.in, fed % keys, fed, 1);
        cr_assert_eq(rf_input_advance_to(c.in, ++t), 0);
      }
      t += 5;
      cr_assert_eq(rf_input_advance_to(c.in, t), 0);
      cr_assert_eq(rf_probe_wait(c.p, t - 1), 0, "workers %u: %s", workers, rf_last_error());
      /* The view's own frontier may trail the probe's (rf_view_new): a
       * step waits until the workers have nothing left to do. */
      cr_assert_geq(rf_graph_step(c.g), 0, "%s", rf_last_error());
      expect_counts(c.v, workers, keys, fed, t - 1);
    }
    rf_graph_destroy(c.g);
  }
}
