/*
 * test_workloads.c: checks the workload generators and the BFS runner
 * against the Rust differential-dataflow anchors in shared/anchors/dd-bfs/:
 * the first ISAAC-64 outputs, the exact edge streams, and the distance
 * histogram of `bfs 1000 10000 10 10` (with 1 and 2 workers). A plain C
 * program: prints each check and exits non-zero if any failed.
 *
 *   test_workloads ANCHORS_DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bfs_bench.h"
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
  rfw_bfs_stream_write_anchor(f, RFW_GEN_DD, nodes, edges, batch, rounds);
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
  rfw_bfs_params p;
  rfw_bfs_params_default(&p);
  p.nodes = 1000;
  p.edges = 10000;
  p.batch = 10;
  p.rounds = 10;
  p.workers = workers;
  p.gen = gen;
  FILE *sink = fopen("/dev/null", "w");
  rfw_hist_change *h = NULL;
  int rc = rfw_bfs_bench(&p, sink ? sink : stdout, stderr, &h, n);
  if (sink) fclose(sink);
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

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s ANCHORS_DIR (shared/anchors/dd-bfs)\n", argv[0]);
    return 2;
  }
  anchors = argv[1];
  test_isaac64();
  test_stream();
  test_bfs_histogram();
  printf("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
