/*
 * suite.c: choosing and running oracle cases (see suite.h), shared by
 * test_oracle.c (Criterion) and oracle_main.c (a plain program).
 */
#include "suite.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evaluator.h"
#include "runner.h"

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

static size_t put_dec(char *out, uint32_t v) {
  char tmp[10];
  size_t n = 0;
  do tmp[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  return n;
}

static size_t put_str(char *out, const char *s) {
  size_t n = strlen(s);
  memcpy(out, s, n);
  return n;
}

/* Async-signal-safe: only write(2) and stack buffers. */
static void on_fatal_signal(int sig) {
  if (g_in_case) {
    char buf[256];
    size_t n = 0;
    n += put_str(buf + n, sig == SIGALRM ? "\noracle: case timed out (a hang?), seed "
                                         : "\noracle: engine crashed in case with seed ");
    n += put_hex(buf + n, g_seed);
    n += put_str(buf + n, ", workers ");
    n += put_dec(buf + n, g_workers);
    n += put_str(buf + n, "; replay with RF_ORACLE_SEED=");
    n += put_hex(buf + n, g_seed);
    buf[n++] = '\n';
    ssize_t ignored = write(2, buf, n);
    (void)ignored;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void or_suite_install_handlers(void) {
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

bool or_env_u64(const char *name, uint64_t *out) {
  const char *v = getenv(name);
  if (!v || !*v) return false;
  char *end;
  unsigned long long x = strtoull(v, &end, 0);
  if (*end) return false;
  *out = x;
  return true;
}

size_t or_parse_workers(const char *list, uint32_t *out, size_t max) {
  size_t n = 0;
  if (!list) return 0;
  const char *q = list;
  while (*q && n < max) {
    char *end;
    unsigned long w = strtoul(q, &end, 10);
    if (end == q) break;
    if (w >= 1 && w <= 64) out[n++] = (uint32_t)w;
    q = *end == ',' ? end + 1 : end;
  }
  return n;
}

void or_suite_config_from_env(or_suite_config *c, uint64_t default_cases,
                              const uint32_t *default_workers, size_t n_default_workers) {
  memset(c, 0, sizeof *c);
  uint64_t flag = 0;
  c->cases = default_cases;
  c->replaying = or_env_u64("RF_ORACLE_SEED", &c->replay_seed);
  or_env_u64("RF_ORACLE_CASES", &c->cases);
  or_env_u64("RF_ORACLE_FIRST", &c->first);
  c->max_failures = OR_MAX_FAILURES;
  or_env_u64("RF_ORACLE_MAX_FAILURES", &c->max_failures);
  if (c->replaying) c->cases = 1;
  c->shrink = c->replaying;
  if (or_env_u64("RF_ORACLE_SHRINK", &flag)) c->shrink = flag != 0;
  c->timeout_s = OR_CASE_TIMEOUT_S;
  or_env_u64("RF_ORACLE_TIMEOUT", &c->timeout_s);
  c->isolate = true;
  if (or_env_u64("RF_ORACLE_ISOLATE", &flag)) c->isolate = flag != 0;
  c->verbose = c->replaying;
  if (or_env_u64("RF_ORACLE_VERBOSE", &flag)) c->verbose = flag != 0;
  c->n_workers = or_parse_workers(getenv("RF_ORACLE_WORKERS"), c->workers, OR_SUITE_MAX_WORKERS);
  if (c->n_workers == 0)
    for (; c->n_workers < n_default_workers && c->n_workers < OR_SUITE_MAX_WORKERS; c->n_workers++)
      c->workers[c->n_workers] = default_workers[c->n_workers];
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

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

static void report_failure(const or_suite_config *c, or_family fam, uint64_t seed,
                           const char *what, const char *report) {
  fprintf(stderr, "\n=== oracle failure: family %s, seed 0x%016" PRIx64 " ===\n%s\n%s",
          or_family_name(fam), seed, what, report ? report : "");
  fprintf(stderr, "replay: ");
  if (c->replay)
    c->replay(stderr, fam, seed);
  else
    fprintf(stderr, "RF_ORACLE_SEED=0x%016" PRIx64, seed);
  fprintf(stderr, "\n");
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

/* ------------------------------------------------------------------ */
/* The family runner                                                   */
/* ------------------------------------------------------------------ */

void or_suite_run_family(or_family fam, const or_suite_config *c, or_family_result *r) {
  memset(r, 0, sizeof *r);
  if (c->replaying && or_seed_family(c->replay_seed) != fam) {
    r->skipped = true;
    return;
  }
  or_program *p = malloc(sizeof *p);
  or_stream *s = malloc(sizeof *s);
  if (!p || !s) abort();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (uint64_t idx = 0; idx < c->cases && (uint64_t)r->failures < c->max_failures;
       idx++, r->done++) {
    uint64_t seed = c->replaying ? c->replay_seed : or_case_seed(fam, c->first + idx);
    or_expected exp;
    char msg[512];
    g_seed = seed;
    if (or_generate(seed, p, s, &exp, msg, sizeof msg)) {
      report_failure(c, fam, seed, "the generator failed (an oracle bug)", msg);
      if (r->failures++ == 0) r->first_failed = seed;
      continue;
    }
    if (c->verbose) {
      or_buf b;
      or_buf_init(&b);
      or_dump_program(&b, p);
      or_dump_stream(&b, p, s);
      fprintf(stderr, "%s", b.s);
      or_buf_free(&b);
      dump_expected(p, &exp);
    }
    uint64_t ref_hash = 0;
    for (size_t wi = 0; wi < c->n_workers; wi++) {
      or_outcome o;
      g_workers = c->workers[wi];
      g_in_case = 1;
      bool ok;
      if (c->isolate) {
        ok = or_run_case_isolated(p, s, &exp, c->workers[wi], (unsigned)c->timeout_s, &o);
      } else {
        alarm((unsigned)c->timeout_s);
        ok = or_run_case(p, s, &exp, c->workers[wi], &o);
        alarm(0);
      }
      g_in_case = 0;
      if (!ok) {
        report_failure(c, fam, seed, "the engine fails the case:", o.report);
        or_outcome_free(&o);
        if (r->failures++ == 0) r->first_failed = seed;
        if (c->shrink) shrink_and_report(fam, seed, p, s, c->workers[wi]);
        break;
      }
      if (wi > 0 && o.trace_hash != ref_hash) {
        char what[160];
        snprintf(what, sizeof what,
                 "what the engine produced with %u workers hashes differently from what it "
                 "produced with %u workers",
                 c->workers[wi], c->workers[0]);
        report_failure(c, fam, seed, what, "");
        or_outcome_free(&o);
        if (r->failures++ == 0) r->first_failed = seed;
        break;
      }
      ref_hash = o.trace_hash;
      or_outcome_free(&o);
    }
    or_expected_free(&exp);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r->secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr, "oracle %-7s: %" PRIu64 " cases x %zu worker counts, %d failed, %.1f s\n",
          or_family_name(fam), r->done, c->n_workers, r->failures, r->secs);
  free(p);
  free(s);
}
