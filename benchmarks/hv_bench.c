/*
 * hv_bench.c: `bench_hyperviews`, the HyperViews benchmark of issue 6.
 * Generates DELTAS deltas over OBJECTS objects of a small blog (persons,
 * posts that embed their author and comments, comments that embed their
 * author: nested schemas of depth 3), with conflicting writes and
 * negations; measures the initial materialization, then single-delta and
 * 1,000-delta batches (latency until the change is visible in every
 * affected view), and compares one update with recomputing the affected
 * views from scratch over the full delta set.
 *
 * Output: JSON lines (phase, figures) and a summary line.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rhizoflow.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_u64(void) {
  uint64_t z = (rng += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}
static uint32_t below(uint32_t n) { return (uint32_t)(next_u64() % n); }

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "bench_hyperviews: %s: %s (%s)\n", what, rf_strerror(rc), rf_last_error());
    exit(1);
  }
}

/* The blog: persons p0.., posts q0.., comments c0.. */
typedef struct blog {
  uint32_t persons, posts, comments;
  uint64_t next_id, ts;
  char **ids; /* every delta id so far, for negations */
  size_t n_ids, cap_ids;
} blog;

static const char *AUTHORS[] = {"alice", "bob", "carol", "dave", "erin"};

/* Writes one random delta into buf; returns its length. */
static int random_delta(blog *b, char *buf, size_t cap) {
  char id[32];
  snprintf(id, sizeof id, "d%" PRIu64, b->next_id++);
  const char *author = AUTHORS[below(5)];
  uint64_t ts = ++b->ts;
  uint32_t kind = below(100);
  int n;
  if (kind < 5 && b->n_ids) {
    const char *target = b->ids[below((uint32_t)b->n_ids)];
    n = snprintf(buf, cap,
                 "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                 "\"pointers\":[{\"role\":\"negates\",\"target\":{\"id\":\"%s\"}}]}",
                 id, ts, author, target);
  } else if (kind < 25) {
    uint32_t p = below(b->persons);
    const char *prop = below(2) ? "name" : "age";
    if (prop[0] == 'n')
      n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                   "\"pointers\":[{\"role\":\"person\",\"target\":{\"id\":\"p%u\",\"context\":\"name\"}},"
                   "{\"role\":\"name\",\"target\":\"Person %u\"}]}",
                   id, ts, author, p, below(1000));
    else
      n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                   "\"pointers\":[{\"role\":\"person\",\"target\":{\"id\":\"p%u\",\"context\":\"age\"}},"
                   "{\"role\":\"age\",\"target\":%u}]}",
                   id, ts, author, p, 18 + below(60));
  } else if (kind < 60) {
    uint32_t q = below(b->posts);
    uint32_t what = below(4);
    if (what == 0)
      n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                   "\"pointers\":[{\"role\":\"post\",\"target\":{\"id\":\"q%u\",\"context\":\"author\"}},"
                   "{\"role\":\"author\",\"target\":{\"id\":\"p%u\"}}]}",
                   id, ts, author, q, below(b->persons));
    else if (what == 1)
      n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                   "\"pointers\":[{\"role\":\"post\",\"target\":{\"id\":\"q%u\",\"context\":\"rating\"}},"
                   "{\"role\":\"rating\",\"target\":%u}]}",
                   id, ts, author, q, 1 + below(5));
    else
      n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                   "\"pointers\":[{\"role\":\"post\",\"target\":{\"id\":\"q%u\",\"context\":\"title\"}},"
                   "{\"role\":\"title\",\"target\":\"Title %u\"}]}",
                   id, ts, author, q, below(100000));
  } else {
    uint32_t c = below(b->comments);
    if (below(2))
      n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                   "\"pointers\":[{\"role\":\"post\",\"target\":{\"id\":\"q%u\",\"context\":\"comments\"}},"
                   "{\"role\":\"comment\",\"target\":{\"id\":\"c%u\"}}]}",
                   id, ts, author, c % b->posts, c);
    else
      n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRIu64 ",\"author\":\"%s\",\"system\":\"bench\","
                   "\"pointers\":[{\"role\":\"comment\",\"target\":{\"id\":\"c%u\",\"context\":\"text\"}},"
                   "{\"role\":\"text\",\"target\":\"Comment %u\"},"
                   "{\"role\":\"author\",\"target\":{\"id\":\"p%u\"}}]}",
                   id, ts, author, c, below(1000000), below(b->persons));
  }
  if (b->n_ids == b->cap_ids) {
    b->cap_ids = b->cap_ids ? 2 * b->cap_ids : 1024;
    b->ids = realloc(b->ids, b->cap_ids * sizeof *b->ids);
    if (!b->ids) check(RF_ENOMEM, "ids");
  }
  b->ids[b->n_ids++] = strdup(id);
  return n;
}

static int add_emit(void *ctx, const char *json, size_t len) {
  return rf_hv_add_json(ctx, json, len) < 0 ? -1 : 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median and p99 of v[0..n) (sorted in place), in ms. */
static void stats(double *v, size_t n, double *median, double *p99) {
  qsort(v, n, sizeof *v, cmp_double);
  *median = v[n / 2] * 1e3;
  size_t k = (size_t)(0.99 * (double)n);
  *p99 = v[k < n ? k : n - 1] * 1e3;
}

/* From scratch: every delta is parsed again (as a naive evaluator reading
 * the log would), negations applied, and the deltas selecting the touched
 * objects collected: a lower bound on recomputing the affected views. */
static double recompute_once(char **jsons, size_t n, const char *object) {
  double t0 = now_s();
  size_t hits = 0, negs = 0;
  char needle[64];
  snprintf(needle, sizeof needle, "\"id\":\"%s\",\"context\"", object);
  for (size_t i = 0; i < n; i++) {
    if (strstr(jsons[i], "\"negates\"")) negs++;
    if (strstr(jsons[i], needle)) hits++;
  }
  double dt = now_s() - t0;
  if (hits == SIZE_MAX) printf("%zu\n", negs); /* keep the loop */
  return dt;
}

int main(int argc, char **argv) {
  uint64_t deltas = 1000000, objects = 100000;
  uint32_t workers = 1, singles = 200, batches = 20;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--deltas") && i + 1 < argc) deltas = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--objects") && i + 1 < argc) objects = strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--workers") && i + 1 < argc) workers = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--singles") && i + 1 < argc) singles = (uint32_t)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--batches") && i + 1 < argc) batches = (uint32_t)atoi(argv[++i]);
    else {
      fprintf(stderr,
              "usage: bench_hyperviews [--deltas N] [--objects N] [--workers W] "
              "[--singles N] [--batches N]\n");
      return 2;
    }
  }
  if (objects < 10) objects = 10;
  blog b = {.persons = (uint32_t)(objects / 5), .posts = (uint32_t)(objects / 2)};
  b.comments = (uint32_t)(objects - b.persons - b.posts);

  rf_hv_options o = {.workers = workers};
  rf_hv *hv;
  check(rf_hv_create(&o, &hv), "create");
  const char *schemas =
      "[{\"name\":\"post\",\"transform\":{\"author\":\"person\",\"comment\":\"comment\"},"
      "\"resolve\":{\"rating\":\"average\",\"title\":\"most-recent\"}},"
      "{\"name\":\"comment\",\"transform\":{\"author\":\"person\"}},{\"name\":\"person\"}]";
  check(rf_hv_schema_deltas(hv, schemas, strlen(schemas), 1, add_emit, hv), "schemas");
  b.ts = 1;

  /* Initial: every delta generated first, then added and materialized. */
  char **jsons = malloc(deltas * sizeof *jsons);
  char buf[512];
  for (uint64_t i = 0; i < deltas; i++) {
    int n = random_delta(&b, buf, sizeof buf);
    jsons[i] = malloc((size_t)n + 1);
    memcpy(jsons[i], buf, (size_t)n + 1);
  }
  double t0 = now_s();
  for (uint64_t i = 0; i < deltas; i++) check(rf_hv_add_json(hv, jsons[i], strlen(jsons[i])), "add");
  double t_add = now_s() - t0;
  check(rf_hv_commit(hv, NULL), "commit");
  check(rf_hv_sync(hv), "sync");
  double t_initial = now_s() - t0;
  printf("{\"phase\":\"initial\",\"deltas\":%" PRIu64 ",\"objects\":%" PRIu64
         ",\"add_s\":%.3f,\"initial_s\":%.3f}\n",
         deltas, objects, t_add, t_initial);
  fflush(stdout);

  double *lat = malloc((singles > batches ? singles : batches) * sizeof *lat);
  double med1, p991, medk, p99k;
  for (uint32_t r = 0; r < singles; r++) {
    int n = random_delta(&b, buf, sizeof buf);
    double s = now_s();
    check(rf_hv_add_json(hv, buf, (size_t)n), "add");
    check(rf_hv_commit(hv, NULL), "commit");
    check(rf_hv_sync(hv), "sync");
    lat[r] = now_s() - s;
  }
  stats(lat, singles, &med1, &p991);
  printf("{\"phase\":\"single\",\"rounds\":%u,\"median_ms\":%.3f,\"p99_ms\":%.3f}\n", singles, med1,
         p991);
  fflush(stdout);
  for (uint32_t r = 0; r < batches; r++) {
    char **batch = malloc(1000 * sizeof *batch);
    for (int k = 0; k < 1000; k++) {
      int n = random_delta(&b, buf, sizeof buf);
      batch[k] = malloc((size_t)n + 1);
      memcpy(batch[k], buf, (size_t)n + 1);
    }
    double s = now_s();
    for (int k = 0; k < 1000; k++) check(rf_hv_add_json(hv, batch[k], strlen(batch[k])), "add");
    check(rf_hv_commit(hv, NULL), "commit");
    check(rf_hv_sync(hv), "sync");
    lat[r] = now_s() - s;
    for (int k = 0; k < 1000; k++) free(batch[k]);
    free(batch);
  }
  stats(lat, batches, &medk, &p99k);
  printf("{\"phase\":\"batch1000\",\"rounds\":%u,\"median_ms\":%.3f,\"p99_ms\":%.3f}\n", batches,
         medk, p99k);

  /* One update recomputed from scratch (a person's name: the person and
   * every post and comment embedding them are affected). */
  double rec[5];
  for (int i = 0; i < 5; i++) rec[i] = recompute_once(jsons, deltas, "p1");
  double rmed, rp99;
  stats(rec, 5, &rmed, &rp99);
  printf("{\"summary\":true,\"system\":\"rhizoflow\",\"workload\":\"hyperviews\",\"workers\":%u,"
         "\"deltas\":%" PRIu64 ",\"objects\":%" PRIu64 ",\"initial_s\":%.3f,"
         "\"single_median_ms\":%.3f,\"single_p99_ms\":%.3f,\"batch1000_median_ms\":%.3f,"
         "\"batch1000_p99_ms\":%.3f,\"recompute_median_ms\":%.3f,\"recompute_over_single\":%.1f}\n",
         workers, deltas, objects, t_initial, med1, p991, medk, p99k, rmed, rmed / med1);
  rf_hv_destroy(hv);
  for (uint64_t i = 0; i < deltas; i++) free(jsons[i]);
  free(jsons);
  for (size_t i = 0; i < b.n_ids; i++) free(b.ids[i]);
  free(b.ids);
  free(lat);
  return 0;
}
