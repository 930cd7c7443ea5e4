/*
 * threads.c: a dataflow on several worker threads, fed from one thread and
 * read from another while it runs.
 *
 * Word counts over a stream of (document, word) records: 4 workers keep
 * `rf_count` per word up to date, each over its share of the words. A
 * feeder thread adds documents and removes old ones, one time per batch; a
 * reader thread looks words up in the live view meanwhile, without ever
 * blocking the workers; the main thread waits for each batch with a probe
 * and checks the final counts against a recount.
 *
 * The rules (include/rhizoflow.h, "Threads"): build, start and destroy on
 * one thread; an input handle on one thread at a time; views from any
 * thread; callbacks must be thread-safe (this program has none).
 *
 * Build: cmake --build build --target example_threads; run:
 * build/examples/example_threads [WORKERS]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rhizoflow.h"

#define WORDS 50
#define DOCS_PER_BATCH 20
#define WORDS_PER_DOC 8
#define BATCHES 30

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, rf_err_name(rc), rf_last_error());
    exit(1);
  }
}

/* The word of a document's i-th slot: a fixed pseudo-random choice. */
static rf_value word_of(uint64_t doc, uint64_t i) {
  uint64_t x = (doc * 8 + i + 1) * 0x9e3779b97f4a7c15ULL;
  return (x >> 33) % WORDS;
}

typedef struct shared {
  rf_input *in;
  rf_view *counts;
  rf_probe *probe;
  int done; /* set by main once the feeder finished (read by the reader) */
  int feeding; /* set by the feeder once it has fed the input (main waits) */
  pthread_mutex_t mu;
  pthread_cond_t fed;
  int64_t expected[WORDS]; /* the feeder's own count, for the final check */
} shared;

static void update_doc(shared *s, uint64_t doc, rf_diff diff) {
  for (uint64_t i = 0; i < WORDS_PER_DOC; i++) {
    rf_value rec[2] = {word_of(doc, i), doc};
    check(rf_input_update(s->in, rec, 2, diff), "rf_input_update");
    s->expected[rec[0]] += diff;
  }
}

/* Batch b adds documents of batch b and removes those of batch b - 3. */
static void *feeder(void *arg) {
  shared *s = arg;
  for (uint64_t b = 0; b < BATCHES; b++) {
    for (uint64_t d = 0; d < DOCS_PER_BATCH; d++) {
      update_doc(s, b * DOCS_PER_BATCH + d, +1);
      if (b >= 3) update_doc(s, (b - 3) * DOCS_PER_BATCH + d, -1);
    }
    /* Advancing hands the batch to the workers and closes time b. */
    check(rf_input_advance_to(s->in, b + 1), "rf_input_advance_to");
    if (b == 0) {
      /* From now on the input is known to be fed by this thread, so a wait
       * on another thread waits for it instead of reporting a stall. */
      pthread_mutex_lock(&s->mu);
      s->feeding = 1;
      pthread_cond_signal(&s->fed);
      pthread_mutex_unlock(&s->mu);
    }
    struct timespec pause = {0, 1000 * 1000}; /* a stream, not one burst */
    nanosleep(&pause, NULL);
  }
  check(rf_input_close(s->in), "rf_input_close");
  return NULL;
}

static int sum_count(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  (void)key;
  (void)count;
  *(int64_t *)ctx += rf_to_i64(val[0]); /* rf_count's counts are encoded i64 */
  return 0;
}

/* Looks words up at the latest complete time while the workers run. */
static void *reader(void *arg) {
  shared *s = arg;
  uint64_t lookups = 0, answered = 0;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    int done = s->done;
    pthread_mutex_unlock(&s->mu);
    if (done) break;
    rf_value w = lookups % WORDS;
    int64_t n = 0;
    int rc = rf_view_lookup(s->counts, &w, RF_TIME_LATEST, sum_count, &n);
    lookups++;
    if (rc == 0) answered++;
    else if (rc != RF_EPENDING && rc != RF_ECOMPACTED) check(rc, "rf_view_lookup");
  }
  printf("reader: %" PRIu64 " lookups while the workers ran, %" PRIu64 " answered\n", lookups,
         answered);
  return NULL;
}

int main(int argc, char **argv) {
  uint32_t workers = argc > 1 ? (uint32_t)atoi(argv[1]) : 4;
  if (workers < 2) {
    /* With one worker the dataflow runs on the thread that waits, and a
     * graph's handles are then used from one thread at a time. */
    fprintf(stderr, "usage: %s [WORKERS]: 2 or more workers (default 4)\n", argv[0]);
    return 2;
  }
  rf_graph *g;
  check(rf_graph_create(&(rf_config){.workers = workers}, &g), "rf_graph_create");
  shared s = {.mu = PTHREAD_MUTEX_INITIALIZER, .fed = PTHREAD_COND_INITIALIZER};
  rf_coll *words = rf_input_new(g, "words", 2, &s.in); /* (word, document) */
  rf_arr *counts = rf_count(rf_arrange(words, 1));      /* (word, count) */
  s.counts = rf_view_new(counts);
  s.probe = rf_probe_new(rf_arr_collection(counts));
  check(rf_graph_error(g), "building");
  check(rf_graph_start(g), "rf_graph_start");

  pthread_t feed, read;
  if (pthread_create(&feed, NULL, feeder, &s) || pthread_create(&read, NULL, reader, &s)) {
    fprintf(stderr, "pthread_create failed\n");
    return 1;
  }
  /* Wait for every batch: once the feeder has fed the input, a probe wait
   * on this thread waits for it rather than reporting a stall (before
   * that, nothing tells the dataflow another thread will feed it, and an
   * idle dataflow whose input holds the time back is stalled). */
  pthread_mutex_lock(&s.mu);
  while (!s.feeding) pthread_cond_wait(&s.fed, &s.mu);
  pthread_mutex_unlock(&s.mu);
  check(rf_probe_wait(s.probe, BATCHES - 1), "rf_probe_wait");
  pthread_join(feed, NULL);
  check(rf_graph_run(g), "rf_graph_run");
  pthread_mutex_lock(&s.mu);
  s.done = 1;
  pthread_mutex_unlock(&s.mu);
  pthread_join(read, NULL);

  int wrong = 0;
  for (rf_value w = 0; w < WORDS; w++) {
    int64_t n = 0;
    check(rf_view_lookup(s.counts, &w, RF_TIME_LATEST, sum_count, &n), "rf_view_lookup");
    if (n != s.expected[w]) {
      printf("word %" PRIu64 ": %" PRId64 ", expected %" PRId64 "\n", w, n, s.expected[w]);
      wrong++;
    }
  }
  printf("%u workers: %d words counted over %d batches; %s\n", workers, WORDS, BATCHES,
         wrong ? "MISMATCH" : "every count matches a recount");
  rf_graph_destroy(g);
  return wrong ? 1 : 0;
}
