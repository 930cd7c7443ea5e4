/*
 * suite.h: choosing and running oracle cases, shared by the Criterion tests
 * (test_oracle.c) and the plain driver (oracle_main.c). It reads the RF_ORACLE_*
 * environment (README.md lists it), runs a family's cases with every worker
 * count (each run in a child process unless RF_ORACLE_ISOLATE=0), checks that
 * all worker counts produce the same outputs, and prints a report with the
 * seed and a replay command for every failing case.
 */
#ifndef RF_ORACLE_SUITE_H
#define RF_ORACLE_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gen.h"

#define OR_SUITE_MAX_WORKERS 16 /* worker counts in one run */
#define OR_CASE_TIMEOUT_S 60     /* one run of a case, by default */
#define OR_MAX_FAILURES 3        /* failing cases after which a family stops, by default */

/* Prints how to replay `seed` of family `fam` with this program. */
typedef void (*or_replay_fn)(FILE *f, or_family fam, uint64_t seed);

typedef struct or_suite_config {
  uint64_t cases;        /* per family (1 when replaying) */
  uint64_t first;        /* first case index */
  uint64_t max_failures; /* per family */
  uint64_t timeout_s;    /* per run of a case */
  bool replaying;        /* RF_ORACLE_SEED was given: only that case */
  uint64_t replay_seed;
  bool shrink, isolate, verbose;
  uint32_t workers[OR_SUITE_MAX_WORKERS];
  size_t n_workers;
  or_replay_fn replay; /* NULL: "RF_ORACLE_SEED=<seed>" alone */
} or_suite_config;

typedef struct or_family_result {
  bool skipped;          /* replaying a seed of another family */
  uint64_t done;         /* cases run */
  int failures;
  uint64_t first_failed; /* seed of the first failing case */
  double secs;
} or_family_result;

/* Reads an unsigned number (decimal, 0x hex or 0 octal) from the
 * environment. False if unset, empty or not a number. */
bool or_env_u64(const char *name, uint64_t *out);
/* Parses "1,2,3" into out (counts outside 1..64 dropped). Returns how many. */
size_t or_parse_workers(const char *list, uint32_t *out, size_t max);

/* Fills c from the RF_ORACLE_* environment, with `default_cases` cases per
 * family and the given default worker counts. */
void or_suite_config_from_env(or_suite_config *c, uint64_t default_cases,
                              const uint32_t *default_workers, size_t n_default_workers);

/* Signal handlers that name the seed and worker count of the case running
 * in this process when it crashes or hangs (in-process runs). */
void or_suite_install_handlers(void);

/* Runs c->cases cases of family fam (or the replayed seed) with every
 * worker count; failures are reported on stderr as they happen, and a
 * summary line at the end. */
void or_suite_run_family(or_family fam, const or_suite_config *c, or_family_result *r);

#endif /* RF_ORACLE_SUITE_H */
