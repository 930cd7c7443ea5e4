/*
 * bfs_dataflow.c: the BFS dataflow of bfs_dataflow.h and the histogram
 * bookkeeping around it (inspect callback, consolidation, reference files).
 */
#include "bfs_dataflow.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* roots -> (node, 0) */
static int root_at_zero(void *ctx, const rf_value *in, rf_value *out) {
  (void)ctx;
  out[0] = in[0];
  out[1] = rf_from_u64(0);
  return 0;
}

/* (node, dist) joined with (node, dst) -> (dst, dist + 1) */
static int follow_edge(void *ctx, const rf_value *key, const rf_value *dist,
                       const rf_value *dst, rf_value *out) {
  (void)ctx;
  (void)key;
  out[0] = dst[0];
  out[1] = rf_from_u64(rf_to_u64(dist[0]) + 1);
  return 1;
}

static int hist_grow(rfw_bfs_hist *h, size_t need) {
  if (need <= h->count_cap) return 0;
  size_t cap = h->count_cap ? h->count_cap : 16;
  while (cap < need) cap *= 2;
  int64_t *p = realloc(h->count, cap * sizeof *p);
  if (!p) return -1;
  memset(p + h->count_cap, 0, (cap - h->count_cap) * sizeof *p);
  h->count = p;
  h->count_cap = cap;
  return 0;
}

static void on_hist(void *ctx, const rf_value *rec, uint32_t arity,
                    const uint64_t *time, uint32_t time_dim, rf_diff diff) {
  rfw_bfs_hist *h = ctx;
  (void)arity;
  (void)time_dim;
  uint64_t d = rf_to_u64(rec[0]);
  pthread_mutex_lock(&h->lock);
  if (hist_grow(h, (size_t)d + 1) == 0) {
    h->count[d] += diff;
    h->reachable += diff;
    h->distance_sum += (int64_t)d * diff;
  } else {
    h->oom = true;
  }
  if (h->keep_log) {
    if (h->n_log == h->log_cap) {
      size_t cap = h->log_cap ? h->log_cap * 2 : 256;
      rfw_hist_change *p = realloc(h->log, cap * sizeof *p);
      if (p) {
        h->log = p;
        h->log_cap = cap;
      }
    }
    if (h->n_log < h->log_cap)
      h->log[h->n_log++] = (rfw_hist_change){d, time[0], diff};
    else
      h->oom = true;
  }
  pthread_mutex_unlock(&h->lock);
}

static void on_node(void *ctx, const rf_value *rec, uint32_t arity,
                    const uint64_t *time, uint32_t time_dim, rf_diff diff) {
  rfw_bfs *b = ctx;
  (void)rec;
  (void)arity;
  (void)time;
  (void)time_dim;
  if (diff > 0)
    atomic_fetch_add_explicit(&b->node_ups, (uint64_t)diff, memory_order_relaxed);
  else
    atomic_fetch_add_explicit(&b->node_downs, (uint64_t)-diff, memory_order_relaxed);
}

int rfw_bfs_build(rf_graph *g, rfw_bfs *b, const rfw_bfs_options *opts) {
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->hist.lock, NULL);
  b->hist.keep_log = opts && opts->keep_log;
  atomic_init(&b->node_ups, 0);
  atomic_init(&b->node_downs, 0);

  rf_coll *roots = rf_input_new(g, "roots", 1, &b->roots);
  rf_coll *edges = rf_input_new(g, "edges", 2, &b->edges);
  /* Arranged once, outside the loop; every iteration reads this trace. */
  rf_arr *edges_by_src = rf_arrange(edges, 1);
  rf_coll *nodes = rf_map(roots, 2, root_at_zero, NULL);

  rf_scope *s = rf_scope_new(g, NULL);
  rf_coll *nodes_in = rf_enter(s, nodes);
  rf_var *dist_var = rf_var_new(s, nodes_in);
  rf_arr *dist_by_node = rf_arrange(rf_var_coll(dist_var), 1);
  rf_coll *reached = rf_join_map(dist_by_node, rf_arr_enter(s, edges_by_src), 2,
                                 follow_edge, NULL);
  rf_arr *best = rf_min(rf_arrange(rf_concat(reached, nodes_in), 1));
  rf_coll *next = rf_arr_collection(best);
  int set_rc = dist_var ? rf_var_set(dist_var, next) : 0;
  b->dist = rf_leave(next);

  rf_coll *out = b->dist;
  /* Leaving the loop sums the updates of every iteration of a time, which
   * may cancel; consolidated, they are the real changes of distances. */
  if (opts && opts->count_changes) out = rf_inspect(rf_consolidate(out), on_node, b);
  static const uint32_t distance_col[1] = {1};
  rf_coll *hist = rf_inspect(rf_consolidate(rf_project(out, 1, distance_col)),
                             on_hist, &b->hist);
  b->probe = rf_probe_new(hist);
  int rc = rf_graph_error(g);
  return rc ? rc : set_rc;
}

void rfw_bfs_free(rfw_bfs *b) {
  free(b->hist.count);
  free(b->hist.log);
  pthread_mutex_destroy(&b->hist.lock);
  b->hist.count = NULL;
  b->hist.log = NULL;
}

static int cmp_change(const void *pa, const void *pb) {
  const rfw_hist_change *a = pa, *b = pb;
  if (a->time != b->time) return a->time < b->time ? -1 : 1;
  if (a->distance != b->distance) return a->distance < b->distance ? -1 : 1;
  return 0;
}

size_t rfw_hist_consolidate(rfw_hist_change *c, size_t n) {
  if (n == 0) return 0;
  qsort(c, n, sizeof *c, cmp_change);
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    rfw_hist_change acc = c[i++];
    while (i < n && cmp_change(&acc, &c[i]) == 0) acc.diff += c[i++].diff;
    if (acc.diff != 0) c[w++] = acc;
  }
  return w;
}

int rfw_hist_write(FILE *f, const rfw_hist_change *c, size_t n) {
  for (size_t i = 0; i < n; i++)
    fprintf(f, "(%" PRIu64 ", %" PRIu64 ", %" PRId64 ")\n", c[i].distance,
            c[i].time, c[i].diff);
  return ferror(f) ? -1 : 0;
}

long rfw_hist_read(const char *path, rfw_hist_change **out, char *err,
                   size_t err_len) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(err, err_len, "%s: %s", path, strerror(errno));
    return -1;
  }
  rfw_hist_change *v = NULL;
  size_t n = 0, cap = 0;
  char line[256];
  long lineno = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (line[0] == '\n' || line[0] == '#') continue;
    uint64_t d, t;
    int64_t diff;
    if (sscanf(line, " (%" SCNu64 " , %" SCNu64 " , %" SCNd64 " )", &d, &t, &diff) != 3) {
      snprintf(err, err_len, "%s:%ld: expected \"(distance, time, diff)\"", path, lineno);
      free(v);
      fclose(f);
      return -1;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      rfw_hist_change *p = realloc(v, cap * sizeof *p);
      if (!p) {
        snprintf(err, err_len, "%s: out of memory", path);
        free(v);
        fclose(f);
        return -1;
      }
      v = p;
    }
    v[n++] = (rfw_hist_change){d, t, diff};
  }
  fclose(f);
  *out = v;
  return (long)n;
}

int rfw_hist_compare(const rfw_hist_change *ours, size_t n_ours,
                     const rfw_hist_change *ref, size_t n_ref, uint64_t max_time,
                     char *msg, size_t msg_len) {
  size_t i = 0, j = 0, matched = 0;
  for (;;) {
    while (i < n_ours && ours[i].time > max_time) i++;
    while (j < n_ref && ref[j].time > max_time) j++;
    if (i == n_ours || j == n_ref) break;
    if (cmp_change(&ours[i], &ref[j]) != 0 || ours[i].diff != ref[j].diff) {
      snprintf(msg, msg_len,
               "change %zu differs: ours (%" PRIu64 ", %" PRIu64 ", %" PRId64
               "), reference (%" PRIu64 ", %" PRIu64 ", %" PRId64 ")",
               j + 1, ours[i].distance, ours[i].time, ours[i].diff,
               ref[j].distance, ref[j].time, ref[j].diff);
      return 1;
    }
    i++;
    j++;
    matched++;
  }
  if (i < n_ours) {
    snprintf(msg, msg_len,
             "ours has an extra change (%" PRIu64 ", %" PRIu64 ", %" PRId64
             ") after the reference's %zu",
             ours[i].distance, ours[i].time, ours[i].diff, j);
    return 1;
  }
  if (j < n_ref) {
    snprintf(msg, msg_len,
             "ours lacks the reference's change %zu (%" PRIu64 ", %" PRIu64
             ", %" PRId64 ")",
             j + 1, ref[j].distance, ref[j].time, ref[j].diff);
    return 1;
  }
  snprintf(msg, msg_len, "match: %zu changes at times <= %" PRIu64, matched, max_time);
  return 0;
}
