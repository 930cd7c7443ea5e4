/*
 * view.c: live views (readable arrangements) and graph statistics.
 *
 * A view is an operator reading a top-scope arrangement. It keeps a reader
 * on the arrangement's spine whose logical frontier trails the latest
 * complete time (or stays at the time given to rf_view_retain_from), so the
 * states it can be asked about stay readable while older history compacts.
 *
 * Threads: the operator runs on the worker that drives the graph (with
 * several workers, every worker has a replica of it over its own shard of
 * the keys; a lookup asks the replica that owns the key, a scan reads them
 * all). Lookups and scans may come from ANY thread at any time: they read
 * only what the workers publish:
 *   - the spine's immutable batch list (rf__spine_snapshot: epoch-protected,
 *     the batches referenced, so a merge cannot free them under a reader);
 *   - `pub_frontier`, the first incomplete time, stored when progress
 *     tracking moves the view's input frontier (on_frontier);
 *   - `pub_since`, the compaction frontier, stored BEFORE the reader's
 *     logical frontier moves, so a snapshot compacted to some since is
 *     published after that since: a reader that loads the snapshot first and
 *     then checks t >= pub_since never reads times merged past t.
 * A reader loads the frontier BEFORE the snapshot: every batch with times
 * before a published frontier was in the spine before that frontier was
 * published, and batches added since hold only later times.
 * rf_view_retain_from, from any thread, stores a request that the worker
 * honours the next time it moves since (see retain_from for the ordering).
 */
#include <sched.h>
#include <string.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "common/sort.h"
#include "dataflow/exchange.h"
#include "dataflow/graph.h"
#include "operators/ops.h"

#define NO_RETAIN UINT64_MAX

struct rf_view {
  rf__op op;
  rf__reader *reader;
  rf__spine *spine;
  uint32_t key_arity, val_arity;
  rf__antichain upper;   /* worker: upper of the last batch seen (held physically) */
  rf_time since;         /* worker: the reader's logical frontier (one time) */
  uint64_t pub_frontier; /* atomic: first incomplete time (UINT64_MAX: all done) */
  uint64_t pub_since;    /* atomic: times before it may be compacted */
  uint64_t retain_req;   /* atomic: keep times >= it (NO_RETAIN: follow frontier) */
};

/* Worker: publishes the input frontier (progress tracking's hook). */
static void publish_frontier(rf__op *op) {
  rf_view *v = (rf_view *)op;
  const rf__antichain *f = &op->in[0].frontier;
  /* Atomic, release: readers on any thread load it (acquire); the spine's
   * snapshot holding every batch before the frontier was published when
   * those batches were inserted, earlier. */
  rf__atomic_store_release_64(&v->pub_frontier, f->n == 0 ? UINT64_MAX : f->t[0]);
}

/* The time the reader may compact to: the latest complete time, or the
 * retained time if older; never backwards. */
static rf_time wanted_since(const rf_view *v) {
  /* Atomic: pub_frontier is stored by this worker (relaxed suffices: the
   * same thread), retain_req by any thread (ordered by the caller's fence). */
  rf_time f = rf__atomic_load_relaxed_64(&v->pub_frontier);
  rf_time latest = f == UINT64_MAX ? UINT64_MAX - 1 : (f ? f - 1 : 0);
  rf_time req = rf__atomic_load_relaxed_64(&v->retain_req);
  if (req < latest) latest = req;
  return latest > v->since ? latest : v->since;
}

static int move_since(rf_view *v) {
  rf__atomic_fence_seq_cst();
  rf_time s = wanted_since(v);
  if (s == v->since) return 0;
  /* Publish the new since before any merge can use it (see the top).
   * Atomic: readers and rf_view_retain_from load it on any thread. */
  rf__atomic_store_relaxed_64(&v->pub_since, s);
  /* Dekker with rf_view_retain_from (store request; fence; load since):
   * after our store and a full fence, re-read the request. A requester that
   * read the old since and returned success stored its request before that
   * load, so we see it here and stop at it; one that reads our new since
   * reports RF_ECOMPACTED. At worst a reader sees a since that is then
   * lowered again (a spurious RF_ECOMPACTED), never a retained time lost. */
  rf__atomic_fence_seq_cst();
  rf_time req = rf__atomic_load_relaxed_64(&v->retain_req);
  if (req < s) {
    s = req > v->since ? req : v->since;
    rf__atomic_store_relaxed_64(&v->pub_since, s);
    if (s == v->since) return 0;
  }
  rf__antichain f;
  rf__antichain_init(&f, 1);
  int rc = rf__antichain_set1(&f, &s);
  if (rc == 0) rc = rf__reader_set_logical(v->reader, &f);
  rf__antichain_free(&f);
  if (rc == 0) v->since = s;
  return rc;
}

static int view_run(rf__op *op) {
  rf_view *v = (rf_view *)op;
  rf__msg *m;
  int rc = 0;
  bool moved = false;
  while (rc == 0 && (m = rf__port_pop(&op->in[0]))) {
    rc = rf__antichain_copy(&v->upper, &m->batch->upper);
    moved = true;
    rf__msg_free(m);
  }
  if (rc == 0 && moved) rc = rf__reader_set_physical(v->reader, &v->upper);
  if (rc == 0) rc = move_since(v);
  if (rc == RF_ENOMEM) return rf__error(RF_ENOMEM, "view: out of memory");
  return rc;
}

static void view_destroy(rf__op *op) {
  rf_view *v = (rf_view *)op;
  rf__reader_free(v->reader);
  rf__antichain_free(&v->upper);
}

static int view_init(rf_view *v, rf__spine *spine) {
  v->spine = spine;
  v->op.on_frontier = publish_frontier;
  rf__antichain_init(&v->upper, 1);
  uint64_t zero = 0;
  if (rf__antichain_set1(&v->upper, &zero) < 0 || rf__spine_publish_enable(spine) < 0)
    return RF_ENOMEM;
  return 0;
}

/* Several workers: a replica views its worker's shard of the arrangement. */
static int view_clone(const rf__op *src, rf__op *dst) {
  const rf_view *from = (const rf_view *)src;
  rf_view *v = (rf_view *)dst;
  v->key_arity = from->key_arity;
  v->val_arity = from->val_arity;
  /* Atomic: rf_view_retain_from may store it on any thread. */
  v->retain_req = rf__atomic_load_relaxed_64(&from->retain_req);
  if (view_init(v, rf__op_trace(dst->in[0].src)) < 0) return RF_ENOMEM;
  v->reader = rf__spine_reader_new(v->spine);
  return v->reader ? 0 : RF_ENOMEM;
}

static const rf__op_class view_class = {.name = "view",
                                        .run = view_run,
                                        .destroy = view_destroy,
                                        .clone = view_clone};

/* The replicas of a view: one per worker once started, else the one. */
static uint32_t n_replicas(const rf_view *v) {
  return rf__graph_building(v->op.g) ? 1 : rf__graph_workers(v->op.g);
}

static rf_view *replica(const rf_view *v, uint32_t w) {
  if (w == 0) return (rf_view *)v;
  return (rf_view *)rf__op_peer(&v->op, rf__graph_all_workers(v->op.g), w);
}

rf_view *rf_view_new(rf_arr *a) {
  if (!a) return NULL;
  rf_graph *g = a->op->g;
  if (a->op->dim != 1) {
    rf__graph_build_error(g, rf__error(RF_ESCOPE, "rf_view_new: the arrangement is inside an "
                                                  "iterate scope; views read top-scope "
                                                  "arrangements"));
    return NULL;
  }
  rf_view *v = (rf_view *)rf__op_new(g, a->op->scope, &view_class, sizeof *v, 1, 1, 0);
  if (!v) return NULL;
  v->key_arity = a->key_arity;
  v->val_arity = a->val_arity;
  v->retain_req = NO_RETAIN;
  if (view_init(v, a->spine) < 0) {
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "rf_view_new: out of memory"));
    return NULL;
  }
  v->reader = rf__arr_reader(a);
  if (!v->reader || rf__op_connect(&v->op, 0, a->op, 0) < 0) return NULL;
  return v;
}

int rf_view_retain_from(rf_view *v, rf_time t) {
  if (!v) return rf__error(RF_EINVAL, "rf_view_retain_from: view is NULL");
  if (t == NO_RETAIN) t = NO_RETAIN - 1;
  /* Store the request, then check since (full fence between): if the
   * worker moved since past t before seeing the request, we see its new
   * since here and report it; otherwise it sees the request and stops at t.
   * Atomics: the worker reads retain_req and writes pub_since. */
  uint32_t n = n_replicas(v);
  for (uint32_t w = 0; w < n; w++) rf__atomic_store_relaxed_64(&replica(v, w)->retain_req, t);
  rf__atomic_fence_seq_cst();
  rf_time since = 0;
  for (uint32_t w = 0; w < n; w++) {
    rf_time s = rf__atomic_load_relaxed_64(&replica(v, w)->pub_since);
    if (s > since) since = s;
  }
  if (t < since)
    return rf__error(RF_ECOMPACTED, "rf_view_retain_from: times before %llu are already "
                                    "compacted; cannot retain from %llu",
                     (unsigned long long)since, (unsigned long long)t);
  return 0;
}

rf_time rf_view_frontier(const rf_view *v) {
  if (!v || rf__graph_building(v->op.g)) return 0;
  /* The least over the replicas (each worker publishes its own; they
   * agree once a round's decide is done everywhere). Acquire: pairs with
   * publish_frontier's release (each worker's thread). */
  rf_time f = UINT64_MAX;
  for (uint32_t w = 0, n = n_replicas(v); w < n; w++) {
    rf_time fw = rf__atomic_load_acquire_64(&replica(v, w)->pub_frontier);
    if (fw < f) f = fw;
  }
  return f;
}

/* The greatest since over the replicas. Atomic: the workers move it
 * concurrently (ordered after the snapshot load by that load's acquire;
 * see the top). */
static rf_time view_since(const rf_view *v) {
  rf_time since = 0;
  for (uint32_t w = 0, n = n_replicas(v); w < n; w++) {
    rf_time s = rf__atomic_load_relaxed_64(&replica(v, w)->pub_since);
    if (s > since) since = s;
  }
  return since;
}

/* Resolves t (RF_TIME_LATEST included) against the frontier loaded before
 * the snapshot; checks it is still readable after (see the top). */
static int complete_time(rf_time frontier, rf_time *t, const char *fn) {
  if (*t == RF_TIME_LATEST) {
    if (frontier == 0) return rf__error(RF_EPENDING, "%s: no time is complete yet", fn);
    *t = frontier == UINT64_MAX ? UINT64_MAX - 1 : frontier - 1;
  }
  if (*t >= frontier)
    return rf__error(RF_EPENDING, "%s: time %llu is not complete (the view is complete "
                                  "before %llu)",
                     fn, (unsigned long long)*t, (unsigned long long)frontier);
  return 0;
}

static int uncompacted_time(rf_time since, rf_time t, const char *fn) {
  if (t < since)
    return rf__error(RF_ECOMPACTED, "%s: time %llu has been compacted away (the view keeps "
                                    "times from %llu; see rf_view_retain_from)",
                     fn, (unsigned long long)t, (unsigned long long)since);
  return 0;
}

typedef struct sum_ctx {
  rf_time t;
  int64_t sum;
} sum_ctx;

static void sum_time(void *ctx, const uint64_t *time, int64_t diff) {
  sum_ctx *s = ctx;
  if (time[0] <= s->t) s->sum += diff;
}

/* Visits the current key's values with non-zero counts at t. */
static int visit_key(rf__cursor *c, rf_time t, rf_view_fn fn, void *ctx) {
  for (rf__cursor_rewind_vals(c); rf__cursor_val_valid(c); rf__cursor_step_val(c)) {
    sum_ctx s = {t, 0};
    rf__cursor_map_times(c, sum_time, &s);
    if (s.sum == 0) continue;
    int rc = fn(ctx, rf__cursor_key(c), rf__cursor_val(c), s.sum);
    if (rc != 0) return rc;
  }
  return 0;
}

/* A cursor over the published batches of the replicas that hold `key`
 * (all of them when key is NULL), with t checked against the frontier
 * loaded before the snapshots and the since loaded after (see the top). */
static int open_once(rf_view *v, const rf_value *key, rf_time *t, rf__cursor *c, const char *fn) {
  uint32_t n = n_replicas(v);
  uint32_t first = key ? rf__exchange_route(key, v->key_arity, n) : 0;
  uint32_t last = key ? first + 1 : n;
  RF_FORWARD_IF_ERROR(complete_time(rf_view_frontier(v), t, fn));
  rf__batch **all = NULL;
  uint32_t n_all = 0;
  size_t cap = 0;
  int rc = 0;
  for (uint32_t w = first; w < last && rc == 0; w++) {
    rf__batch **list;
    uint32_t k;
    if ((rc = rf__spine_snapshot(replica(v, w)->spine, &list, &k)) < 0) break;
    if (first + 1 == last) {
      all = list;
      n_all = k;
      break;
    }
    if (rf__grow((void **)&all, &cap, n_all + k, sizeof *all) < 0) {
      rc = rf__error(RF_ENOMEM, "%s: out of memory", fn);
      for (uint32_t i = 0; i < k; i++) rf__batch_unref(list[i]);
    } else {
      for (uint32_t i = 0; i < k; i++) all[n_all++] = list[i];
    }
    rf__free(list);
  }
  if (rc == 0) rc = uncompacted_time(view_since(v), *t, fn);
  if (rc == 0) rc = rf__cursor_init(c, all, n_all);
  for (uint32_t i = 0; i < n_all; i++) rf__batch_unref(all[i]); /* the cursor holds its own */
  rf__free(all);
  return rc;
}

/* With several workers each replica compacts as its own frontier moves, so
 * for a moment the latest time complete everywhere may already be
 * compacted somewhere: the replicas agree again within a round. */
#define LATEST_RETRIES 1000

/* A cursor over the published batches of the replicas that hold `key`
 * (all of them when key is NULL), with t checked against the frontier
 * loaded before the snapshots and the since loaded after (see the top).
 * RF_TIME_LATEST is retried while it is caught between replicas. */
static int open_at(rf_view *v, const rf_value *key, rf_time *t, rf__cursor *c, const char *fn) {
  if (rf__graph_building(v->op.g)) return rf__error(RF_ESTATE, "%s: call rf_graph_start first", fn);
  rf_time asked = *t;
  for (int attempt = 0;; attempt++) {
    *t = asked;
    int rc = open_once(v, key, t, c, fn);
    if (rc != RF_ECOMPACTED || asked != RF_TIME_LATEST || attempt == LATEST_RETRIES) return rc;
    sched_yield();
  }
}

int rf_view_lookup(rf_view *v, const rf_value *key, rf_time t, rf_view_fn fn, void *ctx) {
  if (!v || !key || !fn) return rf__error(RF_EINVAL, "rf_view_lookup: NULL argument");
  rf__cursor c;
  RF_FORWARD_IF_ERROR(open_at(v, key, &t, &c, "rf_view_lookup"));
  int rc = 0;
  rf__cursor_seek_key(&c, key);
  if (rf__cursor_key_valid(&c) && rf__words_cmp(rf__cursor_key(&c), key, v->key_arity) == 0)
    rc = visit_key(&c, t, fn, ctx);
  rf__cursor_free(&c);
  return rc;
}

int rf_view_scan(rf_view *v, rf_time t, rf_view_fn fn, void *ctx) {
  if (!v || !fn) return rf__error(RF_EINVAL, "rf_view_scan: NULL argument");
  rf__cursor c;
  RF_FORWARD_IF_ERROR(open_at(v, NULL, &t, &c, "rf_view_scan"));
  int rc = 0;
  for (; rc == 0 && rf__cursor_key_valid(&c); rf__cursor_step_key(&c)) rc = visit_key(&c, t, fn, ctx);
  rf__cursor_free(&c);
  return rc;
}

int rf_graph_stats(rf_graph *g, rf_stats *out) {
  if (!g || !out) return rf__error(RF_EINVAL, "rf_graph_stats: NULL argument");
  memset(out, 0, sizeof *out);
  /* While building no worker has run; then worker 0's spines are read. */
  uint32_t nw = rf__graph_building(g) ? 0 : rf__graph_workers(g);
  for (uint32_t w = 0; w < nw; w++) {
    rf__worker *wk = rf__graph_worker(g, w);
    /* Atomic (all): counted as they happen by each worker; with several
     * workers the spine figures are as of each one's last round. */
    out->operator_runs += rf__atomic_load_relaxed_64(&wk->stat_runs);
    out->worker_messages += rf__atomic_load_relaxed_64(&wk->stat_data_msgs);
    out->progress_messages += rf__atomic_load_relaxed_64(&wk->stat_progress_msgs);
    out->idle_waits += rf__atomic_load_relaxed_64(&wk->stat_idle_waits);
    if (nw > 1) {
      out->retained_updates += rf__atomic_load_relaxed_64(&wk->stat_updates);
      out->retained_batches += rf__atomic_load_relaxed_64(&wk->stat_batches);
      out->retained_bytes += rf__atomic_load_relaxed_64(&wk->stat_bytes);
    }
  }
  if (nw <= 1) {
    rf__worker *wk = rf__graph_worker(g, 0);
    for (size_t i = 0; i < wk->n_ops; i++) {
      rf__op *op = wk->ops[i];
      if (!op->cls->spine) continue;
      rf__spine *s = op->cls->spine(op);
      out->retained_updates += rf__spine_updates(s);
      out->retained_batches += rf__spine_batches(s);
      out->retained_bytes += rf__spine_bytes(s);
    }
  }
  rf__alloc_stats(&out->allocated_bytes, &out->resident_bytes);
  return 0;
}
