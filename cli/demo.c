/*
 * demo.c: `rhizoflow demo bfs`: hop distances from node 0 over a random
 * directed graph while its edges churn, narrated for a human. It runs the
 * same dataflow and steps as the BFS benchmark (rf_workloads): load the
 * edges at time 0, compute every distance, then rounds that each insert
 * BATCH new edges and remove the BATCH oldest, one change per time, and
 * report how fast the distances followed.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bfs_bench.h"
#include "common/alloc.h"
#include "cli.h"

typedef struct demo_opts {
  uint32_t nodes, batch, rounds, workers;
  uint64_t edges;
  rfw_gen_kind gen;
} demo_opts;

static void demo_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow demo bfs [options]\n"
          "\n"
          "Computes hop distances from node 0 over a random directed graph, then\n"
          "changes the graph round by round (each change inserts a new edge and\n"
          "removes the oldest) and shows the distances following incrementally.\n"
          "\n"
          "options (counts take k/M/G suffixes: 100k, 1M):\n"
          "  --nodes N            nodes (default 100k)\n"
          "  --edges M            edges (default 1M)\n"
          "  --batch B            changes per round (default 1000)\n"
          "  --rounds R           rounds (default 20)\n"
          "  --workers W          worker threads that run the dataflow, 1 to %u\n"
          "                       (default 1)\n"
          "  --generator dd|fast  the random graph: dd is the Rust\n"
          "                       differential-dataflow example's (default), fast\n"
          "                       a cheaper one of the same shape\n"
          "  -h, --help           this message\n"
          "\n"
          "exit status: 0 ok, 1 runtime failure, 2 usage error\n",
          (unsigned)RFW_MAX_WORKERS);
}

static int demo_parse(int argc, char **argv, demo_opts *o) {
  const char *prog = "rhizoflow demo bfs";
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    uint64_t v = 0;
    int rc = 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      demo_usage(stdout);
      return RFW_EXIT_HELP;
    } else if (strcmp(a, "--nodes") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, UINT32_MAX, &v, prog, stderr))) o->nodes = (uint32_t)v;
    } else if (strcmp(a, "--edges") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 0, UINT64_C(1) << 40, &v, prog, stderr))) o->edges = v;
    } else if (strcmp(a, "--batch") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, UINT32_MAX / 2, &v, prog, stderr))) o->batch = (uint32_t)v;
    } else if (strcmp(a, "--rounds") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 0, UINT32_MAX / 2, &v, prog, stderr))) o->rounds = (uint32_t)v;
    } else if (strcmp(a, "--workers") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, RFW_MAX_WORKERS, &v, prog, stderr)))
        o->workers = (uint32_t)v;
    } else if (strcmp(a, "--generator") == 0) {
      if (i + 1 >= argc || rfw_gen_kind_parse(argv[i + 1], &o->gen) != 0) {
        fprintf(stderr, "%s: bad value '%s' for --generator: expected dd or fast\n", prog,
                i + 1 < argc ? argv[i + 1] : "");
        return RFW_EXIT_USAGE;
      }
      i++;
    } else {
      fprintf(stderr, "%s: unknown argument '%s' (try rhizoflow demo bfs --help)\n", prog, a);
      return RFW_EXIT_USAGE;
    }
    if (rc) return rc;
  }
  return 0;
}

/* Loading progress on stderr: a rewritten line on a terminal, else every
 * quarter. */
typedef struct progress {
  bool tty;
  unsigned last; /* last percentage printed */
} progress;

static void on_progress(void *ctx, uint64_t done, uint64_t total) {
  progress *p = ctx;
  unsigned pct = (unsigned)(done * 100 / total);
  if (p->tty) {
    fprintf(stderr, "\rloading edges: %3u%% (%" PRIu64 " of %" PRIu64 ")", pct, done, total);
    if (done == total) fputc('\n', stderr);
  } else if (pct / 25 > p->last / 25) {
    fprintf(stderr, "loading edges: %3u%% (%" PRIu64 " of %" PRIu64 ")\n", pct, done, total);
    p->last = pct;
  }
}

static int fail(const char *what, int rc) {
  fprintf(stderr, "rhizoflow demo bfs: %s failed: %s (%s)\n", what, rf_strerror(rc),
          rf_last_error());
  return RFW_EXIT_FAILURE;
}

static void print_histogram(rfw_bfs_hist *h, uint32_t nodes) {
  pthread_mutex_lock(&h->lock);
  size_t far = 0;
  for (size_t d = 0; d < h->count_cap; d++)
    if (h->count[d]) far = d;
  printf("reachable from node 0: %" PRId64 " of %" PRIu32 " nodes; mean distance %.2f; "
         "farthest %zu hops\n",
         h->reachable, nodes,
         h->reachable ? (double)h->distance_sum / (double)h->reachable : 0.0, far);
  printf("nodes per distance:");
  for (size_t d = 0; d <= far && d < h->count_cap; d++)
    printf(" %zu:%" PRId64, d, h->count[d]);
  printf("\n");
  pthread_mutex_unlock(&h->lock);
}

int rf_cli_demo_bfs(int argc, char **argv) {
  demo_opts o = {.nodes = 100000, .edges = 1000000, .batch = 1000, .rounds = 20,
                 .workers = 1, .gen = RFW_GEN_DD};
  int rc = demo_parse(argc, argv, &o);
  if (rc == RFW_EXIT_HELP) return RFW_EXIT_OK;
  if (rc) return rc;

  printf("rhizoflow demo bfs: hop distances from node 0 over %" PRIu32 " nodes and %" PRIu64
         " random edges (%" PRIu32 " worker%s),\nthen %" PRIu32 " rounds of %" PRIu32
         " changes (insert a new edge, remove the oldest), one time each.\n",
         o.nodes, o.edges, o.workers, o.workers > 1 ? "s" : "", o.rounds, o.batch);
  fflush(stdout);

  rfw_edge *ins = rf__malloc((size_t)o.batch * sizeof *ins);
  rfw_edge *del = rf__malloc((size_t)o.batch * sizeof *del);
  double *lat = rf__malloc(((size_t)o.rounds + 1) * sizeof *lat);
  rfw_bfs_run *run = rf__malloc(sizeof *run);
  if (!ins || !del || !lat || !run) {
    rf__free(ins), rf__free(del), rf__free(lat), rf__free(run);
    fprintf(stderr, "rhizoflow demo bfs: out of memory\n");
    return RFW_EXIT_FAILURE;
  }
  int status = RFW_EXIT_OK;
  const rfw_bfs_options opts = {.count_changes = true};
  if ((rc = rfw_bfs_run_start(run, o.workers, &opts)) != 0) {
    rf__free(ins), rf__free(del), rf__free(lat), rf__free(run);
    return fail("building the dataflow", rc);
  }
  rfw_bfs_stream s;
  rfw_bfs_stream_init(&s, o.gen, o.nodes, o.batch, RFW_DEFAULT_SEED);

  progress prog = {.tty = isatty(STDERR_FILENO) == 1, .last = 0};
  double t0 = rfw_now_s();
  uint64_t every = o.edges / 100 ? o.edges / 100 : 1;
  if ((rc = rfw_bfs_load(run, &s, o.edges, on_progress, &prog, every)) != 0) {
    status = fail("loading the edges", rc);
    goto done;
  }
  double t_loaded = rfw_now_s();
  printf("loaded %" PRIu64 " edges in %.2f s\n", o.edges, t_loaded - t0);
  fflush(stdout);
  if ((rc = rfw_bfs_wait_initial(run)) != 0) {
    status = fail("the initial computation", rc);
    goto done;
  }
  double t_init = rfw_now_s();
  printf("initial computation: %.2f s (%.2f s with loading)\n", t_init - t_loaded,
         t_init - t0);
  print_histogram(&run->bfs.hist, o.nodes);

  if (o.rounds)
    printf("\n(distance changes: per-node distance updates, +new and -old values)\n"
           "%5s %8s %11s %10s %18s\n",
           "round", "changes", "latency_ms", "reachable", "distance changes");
  uint64_t ups0 = atomic_load(&run->bfs.node_ups), downs0 = atomic_load(&run->bfs.node_downs);
  double total = 0;
  for (uint32_t r = 0; r < o.rounds; r++) {
    rfw_bfs_stream_next_round(&s, ins, del);
    double a = rfw_now_s();
    if ((rc = rfw_bfs_round(run, o.batch, r, ins, del)) != 0) {
      status = fail("a round", rc);
      goto done;
    }
    double dt = rfw_now_s() - a;
    lat[r] = dt * 1e3;
    total += dt;
    uint64_t ups = atomic_load(&run->bfs.node_ups), downs = atomic_load(&run->bfs.node_downs);
    pthread_mutex_lock(&run->bfs.hist.lock);
    int64_t reach = run->bfs.hist.reachable;
    pthread_mutex_unlock(&run->bfs.hist.lock);
    char changed[48];
    snprintf(changed, sizeof changed, "+%" PRIu64 " -%" PRIu64, ups - ups0, downs - downs0);
    printf("%5" PRIu32 " %8" PRIu64 " %11.3f %10" PRId64 " %18s\n", r + 1,
           2 * (uint64_t)o.batch, dt * 1e3, reach, changed);
    fflush(stdout);
    ups0 = ups;
    downs0 = downs;
  }
  printf("\n");
  if (o.rounds) {
    rfw_sort_doubles(lat, o.rounds);
    printf("after %" PRIu32 " rounds with %" PRIu32 " worker%s: round latency median %.3f ms, "
           "p99 %.3f ms; %.1f rounds/s, %.0f changes/s; ",
           o.rounds, o.workers, o.workers > 1 ? "s" : "", rfw_median(lat, o.rounds),
           rfw_percentile(lat, o.rounds, 0.99), total > 0 ? o.rounds / total : 0.0,
           total > 0 ? 2.0 * o.batch * o.rounds / total : 0.0);
  }
  printf("peak RSS %.1f MB\n", (double)rfw_peak_rss_bytes() / 1e6);
  print_histogram(&run->bfs.hist, o.nodes);

done:
  rfw_bfs_run_finish(run);
  rf__free(ins), rf__free(del), rf__free(lat), rf__free(run);
  return status;
}
