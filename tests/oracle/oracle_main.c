/*
 * oracle_main.c: the oracle cases as a plain program (no Criterion): a
 * driver for long soaks and for replaying cases by hand, and a second run of
 * other cases under ThreadSanitizer (where test_oracle uses the
 * tests/tsan_runner stand-in, since Criterion cannot start there). It
 * draws the same seeded cases as test_oracle (suite.c, shared with it),
 * spread evenly over the six families, runs each with every worker count
 * (2 and 3 by default), checks every closed time against the evaluator and
 * the worker counts against each other, and exits 1 after printing the same
 * failure reports (seed, program, stream, differing records, replay
 * command).
 *
 *   oracle_main [--cases N] [--workers 2,3] [--family NAME] [--first I]
 *               [--require-workers]
 *
 * --cases N (or RF_ORACLE_CASES=N): cases in all (default 150), spread over
 * the families; --workers (or RF_ORACLE_WORKERS): worker counts; --family:
 * only that family (basic, join, reduce, iterate, nested, mixed), then N
 * cases of it; --first (RF_ORACLE_FIRST): first case index per family.
 * RF_ORACLE_SEED=<seed> replays one case (and shrinks it), as in test_oracle;
 * the other RF_ORACLE_* variables (README.md) apply too.
 *
 * A worker count the engine refuses at rf_graph_create with RF_EINVAL (an
 * engine that runs one worker) is skipped with a message, unless
 * --require-workers (or RF_ORACLE_REQUIRE_WORKERS=1) makes that a failure;
 * with none left the cases run with 1 worker.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "rhizoflow.h"
#include "suite.h"

#define DEFAULT_CASES 150

static const uint32_t default_workers[] = {2, 3};

static void usage(FILE *f) {
  fprintf(f,
          "usage: oracle_main [--cases N] [--workers W1,W2,...] [--family NAME] [--first I]\n"
          "                   [--require-workers]\n"
          "  --cases N          random cases in all, spread over the families (default %d;\n"
          "                     env RF_ORACLE_CASES)\n"
          "  --workers LIST     worker counts each case runs with (default 2,3;\n"
          "                     env RF_ORACLE_WORKERS)\n"
          "  --family NAME      only basic, join, reduce, iterate, nested or mixed\n"
          "  --first I          first case index in each family (env RF_ORACLE_FIRST)\n"
          "  --require-workers  fail if the engine refuses a worker count\n"
          "                     (env RF_ORACLE_REQUIRE_WORKERS=1); by default it is skipped\n"
          "RF_ORACLE_SEED=<seed> replays one case; see tests/oracle/README.md.\n"
          "exit status: 0 every case passed, 1 a case failed, 2 usage error\n",
          DEFAULT_CASES);
}

static void replay_hint(FILE *f, or_family fam, uint64_t seed) {
  fprintf(f, "RF_ORACLE_SEED=0x%016" PRIx64 " ./oracle_main   (or ./test_oracle --filter 'oracle/%s')",
          seed, or_family_name(fam));
}

static bool parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-') return false;
  char *end;
  unsigned long long v = strtoull(s, &end, 0);
  if (*end) return false;
  *out = v;
  return true;
}

/* Whether the engine accepts `workers` (an engine that runs one worker
 * refuses more with RF_EINVAL); any other error is reported as is. */
static int engine_accepts(uint32_t workers) {
  rf_config cfg = {.workers = workers};
  rf_graph *g = NULL;
  int rc = rf_graph_create(&cfg, &g);
  if (rc == 0) rf_graph_destroy(g);
  return rc;
}

int main(int argc, char **argv) {
  or_suite_config c;
  or_suite_config_from_env(&c, 0, default_workers, sizeof default_workers / sizeof *default_workers);
  c.replay = replay_hint;
  uint64_t total = DEFAULT_CASES, flag = 0;
  or_env_u64("RF_ORACLE_CASES", &total);
  bool require = or_env_u64("RF_ORACLE_REQUIRE_WORKERS", &flag) && flag != 0;
  int only = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--require-workers") == 0) {
      require = true;
    } else if (strcmp(a, "--cases") == 0 && parse_u64(v, &total)) {
      i++;
    } else if (strcmp(a, "--first") == 0 && parse_u64(v, &c.first)) {
      i++;
    } else if (strcmp(a, "--workers") == 0 && v &&
               (c.n_workers = or_parse_workers(v, c.workers, OR_SUITE_MAX_WORKERS)) > 0) {
      i++;
    } else if (strcmp(a, "--family") == 0 && v) {
      for (int f = OR_FAM_BASIC; f < OR_N_FAMILIES; f++)
        if (strcmp(v, or_family_name((or_family)f)) == 0) only = f;
      if (!only) {
        fprintf(stderr, "oracle_main: unknown family '%s'\n", v);
        return 2;
      }
      i++;
    } else {
      fprintf(stderr, "oracle_main: bad argument '%s'%s%s\n", a, v ? " " : "", v ? v : "");
      usage(stderr);
      return 2;
    }
  }

  /* Worker counts the engine refuses are skipped (or fail, if required). */
  size_t kept = 0;
  for (size_t i = 0; i < c.n_workers; i++) {
    int rc = engine_accepts(c.workers[i]);
    if (rc == 0) {
      c.workers[kept++] = c.workers[i];
    } else if (rc == RF_EINVAL && !require) {
      fprintf(stderr, "oracle_main: SKIPPING workers=%u: rf_graph_create refuses it (%s: %s)\n",
              c.workers[i], rf_err_name(rc), rf_last_error());
    } else {
      fprintf(stderr, "oracle_main: FAILED: rf_graph_create(workers %u) returned %s: %s\n",
              c.workers[i], rf_err_name(rc), rf_last_error());
      return 1;
    }
  }
  c.n_workers = kept;
  if (kept == 0) {
    fprintf(stderr, "oracle_main: no worker count left: running the cases with 1 worker\n");
    c.workers[c.n_workers++] = 1;
  }

  or_suite_install_handlers();
  int n_fam = only ? 1 : OR_N_FAMILIES - OR_FAM_BASIC;
  int failures = 0, failed_families = 0;
  uint64_t done = 0, first_failed = 0;
  double secs = 0;
  for (int k = 0; k < n_fam; k++) {
    or_family fam = only ? (or_family)only : (or_family)(OR_FAM_BASIC + k);
    if (!c.replaying) c.cases = total / (uint64_t)n_fam + ((uint64_t)k < total % (uint64_t)n_fam);
    if (c.cases == 0 && !c.replaying) continue;
    or_family_result r;
    or_suite_run_family(fam, &c, &r);
    if (r.skipped) continue;
    done += r.done;
    secs += r.secs;
    if (r.failures) {
      if (failures == 0) first_failed = r.first_failed;
      failures += r.failures;
      failed_families++;
    }
  }
  char wl[OR_SUITE_MAX_WORKERS * 4] = "";
  for (size_t i = 0; i < c.n_workers; i++)
    snprintf(wl + strlen(wl), sizeof wl - strlen(wl), "%s%u", i ? "," : "", c.workers[i]);
  if (failures) {
    fprintf(stderr,
            "oracle_main: FAILED: %d failing case(s) in %d famil%s (of %" PRIu64
            " run, workers %s, %.1f s); first seed 0x%016" PRIx64
            ": replay with RF_ORACLE_SEED=0x%016" PRIx64 "\n",
            failures, failed_families, failed_families == 1 ? "y" : "ies", done, wl, secs,
            first_failed, first_failed);
    return 1;
  }
  if (done == 0) {
    fprintf(stderr, "oracle_main: FAILED: no case was run\n");
    return 1;
  }
  printf("oracle_main: %" PRIu64 " cases passed with workers %s (%.1f s)\n", done, wl, secs);
  return 0;
}
