/*
 * bfs_bench.c: the bfs workload (see bfs_bench.h): its rfw_workload for
 * the shared runner (the dataflow of bfs_dataflow.c, the checksums
 * reachable and distance_sum from its histogram, --inspect and
 * --check-ref), and the demo's load/round steps.
 */
#include "bfs_bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench_runner.h"

/* ---- the workload ------------------------------------------------------- */

typedef struct bfs_state {
  rfw_bfs bfs;
  rfw_hist_change *ref; /* --check-ref's changes */
  long n_ref;
} bfs_state;

static int bfs_build(rf_graph *g, const rfw_params *p, rfw_dataflow *df, char *err_msg,
                     size_t err_len) {
  bfs_state *st = calloc(1, sizeof *st);
  if (!st) return RF_ENOMEM;
  df->state = st;
  /* Read the reference first: a bad file should not cost a whole run. */
  if (p->check_ref_path) {
    char msg[512];
    st->n_ref = rfw_hist_read(p->check_ref_path, &st->ref, msg, sizeof msg);
    if (st->n_ref < 0) {
      snprintf(err_msg, err_len, "--check-ref: %s", msg);
      return RF_EIO;
    }
  }
  const rfw_bfs_options opts = {
      .keep_log = p->inspect_path || p->check_ref_path || p->want_hist};
  int rc = rfw_bfs_build(g, &st->bfs, &opts);
  df->inputs[0] = st->bfs.edges;
  df->n_inputs = 1;
  df->probe = st->bfs.probe;
  return rc;
}

static int bfs_started(rfw_dataflow *df) {
  bfs_state *st = df->state;
  const rf_value root[1] = {rf_from_u64(0)};
  int rc = rf_input_insert(st->bfs.roots, root, 1);
  return rc ? rc : rf_input_close(st->bfs.roots);
}

static int bfs_read_sums(void *state, int64_t *sums) {
  rfw_bfs_hist *h = &((bfs_state *)state)->bfs.hist;
  pthread_mutex_lock(&h->lock);
  sums[0] = h->reachable;
  sums[1] = h->distance_sum;
  bool oom = h->oom;
  pthread_mutex_unlock(&h->lock);
  return oom ? -1 : 0;
}

static int bfs_finish(void *state, const rfw_params *p, uint64_t last_time, rfw_result *res,
                      FILE *err, char *json, size_t json_len) {
  bfs_state *st = state;
  rfw_bfs_hist *h = &st->bfs.hist;
  if (!h->keep_log) return RFW_EXIT_OK;
  /* The histogram's changes, in the reference's form. */
  size_t n_changes = rfw_hist_consolidate(h->log, h->n_log);
  int status = RFW_EXIT_OK;
  if (p->inspect_path) {
    FILE *f = fopen(p->inspect_path, "w");
    int wrc = f ? rfw_hist_write(f, h->log, n_changes) : -1;
    if (f && fclose(f) != 0) wrc = -1;
    if (wrc) {
      fprintf(err, "bfs: cannot write %s: %s\n", p->inspect_path, strerror(errno));
      return RFW_EXIT_FAILURE;
    }
  }
  if (p->check_ref_path) {
    char msg[512];
    int cmp = rfw_hist_compare(h->log, n_changes, st->ref, (size_t)st->n_ref, last_time, msg,
                               sizeof msg);
    snprintf(json, json_len, ",\"check_ref\":\"%s\"", cmp == 0 ? "match" : "mismatch");
    fprintf(err, "bfs: --check-ref %s: %s\n", p->check_ref_path, msg);
    if (cmp) status = RFW_EXIT_MISMATCH;
  }
  if (res && p->want_hist) {
    res->hist = h->log; /* hand the log over */
    res->n_hist = n_changes;
    h->log = NULL;
  }
  return status;
}

static void bfs_free_state(void *state) {
  bfs_state *st = state;
  rfw_bfs_free(&st->bfs);
  free(st->ref);
  free(st);
}

const rfw_workload rfw_workload_bfs = {
    .name = "bfs",
    .summary = "hop distances from node 0 under edge churn (differential-dataflow's bfs)",
    .help = "Hop distance from node 0 over a random directed multigraph under edge\n"
            "churn, as differential-dataflow's bfs example runs it: EDGES edges in\n"
            "round 0, then ROUNDS rounds of BATCH elements (insert a new edge, remove\n"
            "the oldest), each element at its own time by default. Checksums: the\n"
            "nodes reachable from node 0 (itself included) and the sum of their\n"
            "distances, kept from the distance histogram.",
    .kind = RFW_KIND_GRAPH,
    .n_sums = 2,
    .sum_names = {"reachable", "distance_sum"},
    .build = bfs_build,
    .started = bfs_started,
    .read_sums = bfs_read_sums,
    .finish = bfs_finish,
    .free_state = bfs_free_state,
};

/* ---- the demo's steps ----------------------------------------------------- */

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
