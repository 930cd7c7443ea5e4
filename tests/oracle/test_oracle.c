/*
 * test_oracle.c: the oracle tests. Each Criterion test draws seeded random
 * cases of one operator family (plus one mixed test over every operator),
 * runs each against the engine and checks every closed time against the
 * naive evaluator (see README.md). A failure prints the seed, the time, the
 * program, the stream and the differing records; RF_ORACLE_SEED=<seed>
 * replays exactly that case (and shrinks it), RF_ORACLE_CASES=<n> sets how
 * many cases each test runs, RF_ORACLE_WORKERS=1,2,... overrides the worker
 * counts (README.md lists the rest). Each run of a case happens in a child
 * process, so crashes and hangs are failures with a seed like any other.
 * Choosing and running the cases is in suite.c, shared with oracle_main.c
 * (the same cases without Criterion).
 * A few hand-computed programs check the evaluator itself.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluator.h"
#include "gen.h"
#include "suite.h"

/* Every case runs with each of these worker counts, and the outputs of all
 * of them must agree. Set OR_PARALLEL to 1 once the parallel scheduler lands
 * to run with 1, 2, 3 and 4 workers. */
#define OR_PARALLEL 1
#if OR_PARALLEL
static const uint32_t default_workers[] = {1, 2, 3, 4};
#else
static const uint32_t default_workers[] = {1};
#endif

/* ------------------------------------------------------------------ */
/* The family tests                                                    */
/* ------------------------------------------------------------------ */

static void replay_hint(FILE *f, or_family fam, uint64_t seed) {
  fprintf(f, "RF_ORACLE_SEED=0x%016" PRIx64 " ./test_oracle --filter 'oracle/%s'", seed,
          or_family_name(fam));
}

static void run_family(or_family fam, uint64_t default_cases) {
  or_suite_install_handlers();
  or_suite_config c;
  or_suite_config_from_env(&c, default_cases, default_workers,
                           sizeof default_workers / sizeof *default_workers);
  c.replay = replay_hint;
  or_family_result r;
  or_suite_run_family(fam, &c, &r);
  if (r.skipped) {
    cr_skip_test("RF_ORACLE_SEED=0x%016" PRIx64 " is a case of family %s", c.replay_seed,
                 or_family_name(or_seed_family(c.replay_seed)));
    return;
  }
  cr_assert(r.failures == 0,
            "oracle %s: %d failing case(s) (stops after %" PRIu64 "); first seed 0x%016" PRIx64
            ": replay with RF_ORACLE_SEED=0x%016" PRIx64,
            or_family_name(fam), r.failures, c.max_failures, r.first_failed, r.first_failed);
}

/* 2500 cases by default */
Test(oracle, basic) { run_family(OR_FAM_BASIC, 300); }
Test(oracle, join) { run_family(OR_FAM_JOIN, 350); }
Test(oracle, reduce) { run_family(OR_FAM_REDUCE, 350); }
Test(oracle, iterate) { run_family(OR_FAM_ITERATE, 400); }
Test(oracle, nested) { run_family(OR_FAM_NESTED, 400); }
Test(oracle, mixed) { run_family(OR_FAM_MIXED, 700); }

/* ------------------------------------------------------------------ */
/* The evaluator itself, on hand-computed programs                     */
/* ------------------------------------------------------------------ */

static int hn(or_program *p, or_op op, int scope, bool arr, uint32_t arity, uint32_t key, int a,
              int b) {
  int i = p->n_nodes++;
  or_node *n = &p->nodes[i];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->scope = scope;
  n->is_arr = arr;
  n->arity = arity;
  n->key_arity = key;
  n->fn.domain = p->domain;
  if (a >= 0) n->in[n->n_in++] = a;
  if (b >= 0) n->in[n->n_in++] = b;
  return i;
}

static void hupdate(or_stream *s, int step, int input, rf_value x, rf_value y, rf_diff d) {
  or_step *st = &s->steps[step];
  if (step >= s->n_steps) {
    s->n_steps = step + 1;
    st->time = (rf_time)step;
    st->advance_to = (rf_time)step + 1;
    st->wait = true;
    st->first = s->n_updates;
  }
  or_update *u = &s->updates[s->n_updates++];
  memset(u, 0, sizeof *u);
  u->input = input;
  u->rec[0] = x;
  u->rec[1] = y;
  u->diff = d;
  st->count++;
}

static void expect_coll(const or_coll *c, size_t n, const rf_value *recs, const rf_diff *cnts,
                        const char *what) {
  or_coll want;
  or_coll_init(&want, c->arity);
  for (size_t i = 0; i < n; i++) or_coll_push(&want, recs + i * c->arity, cnts[i]);
  or_coll_normalize(&want);
  or_buf b1, b2;
  or_buf_init(&b1);
  or_buf_init(&b2);
  or_dump_coll(&b1, c, 50);
  or_dump_coll(&b2, &want, 50);
  cr_expect(or_coll_equal(c, &want), "%s: got %s, want %s", what, b1.s, b2.s);
  or_buf_free(&b1);
  or_buf_free(&b2);
  or_coll_free(&want);
}

/* Reachability from roots over edges with rf_iterate:
 * v' = distinct(roots + project(join(v, edges), [1])). */
Test(evaluator, reachability) {
  or_program *p = calloc(1, sizeof *p);
  or_stream *s = calloc(1, sizeof *s);
  p->domain = 10;
  p->n_inputs = 2;
  p->input_arity[0] = 2; /* edges */
  p->input_arity[1] = 1; /* roots */
  p->n_scopes = 2;
  p->scopes[0].parent = -1;
  p->scopes[1].parent = 0;
  p->scopes[1].depth = 1;
  p->scopes[1].iterate_style = true;
  p->scopes[1].n_vars = 1;
  int edges = hn(p, OR_INPUT, 0, false, 2, 0, -1, -1);
  int roots = hn(p, OR_INPUT, 0, false, 1, 0, -1, -1);
  p->nodes[roots].input = 1;
  int v = hn(p, OR_VAR, 1, false, 1, 0, -1, -1);
  int av = hn(p, OR_ARRANGE, 1, true, 1, 1, v, -1);
  int ee = hn(p, OR_ENTER, 1, false, 2, 0, edges, -1);
  int ae = hn(p, OR_ARRANGE, 1, true, 2, 1, ee, -1);
  int j = hn(p, OR_JOIN, 1, false, 2, 0, av, ae);
  int pr = hn(p, OR_PROJECT, 1, false, 1, 0, j, -1);
  p->nodes[pr].cols[0] = 1;
  int re = hn(p, OR_ENTER, 1, false, 1, 0, roots, -1);
  int cat = hn(p, OR_CONCAT, 1, false, 1, 0, re, pr);
  int d = hn(p, OR_DISTINCT, 1, true, 1, 1, cat, -1);
  int dc = hn(p, OR_ARR_COLL, 1, false, 1, 0, d, -1);
  p->scopes[1].var_init[0] = roots;
  p->scopes[1].var_next[0] = dc;
  int it = hn(p, OR_ITERATE, 0, false, 1, 0, -1, -1);
  p->nodes[it].sub = 1;
  p->n_outputs = 1;
  p->outputs[0] = it;
  /* t0: 1->2, 2->3, 4->5, 3->1 (a cycle), root 1; t1: remove 2->3; t2: root 4 */
  hupdate(s, 0, 0, 1, 2, 1);
  hupdate(s, 0, 0, 2, 3, 1);
  hupdate(s, 0, 0, 4, 5, 1);
  hupdate(s, 0, 0, 3, 1, 1);
  hupdate(s, 0, 1, 1, 0, 1);
  hupdate(s, 1, 0, 2, 3, -1);
  hupdate(s, 2, 1, 4, 0, 2);
  or_expected e;
  char m[256];
  cr_assert_eq(or_eval_all(p, s, NULL, &e, m, sizeof m), OR_EVAL_OK, "%s", m);
  rf_value r0[] = {1, 2, 3}, r1[] = {1, 2}, r2[] = {1, 2, 4, 5};
  rf_diff ones[] = {1, 1, 1, 1};
  expect_coll(or_expected_at(&e, 0, 0), 3, r0, ones, "t0");
  expect_coll(or_expected_at(&e, 1, 0), 2, r1, ones, "t1");
  expect_coll(or_expected_at(&e, 2, 0), 4, r2, ones, "t2");
  or_expected_free(&e);
  free(p);
  free(s);
}

/* count, sum, min, max, distinct and threshold on one collection with
 * negative and zero-summing counts. */
Test(evaluator, reducers) {
  or_program *p = calloc(1, sizeof *p);
  or_stream *s = calloc(1, sizeof *s);
  p->domain = 10;
  p->n_inputs = 1;
  p->input_arity[0] = 2;
  p->n_scopes = 1;
  p->scopes[0].parent = -1;
  int in = hn(p, OR_INPUT, 0, false, 2, 0, -1, -1);
  int a = hn(p, OR_ARRANGE, 0, true, 2, 1, in, -1);
  int cnt = hn(p, OR_COUNT, 0, true, 2, 1, a, -1);
  int mn = hn(p, OR_MIN, 0, true, 2, 1, a, -1);
  int mx = hn(p, OR_MAX, 0, true, 2, 1, a, -1);
  int ds = hn(p, OR_DISTINCT, 0, true, 2, 2, in, -1);
  int th = hn(p, OR_THRESHOLD, 0, true, 2, 1, a, -1);
  p->nodes[th].fn.flavor = OR_TH_GE2;
  /* sum over (key, i64 value) */
  int in2 = hn(p, OR_MAP, 0, false, 2, 0, in, -1);
  p->nodes[in2].fn.flavor = OR_MAP_TO_I64; /* (k, v) -> (k, i64(v % 10 - 5)) */
  p->nodes[in2].fn.param = 0;
  p->nodes[in2].fn.in_arity = 2;
  p->nodes[in2].fn.out_arity = 2;
  int a2 = hn(p, OR_ARRANGE, 0, true, 2, 1, in2, -1);
  int sm = hn(p, OR_SUM, 0, true, 2, 1, a2, -1);
  int outs[] = {cnt, mn, mx, ds, th, sm};
  p->n_outputs = 6;
  memcpy(p->outputs, outs, sizeof outs);
  /* key 1: (1,3)x2 (1,7)x-1; key 2: (2,4)x1 (2,5)x-1 (counts sum to 0) */
  hupdate(s, 0, 0, 1, 3, 2);
  hupdate(s, 0, 0, 1, 7, -1);
  hupdate(s, 0, 0, 2, 4, 1);
  hupdate(s, 0, 0, 2, 5, -1);
  or_expected e;
  char m[256];
  cr_assert_eq(or_eval_all(p, s, NULL, &e, m, sizeof m), OR_EVAL_OK, "%s", m);
  rf_value c_recs[] = {1, rf_from_i64(1), 2, rf_from_i64(0)};
  rf_value min_recs[] = {1, 3, 2, 4}, max_recs[] = {1, 7, 2, 5};
  rf_value ds_recs[] = {1, 3, 2, 4}, th_recs[] = {1, 3};
  rf_value sum_recs[] = {1, rf_from_i64(2 * (3 - 5) - (7 - 5)), 2, rf_from_i64((4 - 5) - (5 - 5))};
  rf_diff ones[] = {1, 1};
  expect_coll(or_expected_at(&e, 0, 0), 2, c_recs, ones, "count");
  expect_coll(or_expected_at(&e, 0, 1), 2, min_recs, ones, "min");
  expect_coll(or_expected_at(&e, 0, 2), 2, max_recs, ones, "max");
  expect_coll(or_expected_at(&e, 0, 3), 2, ds_recs, ones, "distinct");
  expect_coll(or_expected_at(&e, 0, 4), 1, th_recs, ones, "threshold >= 2");
  expect_coll(or_expected_at(&e, 0, 5), 2, sum_recs, ones, "sum");
  or_expected_free(&e);
  free(p);
  free(s);
}

/* A loop whose body negates its variable never reaches a fixed point. */
Test(evaluator, divergence_is_detected) {
  or_program *p = calloc(1, sizeof *p);
  or_stream *s = calloc(1, sizeof *s);
  p->domain = 10;
  p->n_inputs = 1;
  p->input_arity[0] = 1;
  p->n_scopes = 2;
  p->scopes[0].parent = -1;
  p->scopes[1].parent = 0;
  p->scopes[1].depth = 1;
  p->scopes[1].n_vars = 1;
  int in = hn(p, OR_INPUT, 0, false, 1, 0, -1, -1);
  int en = hn(p, OR_ENTER, 1, false, 1, 0, in, -1);
  int v = hn(p, OR_VAR, 1, false, 1, 0, -1, -1);
  int ng = hn(p, OR_NEGATE, 1, false, 1, 0, v, -1);
  p->scopes[1].var_init[0] = en;
  p->scopes[1].var_next[0] = ng;
  int lv = hn(p, OR_LEAVE, 0, false, 1, 0, v, -1);
  p->nodes[lv].sub = 1;
  p->n_outputs = 1;
  p->outputs[0] = lv;
  hupdate(s, 0, 0, 1, 0, 1);
  or_expected e;
  char m[256];
  or_eval_limits lim = or_eval_default_limits();
  lim.max_iterations = 50;
  cr_expect_eq(or_eval_all(p, s, &lim, &e, m, sizeof m), OR_EVAL_DIVERGED);
  free(p);
  free(s);
}

/* The generator is deterministic and its cases are accepted by the
 * evaluator, for every family. */
Test(evaluator, generator_is_deterministic) {
  or_program *p1 = malloc(sizeof *p1), *p2 = malloc(sizeof *p2);
  or_stream *s1 = malloc(sizeof *s1), *s2 = malloc(sizeof *s2);
  for (int f = OR_FAM_BASIC; f < OR_N_FAMILIES; f++) {
    for (uint64_t i = 0; i < 20; i++) {
      uint64_t seed = or_case_seed((or_family)f, i);
      or_expected e1, e2;
      char m[512];
      cr_assert_eq(or_generate(seed, p1, s1, &e1, m, sizeof m), 0, "%s", m);
      cr_assert_eq(or_generate(seed, p2, s2, &e2, m, sizeof m), 0, "%s", m);
      cr_assert_eq(or_seed_family(seed), (or_family)f);
      or_buf b1, b2;
      or_buf_init(&b1);
      or_buf_init(&b2);
      or_dump_program(&b1, p1);
      or_dump_stream(&b1, p1, s1);
      or_dump_program(&b2, p2);
      or_dump_stream(&b2, p2, s2);
      cr_expect_str_eq(b1.s, b2.s);
      or_buf_free(&b1);
      or_buf_free(&b2);
      or_expected_free(&e1);
      or_expected_free(&e2);
    }
  }
  free(p1);
  free(p2);
  free(s1);
  free(s2);
}
