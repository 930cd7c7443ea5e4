/*
 * alloc.c: the allocation layer over jemalloc (linked as the process's
 * malloc), with a count-down fault injector for tests (after SQLite's
 * test_malloc.c) and jemalloc statistics for benchmarks.
 */
#include "common/alloc.h"

#include <ck_pr.h>
#include <jemalloc/jemalloc.h>
#include <stdlib.h>
#include <string.h>

#include "rhizoflow.h"

/* Count-down to an injected failure. 0 = off. Touched by any thread that
 * allocates, so updated with atomics: a test arms it from one thread and the
 * failure may happen on any worker. */
static uint64_t fail_countdown;
static uint64_t injected_failures;

static int should_fail(void) {
  /* Fast path: a plain atomic load; the injector is almost always off. */
  if (ck_pr_load_64(&fail_countdown) == 0) return 0;
  uint64_t left = ck_pr_faa_64(&fail_countdown, (uint64_t)-1);
  if (left == 1) {
    ck_pr_inc_64(&injected_failures);
    return 1;
  }
  if (left == 0) ck_pr_store_64(&fail_countdown, 0); /* raced past zero */
  return 0;
}

void *rf__malloc(size_t n) {
  if (should_fail()) return NULL;
  return malloc(n ? n : 1);
}

void *rf__calloc(size_t count, size_t size) {
  if (should_fail()) return NULL;
  return calloc(count ? count : 1, size ? size : 1);
}

void *rf__realloc(void *p, size_t n) {
  if (should_fail()) return NULL;
  return realloc(p, n ? n : 1);
}

void rf__free(void *p) { free(p); }

char *rf__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = rf__malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

int rf__grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) ncap *= 2;
  void *np = rf__realloc(*p, ncap * elem);
  if (!np) return RF_ENOMEM;
  *p = np;
  *cap = ncap;
  return 0;
}

void rf__alloc_fail_after(uint64_t n) { ck_pr_store_64(&fail_countdown, n); }

uint64_t rf__alloc_injected_failures(void) {
  return ck_pr_load_64(&injected_failures);
}

void rf__alloc_stats(uint64_t *allocated, uint64_t *resident) {
  uint64_t epoch = 1;
  size_t sz = sizeof epoch;
  size_t a = 0, r = 0, len = sizeof(size_t);
  /* Statistics are cached by jemalloc; bumping the epoch refreshes them. */
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  mallctl("stats.allocated", &a, &len, NULL, 0);
  len = sizeof(size_t);
  mallctl("stats.resident", &r, &len, NULL, 0);
  if (allocated) *allocated = a;
  if (resident) *resident = r;
}
