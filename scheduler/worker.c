/*
 * worker.c: the scheduler's step loop for one worker, on the calling
 * thread, and the public calls that drive a graph (rf_graph_step,
 * rf_graph_run, rf_graph_compact). With several workers the workers run on
 * their own threads (parallel.c) and these calls wait for them.
 *
 * A step runs, in topological order, every operator that has work: queued
 * messages, a changed input frontier (progress tracking marks it active),
 * or a request of its own. Running operators in topological order means
 * that one step carries new input through every operator downstream of it,
 * and one step advances every loop by one iteration.
 *
 * When no operator had work, the step spends idle fuel on arrangement
 * merges (rf__op_class.idle), so that memory falls back after a burst even
 * when no new data comes.
 *
 * The scheduler knows operators only through rf__op_class (dataflow/graph.h).
 */
#include "arrangements/spine.h"
#include "common/error.h"
#include "dataflow/graph.h"
#include "scheduler/sched.h"

/* Merge work granted per idle step, in updates moved. */
#define IDLE_FUEL ((size_t)1 << 20)

static int run_op(rf_graph *g, rf__op *op) {
  op->active = false;
  rf__stat_bump(&op->wk->stat_runs, 1);
  int rc = op->cls->run(op);
  if (rc < 0) return rf__graph_fail(g, rc);
  return 0;
}

static int idle_work(rf_graph *g, rf__worker *wk) {
  int more = 0;
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->topo[i];
    if (!op->cls->idle) continue;
    int rc = op->cls->idle(op, IDLE_FUEL);
    if (rc < 0) return rf__graph_fail(g, rc);
    more |= rc;
  }
  return more;
}

static int step_one_worker(rf_graph *g) {
  rf__worker *wk = rf__graph_worker(g, 0);
  if (wk->dirty) RF_FORWARD_IF_ERROR(rf__progress_recompute(wk));
  size_t n = wk->n_ops;
  int did = 0;
  for (size_t i = 0; i < n; i++) {
    rf__op *op = wk->topo[i];
    if (!op->active) continue;
    RF_FORWARD_IF_ERROR(run_op(g, op));
    did = 1;
  }
  /* An operator may have asked for a frontier that could not be computed
   * (the graph failed inside rf__port_frontier): report it now. */
  if (rf__graph_failed(g)) return rf__graph_check_running(g, "rf_graph_step");
  /* Frontiers may have moved during the step; recompute so that operators
   * whose frontier changed are active for the next step. */
  if (wk->dirty) RF_FORWARD_IF_ERROR(rf__progress_recompute(wk));
  for (size_t i = 0; !did && i < n; i++) did = wk->topo[i]->active;
  if (!did) {
    rf__stat_bump(&wk->stat_idle_waits, 1);
    int more = idle_work(g, wk);
    if (more < 0) return more;
    did = more;
  }
  return did;
}

int rf__worker_compact(rf__worker *wk) {
  for (size_t i = 0; i < wk->n_ops; i++) {
    rf__op *op = wk->ops[i];
    if (!op->cls->spine) continue;
    if (rf__spine_compact(op->cls->spine(op)) < 0)
      return rf__error(RF_ENOMEM, "rf_graph_compact: out of memory merging an arrangement of "
                                  "operator %s",
                       op->cls->name);
  }
  return 0;
}

int rf_graph_compact(rf_graph *g) {
  if (!g) return rf__error(RF_EINVAL, "rf_graph_compact: graph is NULL");
  RF_FORWARD_IF_ERROR(rf_graph_run(g));
  if (rf__graph_workers(g) > 1) return rf__sched_compact(g);
  int rc = rf__worker_compact(rf__graph_worker(g, 0));
  return rc < 0 ? rf__graph_fail(g, rc) : 0;
}

int rf_graph_step(rf_graph *g) {
  if (!g) return rf__error(RF_EINVAL, "rf_graph_step: graph is NULL");
  RF_FORWARD_IF_ERROR(rf__graph_check_running(g, "rf_graph_step"));
  if (rf__graph_workers(g) > 1) {
    rf__inputs_submit_own(g);
    return rf__sched_wait_idle(g, "rf_graph_step");
  }
  return step_one_worker(g);
}

int rf_graph_run(rf_graph *g) {
  if (!g) return rf__error(RF_EINVAL, "rf_graph_run: graph is NULL");
  RF_FORWARD_IF_ERROR(rf__graph_check_running(g, "rf_graph_run"));
  if (rf__graph_workers(g) > 1) {
    rf__inputs_submit_own(g);
    return rf__sched_wait_idle(g, "rf_graph_run");
  }
  int rc;
  while ((rc = step_one_worker(g)) > 0) {
  }
  return rc;
}
