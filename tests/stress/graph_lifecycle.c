/*
 * graph_lifecycle.c: starts and stops many short dataflows, with 1 to W
 * workers in turn, each fed from a thread other than the one that made it
 * and read from two more. A plain program (not Criterion) so that it also
 * runs under ThreadSanitizer; it exits non-zero with a message naming the
 * iteration on the first failure, and a watchdog turns a hang into a
 * failure.
 *
 * Each iteration builds one input of (key, value) records and one of four
 * programs over it (cycling):
 *   count     rf_count(rf_arrange(in, 1))                 (key, #records)
 *   map       filter (thread-safe callback), map (key % 7, value), count
 *   join      rf_count(rf_arrange(rf_join(a, a), 1)), a = rf_arrange(in, 1):
 *             (key, #records^2)
 *   sum       rf_sum(rf_arrange(in, 1)), values as i64    (key, sum)
 * with a live view of the result and a probe on it. The main thread creates
 * and starts the graph, then:
 *   - a feeder thread inserts INITIAL records at time 0, then each round
 *     moves MOVES records to other keys (a removal and an insertion at the
 *     same time, sometimes also inserting and removing one record at once),
 *     advances the input, and now and then waits on the probe, steps the
 *     graph itself or compacts it (rf_graph_compact, while the readers
 *     read); it keeps its own count of every record. At the end it
 *     closes the input, or flushes it, or leaves that to the main thread
 *     (the handle then passes to it): with several workers, staged updates
 *     reach them when the time advances, on a flush, a close, or a wait by
 *     the feeding thread;
 *   - two reader threads read the view at RF_TIME_LATEST (rf_view_scan and
 *     rf_view_lookup) until told to stop. RF_EPENDING and RF_ECOMPACTED are
 *     fine; any other error fails. Every answer must be well formed (keys
 *     in order, one value per key with count 1) and, since moves keep them,
 *     a scan's totals must be those of time 0 (count and map: INITIAL
 *     records; sum: the initial sum; join: every count a square);
 *   - once the feeder is done, the main thread (sometimes the feeder closes
 *     the input first) waits on the probe for the last time, runs the graph,
 *     and checks the view at that time and at RF_TIME_LATEST against the
 *     feeder's own counts, exactly. Then it stops the readers and destroys
 *     the graph.
 * Every fifth iteration is cut short instead: after a random 0-3 ms the main
 * thread tells the feeder to stop; the feeder sends a last burst of moves
 * without waiting for them and returns; the main thread joins the feeder and
 * the readers and destroys the graph at once, with that input still
 * unprocessed (with several workers, likely while they work on it). That
 * must neither hang nor leak (the ASan build checks leaks at exit).
 *
 * Usage: graph_lifecycle [ITERATIONS [MAX_WORKERS]]  (default 200 and 4)
 * Environment: RF_LIFECYCLE_ITERATIONS overrides ITERATIONS (CI keeps it
 * small), RF_LIFECYCLE_SEED changes the random choices, and
 * RF_LIFECYCLE_REQUIRE_WORKERS=1 makes a worker count the engine refuses a
 * failure (by default, an engine that refuses workers > 1 with RF_EINVAL
 * runs those iterations with 1 worker and says so).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rhizoflow.h"

enum {
  KEYS = 24,       /* keys of the input records */
  VALS = 16,       /* values of the input records */
  MAP_KEYS = 7,    /* keys after the map variant's key % 7 */
  INITIAL = 240,   /* records inserted at time 0 */
  MOVES = 8,       /* records moved per round */
  BURST = 1500,    /* moves sent, unwaited, before an early destroy */
  READERS = 2,
  WATCHDOG_S = 90, /* one iteration; far more than it needs, even under TSan */
};

typedef enum variant { V_COUNT, V_MAP, V_JOIN, V_SUM, N_VARIANTS } variant;
static const char *const variant_names[] = {"count", "map", "join", "sum"};

/* ------------------------------------------------------------------ */
/* Failure reporting and the watchdog                                  */
/* ------------------------------------------------------------------ */

static _Atomic uint64_t cur_iter;  /* the iteration running */
static _Atomic uint32_t cur_workers, cur_variant;
static _Atomic(const char *) cur_phase; /* a static string */
static _Atomic uint64_t iter_started_ms;

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_phase(const char *p) { atomic_store(&cur_phase, p); }

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr,
          "graph_lifecycle: FAILED in iteration %" PRIu64 " (workers %u, program %s, %s): %s\n",
          atomic_load(&cur_iter), atomic_load(&cur_workers),
          variant_names[atomic_load(&cur_variant) % N_VARIANTS], atomic_load(&cur_phase), msg);
  fflush(stderr);
  _exit(1);
}

static void *watchdog(void *arg) {
  (void)arg;
  for (;;) {
    struct timespec d = {0, 200 * 1000000L};
    nanosleep(&d, NULL);
    uint64_t started = atomic_load(&iter_started_ms);
    if (started && now_ms() - started > (uint64_t)WATCHDOG_S * 1000)
      fail("no progress for %d s: a hang (stuck in this phase)", WATCHDOG_S);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Random numbers                                                      */
/* ------------------------------------------------------------------ */

static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t n) { return (uint32_t)(rnd(s) % n); }

/* ------------------------------------------------------------------ */
/* One iteration's state                                               */
/* ------------------------------------------------------------------ */

typedef struct iteration {
  variant v;
  uint32_t workers;
  uint64_t seed;
  uint32_t rounds;
  bool cut_short; /* destroyed with input pending */
  bool close_input;
  bool main_flushes; /* the main thread flushes the input after the feeder */
  rf_graph *g;
  rf_input *in;
  rf_view *view;
  rf_probe *probe;
  /* The feeder's own record counts (read by main after joining it). */
  int64_t cnt[KEYS][VALS];
  rf_time last_time; /* the last time the feeder sent updates at */
  /* Atomics between threads. */
  _Atomic bool stop_feeder, stop_readers;
  _Atomic uint64_t reads_ok, reads_pending, reads_compacted;
  _Atomic uint64_t reads_tried; /* by both readers, whatever the answer */
  _Atomic uint64_t filter_calls;
} iteration;

/* The value a record's value column holds (the sum variant reads i64). */
static rf_value enc_val(const iteration *it, uint32_t v) {
  return it->v == V_SUM ? rf_from_i64((int64_t)v - 5) : rf_from_u64(v);
}

/* The result the program should hold for the counts in cnt: out[k] for
 * every key k where present[k]. */
static void expected(const iteration *it, int64_t out[KEYS], bool present[KEYS]) {
  memset(present, 0, KEYS * sizeof *present);
  memset(out, 0, KEYS * sizeof *out);
  for (uint32_t k = 0; k < KEYS; k++) {
    int64_t n = 0, sum = 0;
    bool any = false;
    for (uint32_t v = 0; v < VALS; v++) {
      if (!it->cnt[k][v]) continue;
      any = true;
      n += it->cnt[k][v];
      sum += it->cnt[k][v] * ((int64_t)v - 5);
    }
    if (!any) continue;
    switch (it->v) {
    case V_COUNT: present[k] = true, out[k] = n; break;
    case V_MAP: present[k % MAP_KEYS] = true, out[k % MAP_KEYS] += n; break;
    case V_JOIN: present[k] = true, out[k] = n * n; break;
    case V_SUM: present[k] = true, out[k] = sum; break;
    default: break;
    }
  }
}

/* ------------------------------------------------------------------ */
/* The programs                                                        */
/* ------------------------------------------------------------------ */

static int keep_all(void *ctx, const rf_value *rec) {
  iteration *it = ctx; /* called from worker threads: atomics only */
  atomic_fetch_add_explicit(&it->filter_calls, 1, memory_order_relaxed);
  return rec[0] < KEYS;
}

static int key_mod(void *ctx, const rf_value *in, rf_value *out) {
  (void)ctx;
  out[0] = in[0] % MAP_KEYS;
  out[1] = in[1];
  return 0;
}

static void build(iteration *it) {
  rf_config cfg = {.workers = it->workers};
  int rc = rf_graph_create(&cfg, &it->g);
  if (rc) fail("rf_graph_create(workers %u): %s: %s", it->workers, rf_err_name(rc), rf_last_error());
  rf_coll *in = rf_input_new(it->g, "kv", 2, &it->in);
  rf_arr *res = NULL;
  switch (it->v) {
  case V_COUNT:
    res = rf_count(rf_arrange(in, 1));
    break;
  case V_MAP:
    res = rf_count(rf_arrange(rf_map(rf_filter(in, keep_all, it), 2, key_mod, NULL), 1));
    break;
  case V_JOIN: {
    rf_arr *a = rf_arrange(in, 1);
    res = rf_count(rf_arrange(rf_join(a, a), 1));
    break;
  }
  case V_SUM:
    res = rf_sum(rf_arrange(in, 1));
    break;
  default:
    break;
  }
  it->view = rf_view_new(res);
  it->probe = rf_probe_new(rf_arr_collection(res));
  if ((rc = rf_graph_start(it->g)) != 0)
    fail("building or rf_graph_start: %s: %s", rf_err_name(rc), rf_last_error());
}

/* ------------------------------------------------------------------ */
/* The feeder                                                          */
/* ------------------------------------------------------------------ */

static void feed(iteration *it, const rf_value *rec, rf_diff d) {
  int rc = rf_input_update(it->in, rec, 2, d);
  if (rc) fail("feeder: rf_input_update: %s: %s", rf_err_name(rc), rf_last_error());
}

/* Moves one present record (k, v) to (k', v): removes it and inserts the
 * other, at the current time. Keeps the number of records and their sum. */
static void move_one(iteration *it, uint64_t *s) {
  uint32_t k, v;
  do k = below(s, KEYS), v = below(s, VALS);
  while (it->cnt[k][v] <= 0);
  uint32_t k2 = below(s, KEYS);
  rf_value from[2] = {k, enc_val(it, v)}, to[2] = {k2, enc_val(it, v)};
  feed(it, from, -1);
  feed(it, to, +1);
  it->cnt[k][v]--;
  it->cnt[k2][v]++;
}

static void *feeder(void *arg) {
  iteration *it = arg;
  uint64_t s = it->seed ^ 0xfeed;
  int rc;
  for (uint32_t i = 0; i < INITIAL; i++) {
    uint32_t k = below(&s, KEYS), v = below(&s, VALS);
    rf_value rec[2] = {k, enc_val(it, v)};
    feed(it, rec, +1);
    it->cnt[k][v]++;
  }
  it->last_time = 0;
  if ((rc = rf_input_advance_to(it->in, 1)) != 0)
    fail("feeder: rf_input_advance_to(1): %s: %s", rf_err_name(rc), rf_last_error());
  for (uint32_t r = 1; r <= it->rounds; r++) {
    if (atomic_load(&it->stop_feeder)) {
      /* Cut short: a burst of moves at this time, sent but not waited for;
       * half the time not even advanced past (only flushed). */
      for (uint32_t i = 0; i < BURST; i++) move_one(it, &s);
      rc = r % 2 ? rf_input_flush(it->in) : rf_input_advance_to(it->in, r + 1);
      if (rc) fail("feeder: sending the last burst: %s: %s", rf_err_name(rc), rf_last_error());
      return NULL;
    }
    for (uint32_t i = 0; i < MOVES; i++) move_one(it, &s);
    if (below(&s, 4) == 0) { /* insert and remove one record at once */
      rf_value rec[2] = {below(&s, KEYS), enc_val(it, below(&s, VALS))};
      feed(it, rec, +1);
      feed(it, rec, -1);
    }
    if (below(&s, 3) == 0) { /* sent early, then advanced */
      if ((rc = rf_input_flush(it->in)) != 0)
        fail("feeder: rf_input_flush: %s: %s", rf_err_name(rc), rf_last_error());
    }
    it->last_time = r;
    if ((rc = rf_input_advance_to(it->in, r + 1)) != 0)
      fail("feeder: rf_input_advance_to(%u): %s: %s", r + 1, rf_err_name(rc), rf_last_error());
    /* Let the dataflow run from this thread now and then (with one worker
     * nothing else runs it until the main thread waits). */
    uint32_t what = below(&s, 8);
    if (what == 0) {
      if ((rc = rf_probe_wait(it->probe, r)) != 0)
        fail("feeder: rf_probe_wait(%u): %s: %s", r, rf_err_name(rc), rf_last_error());
      if (!rf_probe_done(it->probe, r)) fail("feeder: rf_probe_wait(%u) returned but not done", r);
    } else if (what == 1) {
      if ((rc = rf_graph_step(it->g)) < 0)
        fail("feeder: rf_graph_step: %s: %s", rf_err_name(rc), rf_last_error());
    } else if (what == 2) { /* the readers meanwhile see the batches merged */
      if ((rc = rf_graph_compact(it->g)) != 0)
        fail("feeder: rf_graph_compact: %s: %s", rf_err_name(rc), rf_last_error());
    }
  }
  if (it->close_input) {
    if ((rc = rf_input_close(it->in)) != 0)
      fail("feeder: rf_input_close: %s: %s", rf_err_name(rc), rf_last_error());
  } else if (!it->main_flushes) {
    /* With several workers, staged updates reach them when the feeding
     * thread flushes or waits (include/rhizoflow.h, Threads): this thread
     * waits no more, so it flushes. Otherwise the main thread, taking the
     * handle over, does. */
    if ((rc = rf_input_flush(it->in)) != 0)
      fail("feeder: rf_input_flush: %s: %s", rf_err_name(rc), rf_last_error());
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* The readers                                                         */
/* ------------------------------------------------------------------ */

typedef struct scan_acc {
  const iteration *it;
  bool have_last;
  rf_value last_key;
  int64_t total;
  uint32_t keys;
  const char *problem;
  rf_value bad_key;
  int64_t bad_val;
  rf_diff bad_count;
  const rf_value *want_key; /* lookups */
} scan_acc;

static bool is_square(int64_t x) {
  if (x < 1) return false;
  int64_t r = 0;
  while ((r + 1) * (r + 1) <= x) r++;
  return r * r == x;
}

static int visit(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  scan_acc *a = ctx;
  int64_t x = rf_to_i64(val[0]);
  uint32_t nkeys = a->it->v == V_MAP ? MAP_KEYS : KEYS;
  const char *bad = NULL;
  if (a->want_key && key[0] != a->want_key[0]) bad = "a lookup visited another key";
  else if (key[0] >= nkeys) bad = "a key out of range";
  else if (a->have_last && key[0] <= a->last_key) bad = "keys out of order or a key twice";
  else if (count != 1) bad = "a count other than 1";
  else if (a->it->v != V_SUM && x < 1) bad = "a count below 1";
  else if (a->it->v == V_JOIN && !is_square(x)) bad = "a join count that is not a square";
  if (bad && !a->problem) {
    a->problem = bad;
    a->bad_key = key[0];
    a->bad_val = x;
    a->bad_count = count;
  }
  a->have_last = true;
  a->last_key = key[0];
  a->total += x;
  a->keys++;
  return 0;
}

typedef struct reader_arg {
  iteration *it;
  uint64_t seed;
  int64_t want_total; /* count/map: records; sum: sum of values; join: unchecked */
} reader_arg;

static void *reader(void *arg) {
  reader_arg *ra = arg;
  iteration *it = ra->it;
  uint64_t s = ra->seed;
  while (!atomic_load(&it->stop_readers)) {
    scan_acc a;
    memset(&a, 0, sizeof a);
    a.it = it;
    bool scan = below(&s, 2) == 0;
    rf_value key = below(&s, KEYS);
    if (!scan) a.want_key = &key;
    rf_time f0 = rf_view_frontier(it->view);
    int rc = scan ? rf_view_scan(it->view, RF_TIME_LATEST, visit, &a)
                  : rf_view_lookup(it->view, &key, RF_TIME_LATEST, visit, &a);
    rf_time f1 = rf_view_frontier(it->view);
    atomic_fetch_add(&it->reads_tried, 1);
    if (rc == RF_EPENDING) {
      atomic_fetch_add_explicit(&it->reads_pending, 1, memory_order_relaxed);
    } else if (rc == RF_ECOMPACTED) {
      atomic_fetch_add_explicit(&it->reads_compacted, 1, memory_order_relaxed);
    } else if (rc != 0) {
      fail("reader: %s at RF_TIME_LATEST returned %s: %s", scan ? "rf_view_scan" : "rf_view_lookup",
           rf_err_name(rc), rf_last_error());
    } else {
      if (a.problem)
        fail("reader: %s: key %" PRIu64 " value %" PRId64 " count %" PRId64, a.problem, a.bad_key,
             a.bad_val, a.bad_count);
      if (!scan && a.keys > 1) fail("reader: a lookup visited %u values", a.keys);
      if (scan && it->v != V_JOIN && a.total != ra->want_total)
        fail("reader: a scan at RF_TIME_LATEST adds up to %" PRId64 " over %u keys, every complete "
             "time holds %" PRId64 " (rf_view_frontier %" PRIu64 " before the scan, %" PRIu64 " after)",
             a.total, a.keys, ra->want_total, f0, f1);
      atomic_fetch_add_explicit(&it->reads_ok, 1, memory_order_relaxed);
    }
    struct timespec d = {0, 20 * 1000L}; /* leave the cores to the workers too */
    nanosleep(&d, NULL);
  }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* The final check                                                     */
/* ------------------------------------------------------------------ */

static void check_view_at(iteration *it, rf_time t, const char *what) {
  int64_t want[KEYS], got[KEYS];
  bool want_p[KEYS], got_p[KEYS];
  expected(it, want, want_p);
  memset(got, 0, sizeof got);
  memset(got_p, 0, sizeof got_p);
  /* One scan (well formed, the right number of keys), then a lookup of
   * every key (its value). */
  scan_acc sc;
  memset(&sc, 0, sizeof sc);
  sc.it = it;
  int rc = rf_view_scan(it->view, t, visit, &sc);
  if (rc) fail("final rf_view_scan at %s: %s: %s", what, rf_err_name(rc), rf_last_error());
  if (sc.problem)
    fail("final scan at %s: %s: key %" PRIu64 " value %" PRId64 " count %" PRId64, what, sc.problem,
         sc.bad_key, sc.bad_val, sc.bad_count);
  for (rf_value k = 0; k < KEYS; k++) {
    scan_acc l;
    memset(&l, 0, sizeof l);
    l.it = it;
    l.want_key = &k;
    rc = rf_view_lookup(it->view, &k, t, visit, &l);
    if (rc) fail("final rf_view_lookup(%" PRIu64 ") at %s: %s: %s", k, what, rf_err_name(rc), rf_last_error());
    if (l.problem) fail("final lookup of key %" PRIu64 " at %s: %s", k, what, l.problem);
    if (l.keys > 1) fail("final lookup of key %" PRIu64 " at %s: %u values", k, what, l.keys);
    got_p[k] = l.keys == 1;
    got[k] = l.total;
  }
  uint32_t n_want = 0;
  for (uint32_t k = 0; k < KEYS; k++) {
    n_want += want_p[k];
    if (want_p[k] != got_p[k] || got[k] != want[k])
      fail("final view at %s: key %u: the view holds %s %" PRId64 ", the feeder's records give %s %" PRId64,
           what, k, got_p[k] ? "value" : "no value", got[k], want_p[k] ? "value" : "no value",
           want[k]);
  }
  if (sc.keys != n_want) fail("final scan at %s: %u keys, want %u", what, sc.keys, n_want);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 0);
  if (errno || *end) {
    fprintf(stderr, "graph_lifecycle: bad %s='%s'\n", name, v);
    exit(2);
  }
  return x;
}

static void sleep_us(uint64_t us) {
  struct timespec d = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
  nanosleep(&d, NULL);
}

int main(int argc, char **argv) {
  uint64_t iterations = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
  uint64_t max_workers = argc > 2 ? strtoull(argv[2], NULL, 10) : 4;
  iterations = env_u64("RF_LIFECYCLE_ITERATIONS", iterations);
  uint64_t seed = env_u64("RF_LIFECYCLE_SEED", 1);
  bool require = env_u64("RF_LIFECYCLE_REQUIRE_WORKERS", 0) != 0;
  if (iterations == 0 || max_workers < 1 || max_workers > 64) {
    fprintf(stderr, "usage: graph_lifecycle [ITERATIONS>0 [MAX_WORKERS 1..64]]\n");
    return 2;
  }
  set_phase("setup");

  /* Which worker counts the engine takes (a one-worker engine refuses more
   * with RF_EINVAL). */
  bool accepted[65] = {false};
  for (uint32_t w = 1; w <= max_workers; w++) {
    rf_graph *g;
    rf_config cfg = {.workers = w};
    int rc = rf_graph_create(&cfg, &g);
    if (rc == 0) {
      accepted[w] = true;
      rf_graph_destroy(g);
    } else if (rc == RF_EINVAL && w > 1 && !require) {
      fprintf(stderr, "graph_lifecycle: NOTE: the engine refuses workers=%u (%s: %s); those "
                      "iterations run with 1 worker\n", w, rf_err_name(rc), rf_last_error());
    } else {
      fprintf(stderr, "graph_lifecycle: FAILED: rf_graph_create(workers %u): %s: %s\n", w,
              rf_err_name(rc), rf_last_error());
      return 1;
    }
  }

  pthread_t wd;
  if (pthread_create(&wd, NULL, watchdog, NULL) != 0) {
    fprintf(stderr, "graph_lifecycle: cannot start the watchdog\n");
    return 1;
  }
  pthread_detach(wd);

  uint64_t per_workers[65] = {0}, fallbacks = 0, cut = 0, reads = 0, pending = 0, compacted = 0;
  uint64_t t_start = now_ms();
  for (uint64_t i = 0; i < iterations; i++) {
    iteration *it = calloc(1, sizeof *it);
    if (!it) fail("out of memory");
    uint64_t s = seed * 0x2545f4914f6cdd1dULL + i;
    it->seed = rnd(&s);
    it->v = (variant)(i % N_VARIANTS);
    uint32_t want_w = 1 + (uint32_t)(i % max_workers);
    it->workers = accepted[want_w] ? want_w : 1;
    fallbacks += it->workers != want_w;
    per_workers[it->workers]++;
    it->cut_short = i % 5 == 4;
    it->close_input = !it->cut_short && i % 3 == 0;
    it->main_flushes = !it->close_input && i % 2 == 1;
    it->rounds = 40 + below(&s, 61);
    atomic_store(&cur_iter, i);
    atomic_store(&cur_workers, it->workers);
    atomic_store(&cur_variant, (uint32_t)it->v);
    atomic_store(&iter_started_ms, now_ms());

    set_phase("building and starting the graph");
    build(it);

    /* The readers know the totals of time 0 from the same draws as the
     * feeder's: replay them. */
    int64_t want_total = 0;
    {
      uint64_t fs = it->seed ^ 0xfeed;
      for (uint32_t j = 0; j < INITIAL; j++) {
        below(&fs, KEYS);
        uint32_t v = below(&fs, VALS);
        want_total += it->v == V_SUM ? (int64_t)v - 5 : 1;
      }
    }
    set_phase("feeding, with readers");
    pthread_t fth, rth[READERS];
    reader_arg ra[READERS];
    for (int r = 0; r < READERS; r++) {
      ra[r] = (reader_arg){it, it->seed + 17 * (uint64_t)(r + 1), want_total};
      if (pthread_create(&rth[r], NULL, reader, &ra[r]) != 0) fail("cannot start a reader");
    }
    if (pthread_create(&fth, NULL, feeder, it) != 0) fail("cannot start the feeder");

    if (it->cut_short) {
      sleep_us(below(&s, 3000));
      atomic_store(&it->stop_feeder, true);
      set_phase("cut short: joining the feeder");
      pthread_join(fth, NULL);
      set_phase("cut short: joining the readers");
      atomic_store(&it->stop_readers, true);
      for (int r = 0; r < READERS; r++) pthread_join(rth[r], NULL);
      set_phase("cut short: rf_graph_destroy with input pending");
      cut++;
    } else {
      pthread_join(fth, NULL);
      rf_time last = it->last_time;
      int rc;
      if (it->main_flushes) { /* the handle passes to this thread */
        set_phase("rf_input_flush from the main thread, after the feeder");
        if ((rc = rf_input_flush(it->in)) != 0)
          fail("main: rf_input_flush: %s: %s", rf_err_name(rc), rf_last_error());
      }
      set_phase("final rf_probe_wait");
      rc = rf_probe_wait(it->probe, last);
      if (rc) fail("rf_probe_wait(%" PRIu64 "): %s: %s", last, rf_err_name(rc), rf_last_error());
      if (!rf_probe_done(it->probe, last)) fail("rf_probe_wait(%" PRIu64 ") returned, not done", last);
      set_phase("final rf_graph_run");
      if ((rc = rf_graph_run(it->g)) < 0) fail("rf_graph_run: %s: %s", rf_err_name(rc), rf_last_error());
      rf_time f = rf_view_frontier(it->view);
      if (f <= last)
        fail("after rf_probe_wait(%" PRIu64 ") and rf_graph_run, rf_view_frontier is %" PRIu64, last, f);
      if (!it->close_input && f != last + 1)
        fail("rf_view_frontier is %" PRIu64 ", the input is at %" PRIu64, f, last + 1);
      set_phase("final check (readers still reading)");
      /* A view keeps only the latest complete time: that is `last` while
       * the input is open at last + 1; once closed, every time is complete
       * and only RF_TIME_LATEST names the final state. */
      if (!it->close_input) check_view_at(it, last, "the last time");
      check_view_at(it, RF_TIME_LATEST, "RF_TIME_LATEST");
      /* A short iteration can end before the readers got a core: let them
       * read a few times, the last reads seeing the final state. */
      set_phase("waiting for the readers to read");
      uint64_t tried = atomic_load(&it->reads_tried);
      while (atomic_load(&it->reads_tried) < tried + 2 * READERS) sleep_us(100);
      set_phase("joining the readers");
      atomic_store(&it->stop_readers, true);
      for (int r = 0; r < READERS; r++) pthread_join(rth[r], NULL);
      if (atomic_load(&it->reads_ok) == 0) fail("no read of the view succeeded");
      set_phase("rf_graph_destroy");
    }
    rf_graph_destroy(it->g);
    reads += atomic_load(&it->reads_ok);
    pending += atomic_load(&it->reads_pending);
    compacted += atomic_load(&it->reads_compacted);
    free(it);
  }
  atomic_store(&iter_started_ms, 0);
  printf("graph_lifecycle: %" PRIu64 " dataflows (%" PRIu64 " destroyed with input pending) in %.1f s;"
         " workers:",
         iterations, cut, (double)(now_ms() - t_start) / 1e3);
  for (uint32_t w = 1; w <= max_workers; w++)
    if (per_workers[w]) printf(" %u x%" PRIu64, w, per_workers[w]);
  printf("; %" PRIu64 " view reads checked (%" PRIu64 " pending, %" PRIu64 " compacted)\n", reads,
         pending, compacted);
  if (fallbacks)
    printf("graph_lifecycle: NOTE: %" PRIu64 " iterations ran with 1 worker instead of more: the "
           "engine refuses workers > 1\n",
           fallbacks);
  printf("graph_lifecycle: 1 passed, 0 failed\n");
  return 0;
}
