/*
 * subscribe.c: change streams of materialized HyperViews (docs/
 * hyperviews.md "Change streams"). The dataflow's consolidated change
 * collection ends in an inspect callback that workers run; it pushes each
 * change into the hub's lock-free MPSC queue, and only while some
 * subscription wants changes. Whoever holds the hub's mutex (a subscriber
 * in rf_hv_sub_next, or the writer after a commit or sync) drains the
 * queue, stages the changes until their time is complete, then hands each
 * complete time, in time order, to every subscription of its schema, into
 * that subscription's bounded ring.
 *
 * Threads and the one mutex here: `mu` is taken by subscriber threads
 * (subscribe, next, unsubscribe) and by the writer (hv_hub_on_commit,
 * hv_hub_completed); never by a worker. Workers touch only `q` (MPSC push:
 * any number of producers) and read `want` and set `overflow` (atomics);
 * the single MPSC consumer is whoever holds `mu`.
 *
 * Falling behind: a ring that would overflow is emptied; the subscription
 * counts every change it loses (those in the ring, the one that did not
 * fit, and the rest of that time, which it skips), and is told once
 * (RF_HV_LAGGED, with the count and the first time from which its stream
 * is whole again). Workers never wait.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "hyperviews/internal.h"

typedef struct change {
  rf_time time;
  rf_value rec[6]; /* (S0, O0, S, X, p, d) */
  rf_diff diff;
} change;

typedef struct change_node {
  rf__mpsc_node node; /* first: the queue links nodes */
  change c;
} change_node;

struct rf_hv_sub {
  rf_hv *hv;
  char *schema;
  uint64_t S;        /* the schema's symbol once seen (0 before) */
  rf_time from;      /* first time delivered; 0: not active before the next commit */
  change *ring;
  size_t cap, head, n;
  uint64_t lost;     /* dropped since last told */
  rf_time resume;    /* skip changes before this time */
  rf_hv_sub *next;
};

struct hv_hub {
  rf_hv *hv;
  rf__mpsc q;
  uint32_t want;     /* atomic: workers push only while 1 */
  uint32_t overflow; /* atomic: a worker could not allocate a change */
  pthread_mutex_t mu;
  change *staged;    /* drained, time not yet complete; under mu */
  size_t n_staged, cap_staged;
  rf_time complete;  /* every time <= complete is complete; under mu */
  rf_hv_sub *subs;   /* under mu */
};

int hv_hub_new(rf_hv *hv, hv_hub **out) {
  hv_hub *h = rf__calloc(1, sizeof *h);
  if (!h) return RF_ENOMEM;
  h->hv = hv;
  rf__mpsc_init(&h->q);
  if (pthread_mutex_init(&h->mu, NULL)) {
    rf__free(h);
    return rf__error(RF_ENOMEM, "hyperviews: cannot create the change hub's mutex");
  }
  *out = h;
  return 0;
}

static void drain_queue(hv_hub *h, int keep);

void hv_hub_free(hv_hub *h) {
  if (!h) return;
  drain_queue(h, 0);
  rf__free(h->staged);
  pthread_mutex_destroy(&h->mu);
  rf__free(h);
}

void hv_hub_on_change(void *ctx, const rf_value *rec, uint32_t arity, const uint64_t *time,
                      uint32_t time_dim, rf_diff diff) {
  hv_hub *h = ctx;
  /* Relaxed: `want` is set by the writer before it advances the inputs
   * past the first time a subscription needs, and the engine's hand-off of
   * that advance to the workers is release/acquire. */
  if (!rf__atomic_load_relaxed_32(&h->want)) return;
  change_node *n = rf__malloc(sizeof *n);
  if (!n) {
    rf__atomic_store_relaxed_32(&h->overflow, 1);
    return;
  }
  n->c.time = time[0];
  memcpy(n->c.rec, rec, sizeof n->c.rec);
  n->c.diff = diff;
  rf__mpsc_push(&h->q, &n->node);
}

/* Under mu: moves the queue into `staged` (or frees it if !keep), until
 * it reads empty: a bare pop can return NULL while an item pushed long ago
 * is hidden behind another worker's push in progress (common/mpsc.h), and
 * every change pushed before the frontier the caller read must be taken. */
static void drain_queue(hv_hub *h, int keep) {
  rf__mpsc_node *m;
  while ((m = rf__mpsc_pop_settled(&h->q))) {
    change_node *n = (change_node *)m;
    if (keep && !rf__grow((void **)&h->staged, &h->cap_staged, h->n_staged + 1,
                          sizeof *h->staged))
      h->staged[h->n_staged++] = n->c;
    else if (keep)
      rf__atomic_store_relaxed_32(&h->overflow, 1);
    rf__free(n);
  }
}

static int cmp_time(const void *a, const void *b) {
  const change *x = a, *y = b;
  return (x->time > y->time) - (x->time < y->time);
}

static int sub_matches(rf_hv_sub *s, const hv_catalog *cat, uint64_t S0) {
  if (s->S) return s->S == S0;
  const char *name = hv_name(cat, S0, NULL);
  if (name && strcmp(name, s->schema) == 0) {
    s->S = S0;
    return 1;
  }
  return 0;
}

static void lose(rf_hv_sub *s, rf_time t) {
  s->lost += s->n + 1;
  s->n = 0;
  s->head = 0;
  s->resume = t + 1;
}

static void deliver(rf_hv_sub *s, const change *c) {
  if (!s->from || c->time < s->from) return;
  if (c->time < s->resume) { /* the rest of a time that did not fit */
    s->lost++;
    return;
  }
  if (s->n == s->cap) {
    lose(s, c->time);
    return;
  }
  s->ring[(s->head + s->n) % s->cap] = *c;
  s->n++;
}

/* Under mu: stages what the workers pushed and delivers every complete
 * time, oldest first. */
static void distribute(hv_hub *h) {
  rf_hv *hv = h->hv;
  if (hv->workers > 1) {
    /* Workers publish the probe's frontier; any thread may ask. Read
     * before draining: a worker pushes a change before its time can
     * complete, so every change of a time seen complete here is in the
     * queue by now (acquire, through the probe). */
    rf_time open = rf__atomic_load_acquire_64(&hv->open);
    while (h->complete + 1 < open && rf_probe_done(hv->flow.changes, h->complete + 1))
      h->complete++;
  }
  drain_queue(h, 1);
  if (rf__atomic_load_relaxed_32(&h->overflow)) {
    rf__atomic_store_relaxed_32(&h->overflow, 0);
    for (rf_hv_sub *s = h->subs; s; s = s->next)
      if (s->from) lose(s, h->complete);
  }
  if (!h->n_staged) return;
  qsort(h->staged, h->n_staged, sizeof *h->staged, cmp_time);
  size_t i = 0;
  for (; i < h->n_staged && h->staged[i].time <= h->complete; i++)
    for (rf_hv_sub *s = h->subs; s; s = s->next)
      if (sub_matches(s, hv->cat, h->staged[i].rec[0])) deliver(s, &h->staged[i]);
  memmove(h->staged, h->staged + i, (h->n_staged - i) * sizeof *h->staged);
  h->n_staged -= i;
}

void hv_hub_on_commit(hv_hub *h, rf_time open) {
  pthread_mutex_lock(&h->mu);
  for (rf_hv_sub *s = h->subs; s; s = s->next)
    if (!s->from) s->from = open;
  /* Relaxed: the workers see it through the inputs' advance (above). */
  rf__atomic_store_relaxed_32(&h->want, h->subs != NULL);
  if (h->subs) distribute(h);
  else drain_queue(h, 0);
  pthread_mutex_unlock(&h->mu);
}

void hv_hub_completed(hv_hub *h, rf_time t) {
  pthread_mutex_lock(&h->mu);
  if (t > h->complete) h->complete = t;
  if (h->subs) distribute(h);
  else drain_queue(h, 0);
  pthread_mutex_unlock(&h->mu);
}

int rf_hv_subscribe(rf_hv *hv, const char *schema, size_t capacity, rf_hv_sub **out) {
  RF_RETURN_ERROR_IF(!hv || !schema || !out, RF_EINVAL, "rf_hv_subscribe: NULL argument");
  rf_hv_sub *s = rf__calloc(1, sizeof *s);
  if (!s) return RF_ENOMEM;
  s->hv = hv;
  s->cap = capacity ? capacity : 65536;
  s->schema = rf__strdup(schema);
  s->ring = rf__malloc(s->cap * sizeof *s->ring);
  if (!s->schema || !s->ring) {
    rf__free(s->schema);
    rf__free(s->ring);
    rf__free(s);
    return RF_ENOMEM;
  }
  hv_hub *h = hv->hub;
  pthread_mutex_lock(&h->mu);
  s->next = h->subs;
  h->subs = s;
  pthread_mutex_unlock(&h->mu);
  *out = s;
  return 0;
}

void rf_hv_unsubscribe(rf_hv_sub *s) {
  if (!s) return;
  hv_hub *h = s->hv->hub;
  pthread_mutex_lock(&h->mu);
  for (rf_hv_sub **p = &h->subs; *p; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  if (!h->subs) rf__atomic_store_relaxed_32(&h->want, 0);
  pthread_mutex_unlock(&h->mu);
  rf__free(s->schema);
  rf__free(s->ring);
  rf__free(s);
}

/* Under mu: 1 and *c, RF_HV_LAGGED, or 0. */
static int take(rf_hv_sub *s, rf_hv_change *c) {
  if (s->lost) {
    memset(c, 0, sizeof *c);
    c->lost = s->lost;
    c->time = s->resume;
    s->lost = 0;
    return RF_HV_LAGGED;
  }
  if (!s->n) return 0;
  const change *x = &s->ring[s->head];
  s->head = (s->head + 1) % s->cap;
  s->n--;
  const hv_catalog *cat = s->hv->cat;
  c->time = x->time;
  c->schema = hv_name(cat, x->rec[2], NULL);
  c->object = hv_name(cat, x->rec[1], NULL);
  c->via = hv_name(cat, x->rec[3], NULL);
  c->property = hv_name(cat, x->rec[4], NULL);
  c->delta = hv_name(cat, x->rec[5], NULL);
  c->diff = x->diff;
  c->lost = 0;
  return 1;
}

int rf_hv_sub_next(rf_hv_sub *s, rf_hv_change *c, int timeout_ms) {
  RF_RETURN_ERROR_IF(!s || !c, RF_EINVAL, "rf_hv_sub_next: NULL argument");
  hv_hub *h = s->hv->hub;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  /* Polls with short sleeps: workers never signal anyone (they only push),
   * so a waiting subscriber looks again every millisecond. */
  for (;;) {
    pthread_mutex_lock(&h->mu);
    distribute(h);
    int rc = take(s, c);
    pthread_mutex_unlock(&h->mu);
    if (rc || timeout_ms == 0) return rc;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(now.tv_sec - start.tv_sec) * 1e3 +
                (double)(now.tv_nsec - start.tv_nsec) / 1e6;
    if (timeout_ms > 0 && ms >= timeout_ms) return 0;
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
}
