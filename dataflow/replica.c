/*
 * replica.c: one worker's copy of the dataflow (several workers).
 *
 * The program builds worker 0's dataflow. rf_graph_start makes, for every
 * other worker, an operator for each of worker 0's, with the same id,
 * class, parameters and connections, and its own state: ports and
 * capabilities here, and what the class owns (spines, readers, buffers)
 * through its clone hook. Replicas are made before any data flows, so
 * there is no state to copy, only state to create.
 *
 * Three passes, so that a failure at any point leaves every replica
 * operator destroyable by the class's destroy hook: (1) allocate each
 * operator with its header copied and, for a class with a clone hook, its
 * own fields zeroed (a class without one owns nothing, and its fields are
 * its parameters: copied); (2) wire ports to the replica's producers;
 * (3) run the clone hooks in creation order, so that a spine exists before
 * the readers that later operators put on it.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "dataflow/graph.h"

static int copy_op(rf__worker *wk, const rf__op *src, rf__op **out) {
  rf__op *dst = rf__malloc(src->size);
  if (!dst) return RF_ENOMEM;
  if (src->cls->clone) {
    memcpy(dst, src, sizeof(rf__op));
    memset((char *)dst + sizeof(rf__op), 0, src->size - sizeof(rf__op));
  } else {
    memcpy(dst, src, src->size);
  }
  dst->wk = wk;
  dst->in = NULL;
  dst->n_in = 0;
  dst->out = NULL;
  dst->n_out = 0;
  dst->out_cap = 0;
  dst->active = true;
  rf__antichain_init(&dst->caps, src->dim);
  rf__antichain_init(&dst->ps, src->dim);
  *out = dst;
  if (rf__antichain_copy(&dst->caps, &src->caps) < 0) return RF_ENOMEM;
  if (src->n_in) {
    dst->in = rf__calloc(src->n_in, sizeof *dst->in);
    if (!dst->in) return RF_ENOMEM;
    dst->n_in = src->n_in;
  }
  for (uint32_t p = 0; p < src->n_in; p++) {
    rf__port *to = &dst->in[p];
    const rf__port *from = &src->in[p];
    to->op = dst;
    to->index = from->index;
    to->dim = from->dim;
    to->exchange_key = from->exchange_key;
    rf__antichain_init(&to->frontier, from->dim);
    rf__antichain_init(&to->ps, from->dim);
    rf__antichain_init(&to->queued, from->dim);
  }
  return 0;
}

static int wire(rf__worker *wk, const rf__op *src, rf__op *dst) {
  for (uint32_t p = 0; p < dst->n_in; p++) {
    rf__op *prod = wk->ops[src->in[p].src->id];
    dst->in[p].src = prod;
    if (rf__grow((void **)&prod->out, &prod->out_cap, prod->n_out + 1, sizeof(rf__port *)) < 0)
      return RF_ENOMEM;
    prod->out[prod->n_out++] = &dst->in[p];
  }
  return 0;
}

int rf__replicate(rf_graph *g, uint32_t w, rf__worker **out) {
  const rf__worker *w0 = rf__graph_worker(g, 0);
  size_t n = w0->n_ops;
  rf__worker *wk = rf__calloc(1, sizeof *wk);
  if (!wk) return rf__error(RF_ENOMEM, "rf_graph_start: out of memory making worker %u", w);
  *out = wk; /* rf_graph_destroy frees what was made, whatever fails below */
  wk->g = g;
  wk->index = w;
  wk->dirty = true;
  wk->ops = rf__calloc(n ? n : 1, sizeof *wk->ops);
  wk->topo = rf__calloc(n ? n : 1, sizeof *wk->topo);
  if (!wk->ops || !wk->topo)
    return rf__error(RF_ENOMEM, "rf_graph_start: out of memory making worker %u", w);
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    rc = copy_op(wk, w0->ops[i], &wk->ops[i]);
    wk->n_ops = i + 1;
  }
  for (size_t i = 0; i < n && rc == 0; i++) rc = wire(wk, w0->ops[i], wk->ops[i]);
  if (rc < 0) return rf__error(RF_ENOMEM, "rf_graph_start: out of memory making worker %u", w);
  for (size_t i = 0; i < n; i++) {
    const rf__op *src = w0->ops[i];
    wk->topo[i] = wk->ops[w0->topo[i]->id];
    if (src->cls->clone && (rc = src->cls->clone(src, wk->ops[i])) < 0) {
      if (rc == RF_ENOMEM)
        return rf__error(RF_ENOMEM, "rf_graph_start: out of memory making worker %u's %s", w,
                         src->name);
      return rc;
    }
  }
  return 0;
}
