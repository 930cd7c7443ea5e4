/*
 * parallel.c: running a dataflow on W worker threads.
 *
 * Every worker runs its replica of the dataflow (dataflow/replica.c) over
 * its shard of the data: keyed operators see the keys that hash to it
 * (dataflow/exchange.h). The workers proceed in rounds; a round is:
 *
 *   gather  drain the messages other workers sent (transport), let input
 *           operators look for submissions from input handles (poll), and
 *           seed this replica's pointstamps if they changed;
 *   sync    (barrier B)
 *   decide  every worker reads every worker's round flags and seeds and
 *           propagates the union to the frontiers of its own ports: all
 *           compute the same frontiers and take the same decision
 *           (progress.c, docs/progress.md);
 *   work    if anything is active anywhere, run this replica's active
 *           operators once in topological order (sending to other workers
 *           through the transport); if nothing is, the dataflow is idle:
 *           worker 0 says so to waiting callers, each worker spends idle
 *           fuel on merges, and parks until an input handle submits work;
 *   sync    (barrier A)
 *
 * Why this is safe: every message sent in a round's work phase is received
 * in the next gather phase, before the seeds that go into the next
 * frontiers are taken, so a frontier always accounts for every message in
 * flight and every capability held, on every worker. Frontiers read in the
 * middle of a round are those of the round's start: conservative, since
 * pointstamps only move forward. Why it is live: a round with work leads
 * to a round that sees its effects, and the workers stop only in a round
 * where no worker had any operator with work and no frontier moved.
 *
 * A decision that every worker must share (stop, fail, park) is made only
 * from flags written before barrier B and read after it, so all workers
 * leave the loop in the same round and no one waits at a barrier forever.
 * A worker that fails records the error in the graph (rf__graph_fail) and
 * keeps taking part in the rounds until they all see it at the next
 * decide; callers waiting are woken and get the error.
 */
#include <pthread.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "scheduler/bell.h"
#include "scheduler/sched.h"
#include "scheduler/transport.h"

/* Merge work granted to one operator at a time while idle, in updates
 * moved: small, so that a submission waits at most that long for the
 * worker to notice it. */
#define IDLE_FUEL ((size_t)1 << 16)

enum { GATE_WAIT = 0, GATE_GO = 1, GATE_ABORT = 2 };

typedef struct worker_arg {
  rf__sched *s;
  rf__worker *wk;
} worker_arg;

struct rf__sched {
  rf_graph *g;
  uint32_t n;
  rf__worker *const *all;
  rf__transport *tp;
  pthread_t *threads;
  worker_arg *args;
  uint32_t n_started;
  /* Atomic: set once every thread exists (or to abort); threads wait on it
   * (start_bell) so that none enters a round its peers will never join. */
  uint32_t gate;
  rf__bell start_bell;
  /* Atomic: bumped by input handles after they publish work (any thread);
   * read by workers at each round's gather. */
  uint64_t submitted;
  /* Atomic: 1 + the submissions every worker had seen in the last round
   * that found no work anywhere (0: none yet). Written by worker 0 after
   * that round's decide; read by waiting callers. */
  uint64_t quiet;
  /* Atomic: rf_graph_destroy asks the workers to stop. */
  uint32_t stop;
  rf__bell callers; /* threads in rf_graph_run / rf_graph_step / rf_probe_wait */
};

/* ---- Worker side -------------------------------------------------------- */

static bool gate_open(void *ctx) {
  /* Acquire: pairs with the starter's release. */
  return rf__atomic_load_acquire_32(&((rf__sched *)ctx)->gate) != GATE_WAIT;
}

typedef struct park_ctx {
  rf__sched *s;
  uint64_t seen;
} park_ctx;

/* Parked workers wake for new submissions, a stop or a failure. */
static bool has_outside_work(void *ctx) {
  park_ctx *p = ctx;
  return rf__atomic_load_acquire_64(&p->s->submitted) != p->seen ||
         rf__atomic_load_acquire_32(&p->s->stop) || rf__graph_failed(p->s->g);
}

static void gather(rf__sched *s, rf__worker *wk) {
  /* Acquire (both): what an input handle or rf_graph_destroy published
   * before bumping them is visible to the polls below. */
  wk->saw_submitted = rf__atomic_load_acquire_64(&s->submitted);
  wk->saw_stop = rf__atomic_load_acquire_32(&s->stop) != 0;
  rf__msg *m;
  while ((m = s->tp->vt->recv(s->tp, wk->index))) rf__port_enqueue(m->dest, m);
  bool busy = false;
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    if (op->cls->poll && op->cls->poll(op)) op->active = true;
    busy |= op->active;
  }
  wk->busy = busy;
  wk->seeded = false;
  if (wk->dirty && rf__progress_seed(wk) == 0) wk->seeded = true;
  wk->saw_failure = rf__graph_failed(wk->g);
}

static void publish_stats(rf__worker *wk) {
  uint64_t upd = 0, bat = 0, bytes = 0;
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    if (!op->cls->spine) continue;
    rf__spine *sp = op->cls->spine(op);
    upd += rf__spine_updates(sp);
    bat += rf__spine_batches(sp);
    bytes += rf__spine_bytes(sp);
  }
  /* Atomic: rf_graph_stats sums them on any thread. */
  rf__atomic_store_relaxed_64(&wk->stat_updates, upd);
  rf__atomic_store_relaxed_64(&wk->stat_batches, bat);
  rf__atomic_store_relaxed_64(&wk->stat_bytes, bytes);
}

static void run_active(rf__worker *wk) {
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->topo[i];
    if (!op->active) continue;
    op->active = false;
    int rc = op->cls->run(op);
    if (rc < 0) {
      rf__graph_fail(wk->g, rc);
      return;
    }
  }
}

/* Idle: merges, as long as no work comes from outside. */
static void idle(rf__sched *s, rf__worker *wk, park_ctx *pc) {
  int more = 1;
  while (more > 0 && !has_outside_work(pc)) {
    more = 0;
    for (size_t i = 0; i < wk->n_ops && !has_outside_work(pc); i++) {
      rf__op *op = wk->ops[i];
      if (!op->cls->idle) continue;
      int rc = op->cls->idle(op, IDLE_FUEL);
      if (rc < 0) {
        rf__graph_fail(wk->g, rc);
        return;
      }
      more |= rc;
    }
  }
  publish_stats(wk);
  s->tp->vt->park(s->tp, wk->index, has_outside_work, pc);
}

static void *worker_main(void *arg) {
  rf__sched *s = ((worker_arg *)arg)->s;
  rf__worker *wk = ((worker_arg *)arg)->wk;
  rf__bell_wait(&s->start_bell, gate_open, s);
  if (rf__atomic_load_acquire_32(&s->gate) != GATE_GO) return NULL;
  rf__transport *tp = s->tp;
  uint32_t me = wk->index;
  for (;;) {
    gather(s, wk);
    tp->vt->sync(tp, me); /* barrier B */
    bool stop = false, failed = false, seeded = false, busy = false;
    uint64_t seen = UINT64_MAX;
    for (uint32_t w = 0; w < s->n; w++) {
      const rf__worker *p = s->all[w];
      stop |= p->saw_stop;
      failed |= p->saw_failure;
      seeded |= p->seeded;
      busy |= p->busy;
      if (p->saw_submitted < seen) seen = p->saw_submitted;
    }
    if (stop || failed) break;
    bool changed = false;
    bool ok = !seeded || rf__progress_propagate(wk, s->all, s->n, &changed) == 0;
    busy |= changed;
    if (!busy) {
      if (me == 0) {
        /* Release: the frontiers published by this round's decide (probes,
         * views) are visible to a caller that sees the new value. */
        rf__atomic_store_release_64(&s->quiet, seen + 1);
        rf__bell_ring(&s->callers);
      }
      park_ctx pc = {s, seen};
      idle(s, wk, &pc);
    } else if (ok) {
      run_active(wk);
      publish_stats(wk);
    }
    tp->vt->sync(tp, me); /* barrier A */
  }
  return NULL;
}

/* ---- Graph side --------------------------------------------------------- */

static void stop_threads(rf__sched *s) {
  for (uint32_t i = 0; i < s->n_started; i++) pthread_join(s->threads[i], NULL);
  s->n_started = 0;
}

static void free_sched(rf__sched *s) {
  if (s->tp) s->tp->vt->destroy(s->tp);
  rf__bell_destroy(&s->start_bell);
  rf__bell_destroy(&s->callers);
  rf__free(s->threads);
  rf__free(s->args);
  rf__free(s);
}

int rf__sched_start(rf_graph *g, rf__sched **out) {
  uint32_t n = rf__graph_workers(g);
  rf__sched *s = rf__calloc(1, sizeof *s);
  if (!s) return rf__error(RF_ENOMEM, "rf_graph_start: out of memory starting %u workers", n);
  if (rf__bell_init(&s->start_bell) < 0) {
    rf__free(s);
    return rf__error(RF_ENOMEM, "rf_graph_start: out of memory starting %u workers", n);
  }
  if (rf__bell_init(&s->callers) < 0) {
    rf__bell_destroy(&s->start_bell);
    rf__free(s);
    return rf__error(RF_ENOMEM, "rf_graph_start: out of memory starting %u workers", n);
  }
  s->g = g;
  s->n = n;
  s->all = rf__graph_all_workers(g);
  s->tp = rf__transport_shm_new(n);
  s->threads = rf__calloc(n, sizeof *s->threads);
  s->args = rf__calloc(n, sizeof *s->args);
  if (!s->tp || !s->threads || !s->args) {
    free_sched(s);
    return rf__error(RF_ENOMEM, "rf_graph_start: out of memory starting %u workers", n);
  }
  *out = s; /* before any thread runs: workers' sends find it through the graph */
  for (uint32_t w = 0; w < n; w++) {
    s->args[w].s = s;
    s->args[w].wk = s->all[w];
    if (pthread_create(&s->threads[w], NULL, worker_main, &s->args[w]) != 0) {
      rf__atomic_store_release_32(&s->gate, GATE_ABORT);
      rf__bell_ring(&s->start_bell);
      stop_threads(s);
      free_sched(s);
      *out = NULL;
      return rf__error(RF_ENOMEM, "rf_graph_start: could not start worker thread %u of %u", w,
                       n);
    }
    s->n_started++;
  }
  rf__atomic_store_release_32(&s->gate, GATE_GO);
  rf__bell_ring(&s->start_bell);
  return 0;
}

void rf__sched_stop(rf_graph *g) {
  rf__sched *s = rf__graph_sched(g);
  if (!s) return;
  /* Release: pairs with the workers' acquire in gather and park. */
  rf__atomic_store_release_32(&s->stop, 1);
  s->tp->vt->wake(s->tp);
  stop_threads(s);
  free_sched(s);
}

void rf__sched_send(rf_graph *g, uint32_t from, uint32_t to, rf__msg *m) {
  rf__sched *s = rf__graph_sched(g);
  s->tp->vt->send(s->tp, from, to, m);
}

void rf__sched_submitted(rf_graph *g) {
  rf__sched *s = rf__graph_sched(g);
  if (!s) return;
  /* Sequentially consistent add: orders the submission published before it
   * and pairs with the workers' acquire load in gather. */
  (void)__atomic_fetch_add(&s->submitted, 1, __ATOMIC_SEQ_CST);
  s->tp->vt->wake(s->tp);
  rf__bell_ring(&s->callers); /* a waiter may be waiting for this feeder */
}

void rf__sched_failed(rf_graph *g) {
  rf__sched *s = rf__graph_sched(g);
  if (!s) return;
  s->tp->vt->wake(s->tp);
  rf__bell_ring(&s->callers);
}

void rf__sched_progressed(rf_graph *g) {
  rf__sched *s = rf__graph_sched(g);
  if (s) rf__bell_ring(&s->callers);
}

typedef struct wait_ctx {
  rf__sched *s;
  uint64_t target;
  bool (*done)(void *);
  void *ctx;
} wait_ctx;

static bool idle_since(const rf__sched *s, uint64_t target) {
  /* Acquire: pairs with worker 0's release of `quiet`. */
  return rf__atomic_load_acquire_64(&s->quiet) > target;
}

static bool wait_ready(void *ctx) {
  wait_ctx *w = ctx;
  return rf__graph_failed(w->s->g) || idle_since(w->s, w->target) || (w->done && w->done(w->ctx));
}

static bool new_submission(void *ctx) {
  wait_ctx *w = ctx;
  return rf__graph_failed(w->s->g) || w->done(w->ctx) ||
         rf__atomic_load_acquire_64(&w->s->submitted) != w->target;
}

int rf__sched_wait_idle(rf_graph *g, const char *fn) {
  rf__sched *s = rf__graph_sched(g);
  wait_ctx w = {s, rf__atomic_load_acquire_64(&s->submitted), NULL, NULL};
  rf__bell_wait(&s->callers, wait_ready, &w);
  return rf__graph_check_running(g, fn);
}

int rf__sched_wait_until(rf_graph *g, bool (*done)(void *), int (*stalled)(void *), void *ctx,
                         const char *fn) {
  rf__sched *s = rf__graph_sched(g);
  for (;;) {
    if (done(ctx)) return 0;
    RF_FORWARD_IF_ERROR(rf__graph_check_running(g, fn));
    wait_ctx w = {s, rf__atomic_load_acquire_64(&s->submitted), done, ctx};
    if (!idle_since(s, w.target)) {
      rf__bell_wait(&s->callers, wait_ready, &w);
      continue;
    }
    /* Idle, and not done: stalled, unless another thread may still feed
     * an input that holds the time back; then wait for its submission. */
    if (done(ctx)) return 0;
    int rc = stalled(ctx);
    if (rc < 0) return rc;
    rf__bell_wait(&s->callers, new_submission, &w);
  }
}
