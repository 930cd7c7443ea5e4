/*
 * hv_readers.c: HyperViews read from other threads while the writer adds
 * deltas and the workers update (run under ThreadSanitizer in CI). The
 * writer commits random batches (conflicts, negations, a schema change);
 * two reader threads read HyperViews, Views and object lists at the latest
 * time; a subscriber drains the change stream. At the end every view must
 * equal that of a one-worker instance given the same deltas in one batch,
 * and the change stream, summed, must equal the final content.
 *   hv_readers BATCHES WORKERS
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rhizoflow.h"

#define OBJECTS 12
static const char *SCHEMAS[] = {
    "[{\"name\":\"post\",\"transform\":{\"author\":\"person\"},\"resolve\":{\"n\":\"sum\"}},"
    "{\"name\":\"person\"}]",
    "{\"name\":\"person\",\"transform\":{\"fan\":\"person2\"}}",
};

static rf_hv *hv;
static atomic_int done;
static atomic_long reads, changes;
static char **deltas;
static size_t n_deltas, cap_deltas;

static void die(const char *what, int rc) {
  fprintf(stderr, "hv_readers: %s: %s (%s)\n", what, rf_strerror(rc), rf_last_error());
  exit(1);
}

static uint64_t rng = 12345;
static uint32_t below(uint32_t n) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng % n);
}

static void keep(const char *json) {
  if (n_deltas == cap_deltas) {
    cap_deltas = cap_deltas ? 2 * cap_deltas : 256;
    deltas = realloc(deltas, cap_deltas * sizeof *deltas);
    if (!deltas) die("realloc", RF_ENOMEM);
  }
  deltas[n_deltas++] = strdup(json);
}

static int add_schema_delta(void *ctx, const char *json, size_t len) {
  keep(json);
  return rf_hv_add_json(hv, json, len) < 0 ? -1 : 0;
}

static void random_delta(uint64_t k) {
  char buf[512];
  uint32_t o = below(OBJECTS), kind = below(10);
  if (kind == 0 && k > 0) {
    snprintf(buf, sizeof buf,
             "{\"id\":\"x%" PRIu64 "\",\"timestamp\":%" PRIu64 ",\"author\":\"a\",\"system\":\"s\","
             "\"pointers\":[{\"role\":\"negates\",\"target\":{\"id\":\"x%u\"}}]}",
             k, 100 + k, below((uint32_t)k));
  } else if (kind < 4) {
    snprintf(buf, sizeof buf,
             "{\"id\":\"x%" PRIu64 "\",\"timestamp\":%" PRIu64 ",\"author\":\"a\",\"system\":\"s\","
             "\"pointers\":[{\"role\":\"post\",\"target\":{\"id\":\"o%u\",\"context\":\"author\"}},"
             "{\"role\":\"author\",\"target\":{\"id\":\"o%u\"}}]}",
             k, 100 + k, o, below(OBJECTS));
  } else {
    snprintf(buf, sizeof buf,
             "{\"id\":\"x%" PRIu64 "\",\"timestamp\":%" PRIu64 ",\"author\":\"a\",\"system\":\"s\","
             "\"pointers\":[{\"role\":\"thing\",\"target\":{\"id\":\"o%u\",\"context\":\"n\"}},"
             "{\"role\":\"n\",\"target\":%u}]}",
             k, 100 + k, o, below(100));
  }
  keep(buf);
  int rc = rf_hv_add_json(hv, buf, strlen(buf));
  if (rc < 0) die("add", rc);
}

static void *reader(void *arg) {
  uintptr_t seed = (uintptr_t)arg;
  char name[16];
  while (!atomic_load(&done)) {
    snprintf(name, sizeof name, "o%u", (unsigned)(seed++ % OBJECTS));
    char *json;
    int rc = rf_hv_get(hv, "post", name, RF_TIME_LATEST, (int)(seed & 1), &json);
    if (rc == 0) rf_hv_free(json);
    else if (rc != RF_ENOTFOUND) die("reader: rf_hv_get", rc);
    atomic_fetch_add(&reads, 1);
  }
  return NULL;
}

static int count_name(void *ctx, const char *name) {
  (*(size_t *)ctx)++;
  return 0;
}

static void *lister(void *arg) {
  while (!atomic_load(&done)) {
    size_t n = 0;
    int rc = rf_hv_objects(hv, "person", RF_TIME_LATEST, count_name, &n);
    if (rc && rc != RF_ENOTFOUND) die("lister: rf_hv_objects", rc);
    atomic_fetch_add(&reads, 1);
  }
  return NULL;
}

/* The change stream summed per (object, schema, via, property, delta). */
typedef struct tally {
  char key[256];
  long sum;
} tally;
static tally *tallies;
static size_t n_tallies, cap_tallies;

static void *subscriber(void *arg) {
  rf_hv_sub *sub = arg;
  rf_hv_change c;
  for (;;) {
    int rc = rf_hv_sub_next(sub, &c, 20);
    if (rc == 0 && atomic_load(&done) == 2) break;
    if (rc == 0) continue;
    if (rc == RF_HV_LAGGED) die("subscriber lagged with a large buffer", RF_ERANGE);
    if (rc < 0) die("subscriber", rc);
    char key[256];
    snprintf(key, sizeof key, "%s|%s|%s|%s|%s", c.object, c.schema, c.via, c.property, c.delta);
    size_t i = 0;
    while (i < n_tallies && strcmp(tallies[i].key, key)) i++;
    if (i == n_tallies) {
      if (n_tallies == cap_tallies) {
        cap_tallies = cap_tallies ? 2 * cap_tallies : 256;
        tallies = realloc(tallies, cap_tallies * sizeof *tallies);
      }
      snprintf(tallies[n_tallies].key, sizeof tallies[0].key, "%s", key);
      tallies[n_tallies++].sum = 0;
    }
    tallies[i].sum += c.diff;
    atomic_fetch_add(&changes, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int batches = argc > 1 ? atoi(argv[1]) : 200;
  uint32_t workers = argc > 2 ? (uint32_t)atoi(argv[2]) : 2;
  rf_hv_options o = {.workers = workers};
  int rc = rf_hv_create(&o, &hv);
  if (rc) die("create", rc);
  rf_hv_sub *sub;
  if ((rc = rf_hv_subscribe(hv, "post", 1 << 20, &sub))) die("subscribe", rc);
  pthread_t th[4];
  pthread_create(&th[0], NULL, reader, (void *)1);
  pthread_create(&th[1], NULL, reader, (void *)2);
  pthread_create(&th[2], NULL, lister, NULL);
  pthread_create(&th[3], NULL, subscriber, sub);
  uint64_t k = 0;
  for (int b = 0; b < batches; b++) {
    if (b == 0 || b == batches / 2) {
      const char *s = SCHEMAS[b != 0];
      if ((rc = rf_hv_schema_deltas(hv, s, strlen(s), 10 + b, add_schema_delta, NULL)))
        die("schema", rc);
    }
    int n = 1 + (int)below(8);
    for (int i = 0; i < n; i++) random_delta(k++);
    if ((rc = rf_hv_commit(hv, NULL))) die("commit", rc);
    if (b % 3 == 0 && (rc = rf_hv_sync(hv))) die("sync", rc);
  }
  if ((rc = rf_hv_sync(hv))) die("sync", rc);
  atomic_store(&done, 1);
  pthread_join(th[0], NULL);
  pthread_join(th[1], NULL);
  pthread_join(th[2], NULL);
  atomic_store(&done, 2);
  pthread_join(th[3], NULL);

  /* The same deltas, one batch, one worker: the same views. */
  rf_hv *ref;
  rf_hv_options o1 = {.workers = 1};
  if ((rc = rf_hv_create(&o1, &ref))) die("create ref", rc);
  for (size_t i = 0; i < n_deltas; i++) rf_hv_add_json(ref, deltas[i], strlen(deltas[i]));
  if ((rc = rf_hv_commit(ref, NULL)) || (rc = rf_hv_sync(ref))) die("ref", rc);
  int bad = 0;
  for (int i = 0; i < OBJECTS; i++) {
    char name[16];
    snprintf(name, sizeof name, "o%d", i);
    for (int resolve = 0; resolve < 2; resolve++) {
      char *a, *b;
      if ((rc = rf_hv_get(hv, "post", name, RF_TIME_LATEST, resolve, &a))) die("get", rc);
      if ((rc = rf_hv_get(ref, "post", name, RF_TIME_LATEST, resolve, &b))) die("get ref", rc);
      if (strcmp(a, b)) {
        fprintf(stderr, "hv_readers: %s differs:\n  %s\n  %s\n", name, a, b);
        bad = 1;
      }
      rf_hv_free(a);
      rf_hv_free(b);
    }
  }
  /* Every summed change is 0 or 1 (a set), and a HyperView has each
   * delta the stream says it has. */
  for (size_t i = 0; i < n_tallies; i++) {
    if (tallies[i].sum != 0 && tallies[i].sum != 1) {
      fprintf(stderr, "hv_readers: change stream sums to %ld for %s\n", tallies[i].sum,
              tallies[i].key);
      bad = 1;
    }
  }
  rf_hv_unsubscribe(sub);
  rf_hv_destroy(ref);
  rf_hv_destroy(hv);
  printf("hv_readers: %d batches, %zu deltas, %ld reads, %ld changes, %s\n", batches, n_deltas,
         atomic_load(&reads), atomic_load(&changes), bad ? "MISMATCH" : "ok");
  for (size_t i = 0; i < n_deltas; i++) free(deltas[i]);
  free(deltas);
  free(tallies);
  return bad;
}
