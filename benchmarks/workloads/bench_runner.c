/*
 * bench_runner.c: the runner every workload shares (see bench_runner.h):
 * builds the workload's dataflow, feeds round 0 and the rounds from its
 * source, times them, and prints the per-round and summary JSON lines.
 */
#include "bench_runner.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bench_inputs.h"

const rfw_workload *const rfw_workloads[] = {&rfw_workload_bfs, &rfw_workload_degrees,
                                             &rfw_workload_cc, &rfw_workload_groupby,
                                             &rfw_workload_join, NULL};

const rfw_workload *rfw_workload_find(const char *name) {
  for (size_t i = 0; rfw_workloads[i]; i++)
    if (strcmp(rfw_workloads[i]->name, name) == 0) return rfw_workloads[i];
  return NULL;
}

void rfw_sums_init(rfw_sums *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
}

void rfw_sums_destroy(rfw_sums *s) { pthread_mutex_destroy(&s->lock); }

int rfw_sums_read(rfw_sums *s, int64_t *out, uint32_t n) {
  pthread_mutex_lock(&s->lock);
  memcpy(out, s->v, n * sizeof *out);
  bool oom = s->oom;
  pthread_mutex_unlock(&s->lock);
  return oom ? -1 : 0;
}

void rfw_result_free(rfw_result *r) {
  free(r->sums);
  free(r->hist);
  memset(r, 0, sizeof *r);
}

/* ---- feeding ------------------------------------------------------------ */

typedef struct run {
  const rfw_params *p;
  const rfw_workload *wl;
  FILE *out, *err;
  rf_graph *g;
  rfw_dataflow df;
  rfw_progress prog;
  uint64_t loaded;  /* initial updates fed */
  uint64_t initial_n;
  uint64_t time;    /* the inputs' current time */
  uint32_t max_groups; /* the most times a round used */
} run;

static inline rf_value col_b(const run *r, uint64_t b) {
  return r->wl->value_i64 ? rf_from_i64((int64_t)b) : rf_from_u64(b);
}

static int feed_initial(void *ctx, uint32_t input, int diff, uint64_t a, uint64_t b) {
  run *r = ctx;
  const rf_value rec[2] = {rf_from_u64(a), col_b(r, b)};
  int rc = rf_input_update(r->df.inputs[input], rec, 2, diff);
  if (rc) return rc;
  if ((++r->loaded & 0xffff) == 0 && rfw_progress_due(&r->prog)) {
    if (r->initial_n)
      rfw_progress_print(&r->prog, "%s: loading %" PRIu64 " of %" PRIu64 " (%.0f%%)",
                         r->wl->name, r->loaded, r->initial_n,
                         100.0 * (double)r->loaded / (double)r->initial_n);
    else
      rfw_progress_print(&r->prog, "%s: loading %" PRIu64, r->wl->name, r->loaded);
  }
  return 0;
}

static int advance_all(run *r) {
  for (uint32_t i = 0; i < r->df.n_inputs; i++) {
    int rc = rf_input_advance_to(r->df.inputs[i], r->time);
    if (rc) return rc;
  }
  return 0;
}

/* --send round (the default): every input buffered, so that a round goes
 * to the workers whole when it is waited on, as differential dataflow's
 * bfs example flushes its input once a round. */
static int buffer_inputs(run *r) {
  for (uint32_t i = 0; i < r->df.n_inputs; i++) {
    int rc = rf_input_set_buffered(r->df.inputs[i], !r->p->send_each_advance);
    if (rc) return rc;
  }
  return 0;
}

/* One round: its elements cut into T groups, each at its own time. */
static int feed_round(run *r, const rfw_round *rd) {
  const size_t n_el = rd->n_elem;
  const uint32_t t = r->p->times_per_round;
  size_t groups = t == 0 || t > n_el ? n_el : t;
  if (groups == 0) groups = 1; /* an empty round still takes a time */
  if (groups > r->max_groups) r->max_groups = (uint32_t)groups;
  const size_t q = n_el / groups, rem = n_el % groups;
  size_t e = 0;
  for (size_t g = 0; g < groups; g++) {
    size_t cnt = q + (g < rem ? 1 : 0);
    size_t from = e < n_el ? rd->elem[e] : rd->n;
    size_t to = e + cnt < n_el ? rd->elem[e + cnt] : rd->n;
    for (size_t k = from; k < to; k++) {
      const rfw_update *u = &rd->u[k];
      const rf_value rec[2] = {rf_from_u64(u->a), col_b(r, u->b)};
      int rc = rf_input_update(r->df.inputs[u->input], rec, 2, u->diff);
      if (rc) return rc;
    }
    e += cnt;
    r->time++;
    int rc = advance_all(r);
    if (rc) return rc;
  }
  return rf_probe_wait(r->df.probe, r->time - 1);
}

/* ---- output ---------------------------------------------------------------- */

static int engine_fail(run *r, const char *what, int rc) {
  rfw_progress_end(&r->prog);
  fprintf(r->err, "%s: %s failed: %s (%s)\n", r->wl->name, what, rf_strerror(rc),
          rf_last_error());
  return RFW_EXIT_FAILURE;
}

static void print_sums(run *r, const int64_t *sums) {
  for (uint32_t k = 0; k < r->wl->n_sums; k++)
    fprintf(r->out, ",\"%s\":%" PRId64, r->wl->sum_names[k], sums[k]);
}

static int record_round(run *r, rfw_result *res, uint32_t round, double ms, int64_t *sums) {
  if (r->wl->read_sums(r->df.state, sums) != 0) {
    rfw_progress_end(&r->prog);
    fprintf(r->err, "%s: out of memory in an inspect callback\n", r->wl->name);
    return RFW_EXIT_FAILURE;
  }
  fprintf(r->out, "{\"round\":%" PRIu32 ",\"latency_ms\":%.3f", round, ms);
  print_sums(r, sums);
  fprintf(r->out, "}\n");
  fflush(r->out);
  if (res) {
    int64_t *p = realloc(res->sums, ((size_t)round + 1) * RFW_MAX_SUMS * sizeof *p);
    if (!p) {
      fprintf(r->err, "%s: out of memory\n", r->wl->name);
      return RFW_EXIT_FAILURE;
    }
    res->sums = p;
    memcpy(p + (size_t)round * RFW_MAX_SUMS, sums, RFW_MAX_SUMS * sizeof *p);
    res->n_rounds = round + 1;
  }
  return 0;
}

/* A count over the rounds, per round. */
static double per_round(uint64_t n, size_t rounds) {
  return rounds ? (double)n / (double)rounds : 0.0;
}

/* The run's parameters, as a "params" object (flat fields named nodes or
 * keys would clash with checksums of the same names); bfs also keeps its
 * flat fields of old. Then the rounds run and the most times one used. */
static void print_params(run *r, uint32_t rounds) {
  const rfw_params *p = r->p;
  FILE *f = r->out;
  fprintf(f, ",\"params\":{");
  if (!rfw_params_from_files(p)) {
    switch (r->wl->kind) {
    case RFW_KIND_GRAPH:
      fprintf(f, "\"nodes\":%" PRIu32 ",\"edges\":%" PRIu64 ",\"generator\":\"%s\"", p->nodes,
              p->edges, rfw_gen_kind_name(p->gen));
      break;
    case RFW_KIND_GROUPBY:
      fprintf(f, "\"keys\":%" PRIu64 ",\"initial\":%" PRIu64 ",\"updates\":%" PRIu64, p->keys,
              p->initial, rfw_groupby_changes(p));
      break;
    case RFW_KIND_JOIN:
      fprintf(f, "\"keys\":%" PRIu64 ",\"window\":%" PRIu64, p->keys, p->window);
      break;
    }
    fprintf(f, ",\"batch\":%" PRIu32 ",\"seed\":%" PRIu64, p->batch, p->seed);
  } else {
    const char *names[3] = {"edges_file", "updates_file", "right_file"};
    const char *paths[3] = {p->edges_file, p->updates_file, p->right_file};
    if (r->wl->kind == RFW_KIND_JOIN) names[1] = "left_file";
    bool first = true;
    for (int i = 0; i < 3; i++)
      if (paths[i]) {
        fprintf(f, "%s\"%s\":", first ? "" : ",", names[i]);
        rfw_json_string(f, paths[i]);
        first = false;
      }
  }
  fprintf(f, ",\"times_per_round\":");
  if (p->times_per_round) fprintf(f, "%" PRIu32, p->times_per_round);
  else fprintf(f, "\"element\"");
  fprintf(f, ",\"send\":\"%s\",\"compact\":%s}", p->send_each_advance ? "advance" : "round",
          p->compact ? "true" : "false");
  if (r->wl == &rfw_workload_bfs && !rfw_params_from_files(p))
    fprintf(f, ",\"nodes\":%" PRIu32 ",\"edges\":%" PRIu64 ",\"batch\":%" PRIu32
               ",\"generator\":\"%s\"",
            p->nodes, p->edges, p->batch, rfw_gen_kind_name(p->gen));
  fprintf(f, ",\"rounds\":%" PRIu32 ",\"times_per_round\":%" PRIu32, rounds, r->max_groups);
}

/* ---- the run ------------------------------------------------------------------ */

int rfw_bench_run(const rfw_params *p, FILE *out, FILE *err, rfw_result *res) {
  if (res) memset(res, 0, sizeof *res);
  if (p->write_inputs) return rfw_write_inputs(p, err);

  run *r = calloc(1, sizeof *r);
  rfw_source *src = calloc(1, sizeof *src);
  rfw_round rd;
  memset(&rd, 0, sizeof rd);
  double *lat = NULL;
  size_t n_lat = 0, lat_cap = 0;
  if (!r || !src) {
    free(r), free(src);
    fprintf(err, "%s: out of memory\n", p->wl->name);
    return RFW_EXIT_FAILURE;
  }
  r->p = p;
  r->wl = p->wl;
  r->out = out;
  r->err = err;
  rfw_progress_init(&r->prog, p->progress);
  int status = RFW_EXIT_OK, rc;
  int64_t sums[RFW_MAX_SUMS] = {0};

  /* Open the input files first: a bad file should not cost a build. */
  if (rfw_source_open(src, p) != 0) {
    fprintf(err, "%s: %s\n", r->wl->name, src->err);
    status = RFW_EXIT_FAILURE;
    goto done;
  }
  r->initial_n = src->initial_n;

  double t_start = rfw_now_s();
  rf_config cfg = {.workers = p->workers};
  char msg[512] = "";
  if ((rc = rf_graph_create(&cfg, &r->g)) != 0 ||
      (rc = r->wl->build(r->g, p, &r->df, msg, sizeof msg)) != 0 ||
      (rc = buffer_inputs(r)) != 0 || (rc = rf_graph_start(r->g)) != 0 ||
      (r->wl->started && (rc = r->wl->started(&r->df)) != 0)) {
    if (msg[0]) {
      fprintf(err, "%s: %s\n", r->wl->name, msg);
      status = RFW_EXIT_FAILURE;
    } else {
      status = engine_fail(r, "building the dataflow", rc);
    }
    goto done;
  }

  /* Round 0. */
  rc = rfw_source_initial(src, feed_initial, r);
  if (rc == RFW_SOURCE_ERROR) {
    rfw_progress_end(&r->prog);
    fprintf(err, "%s: %s\n", r->wl->name, src->err);
    status = RFW_EXIT_FAILURE;
    goto done;
  }
  r->time = 1;
  if (rc || (rc = advance_all(r)) != 0) {
    status = engine_fail(r, "loading the initial input", rc);
    goto done;
  }
  double load_s = rfw_now_s() - t_start;
  if (r->prog.on)
    rfw_progress_print(&r->prog, "%s: loaded %" PRIu64 " in %.1f s; computing round 0",
                       r->wl->name, r->loaded, load_s);
  if ((rc = rf_probe_wait(r->df.probe, 0)) != 0) {
    status = engine_fail(r, "the initial computation", rc);
    goto done;
  }
  double initial_s = rfw_now_s() - t_start;
  if ((status = record_round(r, res, 0, (initial_s - load_s) * 1e3, sums)) != 0) goto done;
  double compact_s = 0;
  if (p->compact) {
    if ((rc = rf_graph_compact(r->g)) != 0) {
      status = engine_fail(r, "compacting after round 0", rc);
      goto done;
    }
    compact_s = rfw_now_s() - t_start - initial_s;
  }

  /* Rounds 1..R. */
  double rounds_total = 0, cpu_start = rfw_cpu_s();
  rf_stats st0; /* scheduler activity before the rounds */
  memset(&st0, 0, sizeof st0);
  if ((rc = rf_graph_stats(r->g, &st0)) != 0) {
    status = engine_fail(r, "rf_graph_stats", rc);
    goto done;
  }
  uint64_t changes = 0;
  uint32_t round = 0;
  while ((rc = rfw_source_next_round(src, &rd)) == 1) { /* drawn before the timer */
    round = rd.number;
    double t0 = rfw_now_s();
    if ((rc = feed_round(r, &rd)) != 0) {
      char what[64];
      snprintf(what, sizeof what, "round %" PRIu32, round);
      status = engine_fail(r, what, rc);
      goto done;
    }
    double dt = rfw_now_s() - t0;
    rounds_total += dt;
    changes += rd.n;
    if (n_lat == lat_cap) {
      lat_cap = lat_cap ? lat_cap * 2 : 128;
      double *np = realloc(lat, lat_cap * sizeof *np);
      if (!np) {
        fprintf(err, "%s: out of memory\n", r->wl->name);
        status = RFW_EXIT_FAILURE;
        goto done;
      }
      lat = np;
    }
    lat[n_lat++] = dt * 1e3;
    if ((status = record_round(r, res, round, dt * 1e3, sums)) != 0) goto done;
    if (rfw_progress_due(&r->prog)) {
      if (src->files)
        rfw_progress_print(&r->prog, "%s: round %" PRIu32 ", %.3f ms", r->wl->name, round,
                           dt * 1e3);
      else
        rfw_progress_print(&r->prog, "%s: round %" PRIu32 " of %" PRIu32 ", %.3f ms",
                           r->wl->name, round, src->max_rounds, dt * 1e3);
    }
  }
  if (rc == RFW_SOURCE_ERROR) {
    rfw_progress_end(&r->prog);
    fprintf(err, "%s: %s\n", r->wl->name, src->err);
    status = RFW_EXIT_FAILURE;
    goto done;
  }
  rfw_progress_end(&r->prog);
  /* CPU of every thread over the rounds (drawing them included, as in the
   * round times): with W workers, how much work a round cost in all. */
  const double rounds_cpu = rfw_cpu_s() - cpu_start;
  if (res) res->last_time = r->time - 1;

  rf_stats st;
  memset(&st, 0, sizeof st);
  if ((rc = rf_graph_stats(r->g, &st)) != 0) {
    status = engine_fail(r, "rf_graph_stats", rc);
    goto done;
  }
  char extra[256] = "";
  if (r->wl->finish) {
    status = r->wl->finish(r->df.state, p, r->time - 1, res, err, extra, sizeof extra);
    if (status != RFW_EXIT_OK && status != RFW_EXIT_MISMATCH) goto done;
  }

  rfw_sort_doubles(lat, n_lat);
  const double per_s = rounds_total > 0 ? (double)changes / rounds_total : 0.0;
  fprintf(out, "{\"summary\":true,\"system\":\"rhizoflow\",\"workload\":\"%s\",\"workers\":%" PRIu32,
          r->wl->name, p->workers);
  print_params(r, (uint32_t)n_lat);
  fprintf(out,
          ",\"load_s\":%.3f,\"initial_s\":%.3f,\"compact_s\":%.3f"
          ",\"round_median_ms\":%.3f,\"round_p90_ms\":%.3f,\"round_p99_ms\":%.3f"
          ",\"round_mean_ms\":%.3f,\"round_cpu_ms\":%.3f,\"rounds_per_s\":%.2f"
          ",\"changes_per_s\":%.0f"
          ",\"updates_per_s\":%.0f,\"peak_rss_bytes\":%" PRIu64
          ",\"allocated_bytes\":%" PRIu64 ",\"retained_updates\":%" PRIu64
          ",\"retained_batches\":%" PRIu64 ",\"retained_bytes\":%" PRIu64
          ",\"bytes_per_update\":%.1f"
          ",\"round_operator_runs\":%.1f,\"round_worker_messages\":%.1f"
          ",\"round_progress_messages\":%.1f,\"round_idle_waits\":%.1f",
          load_s, initial_s, compact_s, rfw_median(lat, n_lat), rfw_percentile(lat, n_lat, 0.90),
          rfw_percentile(lat, n_lat, 0.99), n_lat ? rounds_total * 1e3 / (double)n_lat : 0.0,
          n_lat ? rounds_cpu * 1e3 / (double)n_lat : 0.0,
          rounds_total > 0 ? (double)n_lat / rounds_total : 0.0, per_s, per_s,
          rfw_peak_rss_bytes(), st.allocated_bytes, st.retained_updates, st.retained_batches,
          st.retained_bytes,
          st.retained_updates ? (double)st.retained_bytes / (double)st.retained_updates : 0.0,
          per_round(st.operator_runs - st0.operator_runs, n_lat),
          per_round(st.worker_messages - st0.worker_messages, n_lat),
          per_round(st.progress_messages - st0.progress_messages, n_lat),
          per_round(st.idle_waits - st0.idle_waits, n_lat));
  print_sums(r, sums);
  fprintf(out, "%s}\n", extra);
  fflush(out);

done:
  rfw_progress_end(&r->prog);
  rf_graph_destroy(r->g);
  if (r->df.state) r->wl->free_state(r->df.state);
  rfw_source_close(src);
  rfw_round_free(&rd);
  free(lat);
  free(src);
  free(r);
  return status;
}

int rfw_bench_main(const rfw_workload *wl, int argc, char **argv, const char *prog) {
  rfw_params p;
  rfw_params_default(&p, wl);
  int rc = rfw_params_parse(argc, argv, &p, prog, stdout, stderr);
  if (rc == RFW_EXIT_HELP) rc = RFW_EXIT_OK;
  else if (rc == 0) rc = rfw_bench_run(&p, stdout, stderr, NULL);
  rfw_params_free(&p);
  return rc;
}
