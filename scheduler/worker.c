/*
 * worker.c: the scheduler's step loop (one worker, on the calling thread).
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
#include "common/error.h"
#include "dataflow/graph.h"

/* Merge work granted per idle step, in updates moved. */
#define IDLE_FUEL ((size_t)1 << 20)

static int run_op(rf_graph *g, rf__op *op) {
  op->active = false;
  int rc = op->cls->run(op);
  if (rc < 0) return rf__graph_fail(g, rc);
  return 0;
}

static int idle_work(rf_graph *g) {
  int more = 0;
  size_t n = rf__graph_n_ops(g);
  for (size_t i = 0; i < n; i++) {
    rf__op *op = rf__graph_op(g, i);
    if (!op->cls->idle) continue;
    int rc = op->cls->idle(op, IDLE_FUEL);
    if (rc < 0) return rf__graph_fail(g, rc);
    more |= rc;
  }
  return more;
}

int rf_graph_step(rf_graph *g) {
  if (!g) return rf__error(RF_EINVAL, "rf_graph_step: graph is NULL");
  RF_FORWARD_IF_ERROR(rf__graph_check_running(g, "rf_graph_step"));
  if (rf__graph_progress_dirty(g)) RF_FORWARD_IF_ERROR(rf__progress_recompute(g));
  size_t n = rf__graph_n_ops(g);
  int did = 0;
  for (size_t i = 0; i < n; i++) {
    rf__op *op = rf__graph_op(g, i);
    if (!op->active) continue;
    RF_FORWARD_IF_ERROR(run_op(g, op));
    did = 1;
  }
  /* Frontiers may have moved during the step; recompute so that operators
   * whose frontier changed are active for the next step. */
  if (rf__graph_progress_dirty(g)) RF_FORWARD_IF_ERROR(rf__progress_recompute(g));
  for (size_t i = 0; !did && i < n; i++) did = rf__graph_op(g, i)->active;
  if (!did) {
    int more = idle_work(g);
    if (more < 0) return more;
    did = more;
  }
  return did;
}

int rf_graph_run(rf_graph *g) {
  int rc;
  while ((rc = rf_graph_step(g)) > 0) {
  }
  return rc;
}
