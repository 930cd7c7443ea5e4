/*
 * arrange.c: the arrange operator (and consolidate, which is an arrange
 * nobody reads, turned back into a collection).
 *
 * Updates are exchanged by key, pushed into a batcher, and sealed into a
 * batch each time the input frontier moves: the batch [lower, frontier)
 * holds exactly the updates that became complete. The batch goes into the
 * arrangement's spine (if anyone reads the trace) and is sent to every
 * consumer, even when empty, so that readers learn the new upper.
 *
 * Capabilities: the minimal times of the updates still in the batcher.
 */
#include "arrangements/batcher.h"
#include "common/alloc.h"
#include "common/error.h"
#include "dataflow/graph.h"
#include "operators/ops.h"

typedef struct arrange_op {
  rf__op op;
  rf__batcher batcher;
  rf__spine *spine;
  rf_arr *arr;          /* its handle (for the reader count) */
  rf__antichain scratch;
} arrange_op;

static int hold_pending(arrange_op *a) {
  rf__antichain_clear(&a->scratch);
  if (rf__batcher_min_times(&a->batcher, &a->scratch) < 0) return RF_ENOMEM;
  return rf__op_hold(&a->op, &a->scratch);
}

static int arrange_run(rf__op *op) {
  arrange_op *a = (arrange_op *)op;
  rf__msg *m;
  int rc = 0;
  /* Several messages (a load sent in slices): room for all their rows at
   * once (see rf__batcher_reserve). One message is taken over instead. */
  if (op->in[0].n_msgs > 1) {
    size_t rows = 0;
    for (m = op->in[0].head; m; m = m->next) rows += m->ups->n;
    if (rf__batcher_reserve(&a->batcher, rows) < 0)
      return rf__error(RF_ENOMEM, "arrange: out of memory");
  }
  while ((m = rf__port_pop(&op->in[0]))) {
    rc = rf__batcher_take(&a->batcher, m->ups, &m->times);
    rf__msg_free(m);
    if (rc < 0) return rf__error(RF_ENOMEM, "arrange: out of memory");
  }
  RF_FORWARD_IF_ERROR(hold_pending(a));
  const rf__antichain *f = rf__port_frontier(&op->in[0]);
  if (rf__antichain_eq(f, &a->batcher.lower)) return 0;
  rf__batch *b;
  if ((rc = rf__batcher_seal(&a->batcher, f, &b)) < 0) /* its own message says why */
    return rc == RF_ENOMEM ? rf__error(RF_ENOMEM, "arrange: out of memory sealing a batch") : rc;
  if (a->arr->n_readers > 0) {
    rc = rf__spine_insert(a->spine, rf__batch_ref(b));
    if (rc < 0) {
      rf__batch_unref(b);
      return rc;
    }
  }
  RF_FORWARD_IF_ERROR(rf__op_send_batch(op, b));
  return hold_pending(a);
}

static int arrange_idle(rf__op *op, size_t fuel) {
  arrange_op *a = (arrange_op *)op;
  return rf__spine_exert(a->spine, &fuel);
}

static void arrange_destroy(rf__op *op) {
  arrange_op *a = (arrange_op *)op;
  rf__batcher_free(&a->batcher);
  rf__spine_free(a->spine);
  rf__antichain_free(&a->scratch);
}

static rf__spine *arrange_spine(rf__op *op) { return ((arrange_op *)op)->spine; }

/* Several workers: a replica arranges its worker's shard of the keys into
 * a spine of its own. */
static int arrange_init(arrange_op *a, uint32_t key_arity, uint32_t val_arity, uint32_t dim) {
  rf__antichain_init(&a->scratch, dim);
  a->spine = rf__spine_new(key_arity, val_arity, dim);
  if (!a->spine || rf__batcher_init(&a->batcher, key_arity, val_arity, dim) < 0)
    return RF_ENOMEM;
  return 0;
}

static int arrange_clone(const rf__op *src, rf__op *dst) {
  const arrange_op *from = (const arrange_op *)src;
  arrange_op *a = (arrange_op *)dst;
  a->arr = from->arr; /* read only: its reader count */
  return arrange_init(a, from->arr->key_arity, from->arr->val_arity, src->dim);
}

static const rf__op_class arrange_class = {.name = "arrange",
                                           .run = arrange_run,
                                           .destroy = arrange_destroy,
                                           .idle = arrange_idle,
                                           .spine = arrange_spine,
                                           .clone = arrange_clone};

rf_arr *rf_arrange(rf_coll *in, uint32_t key_arity) {
  rf_graph *g = rf__coll_graph(in);
  if (!g) return NULL;
  uint32_t arity = in->op->arity;
  if (key_arity == 0 || key_arity > arity) {
    rf__graph_build_error(g, rf__error(RF_EARITY, "rf_arrange: key of %u columns for a "
                                                  "collection of %u (1 to %u allowed)",
                                       key_arity, arity, arity));
    return NULL;
  }
  arrange_op *a = (arrange_op *)rf__op_new(g, in->op->scope, &arrange_class, sizeof *a, 1,
                                           in->op->dim, arity);
  if (!a) return NULL;
  if (arrange_init(a, key_arity, arity - key_arity, in->op->dim) < 0) {
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "rf_arrange: out of memory"));
    return NULL;
  }
  if (rf__op_connect(&a->op, 0, in->op, key_arity) < 0) return NULL;
  a->arr = rf__arr_new(&a->op, a->spine, key_arity, arity - key_arity, 0);
  return a->arr;
}

rf_coll *rf_consolidate(rf_coll *in) {
  return in ? rf_arr_collection(rf_arrange(in, in->op->arity)) : NULL;
}

rf__reader *rf__arr_reader(rf_arr *a) {
  rf_arr *root = a;
  while (root->base) root = root->base;
  rf__reader *r = rf__spine_reader_new(a->spine);
  if (!r) {
    rf__graph_build_error(a->op->g, rf__error(RF_ENOMEM, "out of memory adding a reader"));
    return NULL;
  }
  root->n_readers++;
  return r;
}
