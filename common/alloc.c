/*
 * alloc.c: the allocation layer over jemalloc (linked as the process's
 * malloc), with a count-down fault injector for tests (after SQLite's
 * test_malloc.c) and jemalloc statistics for benchmarks.
 */
#include "common/alloc.h"

#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic.h"
#include "rhizoflow.h"

/* Count-down to an injected failure. 0 = off. Touched by any thread that
 * allocates, so updated with atomics: a test arms it from one thread and the
 * failure may happen on any worker. */
static uint64_t fail_countdown;
static uint64_t injected_failures;

static int should_fail(void) {
  /* Fast path: a relaxed atomic load; the injector is almost always off.
   * Relaxed throughout: the countdown and the tally order nothing else. */
  if (rf__atomic_load_relaxed_64(&fail_countdown) == 0) return 0;
  uint64_t left = rf__atomic_faa_relaxed_64(&fail_countdown, (uint64_t)-1);
  if (left == 1) {
    rf__atomic_inc_relaxed_64(&injected_failures);
    return 1;
  }
  if (left == 0) rf__atomic_store_relaxed_64(&fail_countdown, 0); /* raced past zero */
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

void *rf__shrink(void *p, size_t n) {
  if (!p) return NULL;
  void *q = realloc(p, n ? n : 1);
  return q ? q : p;
}

void rf__free(void *p) { free(p); }

char *rf__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = rf__malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

int rf__grow_slow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) ncap *= 2;
  void *np = rf__realloc(*p, ncap * elem);
  if (!np) return RF_ENOMEM;
  *p = np;
  *cap = ncap;
  return 0;
}

/* Atomic: allocating threads count down concurrently (see should_fail). */
void rf__alloc_fail_after(uint64_t n) { rf__atomic_store_relaxed_64(&fail_countdown, n); }

uint64_t rf__alloc_injected_failures(void) {
  return rf__atomic_load_relaxed_64(&injected_failures); /* bumped by any thread */
}

/* Returning freed memory.
 *
 * jemalloc keeps freed pages resident ("dirty") for about ten seconds, for
 * reuse. A burst (sealing a load of ten million rows, a large iteration, a
 * big merge) frees hundreds of MiB of large arrays, which seldom fit the
 * next large request, so the process would stay near its high-water mark
 * well after the live data shrank, and a copy (messages into a batcher)
 * would count twice. So large frees are tallied, and every LOOK_BYTES of
 * them the dirty pages are looked at: more than DIRTY_LIMIT of them, and
 * more than an eighth of what is allocated (a large steady working set
 * does not purge all the time), are returned to the system at once. The
 * BFS benchmark purges only while computing its initial answer (2 or 3
 * times); its rounds reuse what they free and never purge, so they pay no
 * page faults for this. */
#define LARGE_FREE ((size_t)1 << 20)
#define LOOK_BYTES ((uint64_t)16 << 20)
#define DIRTY_LIMIT ((uint64_t)16 << 20)

static uint64_t freed_large; /* large bytes freed since the last look (atomic) */

static uint64_t dirty_bytes(void) {
  uint64_t epoch = 1;
  size_t sz = sizeof epoch, pdirty = 0, page = 0, len = sizeof(size_t);
  char name[64];
  mallctl("epoch", &epoch, &sz, &epoch, sz);
  snprintf(name, sizeof name, "stats.arenas.%u.pdirty", (unsigned)MALLCTL_ARENAS_ALL);
  if (mallctl(name, &pdirty, &len, NULL, 0) != 0) return 0;
  len = sizeof(size_t);
  if (mallctl("arenas.page", &page, &len, NULL, 0) != 0) return 0;
  return (uint64_t)pdirty * page;
}

void rf__free_sized(void *p, size_t bytes) {
  free(p);
  if (!p || bytes < LARGE_FREE) return;
  /* Atomic, relaxed: any thread frees; only a tally (a lost update merely
   * delays the next look). */
  if (rf__atomic_faa_relaxed_64(&freed_large, bytes) + bytes < LOOK_BYTES) return;
  rf__atomic_store_relaxed_64(&freed_large, 0);
  uint64_t dirty = dirty_bytes(), allocated = 0;
  rf__alloc_stats(&allocated, NULL);
  if (dirty <= DIRTY_LIMIT || dirty <= allocated / 8) return;
  char name[64];
  snprintf(name, sizeof name, "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
  mallctl(name, NULL, NULL, NULL, 0);
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
