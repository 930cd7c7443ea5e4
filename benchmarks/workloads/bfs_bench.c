/*
 * bfs_bench.c: the BFS benchmark runner (see bfs_bench.h): option parsing,
 * the load / initial / round steps, timing, statistics and the JSON output.
 */
#include "bfs_bench.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

void rfw_bfs_params_default(rfw_bfs_params *p) {
  memset(p, 0, sizeof *p);
  p->nodes = 100000;
  p->edges = 1000000;
  p->batch = 1000;
  p->rounds = 100;
  p->workers = 1;
  p->gen = RFW_GEN_DD;
}

void rfw_bfs_usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [options]\n"
          "\n"
          "BFS from node 0 over a random directed graph under edge churn, as\n"
          "differential-dataflow's bfs example runs it: EDGES edges at time 0,\n"
          "then ROUNDS rounds of BATCH (insert a new edge, remove the oldest),\n"
          "each change at its own time. Prints one JSON line per round (round 0\n"
          "is the initial computation) and a summary line: the worker count,\n"
          "round latency (median, p90, p99, mean) and throughput (rounds and\n"
          "changes per second).\n"
          "\n"
          "options (counts take k/M/G suffixes: 100k, 1M):\n"
          "  --nodes N            nodes (default 100k; at most 2^32-1)\n"
          "  --edges M            edges loaded at time 0 (default 1M)\n"
          "  --batch B            changes per round, each inserting and removing\n"
          "                       one edge (default 1000; at least 1)\n"
          "  --rounds R           rounds after the initial computation (default 100)\n"
          "  --workers W          worker threads that run the dataflow, 1 to %u\n"
          "                       (default 1)\n"
          "  --generator dd|fast  dd: the Rust example's exact ISAAC-64 stream\n"
          "                       (default); fast: splitmix64, same shape\n"
          "  --inspect FILE       write the distance histogram's changes as\n"
          "                       \"(distance, time, diff)\" lines, sorted by time\n"
          "  --check-ref FILE     compare those changes with a reference file (at\n"
          "                       the times this run covers); exit 3 if they differ\n"
          "  --write-stream FILE  write the input as a \"time diff src dst\" update\n"
          "                       stream and exit without running\n"
          "  -h, --help           this message\n"
          "\n"
          "exit status: 0 ok, 1 run failed, 2 bad usage, 3 histogram mismatch\n",
          prog, (unsigned)RFW_MAX_WORKERS);
}

int rfw_parse_count(const char *s, uint64_t max, uint64_t *out) {
  if (!s || !*s || *s == '-' || *s == '+') return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return -1;
  uint64_t mul = 1;
  if (*end == 'k' || *end == 'K') mul = 1000, end++;
  else if (*end == 'm' || *end == 'M') mul = 1000000, end++;
  else if (*end == 'g' || *end == 'G') mul = 1000000000, end++;
  if (*end) return -1;
  if (v > max / mul) return -1;
  *out = (uint64_t)v * mul;
  return 0;
}

int rfw_opt_count(int argc, char **argv, int *i, uint64_t lo, uint64_t hi,
                  uint64_t *out, const char *prog, FILE *err) {
  const char *name = argv[*i];
  if (*i + 1 >= argc) {
    fprintf(err, "%s: option %s needs a value\n", prog, name);
    return RFW_EXIT_USAGE;
  }
  const char *v = argv[++*i];
  if (rfw_parse_count(v, hi, out) != 0 || *out < lo) {
    fprintf(err, "%s: bad value '%s' for %s: expected a whole number from %" PRIu64
                 " to %" PRIu64 "\n", prog, v, name, lo, hi);
    return RFW_EXIT_USAGE;
  }
  return 0;
}

static int path_opt(int argc, char **argv, int *i, const char **out,
                    const char *prog, FILE *err) {
  if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
    fprintf(err, "%s: option %s needs a file name\n", prog, argv[*i]);
    return RFW_EXIT_USAGE;
  }
  *out = argv[++*i];
  return 0;
}

int rfw_bfs_params_parse(int argc, char **argv, rfw_bfs_params *p,
                         const char *prog, FILE *out, FILE *err) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    uint64_t v = 0;
    int rc = 0;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      rfw_bfs_usage(out, prog);
      return RFW_EXIT_HELP;
    } else if (strcmp(a, "--nodes") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, UINT32_MAX, &v, prog, err))) p->nodes = (uint32_t)v;
    } else if (strcmp(a, "--edges") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 0, UINT64_C(1) << 40, &v, prog, err))) p->edges = v;
    } else if (strcmp(a, "--batch") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, UINT32_MAX / 2, &v, prog, err))) p->batch = (uint32_t)v;
    } else if (strcmp(a, "--rounds") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 0, UINT32_MAX, &v, prog, err))) p->rounds = (uint32_t)v;
    } else if (strcmp(a, "--workers") == 0) {
      if (!(rc = rfw_opt_count(argc, argv, &i, 1, RFW_MAX_WORKERS, &v, prog, err)))
        p->workers = (uint32_t)v;
    } else if (strcmp(a, "--generator") == 0) {
      if (i + 1 >= argc) {
        fprintf(err, "%s: option --generator needs a value (dd or fast)\n", prog);
        return RFW_EXIT_USAGE;
      }
      if (rfw_gen_kind_parse(argv[++i], &p->gen) != 0) {
        fprintf(err, "%s: bad value '%s' for --generator: expected dd or fast\n",
                prog, argv[i]);
        return RFW_EXIT_USAGE;
      }
    } else if (strcmp(a, "--inspect") == 0) {
      rc = path_opt(argc, argv, &i, &p->inspect_path, prog, err);
    } else if (strcmp(a, "--check-ref") == 0) {
      rc = path_opt(argc, argv, &i, &p->check_ref_path, prog, err);
    } else if (strcmp(a, "--write-stream") == 0) {
      rc = path_opt(argc, argv, &i, &p->write_stream_path, prog, err);
    } else {
      fprintf(err, "%s: unknown argument '%s' (try --help)\n", prog, a);
      return RFW_EXIT_USAGE;
    }
    if (rc) return rc;
  }
  return 0; /* times are u64: batch * rounds (< 2^63) cannot overflow them */
}

/* ---- steps ----------------------------------------------------------- */

double rfw_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t rfw_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (uint64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

int rfw_bfs_run_start(rfw_bfs_run *run, uint32_t workers,
                      const rfw_bfs_options *opts) {
  memset(run, 0, sizeof *run);
  rf_config cfg = {.workers = workers};
  int rc = rf_graph_create(&cfg, &run->g);
  if (rc) return rc;
  if ((rc = rfw_bfs_build(run->g, &run->bfs, opts)) == 0 &&
      (rc = rf_graph_start(run->g)) == 0) {
    const rf_value root[1] = {rf_from_u64(0)};
    if ((rc = rf_input_insert(run->bfs.roots, root, 1)) == 0)
      rc = rf_input_close(run->bfs.roots);
  }
  if (rc) rfw_bfs_run_finish(run);
  return rc;
}

void rfw_bfs_run_finish(rfw_bfs_run *run) {
  rf_graph_destroy(run->g);
  run->g = NULL;
  rfw_bfs_free(&run->bfs);
}

int rfw_bfs_load(rfw_bfs_run *run, rfw_bfs_stream *s, uint64_t edges,
                 rfw_progress_fn progress, void *ctx, uint64_t every) {
  rf_input *in = run->bfs.edges;
  for (uint64_t i = 0; i < edges; i++) {
    rfw_edge e = rfw_bfs_stream_next_load(s);
    const rf_value rec[2] = {rf_from_u64(e.src), rf_from_u64(e.dst)};
    int rc = rf_input_insert(in, rec, 2);
    if (rc) return rc;
    if (progress && every && (i + 1) % every == 0) progress(ctx, i + 1, edges);
  }
  return rf_input_advance_to(in, 1);
}

int rfw_bfs_wait_initial(rfw_bfs_run *run) {
  return rf_probe_wait(run->bfs.probe, 0);
}

int rfw_bfs_round(rfw_bfs_run *run, uint32_t batch, uint32_t round,
                  const rfw_edge *ins, const rfw_edge *del) {
  rf_input *in = run->bfs.edges;
  for (uint32_t e = 0; e < batch; e++) {
    const rf_value add[2] = {rf_from_u64(ins[e].src), rf_from_u64(ins[e].dst)};
    const rf_value rem[2] = {rf_from_u64(del[e].src), rf_from_u64(del[e].dst)};
    int rc;
    if ((rc = rf_input_insert(in, add, 2)) != 0) return rc;
    if ((rc = rf_input_remove(in, rem, 2)) != 0) return rc;
    if ((rc = rf_input_advance_to(in, rfw_bfs_time(batch, round, e) + 1)) != 0)
      return rc;
  }
  return rf_probe_wait(run->bfs.probe, rfw_bfs_time(batch, round, batch - 1));
}

/* ---- the benchmark ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void rfw_sort_doubles(double *v, size_t n) { qsort(v, n, sizeof *v, cmp_double); }

double rfw_percentile(const double *v, size_t n, double q) {
  if (n == 0) return 0;
  size_t k = (size_t)ceil(q * (double)n);
  if (k < 1) k = 1;
  return v[k - 1];
}

double rfw_median(const double *v, size_t n) {
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void read_hist(rfw_bfs_hist *h, int64_t *reachable, int64_t *dsum) {
  pthread_mutex_lock(&h->lock);
  *reachable = h->reachable;
  *dsum = h->distance_sum;
  pthread_mutex_unlock(&h->lock);
}

static int engine_fail(FILE *err, const char *what, int rc) {
  fprintf(err, "bfs: %s failed: %s (%s)\n", what, rf_strerror(rc), rf_last_error());
  return RFW_EXIT_FAILURE;
}

static int write_stream_file(const rfw_bfs_params *p, FILE *err) {
  FILE *f = fopen(p->write_stream_path, "w");
  if (!f) {
    fprintf(err, "bfs: cannot write %s: %s\n", p->write_stream_path, strerror(errno));
    return RFW_EXIT_FAILURE;
  }
  int rc = rfw_bfs_stream_write_updates(f, p->gen, p->nodes, p->edges, p->batch,
                                        p->rounds);
  if (fclose(f) != 0) rc = -1;
  if (rc) {
    fprintf(err, "bfs: error writing %s\n", p->write_stream_path);
    return RFW_EXIT_FAILURE;
  }
  return RFW_EXIT_OK;
}

int rfw_bfs_bench(const rfw_bfs_params *p, FILE *out, FILE *err,
                  rfw_hist_change **hist_out, size_t *n_hist) {
  if (hist_out) {
    *hist_out = NULL;
    *n_hist = 0;
  }
  if (p->write_stream_path) return write_stream_file(p, err);

  /* Read the reference first: a bad file should not cost a whole run. */
  rfw_hist_change *ref = NULL;
  long n_ref = 0;
  if (p->check_ref_path) {
    char msg[512];
    n_ref = rfw_hist_read(p->check_ref_path, &ref, msg, sizeof msg);
    if (n_ref < 0) {
      fprintf(err, "bfs: --check-ref: %s\n", msg);
      return RFW_EXIT_FAILURE;
    }
  }

  const bool keep_log = p->inspect_path || p->check_ref_path || hist_out;
  rfw_bfs_options opts = {.keep_log = keep_log};
  rfw_edge *ins = malloc((size_t)p->batch * sizeof *ins);
  rfw_edge *del = malloc((size_t)p->batch * sizeof *del);
  double *lat = malloc(((size_t)p->rounds + 1) * sizeof *lat);
  rfw_bfs_run *run = malloc(sizeof *run);
  int status = RFW_EXIT_OK, rc;
  if (!ins || !del || !lat || !run) {
    fprintf(err, "bfs: out of memory\n");
    free(ins), free(del), free(lat), free(run), free(ref);
    return RFW_EXIT_FAILURE;
  }

  double t_start = rfw_now_s();
  if ((rc = rfw_bfs_run_start(run, p->workers, &opts)) != 0) {
    free(ins), free(del), free(lat), free(run), free(ref);
    return engine_fail(err, "building the dataflow", rc);
  }
  rfw_bfs_stream s;
  rfw_bfs_stream_init(&s, p->gen, p->nodes, p->batch);
  int64_t reach, dsum;
  double load_s = 0, initial_s = 0, rounds_total = 0;
  size_t n_lat = 0;

  if ((rc = rfw_bfs_load(run, &s, p->edges, NULL, NULL, 0)) != 0) {
    status = engine_fail(err, "loading the edges", rc);
    goto done;
  }
  load_s = rfw_now_s() - t_start;
  if ((rc = rfw_bfs_wait_initial(run)) != 0) {
    status = engine_fail(err, "the initial computation", rc);
    goto done;
  }
  initial_s = rfw_now_s() - t_start;
  read_hist(&run->bfs.hist, &reach, &dsum);
  fprintf(out, "{\"round\":0,\"latency_ms\":%.3f,\"reachable\":%" PRId64
               ",\"distance_sum\":%" PRId64 "}\n",
          (initial_s - load_s) * 1e3, reach, dsum);
  fflush(out);

  for (uint32_t r = 0; r < p->rounds; r++) {
    rfw_bfs_stream_next_round(&s, ins, del); /* not timed */
    double t0 = rfw_now_s();
    if ((rc = rfw_bfs_round(run, p->batch, r, ins, del)) != 0) {
      char what[64];
      snprintf(what, sizeof what, "round %" PRIu32, r + 1);
      status = engine_fail(err, what, rc);
      goto done;
    }
    double dt = rfw_now_s() - t0;
    lat[n_lat++] = dt * 1e3;
    rounds_total += dt;
    read_hist(&run->bfs.hist, &reach, &dsum);
    fprintf(out, "{\"round\":%" PRIu32 ",\"latency_ms\":%.3f,\"reachable\":%" PRId64
                 ",\"distance_sum\":%" PRId64 "}\n",
            r + 1, dt * 1e3, reach, dsum);
    fflush(out);
  }

  rfw_bfs_hist *h = &run->bfs.hist;
  if (h->oom) {
    fprintf(err, "bfs: out of memory while recording the histogram\n");
    status = RFW_EXIT_FAILURE;
    goto done;
  }
  rf_stats st;
  memset(&st, 0, sizeof st);
  if ((rc = rf_graph_stats(run->g, &st)) != 0) {
    status = engine_fail(err, "rf_graph_stats", rc);
    goto done;
  }

  /* The histogram's changes, in the reference's form. */
  size_t n_changes = rfw_hist_consolidate(h->log, h->n_log);
  const char *check = NULL;
  if (p->inspect_path) {
    FILE *f = fopen(p->inspect_path, "w");
    int wrc = f ? rfw_hist_write(f, h->log, n_changes) : -1;
    if (f && fclose(f) != 0) wrc = -1;
    if (wrc) {
      fprintf(err, "bfs: cannot write %s: %s\n", p->inspect_path, strerror(errno));
      status = RFW_EXIT_FAILURE;
      goto done;
    }
  }
  if (p->check_ref_path) {
    char msg[512];
    uint64_t max_t = p->rounds ? rfw_bfs_time(p->batch, p->rounds - 1, p->batch - 1) : 0;
    int cmp = rfw_hist_compare(h->log, n_changes, ref, (size_t)n_ref, max_t, msg,
                               sizeof msg);
    check = cmp == 0 ? "match" : "mismatch";
    fprintf(err, "bfs: --check-ref %s: %s\n", p->check_ref_path, msg);
    if (cmp) status = RFW_EXIT_MISMATCH;
  }

  rfw_sort_doubles(lat, n_lat);
  double changes = 2.0 * p->batch * p->rounds;
  fprintf(out,
          "{\"summary\":true,\"nodes\":%" PRIu32 ",\"edges\":%" PRIu64
          ",\"batch\":%" PRIu32 ",\"rounds\":%" PRIu32 ",\"workers\":%" PRIu32
          ",\"generator\":\"%s\",\"load_s\":%.3f,\"initial_s\":%.3f"
          ",\"round_median_ms\":%.3f,\"round_p90_ms\":%.3f,\"round_p99_ms\":%.3f"
          ",\"round_mean_ms\":%.3f,\"rounds_per_s\":%.2f,\"changes_per_s\":%.0f"
          ",\"updates_per_s\":%.0f,\"peak_rss_bytes\":%" PRIu64
          ",\"allocated_bytes\":%" PRIu64 ",\"retained_updates\":%" PRIu64
          ",\"retained_batches\":%" PRIu64 ",\"retained_bytes\":%" PRIu64
          ",\"bytes_per_update\":%.1f"
          ",\"reachable\":%" PRId64 ",\"distance_sum\":%" PRId64,
          p->nodes, p->edges, p->batch, p->rounds, p->workers, rfw_gen_kind_name(p->gen),
          load_s, initial_s, rfw_median(lat, n_lat), rfw_percentile(lat, n_lat, 0.90),
          rfw_percentile(lat, n_lat, 0.99), n_lat ? rounds_total * 1e3 / (double)n_lat : 0.0,
          rounds_total > 0 ? (double)n_lat / rounds_total : 0.0,
          rounds_total > 0 ? changes / rounds_total : 0.0,
          rounds_total > 0 ? changes / rounds_total : 0.0, rfw_peak_rss_bytes(),
          st.allocated_bytes, st.retained_updates, st.retained_batches, st.retained_bytes,
          st.retained_updates ? (double)st.retained_bytes / (double)st.retained_updates : 0.0,
          h->reachable, h->distance_sum);
  if (check) fprintf(out, ",\"check_ref\":\"%s\"", check);
  fprintf(out, "}\n");
  fflush(out);

  if (hist_out) {
    *hist_out = h->log; /* hand the log over */
    *n_hist = n_changes;
    h->log = NULL;
  }

done:
  rfw_bfs_run_finish(run);
  free(ins), free(del), free(lat), free(run), free(ref);
  return status;
}
