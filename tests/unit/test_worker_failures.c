/*
 * test_worker_failures.c: with several workers, an error in any worker
 * stops the dataflow and reaches every thread that waits on it, and later
 * calls; nothing hangs, crashes or leaks (the ASan build checks leaks).
 *
 * A map callback fails on one record, on whichever worker holds it: the
 * waiting thread and a second thread blocked in rf_probe_wait both get
 * RF_ECALLBACK, and so do later calls. (Allocation failures on worker
 * threads: test_alloc_failures.c.)
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "rhizoflow.h"

#define POISON ((rf_value)1 << 40)

static int fail_on_poison(void *ctx, const rf_value *in, rf_value *out) {
  (void)ctx;
  if (in[0] == POISON) return -5;
  out[0] = in[0];
  out[1] = in[1];
  return 1;
}

typedef struct waiter {
  rf_probe *p;
  int rc;
} waiter;

static void *wait_probe(void *arg) {
  waiter *w = arg;
  w->rc = rf_probe_wait(w->p, 1000000);
  return NULL;
}

static void callback_failure(uint32_t workers) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(&(rf_config){.workers = workers}, &g), 0);
  rf_input *in;
  rf_coll *c = rf_map(rf_input_new(g, "in", 2, &in), 2, fail_on_poison, NULL);
  rf_probe *p = rf_probe_new(rf_arr_collection(rf_count(rf_arrange(c, 1))));
  cr_assert_eq(rf_graph_start(g), 0, "%s", rf_last_error());
  for (rf_value i = 0; i < 2000; i++) {
    rf_value rec[2] = {i, i % 7};
    cr_assert_eq(rf_input_insert(in, rec, 2), 0);
  }
  cr_assert_eq(rf_input_advance_to(in, 1), 0);
  cr_assert_eq(rf_probe_wait(p, 0), 0, "%s", rf_last_error());
  /* A second thread waits for a time this (the feeding) thread has not
   * reached: it blocks, since this thread may still advance the input. */
  waiter w = {p, 0};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, wait_probe, &w), 0);
  rf_value bad[2] = {POISON, 1};
  cr_assert_eq(rf_input_insert(in, bad, 2), 0);
  cr_assert_eq(rf_input_advance_to(in, 2), 0);
  int rc = rf_probe_wait(p, 1);
  cr_assert_eq(rc, RF_ECALLBACK, "workers %u: rf_probe_wait gave %s (%s)", workers,
               rf_err_name(rc), rf_last_error());
  cr_assert(strstr(rf_last_error(), "returned -5") != NULL, "message: %s", rf_last_error());
  pthread_join(t, NULL);
  cr_assert_eq(w.rc, RF_ECALLBACK, "workers %u: the other waiting thread got %s", workers,
               rf_err_name(w.rc));
  cr_assert_eq(rf_graph_run(g), RF_ECALLBACK);
  rf_value more[2] = {1, 1};
  cr_assert_eq(rf_input_insert(in, more, 2), RF_ECALLBACK);
  cr_assert_eq(rf_graph_error(g), RF_ECALLBACK);
  rf_graph_destroy(g);
}

Test(worker_failures, callback_error_reaches_every_waiter) {
  for (uint32_t w = 2; w <= 4; w++) callback_failure(w);
}

/* Waiting across threads: a thread waiting for a time that an input fed by
 * another thread still holds back waits for that thread, rather than
 * reporting a stall. */
typedef struct feeder {
  rf_input *in;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool fed;
} feeder;

static void *feed_then_advance(void *arg) {
  feeder *f = arg;
  rf_value rec[2] = {1, 2};
  cr_assert_eq(rf_input_insert(f->in, rec, 2), 0);
  pthread_mutex_lock(&f->mu);
  f->fed = true;
  pthread_cond_signal(&f->cv);
  pthread_mutex_unlock(&f->mu);
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, NULL);
  cr_assert_eq(rf_input_advance_to(f->in, 1), 0);
  return NULL;
}

Test(worker_failures, waiter_waits_for_another_feeding_thread) {
  for (uint32_t workers = 2; workers <= 3; workers++) {
    rf_graph *g;
    cr_assert_eq(rf_graph_create(&(rf_config){.workers = workers}, &g), 0);
    rf_input *in;
    rf_probe *p = rf_probe_new(rf_arr_collection(rf_count(rf_arrange(
        rf_input_new(g, "in", 2, &in), 1))));
    cr_assert_eq(rf_graph_start(g), 0, "%s", rf_last_error());
    feeder f = {in, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, feed_then_advance, &f), 0);
    pthread_mutex_lock(&f.mu);
    while (!f.fed) pthread_cond_wait(&f.cv, &f.mu);
    pthread_mutex_unlock(&f.mu);
    int rc = rf_probe_wait(p, 0);
    cr_assert_eq(rc, 0, "workers %u: %s (%s)", workers, rf_err_name(rc), rf_last_error());
    pthread_join(t, NULL);
    /* Now this thread feeds it: waiting past its time is a stall. */
    cr_assert_eq(rf_input_advance_to(in, 2), 0);
    cr_assert_eq(rf_probe_wait(p, 5), RF_ESTALL);
    rf_graph_destroy(g);
  }
}
