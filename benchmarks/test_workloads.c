/*
 * test_workloads.c: checks the benchmark workloads. Against the Rust
 * differential-dataflow anchors in shared/anchors/dd-bfs/: the first
 * ISAAC-64 outputs, the exact edge streams, and the distance histogram of
 * `bfs 1000 10000 10 10` (with 1 and 2 workers). Then, for every workload
 * (bfs, degrees, cc, groupby, join) at a small size: every round's
 * checksums, with 1 and 2 workers and one time per round or per element,
 * equal those of a plain C computation over the same input (a textbook
 * BFS, direct degree counts, union-find, hash-map group-by and join
 * counts) read from the files --write-inputs wrote; a run that reads those
 * files gives the same checksums; malformed input files and option values
 * give errors that name them. A plain C program: prints each check and
 * exits non-zero if any failed.
 *
 *   test_workloads ANCHORS_DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_runner.h"
#include "bfs_workload.h"
#include "isaac64.h"

static int n_failed, n_passed;
static const char *anchors;

static void check(int ok, const char *what, const char *detail) {
  if (ok) n_passed++;
  else n_failed++;
  printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, detail && *detail ? ": " : "",
         detail ? detail : "");
}

/* Reads a whole anchor file; NULL (and a failed check) if missing. */
static char *read_anchor(const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", anchors, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    check(0, name, "cannot open the anchor file");
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *p = realloc(buf, cap * 2 + 1);
      if (!p) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = p;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  *len = n;
  return buf;
}

/* Writes a stream in the anchor format into memory. */
static char *stream_text(uint32_t nodes, uint64_t edges, uint32_t batch,
                         uint32_t rounds, size_t *len) {
  char *buf = NULL;
  FILE *f = open_memstream(&buf, len);
  if (!f) return NULL;
  rfw_bfs_stream_write_anchor(f, nodes, edges, batch, rounds);
  fclose(f);
  return buf;
}

/* Index of the first differing byte, or -1 when equal. */
static long first_diff(const char *a, size_t na, const char *b, size_t nb) {
  size_t n = na < nb ? na : nb;
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return (long)i;
  return na == nb ? -1 : (long)n;
}

static void test_isaac64(void) {
  size_t len;
  char *want = read_anchor("isaac64_seed1234_first8.txt", &len);
  if (!want) return;
  rfw_isaac64 r;
  const uint64_t seed[4] = {1, 2, 3, 4};
  rfw_isaac64_seed(&r, seed, 4);
  char got[256] = "";
  size_t off = 0;
  for (int i = 0; i < 8; i++)
    off += (size_t)snprintf(got + off, sizeof got - off, "0x%016" PRIx64 "\n",
                            rfw_isaac64_next_u64(&r));
  check(strcmp(got, want) == 0, "isaac64 seed [1,2,3,4]: first 8 outputs", NULL);
  free(want);

  /* rand 0.4's own test vectors for Isaac64Rng. */
  const uint64_t seed2[5] = {1, 23, 456, 7890, 12345};
  rfw_isaac64_seed(&r, seed2, 5);
  const uint64_t expect64[3] = {UINT64_C(547121783600835980),
                                UINT64_C(14377643087320773276),
                                UINT64_C(17351601304698403469)};
  int ok = 1;
  for (int i = 0; i < 3; i++) ok &= rfw_isaac64_next_u64(&r) == expect64[i];
  const uint64_t seed3[4] = {12345, 67890, 54321, 9876};
  rfw_isaac64_seed(&r, seed3, 4);
  for (int i = 0; i < 10000; i++) rfw_isaac64_next_u64(&r);
  ok &= rfw_isaac64_next_u64(&r) == UINT64_C(18143823860592706164);
  check(ok, "isaac64: rand 0.4 test vectors (incl. 10000 outputs in)", NULL);
}

static void test_stream(void) {
  size_t n_want, n_got;
  char *want = read_anchor("bfs_edges_1k_10k_b10_r10.txt", &n_want);
  if (want) {
    char *got = stream_text(1000, 10000, 10, 10, &n_got);
    long d = got ? first_diff(got, n_got, want, n_want) : 0;
    char msg[128];
    snprintf(msg, sizeof msg, "first difference at byte %ld", d);
    check(got && d < 0, "edge stream 1k/10k b10 r10", d < 0 ? NULL : msg);
    free(got);
    free(want);
  }
  /* The 1M head file holds 3 loaded edges and one round of 2: the stream
   * of nodes = 1M, edges = 3, batch = 2 (its L lines also begin the 10M
   * load, whose first three edges are the same draws). */
  want = read_anchor("bfs_edges_1M_head.txt", &n_want);
  if (want) {
    char *got = stream_text(1000000, 3, 2, 1, &n_got);
    check(got && first_diff(got, n_got, want, n_want) < 0,
          "edge stream head 1M nodes (3 loaded, 1 round of 2)", NULL);
    free(got);
    free(want);
  }
}

/* Runs the 1k/10k b10 r10 bfs and compares its histogram with the
 * reference; returns the histogram changes (caller frees). */
static rfw_hist_change *run_bfs(uint32_t workers, rfw_gen_kind gen, size_t *n) {
  rfw_params p;
  rfw_params_default(&p, &rfw_workload_bfs);
  p.nodes = 1000;
  p.edges = 10000;
  p.batch = 10;
  p.rounds = 10;
  p.workers = workers;
  p.gen = gen;
  p.want_hist = true;
  FILE *sink = fopen("/dev/null", "w");
  rfw_result res;
  int rc = rfw_bench_run(&p, sink ? sink : stdout, stderr, &res);
  if (sink) fclose(sink);
  rfw_hist_change *h = res.hist;
  *n = res.n_hist;
  res.hist = NULL;
  rfw_result_free(&res);
  if (rc != 0) {
    char msg[64];
    snprintf(msg, sizeof msg, "the run failed (status %d)", rc);
    check(0, "bfs 1k/10k b10 r10", msg);
    free(h);
    return NULL;
  }
  return h;
}

/* Whether this engine runs several workers (a version that runs one
 * rejects workers > 1 at rf_graph_create with RF_EINVAL). */
static int engine_has_workers(uint32_t w) {
  rf_config cfg = {.workers = w};
  rf_graph *g = NULL;
  int rc = rf_graph_create(&cfg, &g);
  rf_graph_destroy(g);
  if (rc == RF_EINVAL) {
    printf("SKIP %u-worker checks: %s\n", w, rf_last_error());
    return 0;
  }
  return 1;
}

static void test_bfs_histogram(void) {
  const uint32_t max_workers = engine_has_workers(2) ? 2 : 1;
  char path[4096], msg[512];
  snprintf(path, sizeof path, "%s/ref_bfs_1k_10k_b10_r10_inspect.txt", anchors);
  rfw_hist_change *ref = NULL;
  long n_ref = rfw_hist_read(path, &ref, msg, sizeof msg);
  if (n_ref < 0) {
    check(0, "reference histogram", msg);
    return;
  }
  for (uint32_t w = 1; w <= max_workers; w++) {
    size_t n = 0;
    rfw_hist_change *h = run_bfs(w, RFW_GEN_DD, &n);
    if (!h) continue;
    int cmp = rfw_hist_compare(h, n, ref, (size_t)n_ref, rfw_bfs_time(10, 9, 9), msg,
                               sizeof msg);
    char what[96];
    snprintf(what, sizeof what, "bfs 1k/10k b10 r10 histogram vs dd (%u worker%s)", w,
             w > 1 ? "s" : "");
    check(cmp == 0, what, msg);
    free(h);
  }
  free(ref);

  /* The fast generator: no reference, but 1 and 2 workers must agree. */
  if (max_workers < 2) return;
  size_t n1 = 0, n2 = 0;
  rfw_hist_change *h1 = run_bfs(1, RFW_GEN_FAST, &n1);
  rfw_hist_change *h2 = run_bfs(2, RFW_GEN_FAST, &n2);
  if (h1 && h2) {
    int cmp = rfw_hist_compare(h2, n2, h1, n1, rfw_bfs_time(10, 9, 9), msg, sizeof msg);
    check(cmp == 0 && n1 > 0, "bfs fast generator: 2 workers agree with 1", msg);
  }
  free(h1);
  free(h2);
}

/* ---- every workload against a plain computation ------------------------ */

/* The input as read back from the files of --write-inputs, by a parser of
 * this test's own: initial rows (round 0) and the changes of each round. */
typedef struct line {
  uint32_t round, side;
  int diff;
  uint64_t a, b;
} line;

typedef struct input {
  line *v;
  size_t n, cap;
  uint32_t rounds;
} input;

static int input_add(input *in, uint32_t round, uint32_t side, int diff, uint64_t a,
                     uint64_t b) {
  if (in->n == in->cap) {
    size_t cap = in->cap ? in->cap * 2 : 1024;
    line *p = realloc(in->v, cap * sizeof *p);
    if (!p) return -1;
    in->v = p;
    in->cap = cap;
  }
  in->v[in->n++] = (line){round, side, diff, a, b};
  if (round > in->rounds) in->rounds = round;
  return 0;
}

/* Reads "src dst" (edges) or "round diff a b" lines of dir/name. */
static int input_read(input *in, const char *dir, const char *name, uint32_t side,
                      int edges) {
  char path[4096], buf[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int rc = 0;
  while (rc == 0 && fgets(buf, sizeof buf, f)) {
    unsigned long long a, b;
    unsigned r;
    int d;
    if (edges) {
      rc = sscanf(buf, "%llu %llu", &a, &b) == 2 ? input_add(in, 0, side, 1, a, b) : -1;
    } else {
      rc = sscanf(buf, "%u %d %llu %llu", &r, &d, &a, &b) == 4
               ? input_add(in, r, side, d, a, b)
               : -1;
    }
  }
  fclose(f);
  return rc;
}

/* A multiset of (side, a, b) rows: the present ones. */
typedef struct rows {
  line *v;
  size_t n, cap;
} rows;

static int rows_apply(rows *m, const line *l) {
  if (l->diff > 0) {
    if (m->n == m->cap) {
      size_t cap = m->cap ? m->cap * 2 : 1024;
      line *p = realloc(m->v, cap * sizeof *p);
      if (!p) return -1;
      m->v = p;
      m->cap = cap;
    }
    m->v[m->n++] = *l;
    return 0;
  }
  for (size_t i = 0; i < m->n; i++)
    if (m->v[i].side == l->side && m->v[i].a == l->a && m->v[i].b == l->b) {
      m->v[i] = m->v[--m->n];
      return 0;
    }
  return -1; /* removes a row that is not there */
}

/* A hash map from a key to 4 aggregates (linear probing). */
typedef struct hmap {
  uint64_t *keys;
  int64_t (*val)[4];
  bool *used;
  size_t cap, n;
} hmap;

static int hmap_init(hmap *h, size_t n) {
  h->cap = 16;
  while (h->cap < 2 * n + 2) h->cap *= 2;
  h->n = 0;
  h->keys = calloc(h->cap, sizeof *h->keys);
  h->val = calloc(h->cap, sizeof *h->val);
  h->used = calloc(h->cap, sizeof *h->used);
  return h->keys && h->val && h->used ? 0 : -1;
}

static void hmap_free(hmap *h) {
  free(h->keys);
  free(h->val);
  free(h->used);
}

/* The slot of key; *fresh when it was just added. */
static int64_t *hmap_get(hmap *h, uint64_t key, bool *fresh) {
  size_t i = (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & (h->cap - 1);
  while (h->used[i] && h->keys[i] != key) i = (i + 1) & (h->cap - 1);
  *fresh = !h->used[i];
  if (*fresh) {
    h->used[i] = true;
    h->keys[i] = key;
    h->n++;
  }
  return h->val[i];
}

/* The checksums of the present rows, as each workload defines them. */
static int ref_sums(const rfw_workload *wl, const rows *m, uint32_t nodes, int64_t *out) {
  memset(out, 0, RFW_MAX_SUMS * sizeof *out);
  if (wl == &rfw_workload_bfs) {
    /* A textbook BFS over an adjacency array (CSR). */
    size_t *start = calloc((size_t)nodes + 1, sizeof *start);
    uint64_t *adj = malloc((m->n + 1) * sizeof *adj);
    int64_t *dist = malloc((size_t)nodes * sizeof *dist);
    uint64_t *queue = malloc((size_t)nodes * sizeof *queue);
    if (!start || !adj || !dist || !queue) return -1;
    for (size_t i = 0; i < m->n; i++) start[m->v[i].a + 1]++;
    for (uint32_t v = 0; v < nodes; v++) start[v + 1] += start[v];
    size_t *fill = calloc((size_t)nodes, sizeof *fill);
    if (!fill) return -1;
    for (size_t i = 0; i < m->n; i++)
      adj[start[m->v[i].a] + fill[m->v[i].a]++] = m->v[i].b;
    for (uint32_t v = 0; v < nodes; v++) dist[v] = -1;
    size_t head = 0, tail = 0;
    dist[0] = 0;
    queue[tail++] = 0;
    while (head < tail) {
      uint64_t v = queue[head++];
      out[0]++;
      out[1] += dist[v];
      for (size_t k = start[v]; k < start[v + 1]; k++)
        if (dist[adj[k]] < 0) {
          dist[adj[k]] = dist[v] + 1;
          queue[tail++] = adj[k];
        }
    }
    free(start), free(adj), free(dist), free(queue), free(fill);
  } else if (wl == &rfw_workload_degrees) {
    int64_t *deg = calloc(nodes, sizeof *deg), *hist = calloc((size_t)m->n + 1, sizeof *hist);
    if (!deg || !hist) return -1;
    for (size_t i = 0; i < m->n; i++) deg[m->v[i].a]++;
    for (uint32_t v = 0; v < nodes; v++)
      if (deg[v]) {
        hist[deg[v]]++;
        out[0]++;
        if (deg[v] > out[2]) out[2] = deg[v];
        out[3] += deg[v] * deg[v];
      }
    for (size_t d = 1; d <= m->n; d++) out[1] += hist[d] != 0;
    free(deg), free(hist);
  } else if (wl == &rfw_workload_cc) {
    /* Union-find; a component's label is its least node. */
    uint64_t *parent = malloc((size_t)nodes * sizeof *parent);
    bool *endpoint = calloc(nodes, sizeof *endpoint);
    if (!parent || !endpoint) return -1;
    for (uint32_t v = 0; v < nodes; v++) parent[v] = v;
    for (size_t i = 0; i < m->n; i++) {
      uint64_t x = m->v[i].a, y = m->v[i].b;
      endpoint[x] = endpoint[y] = true;
      while (parent[x] != x) x = parent[x] = parent[parent[x]];
      while (parent[y] != y) y = parent[y] = parent[parent[y]];
      if (x < y) parent[y] = x; /* the root is always the least node */
      else parent[x] = y;
    }
    for (uint32_t v = 0; v < nodes; v++) {
      if (!endpoint[v]) continue;
      uint64_t r = v;
      while (parent[r] != r) r = parent[r];
      out[0]++;
      out[1] += r == v;
      out[2] += (int64_t)r;
    }
    free(parent), free(endpoint);
  } else if (wl == &rfw_workload_groupby) {
    hmap h;
    if (hmap_init(&h, m->n) != 0) return -1;
    for (size_t i = 0; i < m->n; i++) {
      bool fresh;
      int64_t *agg = hmap_get(&h, m->v[i].a, &fresh), v = (int64_t)m->v[i].b;
      if (fresh) agg[2] = agg[3] = v;
      agg[0]++;
      agg[1] += v;
      if (v < agg[2]) agg[2] = v;
      if (v > agg[3]) agg[3] = v;
    }
    for (size_t i = 0; i < h.cap; i++)
      if (h.used[i]) {
        out[0]++;
        for (int k = 0; k < 4; k++) out[1 + k] += h.val[i][k];
      }
    hmap_free(&h);
  } else if (wl == &rfw_workload_join) {
    hmap h; /* per key: left rows, right rows */
    if (hmap_init(&h, m->n) != 0) return -1;
    for (size_t i = 0; i < m->n; i++) {
      bool fresh;
      hmap_get(&h, m->v[i].a, &fresh)[m->v[i].side]++;
    }
    for (size_t i = 0; i < h.cap; i++) {
      int64_t pairs = h.used[i] ? h.val[i][0] * h.val[i][1] : 0;
      if (pairs == 0) continue;
      out[0]++;
      out[1] += pairs;
      out[2] += pairs * pairs;
    }
    hmap_free(&h);
  }
  return 0;
}

/* Every round's reference checksums for the files in dir. */
static int64_t *reference(const rfw_workload *wl, const char *dir, uint32_t nodes,
                          uint32_t *n_rounds) {
  input in = {0};
  int rc = 0;
  switch (wl->kind) {
  case RFW_KIND_GRAPH:
    rc = input_read(&in, dir, "edges.txt", 0, 1) || input_read(&in, dir, "updates.txt", 0, 0);
    break;
  case RFW_KIND_GROUPBY:
    rc = input_read(&in, dir, "updates.txt", 0, 0);
    break;
  case RFW_KIND_JOIN:
    rc = input_read(&in, dir, "left.txt", 0, 0) || input_read(&in, dir, "right.txt", 1, 0);
    break;
  }
  int64_t *sums = calloc(((size_t)in.rounds + 1) * RFW_MAX_SUMS, sizeof *sums);
  rows m = {0};
  for (uint32_t r = 0; rc == 0 && sums && r <= in.rounds; r++) {
    for (size_t i = 0; i < in.n && rc == 0; i++)
      if (in.v[i].round == r) rc = rows_apply(&m, &in.v[i]);
    if (rc == 0) rc = ref_sums(wl, &m, nodes, sums + (size_t)r * RFW_MAX_SUMS);
  }
  free(in.v);
  free(m.v);
  if (rc || !sums) {
    free(sums);
    return NULL;
  }
  *n_rounds = in.rounds + 1;
  return sums;
}

/* Compares a run's checksums with the reference's; a message on a mismatch. */
static int same_sums(const rfw_workload *wl, const rfw_result *res, const int64_t *ref,
                     uint32_t n_ref, char *msg, size_t len) {
  if (res->n_rounds != n_ref) {
    snprintf(msg, len, "%" PRIu32 " rounds, expected %" PRIu32, res->n_rounds, n_ref);
    return 0;
  }
  for (uint32_t r = 0; r < n_ref; r++)
    for (uint32_t k = 0; k < wl->n_sums; k++) {
      int64_t got = res->sums[(size_t)r * RFW_MAX_SUMS + k];
      int64_t want = ref[(size_t)r * RFW_MAX_SUMS + k];
      if (got != want) {
        snprintf(msg, len, "round %" PRIu32 " %s = %" PRId64 ", expected %" PRId64, r,
                 wl->sum_names[k], got, want);
        return 0;
      }
    }
  snprintf(msg, len, "%" PRIu32 " rounds", n_ref);
  return 1;
}

/* Runs p; NULL sink for the JSON lines; captures stderr into err_text. */
static int run_quiet(const rfw_params *p, rfw_result *res, char **err_text) {
  FILE *sink = fopen("/dev/null", "w");
  size_t len;
  char *buf = NULL;
  FILE *err = err_text ? open_memstream(&buf, &len) : stderr;
  int rc = rfw_bench_run(p, sink ? sink : stdout, err ? err : stderr, res);
  if (sink) fclose(sink);
  if (err_text) {
    if (err) fclose(err);
    *err_text = buf;
  }
  return rc;
}

/* The small size of each family of workloads; `larger`: graphs big enough
 * that the traces' batches hold over RF__FENCE_MIN (1,024) keys, on each
 * of 2 workers, so that seeks go through fences (arrangements/batch.h). */
static void small_params(rfw_params *p, const rfw_workload *wl, bool larger) {
  rfw_params_default(p, wl);
  switch (wl->kind) {
  case RFW_KIND_GRAPH:
    /* Sparse, and a seed with which the answers move: bfs reaches 118
     * nodes in round 0 and 2 in round 8; cc has 9 components, then 8. */
    p->nodes = 300;
    p->edges = 360;
    p->batch = 12;
    p->rounds = 8;
    p->gen = RFW_GEN_FAST;
    p->seed = 2;
    if (larger) {
      p->nodes = 6000;
      p->edges = 12000;
      p->batch = 100;
      p->rounds = 5;
    }
    break;
  case RFW_KIND_GROUPBY:
    p->keys = 40;
    p->initial = 60;
    p->updates = 100; /* 9 rounds, the last of 4 changes */
    p->batch = 12;
    p->seed = 9;
    break;
  case RFW_KIND_JOIN:
    p->keys = 30;
    p->window = 80;
    p->batch = 10;
    p->rounds = 8;
    p->seed = 11;
    break;
  }
}

static char tmp_root[4096];

static void test_workload(const rfw_workload *wl, uint32_t max_workers, bool larger) {
  char dir[4200], what[160], msg[256];
  const char *size = larger ? " (larger)" : "";
  snprintf(dir, sizeof dir, "%s/%s%s", tmp_root, wl->name, larger ? "-larger" : "");
  rfw_params p;
  small_params(&p, wl, larger);
  p.write_inputs = dir;
  int rc = run_quiet(&p, NULL, NULL);
  snprintf(what, sizeof what, "%s%s: --write-inputs", wl->name, size);
  check(rc == 0, what, NULL);
  if (rc) return;
  uint32_t n_ref = 0;
  int64_t *ref = reference(wl, dir, p.nodes, &n_ref);
  snprintf(what, sizeof what, "%s%s: reading the written files", wl->name, size);
  check(ref != NULL, what, NULL);
  if (!ref) return;

  for (uint32_t w = 1; w <= max_workers; w++)
    for (int per_element = 0; per_element < 2; per_element++) {
      small_params(&p, wl, larger);
      p.workers = w;
      p.times_per_round = per_element ? p.batch : 1;
      rfw_result res;
      rc = run_quiet(&p, &res, NULL);
      int ok = rc == 0 && same_sums(wl, &res, ref, n_ref, msg, sizeof msg);
      snprintf(what, sizeof what, "%s%s: %u worker%s, T = %s: checksums = plain computation",
               wl->name, size, w, w > 1 ? "s" : "", per_element ? "B" : "1");
      check(ok, what, rc ? "the run failed" : msg);
      rfw_result_free(&res);
    }

  /* The files read back (once, at the small size). */
  if (larger) {
    free(ref);
    return;
  }
  char edges[4300], updates[8700];
  rfw_params_default(&p, wl);
  snprintf(edges, sizeof edges, "%s/edges.txt", dir);
  if (wl->kind == RFW_KIND_GRAPH) {
    p.edges_file = edges;
    snprintf(updates, sizeof updates, "%s/updates.txt", dir);
  } else if (wl->kind == RFW_KIND_GROUPBY) {
    snprintf(updates, sizeof updates, "%s/updates.txt", dir);
  } else {
    snprintf(updates, sizeof updates, "%s/left.txt", dir);
    snprintf(edges, sizeof edges, "%s/right.txt", dir);
    p.right_file = edges;
  }
  p.updates_file = updates;
  rfw_result res;
  rc = run_quiet(&p, &res, NULL);
  int ok = rc == 0 && same_sums(wl, &res, ref, n_ref, msg, sizeof msg);
  snprintf(what, sizeof what, "%s: --edges/--updates FILE give the same checksums", wl->name);
  check(ok, what, rc ? "the run failed" : msg);
  rfw_result_free(&res);
  free(ref);
}

/* Writes text to tmp_root/name; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text) {
  static char path[2][4200];
  static int which;
  char *p = path[which ^= 1];
  snprintf(p, sizeof path[0], "%s/%s", tmp_root, name);
  FILE *f = fopen(p, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return p;
}

/* A run on malformed files fails with a message containing `want`. */
static void expect_bad(const rfw_workload *wl, const char *edges_text, const char *upd_text,
                       const char *want, const char *what) {
  rfw_params p;
  rfw_params_default(&p, wl);
  if (edges_text) p.edges_file = write_file("bad_edges.txt", edges_text);
  if (upd_text) p.updates_file = write_file("bad_updates.txt", upd_text);
  if (wl->kind == RFW_KIND_JOIN) p.right_file = write_file("bad_right.txt", "0 +1 1 1\n");
  char *err = NULL;
  int rc = run_quiet(&p, NULL, &err);
  if (!*want) { /* well-formed: the run succeeds */
    check(rc == 0, what, err);
    free(err);
    return;
  }
  char detail[512];
  snprintf(detail, sizeof detail, "status %d, message: %s", rc, err ? err : "(none)");
  char *nl = strchr(detail, '\n');
  if (nl) *nl = '\0';
  check(rc == RFW_EXIT_FAILURE && err && strstr(err, want), what, detail);
  free(err);
}

static void test_bad_inputs(void) {
  expect_bad(&rfw_workload_degrees, "1 2\n3 4 5\n", NULL, "bad_edges.txt:2: expected 2 fields",
             "edge file: a line of 3 fields");
  expect_bad(&rfw_workload_cc, "# comment\n1 x\n", NULL,
             "bad_edges.txt:2: dst 'x' is not a non-negative decimal number",
             "edge file: a bad number");
  expect_bad(&rfw_workload_bfs, "1 2\n", "1 +1 1 2\n1 2 3 4\n",
             "bad_updates.txt:2: diff '2' is not +1 or -1", "update file: a bad diff");
  expect_bad(&rfw_workload_groupby, NULL, "0 +1 1 2\n2 +1 1 2\n1 -1 1 2\n",
             "bad_updates.txt:3: round 1 after round 2: rounds must not decrease",
             "update file: a decreasing round");
  expect_bad(&rfw_workload_groupby, NULL, "0 +1 4611686018427387904 2\n",
             "bad_updates.txt:1: key 4611686018427387904 is out of range",
             "update file: a key of 2^62");
  expect_bad(&rfw_workload_join, NULL, "0 +1 1\n", "bad_updates.txt:1: expected 4 fields",
             "join left file: a short line");
  expect_bad(&rfw_workload_join, NULL, "0 +1 1 1\n", "", "join: files that are fine");

  /* A file that is not there. */
  rfw_params p;
  rfw_params_default(&p, &rfw_workload_degrees);
  char path[4200];
  snprintf(path, sizeof path, "%s/no_such_file.txt", tmp_root);
  p.edges_file = path;
  char *err = NULL;
  int rc = run_quiet(&p, NULL, &err);
  check(rc == RFW_EXIT_FAILURE && err && strstr(err, "cannot open") && strstr(err, path),
        "a missing edge file", err);
  free(err);
}

/* Option values: a count-like --edges is a count, anything else a file. */
static void test_options(void) {
  rfw_params p;
  rfw_params_default(&p, &rfw_workload_degrees);
  char *args1[] = {"--edges", "10M", "--updates", "u.txt", "--workers", "64"};
  FILE *null = fopen("/dev/null", "w");
  int rc = rfw_params_parse(6, args1, &p, "t", null, null);
  check(rc == 0 && p.edges == 10000000 && !p.edges_file && p.updates_file && p.workers == 64,
        "options: --edges 10M is a count, --updates u.txt a file, --workers 64", NULL);
  rfw_params_default(&p, &rfw_workload_degrees);
  char *args2[] = {"--edges", "./10M"};
  rc = rfw_params_parse(2, args2, &p, "t", null, null);
  check(rc == 0 && p.edges_file && strcmp(p.edges_file, "./10M") == 0,
        "options: --edges ./10M is a file", NULL);
  rfw_params_default(&p, &rfw_workload_join);
  char *args3[] = {"--updates", "left.txt"};
  rc = rfw_params_parse(2, args3, &p, "t", null, null);
  check(rc == RFW_EXIT_USAGE, "options: join --updates without LEFT,RIGHT is refused", NULL);
  rfw_params_free(&p);
  rfw_params_default(&p, &rfw_workload_cc);
  char *args4[] = {"--workers", "65"};
  rc = rfw_params_parse(2, args4, &p, "t", null, null);
  check(rc == RFW_EXIT_USAGE, "options: --workers 65 is refused", NULL);
  rfw_params_default(&p, &rfw_workload_groupby);
  char *args5[] = {"--keys", "100k", "--updates", "1M", "--batch", "10k"};
  rc = rfw_params_parse(6, args5, &p, "t", null, null);
  check(rc == 0 && p.keys == 100000 && p.initial == 100000 && p.updates == 1000000 &&
            !p.updates_file && rfw_groupby_rounds(&p) == 100,
        "options: groupby --keys 100k --updates 1M --batch 10k (100 rounds)", NULL);
  if (null) fclose(null);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s ANCHORS_DIR (shared/anchors/dd-bfs)\n", argv[0]);
    return 2;
  }
  anchors = argv[1];
  test_isaac64();
  test_stream();
  test_bfs_histogram();
  test_options();

  const char *tmp = getenv("TMPDIR");
  snprintf(tmp_root, sizeof tmp_root, "%s/test_workloads.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(tmp_root)) {
    check(0, "a temporary directory", tmp_root);
  } else {
    const uint32_t max_workers = engine_has_workers(2) ? 2 : 1;
    for (size_t i = 0; rfw_workloads[i]; i++) {
      test_workload(rfw_workloads[i], max_workers, false);
      if (rfw_workloads[i]->kind == RFW_KIND_GRAPH)
        test_workload(rfw_workloads[i], max_workers, true);
    }
    test_bad_inputs();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    if (system(cmd) != 0) printf("note: could not remove %s\n", tmp_root);
  }
  printf("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
