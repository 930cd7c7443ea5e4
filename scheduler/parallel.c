/*
 * parallel.c: running a dataflow on W worker threads.
 *
 * Every worker runs its replica of the dataflow (dataflow/replica.c) over
 * its shard of the data: keyed operators see the keys that hash to it
 * (dataflow/exchange.h). The workers run asynchronously: no barriers, no
 * rounds. Each worker loops:
 *
 *   receive  applies the progress messages other workers sent it (their
 *            pointstamp changes, in each sender's order) and queues the
 *            data messages they sent at their ports;
 *   poll     lets input operators look for submissions from input handles;
 *   run      recomputes its frontiers if its counts changed, then runs its
 *            active operators once in topological order; after each one it
 *            broadcasts that operator's pointstamp changes (consolidated)
 *            to every other worker;
 *   idle     when none of that found anything to do: says so, compacts
 *            its arrangements if rf_graph_compact asked, spends idle fuel
 *            in small slices while nothing arrives, first on the merges
 *            other workers offered on the merge board (they are the busy
 *            ones; arrangements/merge_board.h), then on its own, then
 *            waits (spins, yields, then parks) until something does.
 *
 * Why this is safe (docs/progress.md, "Several workers"): every worker
 * counts every replica's pointstamps; a worker's own changes reach its
 * table at once and the others' tables in order, and the +1 of a message
 * sent to another worker travels in the same progress message as the -1
 * of what allowed it (or an earlier one). So each worker's view, though
 * late, never shows a frontier past a time that can still arrive; and a
 * late frontier only delays work. Why it is live: a change of pointstamps
 * is broadcast, its receiver wakes, recomputes and runs whatever became
 * active.
 *
 * Quiet (everything submitted has been processed and no worker has work):
 * each worker publishes, when it goes idle, the messages it sent and
 * received and the submissions it had seen, then flips its idle
 * generation to odd. Whoever goes idle checks: every generation odd, the
 * sums of sent and received equal, and every generation unchanged after
 * reading the sums (a double collect), then raises `quiet` to 1 + the least
 * submission count seen. Callers of rf_graph_run wait for `quiet`.
 *
 * A worker that fails records the error in the graph (rf__graph_fail);
 * every worker leaves its loop when it sees it, and the failure wakes the
 * parked ones and the callers waiting.
 */
#include <pthread.h>
#include <sched.h>

#include "arrangements/merge_board.h"
#include "arrangements/spine.h"
#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "scheduler/bell.h"
#include "scheduler/sched.h"
#include "scheduler/transport.h"

/* Merge work done at a time while idle, for one operator or for another
 * worker, in updates moved: small, so that new work waits at most that
 * long for the worker to notice it. A slice of 512 updates takes 10-60 us
 * in a BFS round's traces; the busiest worker's idle moments (waiting for
 * another's progress) are short, a few dozen a round, and it merges in
 * them too (benchmarks/RESULTS.md, session 13). */
#define IDLE_FUEL ((size_t)1 << 9)
/* Waiting for work: pause-spins, then yields, then the worker parks. A
 * message between workers usually comes within microseconds. */
#define SPIN_ROUNDS 2048
#define YIELD_ROUNDS 8

enum { GATE_WAIT = 0, GATE_GO = 1, GATE_ABORT = 2 };

typedef struct worker_arg {
  rf__sched *s;
  rf__worker *wk;
  /* The merge from the board this worker is doing for another, held
   * through one idle period and put back at its end (kept only while the
   * board is full; merge_board.h); the worker's own thread only. */
  rf__merge *helping;
} worker_arg;

/* What a worker publishes for the quiet check. Atomic, all: written by
 * the worker (only), read by every worker going idle. The counters change
 * only while the generation is even (busy) and are stored with release,
 * so a checker that sees a new count, then fences, sees the generation
 * that went with it. */
typedef struct worker_state {
  uint64_t idle_gen; /* odd while idle; bumped at every change */
  uint64_t sent;     /* data and progress messages sent */
  uint64_t received; /* and received */
  uint64_t seen;     /* submissions seen when it last went idle */
  /* Compactions done (rf_graph_compact): written by the worker (release,
   * after its traces are merged and published), read by the waiting
   * caller (acquire) and by the worker itself. */
  uint64_t compacted;
  char pad[64 - 5 * sizeof(uint64_t)];
} worker_state;

struct rf__sched {
  rf_graph *g;
  uint32_t n;
  rf__worker *const *all;
  rf__transport *tp;
  pthread_t *threads;
  worker_arg *args;
  worker_state *ws;
  uint32_t n_started;
  /* Atomic: set once every thread exists (or to abort); threads wait on it
   * (start_bell) so that none runs while the start may still fail. */
  uint32_t gate;
  rf__bell start_bell;
  /* Atomic: bumped by input handles after they publish work (any thread);
   * read by workers before they poll their inputs. */
  uint64_t submitted;
  /* Atomic: 1 + the submissions every worker had seen the last time all
   * were found quiet (0: never). Raised by workers (compare-and-swap to
   * the larger); read by waiting callers. */
  uint64_t quiet;
  /* Atomic: compactions asked for (rf_graph_compact, on the thread that
   * drives the graph); read by workers going idle. */
  uint64_t compact_asked;
  /* Atomic: rf_graph_destroy asks the workers to stop. */
  uint32_t stop;
  rf__bell callers; /* threads in rf_graph_run / rf_graph_step / rf_probe_wait */
  /* Several workers: the merges workers offer to idle ones (its own
   * threading note); NULL with one. */
  rf__merge_board *board;
};

/* ---- Worker side -------------------------------------------------------- */

static bool gate_open(void *ctx) {
  /* Acquire: pairs with the starter's release. */
  return rf__atomic_load_acquire_32(&((rf__sched *)ctx)->gate) != GATE_WAIT;
}

static bool stopping(const rf__sched *s) {
  /* Acquire: pairs with rf__sched_stop's release. */
  return rf__atomic_load_acquire_32(&s->stop) != 0 || rf__graph_failed(s->g);
}

static void count(uint64_t *counter, uint64_t n) {
  /* Release (only this worker writes it): see worker_state. */
  rf__atomic_store_release_64(counter, rf__atomic_load_relaxed_64(counter) + n);
}

/* Broadcasts this worker's logged pointstamp changes. */
static void flush(rf__sched *s, rf__worker *wk) {
  rf__pmsg *m;
  if (rf__pcounts_take_log(wk->pc, wk->index, &m) < 0) {
    rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
    return;
  }
  if (!m) return;
  uint32_t last = wk->index == s->n - 1 ? s->n - 2 : s->n - 1;
  for (uint32_t w = 0; w < s->n; w++) {
    if (w == wk->index) continue;
    rf__pmsg *c = w == last ? m : rf__pmsg_copy(m);
    if (!c) {
      rf__pmsg_free(m);
      rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
      return;
    }
    count(&s->ws[wk->index].sent, 1);
    rf__stat_bump(&wk->stat_progress_msgs, 1);
    s->tp->vt->send_progress(s->tp, wk->index, w, c);
  }
}

/* Takes what other workers sent; true if anything came. */
static bool receive(rf__sched *s, rf__worker *wk) {
  rf__transport *tp = s->tp;
  uint64_t n = 0;
  rf__pmsg *pm;
  while ((pm = tp->vt->recv_progress(tp, wk->index))) {
    if (rf__pcounts_apply(wk->pc, pm) < 0)
      rf__graph_fail(wk->g, rf__error(RF_ENOMEM, "progress tracking: out of memory"));
    rf__pmsg_free(pm);
    n++;
  }
  rf__msg *m;
  while ((m = tp->vt->recv(tp, wk->index))) {
    rf__port_receive(m);
    n++;
  }
  if (n) count(&s->ws[wk->index].received, n);
  return n > 0;
}

static bool poll_inputs(rf__sched *s, rf__worker *wk) {
  /* Acquire: what an input handle published before bumping the count is
   * visible to the polls below. */
  wk->saw_submitted = rf__atomic_load_acquire_64(&s->submitted);
  bool found = false;
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    if (op->cls->poll && op->cls->poll(op)) {
      op->active = true;
      found = true;
    }
  }
  return found;
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

/* Runs the active operators once, in topological order, broadcasting the
 * pointstamp changes of each as soon as it is done, so that the other
 * workers can go on. True if any ran. */
static bool run_active(rf__sched *s, rf__worker *wk) {
  bool ran = false;
  if (rf__progress_stale(wk)) rf__progress_recompute(wk);
  for (size_t i = 0; i < wk->n_ops && !rf__graph_failed(wk->g); i++) {
    rf__op *op = wk->topo[i];
    if (!op->active) continue;
    op->active = false;
    ran = true;
    rf__stat_bump(&wk->stat_runs, 1);
    int rc = op->cls->run(op);
    if (rc < 0) {
      rf__graph_fail(wk->g, rc);
      return true;
    }
    flush(s, wk);
  }
  /* Frontiers moved by this pass activate operators for the next. */
  if (rf__progress_stale(wk)) rf__progress_recompute(wk);
  return ran;
}

static bool any_active(const rf__worker *wk) {
  for (size_t i = 0; i < wk->n_ops; i++)
    if (wk->ops[i]->active) return true;
  return false;
}

/* Raises `quiet` if every worker is idle with nothing in flight (the
 * double collect at the top of the file). */
static void check_quiet(rf__sched *s) {
  uint64_t gen[RF__MAX_WORKERS] = {0};
  uint64_t sent = 0, received = 0, seen = UINT64_MAX;
  for (uint32_t w = 0; w < s->n; w++) {
    /* Acquire: pairs with the worker's bump to odd, after its counts. */
    gen[w] = rf__atomic_load_acquire_64(&s->ws[w].idle_gen);
    if (!(gen[w] & 1)) return;
  }
  for (uint32_t w = 0; w < s->n; w++) {
    sent += rf__atomic_load_relaxed_64(&s->ws[w].sent);
    received += rf__atomic_load_relaxed_64(&s->ws[w].received);
    uint64_t v = rf__atomic_load_relaxed_64(&s->ws[w].seen);
    if (v < seen) seen = v;
  }
  /* Full fence: the loads above come before the loads below (and a count
   * stored after a worker woke, seen above, shows its new generation). */
  rf__atomic_fence_seq_cst();
  for (uint32_t w = 0; w < s->n; w++)
    if (rf__atomic_load_relaxed_64(&s->ws[w].idle_gen) != gen[w]) return;
  if (sent != received) return;
  uint64_t q = rf__atomic_load_acquire_64(&s->quiet);
  /* Compare-and-swap to the larger (release): the frontiers published
   * before (probes, views) are visible to a caller that sees it. */
  while (q < seen + 1 && !__atomic_compare_exchange_n(&s->quiet, &q, seen + 1, false,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
  }
  rf__bell_ring(&s->callers);
}

typedef struct idle_ctx {
  rf__sched *s;
  rf__worker *wk;
  worker_arg *arg;
} idle_ctx;

/* A compaction asked for that this worker has not done. Acquire: pairs
 * with the caller's sequentially consistent add. */
static bool compaction_due(const rf__sched *s, const rf__worker *wk) {
  return rf__atomic_load_acquire_64(&s->compact_asked) !=
         rf__atomic_load_relaxed_64(&s->ws[wk->index].compacted);
}

/* Work for the worker: a message, a submission, a compaction, a stop or a
 * failure. */
static bool has_work(void *ctx) {
  idle_ctx *c = ctx;
  return c->s->tp->vt->pending(c->s->tp, c->wk->index) ||
         rf__atomic_load_acquire_64(&c->s->submitted) != c->wk->saw_submitted ||
         compaction_due(c->s, c->wk) || stopping(c->s);
}

/* Does the compactions asked for so far (rf_graph_compact): merges each of
 * the worker's traces into one batch, then says so to the waiting caller.
 * It runs while the worker is idle, so it sends nothing and moves no
 * frontier; the quiet check is unaffected. */
static void compact_if_asked(rf__sched *s, rf__worker *wk) {
  uint64_t asked = rf__atomic_load_acquire_64(&s->compact_asked);
  if (asked == rf__atomic_load_relaxed_64(&s->ws[wk->index].compacted)) return;
  int rc = rf__worker_compact(wk);
  if (rc < 0) {
    rf__graph_fail(wk->g, rc);
    return;
  }
  publish_stats(wk);
  /* Release: the merged traces (published to views) before the count the
   * caller waits on. */
  rf__atomic_store_release_64(&s->ws[wk->index].compacted, asked);
  rf__bell_ring(&s->callers);
}

/* Merges, as long as no work comes: first what other workers offered
 * (they are busier: this one is idle), then its own. */
static void merge_while_idle(idle_ctx *c) {
  rf__worker *wk = c->wk;
  if (c->s->board) {
    while (!has_work(c) && rf__merge_board_help(c->s->board, &c->arg->helping, IDLE_FUEL)) {
    }
    rf__merge_board_return(c->s->board, &c->arg->helping);
  }
  int more = 1;
  while (more > 0 && !has_work(c)) {
    more = 0;
    for (size_t i = 0; i < wk->n_ops && !has_work(c); i++) {
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
}

/* Nothing to do: says so and checks for quiet; then merges while no work
 * comes, and waits for work. Merging whenever it is idle, not only once
 * the whole dataflow is quiet, puts the time a worker waits inside a round
 * for another's progress to use: with 2 workers a BFS round has 10% of
 * such gaps, and the merges done in them keep each trace at a few batches,
 * where merging only on inserts leaves twice as many for every seek
 * (benchmarks/RESULTS.md). When it parks, nothing is left to merge until
 * new work comes: merge work only grows from inserts and frontier moves,
 * which are work. */
static void go_idle(rf__sched *s, worker_arg *arg) {
  rf__worker *wk = arg->wk;
  worker_state *me = &s->ws[wk->index];
  publish_stats(wk);
  rf__atomic_store_relaxed_64(&me->seen, wk->saw_submitted);
  /* Sequentially consistent: after the counts and `seen` (release), and
   * before this worker reads the others' state in check_quiet (Dekker:
   * of two workers going idle together, one sees the other). */
  (void)__atomic_fetch_add(&me->idle_gen, 1, __ATOMIC_SEQ_CST);
  rf__stat_bump(&wk->stat_idle_waits, 1);
  check_quiet(s);
  compact_if_asked(s, wk);
  idle_ctx c = {s, wk, arg};
  merge_while_idle(&c);
  int i = 0;
  for (; i < SPIN_ROUNDS && !has_work(&c); i++) rf__atomic_pause();
  for (int y = 0; i == SPIN_ROUNDS && y < YIELD_ROUNDS && !has_work(&c); y++) sched_yield();
  s->tp->vt->park(s->tp, wk->index, has_work, &c);
  /* Busy again, before it receives or sends anything. */
  (void)__atomic_fetch_add(&me->idle_gen, 1, __ATOMIC_SEQ_CST);
}

static void *worker_main(void *arg) {
  rf__sched *s = ((worker_arg *)arg)->s;
  rf__worker *wk = ((worker_arg *)arg)->wk;
  rf__bell_wait(&s->start_bell, gate_open, s);
  if (rf__atomic_load_acquire_32(&s->gate) != GATE_GO) return NULL;
  while (!stopping(s)) {
    bool work = receive(s, wk);
    work |= poll_inputs(s, wk);
    work |= run_active(s, wk);
    flush(s, wk);
    if (work || any_active(wk)) continue;
    go_idle(s, (worker_arg *)arg);
  }
  return NULL;
}

/* ---- Graph side --------------------------------------------------------- */

static void stop_threads(rf__sched *s) {
  for (uint32_t i = 0; i < s->n_started; i++) pthread_join(s->threads[i], NULL);
  s->n_started = 0;
}

/* Board slots a worker: room for a few merges of each of its traces. */
#define BOARD_SLOTS_PER_WORKER 16

/* Points every trace of every worker at the board (NULL: none). Only while
 * no worker runs. */
static void share_merges(rf__sched *s, rf__merge_board *board) {
  for (uint32_t w = 0; w < s->n; w++) {
    const rf__worker *wk = s->all[w];
    for (size_t i = 0; i < wk->n_ops; i++)
      if (wk->ops[i]->cls->spine) rf__spine_share_merges(wk->ops[i]->cls->spine(wk->ops[i]), board);
  }
}

static void free_sched(rf__sched *s) {
  if (s->board) {
    share_merges(s, NULL);
    for (uint32_t w = 0; s->args && w < s->n; w++) rf__merge_unref(s->args[w].helping);
    rf__merge_board_free(s->board);
  }
  if (s->tp) s->tp->vt->destroy(s->tp);
  rf__bell_destroy(&s->start_bell);
  rf__bell_destroy(&s->callers);
  rf__free(s->threads);
  rf__free(s->args);
  rf__free(s->ws);
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
  s->ws = rf__calloc(n, sizeof *s->ws);
  if (n > 1) s->board = rf__merge_board_new(n * BOARD_SLOTS_PER_WORKER);
  if (!s->tp || !s->threads || !s->args || !s->ws || (n > 1 && !s->board) ||
      rf__progress_init_counts(g) < 0) {
    free_sched(s);
    return rf__error(RF_ENOMEM, "rf_graph_start: out of memory starting %u workers", n);
  }
  if (s->board) share_merges(s, s->board);
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
  /* Release: pairs with the workers' acquire in `stopping`. */
  rf__atomic_store_release_32(&s->stop, 1);
  s->tp->vt->wake(s->tp);
  stop_threads(s);
  free_sched(s);
}

void rf__sched_send(rf_graph *g, uint32_t from, uint32_t to, rf__msg *m) {
  rf__sched *s = rf__graph_sched(g);
  count(&s->ws[from].sent, 1);
  rf__stat_bump(&s->all[from]->stat_data_msgs, 1);
  s->tp->vt->send(s->tp, from, to, m);
}

void rf__sched_submitted(rf_graph *g) {
  rf__sched *s = rf__graph_sched(g);
  if (!s) return;
  /* Sequentially consistent add: orders the submission published before it
   * and pairs with the workers' acquire load in poll_inputs. */
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
  /* Acquire: pairs with check_quiet's release of `quiet`. */
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

/* A wait_ctx whose target is a compaction count. */
static bool all_compacted(void *ctx) {
  wait_ctx *w = ctx;
  if (rf__graph_failed(w->s->g)) return true;
  for (uint32_t i = 0; i < w->s->n; i++)
    /* Acquire: pairs with the worker's release after it compacted. */
    if (rf__atomic_load_acquire_64(&w->s->ws[i].compacted) < w->target) return false;
  return true;
}

int rf__sched_compact(rf_graph *g) {
  rf__sched *s = rf__graph_sched(g);
  /* Sequentially consistent add, then the wake: as a submission, a parked
   * worker's has_work sees it or the wake comes after. */
  uint64_t target = __atomic_add_fetch(&s->compact_asked, 1, __ATOMIC_SEQ_CST);
  s->tp->vt->wake(s->tp);
  wait_ctx w = {s, target, NULL, NULL};
  rf__bell_wait(&s->callers, all_compacted, &w);
  return rf__graph_check_running(g, "rf_graph_compact");
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
