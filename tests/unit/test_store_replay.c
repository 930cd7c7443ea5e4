/*
 * test_store_replay.c: replaying stored collection updates into a dataflow
 * input, the way a program rebuilds its views at start (DESIGN §8). The
 * store never calls the engine (DESIGN §13): the replay callback below is
 * the few lines a caller writes to feed an rf_input, advancing its time to
 * each batch's time. A run appends edge updates over three times, then a
 * "restarted" program opens the store read-only, replays into a graph that
 * counts out-degrees, and must see at every time what a program fed
 * directly saw; replaying only up to time 2 gives the past as of time 2.
 */
#include "unit/store_helpers/store_test.h"
#include "unit/collect.h"
#include "rhizoflow.h"

/* ---- the caller's few lines: stored updates into an rf_input -------------- */

typedef struct feed {
  rf_input *in;
  uint64_t batches;
} feed;

static int feed_input(void *ctx, const char *collection, rf_time time, uint32_t arity,
                      const rf_value *rows, const rf_diff *diffs, size_t n) {
  feed *f = ctx;
  (void)collection;
  if (time > rf_input_time(f->in)) {
    int rc = rf_input_advance_to(f->in, time);
    if (rc < 0) return rc;
  }
  for (size_t i = 0; i < n; i++) {
    int rc = rf_input_update(f->in, rows + i * arity, arity, diffs[i]);
    if (rc < 0) return rc;
  }
  f->batches++;
  return 0;
}

/* ---- the test ---------------------------------------------------------------- */

/* Edge updates (src, dst, diff) at times 1..3. */
typedef struct edge_update {
  rf_time t;
  rf_value src, dst;
  rf_diff diff;
} edge_update;

static const edge_update history[] = {
    {1, 1, 2, 1}, {1, 1, 3, 1}, {1, 2, 3, 1}, {1, 3, 1, 1},
    {2, 1, 2, -1}, {2, 2, 1, 1}, {2, 2, 4, 1},
    {3, 3, 1, -1}, {3, 4, 1, 2}, {3, 1, 2, 1},
};
#define N_HIST (sizeof history / sizeof history[0])

/* Out-degree counts, seen through inspect. */
static rf_graph *degree_graph(rf_input **in, collected *out) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(NULL, &g), 0);
  rf_coll *edges = rf_input_new(g, "edges", 2, in);
  rf_inspect(rf_arr_collection(rf_count(rf_arrange(edges, 1))), collect_fn, out);
  cr_assert_eq(rf_graph_start(g), 0, "%s", rf_last_error());
  return g;
}

/* The out-degree of node v at time t, counted from the history itself. */
static rf_diff degree(rf_value v, rf_time t) {
  rf_diff d = 0;
  for (size_t i = 0; i < N_HIST; i++)
    if (history[i].t <= t && history[i].src == v) d += history[i].diff;
  return d;
}

static void expect_degrees(const collected *c, rf_time upto) {
  for (rf_time t = 1; t <= upto; t++)
    for (rf_value v = 1; v <= 4; v++) {
      rf_diff want = degree(v, t);
      rf_value rec[2] = {v, rf_from_i64(want)};
      rf_diff got = collected_count(c, rec, t);
      cr_assert_eq(got, want ? 1 : 0, "time %llu node %llu: degree %lld seen %lld times",
                   (unsigned long long)t, (unsigned long long)v, (long long)want, (long long)got);
    }
}

Test(store_replay, updates_feed_a_dataflow_input) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  /* the first run: store each time's updates as one batch */
  rf_store_options o = rf_store_options_default();
  o.dir = dir;
  o.durability = RF_STORE_NONE;
  rf_store *st;
  cr_assert_eq(rf_store_open(&o, &st), 0, "%s", rf_last_error());
  for (rf_time t = 1; t <= 3; t++) {
    rf_value rows[2 * N_HIST];
    rf_diff diffs[N_HIST];
    size_t n = 0;
    for (size_t i = 0; i < N_HIST; i++) {
      if (history[i].t != t) continue;
      rows[2 * n] = history[i].src;
      rows[2 * n + 1] = history[i].dst;
      diffs[n++] = history[i].diff;
    }
    cr_assert_eq(rf_store_append_updates(st, "edges", t, 2, rows, diffs, n, NULL), 0, "%s",
                 rf_last_error());
    rf_value other[1] = {t};
    rf_diff one[1] = {1};
    cr_assert_eq(rf_store_append_updates(st, "unrelated", t, 1, other, one, 1, NULL), 0);
  }
  cr_assert_eq(rf_store_close(st), 0);

  /* the restart: a new graph, fed from the store */
  o.read_only = true;
  cr_assert_eq(rf_store_open(&o, &st), 0, "%s", rf_last_error());
  collected out = {0};
  rf_input *in;
  rf_graph *g = degree_graph(&in, &out);
  feed f = {in, 0};
  cr_assert_eq(rf_store_replay_updates(st, NULL, "edges", feed_input, &f, NULL), 0, "%s",
               rf_last_error());
  cr_assert_eq(f.batches, 3);
  cr_assert_eq(rf_input_close(in), 0);
  cr_assert_eq(rf_graph_run(g), 0, "%s", rf_last_error());
  expect_degrees(&out, 3);
  rf_graph_destroy(g);
  collected_free(&out);

  /* the past: up to time 2 only */
  rf_store_read_options ro;
  memset(&ro, 0, sizeof ro);
  ro.bound_time = true;
  ro.until_time = 2;
  g = degree_graph(&in, &out);
  f = (feed){in, 0};
  cr_assert_eq(rf_store_replay_updates(st, &ro, "edges", feed_input, &f, NULL), 0);
  cr_assert_eq(f.batches, 2);
  cr_assert_eq(rf_input_close(in), 0);
  cr_assert_eq(rf_graph_run(g), 0);
  expect_degrees(&out, 2);
  for (size_t i = 0; i < out.n; i++) cr_assert_leq(out.times[i], 2);
  rf_graph_destroy(g);
  collected_free(&out);
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}
