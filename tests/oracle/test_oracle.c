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
 * A few hand-computed programs check the evaluator itself.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evaluator.h"
#include "gen.h"
#include "runner.h"

/* Every case runs with each of these worker counts, and the outputs of all
 * of them must agree. Set OR_PARALLEL to 1 once the parallel scheduler lands
 * to run with 1, 2, 3 and 4 workers. */
#define OR_PARALLEL 0
#if OR_PARALLEL
static const uint32_t default_workers[] = {1, 2, 3, 4};
#else
static const uint32_t default_workers[] = {1};
#endif

#define OR_CASE_TIMEOUT_S 60 /* one run of a case */

/* ------------------------------------------------------------------ */
/* Crash and hang reporting                                            */
/* ------------------------------------------------------------------ */

static volatile uint64_t g_seed;
static volatile uint32_t g_workers;
static volatile sig_atomic_t g_in_case;

static size_t put_hex(char *out, uint64_t v) {
  static const char digits[] = "0123456789abcdef";
  out[0] = '0';
  out[1] = 'x';
  for (int i = 0; i < 16; i++) out[2 + i] = digits[(v >> (60 - 4 * i)) & 15];
  return 18;
}

static void on_fatal_signal(int sig) {
  if (g_in_case) {
    char buf[256];
    size_t n = 0;
    const char *a = sig == SIGALRM ? "\noracle: case timed out (a hang?), seed "
                                   : "\noracle: engine crashed in case with seed ";
    size_t la = strlen(a);
    memcpy(buf + n, a, la);
    n += la;
    n += put_hex(buf + n, g_seed);
    const char *w = ", workers ";
    memcpy(buf + n, w, strlen(w));
    n += strlen(w);
    buf[n++] = (char)('0' + (g_workers % 10));
    const char *r = "; replay with RF_ORACLE_SEED=";
    memcpy(buf + n, r, strlen(r));
    n += strlen(r);
    n += put_hex(buf + n, g_seed);
    buf[n++] = '\n';
    ssize_t ignored = write(2, buf, n);
    (void)ignored;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void) {
  int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = (int)(SA_RESETHAND | SA_NODEFER);
    sigaction(sigs[i], &sa, NULL);
  }
}

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

static bool env_u64(const char *name, uint64_t *out) {
  const char *v = getenv(name);
  if (!v || !*v) return false;
  char *end;
  unsigned long long x = strtoull(v, &end, 0);
  if (*end) return false;
  *out = x;
  return true;
}

static size_t env_workers(uint32_t *out, size_t max) {
  const char *v = getenv("RF_ORACLE_WORKERS");
  size_t n = 0;
  if (v && *v) {
    const char *q = v;
    while (*q && n < max) {
      char *end;
      unsigned long w = strtoul(q, &end, 10);
      if (end == q) break;
      if (w >= 1 && w <= 64) out[n++] = (uint32_t)w;
      q = *end == ',' ? end + 1 : end;
    }
  }
  if (n == 0)
    for (; n < sizeof default_workers / sizeof *default_workers; n++) out[n] = default_workers[n];
  return n;
}

static void dump_expected(const or_program *p, const or_expected *exp) {
  or_buf b;
  or_buf_init(&b);
  or_buf_printf(&b, "oracle outputs:\n");
  for (rf_time t = 0; t < exp->n_times; t++) {
    or_buf_printf(&b, "  t=%" PRIu64 ":", t);
    for (int o = 0; o < p->n_outputs; o++) {
      or_buf_printf(&b, " o%d=", o);
      or_dump_coll(&b, or_expected_at(exp, t, o), 16);
    }
    or_buf_printf(&b, "\n");
  }
  fprintf(stderr, "%s", b.s);
  or_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* The family runner                                                   */
/* ------------------------------------------------------------------ */

#define MAX_FAILURES 3 /* per test, unless RF_ORACLE_MAX_FAILURES says otherwise */

static void report_failure(or_family fam, uint64_t seed, const char *what, const char *report) {
  fprintf(stderr,
          "\n=== oracle failure: family %s, seed 0x%016" PRIx64 " ===\n%s\n%s"
          "replay: RF_ORACLE_SEED=0x%016" PRIx64 " ./test_oracle --filter 'oracle/%s'\n",
          or_family_name(fam), seed, what, report ? report : "", seed, or_family_name(fam));
}

static void shrink_and_report(or_family fam, uint64_t seed, const or_program *p,
                              const or_stream *s, uint32_t workers) {
  or_program *sp = malloc(sizeof *sp);
  or_stream *ss = malloc(sizeof *ss);
  if (!sp || !ss) abort();
  *sp = *p;
  *ss = *s;
  int r = or_shrink(sp, ss, workers, 1500);
  fprintf(stderr, "\n=== shrunk case of seed 0x%016" PRIx64 " (%s, %d reductions) ===\n", seed,
          or_family_name(fam), r);
  if (or_run_isolated(sp, ss, workers))
    fprintf(stderr, "(the shrunk case passes when run again: the failure is not deterministic)\n");
  or_expected exp;
  char m[256];
  or_eval_limits lim = or_eval_default_limits();
  if (or_eval_all(sp, ss, &lim, &exp, m, sizeof m) == OR_EVAL_OK) {
    dump_expected(sp, &exp);
    or_expected_free(&exp);
  }
  free(sp);
  free(ss);
}

static void run_family(or_family fam, uint64_t default_cases) {
  install_handlers();
  uint64_t replay = 0, cases = default_cases, flag = 0;
  bool replaying = env_u64("RF_ORACLE_SEED", &replay);
  if (replaying && or_seed_family(replay) != fam) {
    cr_skip_test("RF_ORACLE_SEED=0x%016" PRIx64 " is a case of family %s", replay,
                 or_family_name(or_seed_family(replay)));
    return;
  }
  env_u64("RF_ORACLE_CASES", &cases);
  uint64_t first = 0;
  env_u64("RF_ORACLE_FIRST", &first);
  uint64_t max_failures = MAX_FAILURES;
  env_u64("RF_ORACLE_MAX_FAILURES", &max_failures);
  if (replaying) cases = 1;
  bool shrink = replaying;
  if (env_u64("RF_ORACLE_SHRINK", &flag)) shrink = flag != 0;
  uint64_t timeout_s = OR_CASE_TIMEOUT_S;
  env_u64("RF_ORACLE_TIMEOUT", &timeout_s);
  bool isolate = true;
  if (env_u64("RF_ORACLE_ISOLATE", &flag)) isolate = flag != 0;
  bool verbose = replaying;
  if (env_u64("RF_ORACLE_VERBOSE", &flag)) verbose = flag != 0;
  uint32_t workers[16];
  size_t n_workers = env_workers(workers, 16);

  or_program *p = malloc(sizeof *p);
  or_stream *s = malloc(sizeof *s);
  if (!p || !s) abort();
  int failures = 0;
  uint64_t first_failed = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t done = 0;
  for (uint64_t idx = 0; idx < cases && (uint64_t)failures < max_failures; idx++, done++) {
    uint64_t seed = replaying ? replay : or_case_seed(fam, first + idx);
    or_expected exp;
    char msg[512];
    g_seed = seed;
    if (or_generate(seed, p, s, &exp, msg, sizeof msg)) {
      report_failure(fam, seed, "the generator failed (an oracle bug)", msg);
      if (failures++ == 0) first_failed = seed;
      continue;
    }
    if (verbose) {
      or_buf b;
      or_buf_init(&b);
      or_dump_program(&b, p);
      or_dump_stream(&b, p, s);
      fprintf(stderr, "%s", b.s);
      or_buf_free(&b);
      dump_expected(p, &exp);
    }
    uint64_t ref_hash = 0;
    for (size_t wi = 0; wi < n_workers; wi++) {
      or_outcome o;
      g_workers = workers[wi];
      g_in_case = 1;
      bool ok;
      if (isolate) {
        ok = or_run_case_isolated(p, s, &exp, workers[wi], (unsigned)timeout_s, &o);
      } else {
        alarm((unsigned)timeout_s);
        ok = or_run_case(p, s, &exp, workers[wi], &o);
        alarm(0);
      }
      g_in_case = 0;
      if (!ok) {
        report_failure(fam, seed, "the engine fails the case:", o.report);
        or_outcome_free(&o);
        if (failures++ == 0) first_failed = seed;
        if (shrink) shrink_and_report(fam, seed, p, s, workers[wi]);
        break;
      }
      if (wi > 0 && o.trace_hash != ref_hash) {
        char what[160];
        snprintf(what, sizeof what,
                 "what the engine produced with %u workers hashes differently from what it "
                 "produced with %u workers",
                 workers[wi], workers[0]);
        report_failure(fam, seed, what, "");
        if (failures++ == 0) first_failed = seed;
        break;
      }
      ref_hash = o.trace_hash;
      or_outcome_free(&o);
    }
    or_expected_free(&exp);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr, "oracle %-7s: %" PRIu64 " cases x %zu worker counts, %d failed, %.1f s\n",
          or_family_name(fam), done, n_workers, failures, secs);
  free(p);
  free(s);
  cr_assert(failures == 0,
            "oracle %s: %d failing case(s) (stops after %" PRIu64 "); first seed 0x%016" PRIx64
            ": replay with RF_ORACLE_SEED=0x%016" PRIx64,
            or_family_name(fam), failures, max_failures, first_failed, first_failed);
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
