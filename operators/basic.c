/*
 * basic.c: the per-record operators and the graph's edges to the outside:
 * input handles, map, filter, flat_map, project, concat, negate, inspect,
 * probes, and turning an arrangement back into a collection.
 *
 * Per-record operators are pipelines: they pop each message, transform its
 * rows into a new update buffer and send it on, holding no state and no
 * capability (rule 1 of graph.h: they send at the times of the message they
 * are handling).
 */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/atomic.h"
#include "dataflow/graph.h"
#include "operators/ops.h"
#include "scheduler/sched.h"

/* ------------------------------------------------------------------ */
/* Input                                                               */
/* ------------------------------------------------------------------ */

/* Updates are staged, with their times, until the next step runs the
 * input (or flush, close, or a full buffer sends them): a caller that
 * advances the time after every change (each change at its own time, as
 * the BFS benchmark does) then sends one message per step rather than one
 * per change. Until they are sent the input holds its capability at the
 * oldest staged time, which covers every staged update (times only move
 * forward), so no frontier passes them meanwhile.
 *
 * Several workers: the handle is used on a thread that is not a worker, so
 * it never touches what the workers use. It stages updates in its own
 * buffer and submits them (when the time advances unless it is buffered,
 * on flush, close, a full buffer, or when the thread that feeds it waits
 * on the graph) to the
 * input operator of one worker's replica, in turn, through that replica's
 * MPSC queue; it publishes its time (the oldest staged time while updates
 * are staged, or that it closed) in the handle's atomics and bumps the
 * scheduler's submission count. A
 * worker's input operator loads the published time (acquire) BEFORE it
 * drains its queue until the queue is empty, so every submission at a time
 * older than the one it then holds is drained first: its capability never
 * passes data it has yet to send. Submissions pushed after that load are at
 * times >= the loaded one (staged times are >= the time published before
 * them). Draining until empty (rf__mpsc_pop_settled), not until a pop
 * returns nothing, matters: the queue hides its last item while the handle
 * is half-way through pushing the next one (common/mpsc.h). */
struct rf_input {
  rf__op op;
  char *label;       /* for error messages */
  /* The handle's side (worker 0's struct only; the caller's thread): */
  rf_time time;      /* current time: updates go here */
  rf__upbuf *staged; /* updates not yet sent */
  rf_time staged_lo; /* the time of the oldest staged update */
  size_t last_sent;  /* rows of the last buffer sent: the next one's size hint */
  bool closed;
  bool buffered;     /* several workers: advance_to does not submit */
  uint32_t next_worker; /* several workers: the replica that gets the next submission */
  /* Several workers: the thread that last fed the handle (a pthread_t),
   * whose waits submit what it staged. Atomic: stored by the feeding
   * thread, loaded by waiting threads. */
  uint64_t feeder;

  /* Several workers, published by the handle (in worker 0's struct). Atomic:
   * stored by the handle's thread (release), loaded by every worker. */
  uint64_t pub_time;
  uint32_t pub_closed;
  /* Several workers, each replica's own: */
  rf_input *handle;  /* worker 0's struct, where the handle publishes */
  rf__mpsc queue;    /* submissions (rf__msg) for this replica: the handle
                        pushes, this replica's worker pops */
  rf_time held;      /* worker: the published time it holds */
  bool held_closed;  /* worker: it saw the close */
};

static bool has_staged(const rf_input *in) { return in->staged && in->staged->n > 0; }
static bool several_workers(const rf_input *in) { return rf__graph_workers(in->op.g) > 1; }

/* The capability: the oldest staged time, else the current time. */
static int input_hold(rf_input *in) {
  rf_time t = has_staged(in) ? in->staged_lo : in->time;
  /* {t} as a read-only antichain over the stack word t: rf__op_hold only
   * reads it (and copies it into the operator's own capabilities), so no
   * allocation per change of time. */
  rf__antichain caps = {.dim = 1, .n = 1, .cap = 1, .t = &t};
  int rc = rf__op_hold(&in->op, &caps);
  if (rc < 0) return rf__graph_fail(in->op.g, rc);
  return 0;
}

/* Several workers, the handle's thread: hands the staged updates to the
 * next replica's input operator. */
static int input_submit(rf_input *in) {
  if (!has_staged(in)) return 0;
  rf__msg *m = rf__malloc(sizeof *m);
  if (!m) return rf__error(RF_ENOMEM, "input '%s': out of memory", in->label);
  rf__antichain_init(&m->times, 1);
  if (rf__antichain_set1(&m->times, &in->staged_lo) < 0) {
    rf__free(m);
    return rf__error(RF_ENOMEM, "input '%s': out of memory", in->label);
  }
  m->ups = in->staged;
  m->batch = NULL;
  m->dest = NULL;
  in->staged = NULL;
  in->last_sent = m->ups->n;
  uint32_t w = in->next_worker++ % rf__graph_workers(in->op.g);
  rf_input *to = (rf_input *)rf__op_peer(&in->op, rf__graph_all_workers(in->op.g), w);
  rf__mpsc_push(&to->queue, &m->node);
  return 0;
}

/* Several workers, the handle's thread: publishes the time (after the
 * submissions it covers) and wakes the workers. */
static void input_publish(rf_input *in) {
  rf_time t = has_staged(in) ? in->staged_lo : in->time;
  /* Atomic: only this thread stores it; relaxed to compare. */
  if (!in->closed && rf__atomic_load_relaxed_64(&in->pub_time) == t) return;
  /* Release: submissions pushed before are visible to a worker that loads
   * the new time. */
  rf__atomic_store_release_64(&in->pub_time, t);
  if (in->closed) rf__atomic_store_release_32(&in->pub_closed, 1);
  rf__sched_submitted(in->op.g);
}

static void note_feeder(rf_input *in) {
  /* Atomic: waiting threads compare it with themselves. */
  rf__atomic_store_relaxed_64(&in->feeder, (uint64_t)pthread_self());
}

static const rf__op_class input_class;

/* The graph's input handles (worker 0's input operators), in turn: *i
 * starts at 0; NULL after the last. */
static rf_input *next_input(rf_graph *g, size_t *i) {
  rf__worker *wk = rf__graph_worker(g, 0);
  while (*i < wk->n_ops) {
    rf__op *op = wk->ops[(*i)++];
    if (op->cls == &input_class) return (rf_input *)op;
  }
  return NULL;
}

void rf__inputs_submit_own(rf_graph *g) {
  uint64_t self = (uint64_t)pthread_self();
  size_t i = 0;
  for (rf_input *in; (in = next_input(g, &i));) {
    /* Atomic: another thread may be feeding this input; then it is not
     * ours, and its staging buffer is not touched. */
    if (rf__atomic_load_relaxed_64(&in->feeder) != self || in->closed) continue;
    /* A buffered handle may have moved its time with nothing staged: the
     * time is published too (a no-op when it already was). */
    if (input_submit(in) == 0) input_publish(in);
  }
}

/* Sends the staged updates, then moves the capability to the current
 * time. One worker: on the caller's thread. Several: submits them. */
static int input_send(rf_input *in) {
  if (several_workers(in)) {
    RF_FORWARD_IF_ERROR(input_submit(in));
    input_publish(in);
    return 0;
  }
  if (has_staged(in)) {
    rf__upbuf *b = in->staged;
    in->staged = NULL;
    in->last_sent = b->n;
    /* Staged rows are in time order, so the oldest time is the minimal
     * one: no scan of the rows for it. */
    rf__antichain times = {.dim = 1, .n = 1, .cap = 1, .t = &in->staged_lo};
    int rc = rf__op_send_times(&in->op, b, &times);
    if (rc < 0) return rf__graph_fail(in->op.g, rc);
  }
  return in->closed ? 0 : input_hold(in);
}

/* Several workers, on the replica's worker: is there a submission, a new
 * time or a close to act on? */
static bool input_poll(rf__op *op) {
  rf_input *in = (rf_input *)op;
  /* Atomic (both): the handle stores them on its thread. */
  return !rf__mpsc_empty(&in->queue) ||
         rf__atomic_load_relaxed_64(&in->handle->pub_time) != in->held ||
         (rf__atomic_load_relaxed_32(&in->handle->pub_closed) != 0) != in->held_closed;
}

/* Rows of submissions drained in one run that go out as one message, at
 * most: a handle that advances its time after every change submits a row
 * or two at a time, and one message each would cost a send, an exchange
 * and progress counts for every change. */
#define INPUT_COALESCE_ROWS ((size_t)1 << 16)

/* Sends one (possibly coalesced) submission downstream and frees it. */
static int send_submission(rf_input *in, rf__msg *m) {
  int rc = rf__op_send_times(&in->op, rf__upbuf_ref(m->ups), &m->times);
  rf__msg_free(m);
  return rc;
}

/* Several workers, on the replica's worker: loads the published time and
 * close (acquire) before draining, then sends what it drained and holds
 * the time (see the top of this section). Consecutive submissions are
 * coalesced into the first one's buffer: its time is the oldest of them
 * (the handle's times only move forward, and the queue keeps its order),
 * so the first's minimal time covers the whole message. */
static int input_run_worker(rf_input *in) {
  bool closed = rf__atomic_load_acquire_32(&in->handle->pub_closed) != 0;
  rf_time t = rf__atomic_load_acquire_64(&in->handle->pub_time);
  rf__msg *acc = NULL; /* the submissions drained and not yet sent */
  rf__mpsc_node *n;
  int rc = 0;
  while (rc == 0 && (n = rf__mpsc_pop_settled(&in->queue))) {
    rf__msg *m = (rf__msg *)((char *)n - offsetof(rf__msg, node));
    if (acc && acc->ups->n + m->ups->n <= INPUT_COALESCE_ROWS &&
        rf__upbuf_append(acc->ups, m->ups) == 0) {
      rf__msg_free(m);
      continue;
    }
    /* Full (or no room could be had): it goes out as it is. */
    if (acc) rc = send_submission(in, acc);
    acc = m;
  }
  if (acc) {
    if (rc == 0) rc = send_submission(in, acc);
    else rf__msg_free(acc);
  }
  if (rc < 0) return rc;
  in->held = t;
  in->held_closed = closed;
  if (closed) return rf__op_hold_none(&in->op);
  rf__antichain caps = {.dim = 1, .n = 1, .cap = 1, .t = &t};
  return rf__op_hold(&in->op, &caps);
}

static int input_run(rf__op *op) {
  rf_input *in = (rf_input *)op;
  if (several_workers(in)) return input_run_worker(in);
  return input_send(in);
}

static void input_destroy(rf__op *op) {
  rf_input *in = (rf_input *)op;
  rf__upbuf_unref(in->staged);
  /* A replica whose clone hook never ran (rf_graph_start failed first) has
   * a zeroed queue: nothing to drain. */
  rf__mpsc_node *n;
  while (in->queue.head && (n = rf__mpsc_pop(&in->queue)))
    rf__msg_free((rf__msg *)((char *)n - offsetof(rf__msg, node)));
  rf__free(in->label);
}

static int input_clone(const rf__op *src, rf__op *dst) {
  const rf_input *from = (const rf_input *)src;
  rf_input *in = (rf_input *)dst;
  rf__mpsc_init(&in->queue);
  in->handle = from->handle;
  in->label = rf__strdup(from->label);
  if (!in->label) return RF_ENOMEM;
  in->op.name = in->label;
  return 0;
}

static const rf__op_class input_class = {.name = "input",
                                         .run = input_run,
                                         .destroy = input_destroy,
                                         .clone = input_clone,
                                         .poll = input_poll};

rf_coll *rf_input_new(rf_graph *g, const char *name, uint32_t arity, rf_input **handle) {
  if (!g || !handle) return NULL;
  if (arity == 0 || arity > RF_MAX_COLS) {
    rf__graph_build_error(g, rf__error(RF_EARITY, "rf_input_new: input '%s' has %u columns; "
                                                  "an input takes 1 to %d",
                                       name ? name : "?", arity, RF_MAX_COLS));
    return NULL;
  }
  rf_input *in = (rf_input *)rf__op_new(g, rf__graph_top(g), &input_class, sizeof *in, 0, 1,
                                        arity);
  if (!in) return NULL;
  in->label = rf__strdup(name ? name : "input");
  in->handle = in;
  rf__mpsc_init(&in->queue);
  uint64_t zero = 0;
  if (!in->label || rf__antichain_set1(&in->op.caps, &zero) < 0) {
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "rf_input_new: out of memory"));
    return NULL;
  }
  in->op.name = in->label;
  *handle = in;
  return rf__coll_new(&in->op);
}

static int input_usable(rf_input *in, const char *fn) {
  if (!in) return rf__error(RF_EINVAL, "%s: input handle is NULL", fn);
  RF_FORWARD_IF_ERROR(rf__graph_check_running(in->op.g, fn));
  if (in->closed)
    return rf__error(RF_ECLOSED, "%s: input '%s' is closed", fn, in->label);
  return 0;
}

int rf_input_update(rf_input *in, const rf_value *rec, uint32_t arity, rf_diff diff) {
  RF_FORWARD_IF_ERROR(input_usable(in, "rf_input_update"));
  if (!rec) return rf__error(RF_EINVAL, "rf_input_update: record is NULL");
  if (arity != in->op.arity)
    return rf__error(RF_EARITY, "rf_input_update: input '%s' takes %u columns, got %u",
                     in->label, in->op.arity, arity);
  if (diff == 0) return 0;
  if (!in->staged) {
    /* Sized like the last buffer sent: callers tend to send alike amounts
     * (a round of changes, a 64k-row slice of a load), so this buffer
     * rarely has to grow. */
    in->staged = rf__upbuf_new(arity, 1, in->last_sent);
    RF_CHECK_ALLOC(in->staged);
  }
  /* The first staged update is at the current time, which the capability
   * already holds. */
  if (in->staged->n == 0) in->staged_lo = in->time;
  if (rf__upbuf_push(in->staged, rec, &in->time, diff) < 0)
    return rf__error(RF_ENOMEM, "rf_input_update: out of memory");
  /* Large staging buffers go out early: the input's capability covers
   * them, and downstream can start consolidating. */
  if (several_workers(in)) note_feeder(in);
  if (in->staged->n >= ((size_t)1 << 16)) return input_send(in);
  return 0;
}

int rf_input_insert(rf_input *in, const rf_value *rec, uint32_t arity) {
  return rf_input_update(in, rec, arity, 1);
}

int rf_input_remove(rf_input *in, const rf_value *rec, uint32_t arity) {
  return rf_input_update(in, rec, arity, -1);
}

int rf_input_flush(rf_input *in) {
  RF_FORWARD_IF_ERROR(input_usable(in, "rf_input_flush"));
  return input_send(in);
}

int rf_input_advance_to(rf_input *in, rf_time t) {
  RF_FORWARD_IF_ERROR(input_usable(in, "rf_input_advance_to"));
  if (t < in->time)
    return rf__error(RF_ETIME, "rf_input_advance_to: input '%s' is at time %llu; "
                               "it cannot go back to %llu",
                     in->label, (unsigned long long)in->time, (unsigned long long)t);
  if (t == in->time) return 0;
  in->time = t;
  if (several_workers(in)) {
    /* Staged updates go out now (see the top of this section), unless the
     * handle is buffered: then at the next flush, close or wait. */
    note_feeder(in);
    return in->buffered ? 0 : input_send(in);
  }
  /* Staged updates go out when the next step runs the input; until then
   * the capability stays at the oldest of them. */
  if (has_staged(in)) {
    in->op.active = true;
    return 0;
  }
  return input_hold(in);
}

int rf_input_set_buffered(rf_input *in, bool buffered) {
  if (!in) return rf__error(RF_EINVAL, "rf_input_set_buffered: input handle is NULL");
  if (in->closed)
    return rf__error(RF_ECLOSED, "rf_input_set_buffered: input '%s' is closed", in->label);
  in->buffered = buffered;
  /* Before rf_graph_start it is a setting; on a running graph, turning it
   * off sends what the handle held back. */
  if (buffered || !several_workers(in) || !rf__graph_sched(in->op.g)) return 0;
  RF_FORWARD_IF_ERROR(input_usable(in, "rf_input_set_buffered"));
  note_feeder(in);
  return input_send(in);
}

int rf_input_close(rf_input *in) {
  RF_FORWARD_IF_ERROR(input_usable(in, "rf_input_close"));
  if (several_workers(in)) {
    RF_FORWARD_IF_ERROR(input_submit(in));
    in->closed = true;
    input_publish(in);
    return 0;
  }
  RF_FORWARD_IF_ERROR(input_send(in));
  in->closed = true;
  return rf__op_hold_none(&in->op);
}

rf_time rf_input_time(const rf_input *in) { return in ? in->time : 0; }

/* ------------------------------------------------------------------ */
/* Per-record operators                                                */
/* ------------------------------------------------------------------ */

typedef enum rec_kind { K_MAP, K_FILTER, K_FLAT_MAP, K_PROJECT, K_NEGATE, K_INSPECT,
                        K_CONCAT } rec_kind;

typedef struct rec_op {
  rf__op op;
  rec_kind kind;
  void *fn;
  void *ctx;
  uint32_t n_cols;
  uint32_t cols[RF_MAX_COLS];
} rec_op;

struct rf_emitter {
  rf__upbuf *out;
  const uint64_t *time;
  int64_t diff;
  int err; /* an allocation failure inside rf_emit (not the callback's) */
};

int rf_emit(rf_emitter *e, const rf_value *rec) {
  if (!e || !rec) return rf__error(RF_EINVAL, "rf_emit: NULL argument");
  if (rf__upbuf_push(e->out, rec, e->time, e->diff) < 0)
    return e->err = rf__error(RF_ENOMEM, "rf_emit: out of memory");
  return 0;
}

/* A user callback's negative return is its own code, not an RF_E* one. */
static int callback_failed(const rf__op *op, int rc) {
  return rf__error(RF_ECALLBACK, "%s: the user callback returned %d", op->name, rc);
}

static int transform(rec_op *r, const rf__upbuf *in, rf__upbuf *out) {
  uint32_t dim = in->dim, ar = in->arity;
  if (rf__upbuf_reserve(out, in->n) < 0) return RF_ENOMEM;
  for (size_t i = 0; i < in->n; i++) {
    const uint64_t *row = rf__upbuf_row(in, i);
    const uint64_t *t = row + ar;
    int64_t d = rf__upbuf_diff(in, i);
    int rc = 0;
    switch (r->kind) {
    case K_MAP: {
      uint64_t *o = rf__upbuf_push_raw(out);
      if (!o) return RF_ENOMEM;
      rc = ((rf_map_fn)r->fn)(r->ctx, row, o);
      memcpy(o + out->arity, t, dim * sizeof(uint64_t));
      o[out->arity + dim] = (uint64_t)d;
      break;
    }
    case K_FILTER:
      rc = ((rf_filter_fn)r->fn)(r->ctx, row);
      if (rc > 0 && rf__upbuf_push(out, row, t, d) < 0) return RF_ENOMEM;
      break;
    case K_FLAT_MAP: {
      rf_emitter e = {out, t, d, 0};
      rc = ((rf_flat_map_fn)r->fn)(r->ctx, row, &e);
      if (e.err) return e.err;
      break;
    }
    case K_PROJECT: {
      uint64_t *o = rf__upbuf_push_raw(out);
      if (!o) return RF_ENOMEM;
      for (uint32_t c = 0; c < r->n_cols; c++) o[c] = row[r->cols[c]];
      memcpy(o + r->n_cols, t, dim * sizeof(uint64_t));
      o[r->n_cols + dim] = (uint64_t)d;
      break;
    }
    case K_NEGATE:
      if (rf__upbuf_push(out, row, t, -d) < 0) return RF_ENOMEM;
      break;
    case K_INSPECT:
    case K_CONCAT:
      break;
    }
    if (rc < 0) return callback_failed(&r->op, rc);
  }
  return 0;
}

static int rec_run(rf__op *op) {
  rec_op *r = (rec_op *)op;
  for (uint32_t p = 0; p < op->n_in; p++) {
    rf__msg *m;
    while ((m = rf__port_pop(&op->in[p]))) {
      rf__upbuf *in = m->ups;
      int rc = 0;
      /* Concat and inspect pass the buffer on as it is, so its minimal
       * times are the message's. */
      if (r->kind == K_CONCAT) {
        rc = rf__op_send_times(op, rf__upbuf_ref(in), &m->times);
      } else if (r->kind == K_INSPECT) {
        for (size_t i = 0; i < in->n; i++)
          ((rf_inspect_fn)r->fn)(r->ctx, rf__upbuf_row(in, i), in->arity,
                                 rf__upbuf_time(in, i), in->dim, rf__upbuf_diff(in, i));
        rc = rf__op_send_times(op, rf__upbuf_ref(in), &m->times);
      } else {
        rf__upbuf *out = rf__upbuf_new(op->arity, op->dim, 0);
        if (!out) rc = RF_ENOMEM;
        if (rc == 0) rc = transform(r, in, out);
        if (rc == 0) rc = rf__op_send(op, out);
        else rf__upbuf_unref(out);
      }
      rf__msg_free(m);
      if (rc == RF_ENOMEM) return rf__error(RF_ENOMEM, "%s: out of memory", op->name);
      if (rc < 0) return rc;
    }
  }
  return 0;
}

static const rf__op_class map_class = {.name = "map", .run = rec_run};
static const rf__op_class filter_class = {.name = "filter", .run = rec_run};
static const rf__op_class flat_map_class = {.name = "flat_map", .run = rec_run};
static const rf__op_class project_class = {.name = "project", .run = rec_run};
static const rf__op_class negate_class = {.name = "negate", .run = rec_run};
static const rf__op_class inspect_class = {.name = "inspect", .run = rec_run};
static const rf__op_class concat_class = {.name = "concat", .run = rec_run};

static rec_op *rec_new(rf_coll *in, const rf__op_class *cls, rec_kind kind, uint32_t arity,
                       void *fn, void *ctx) {
  rf_graph *g = rf__coll_graph(in);
  if (!g) return NULL;
  if (arity == 0 || arity > RF_MAX_COLS) {
    rf__graph_build_error(g, rf__error(RF_EARITY, "rf_%s: %u output columns; an operator "
                                                  "produces 1 to %d",
                                       cls->name, arity, RF_MAX_COLS));
    return NULL;
  }
  if (!fn && (kind == K_MAP || kind == K_FILTER || kind == K_FLAT_MAP || kind == K_INSPECT)) {
    rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_%s: callback is NULL", cls->name));
    return NULL;
  }
  rec_op *r = (rec_op *)rf__op_new(g, in->op->scope, cls, sizeof *r, 1, in->op->dim, arity);
  if (!r) return NULL;
  r->kind = kind;
  r->fn = fn;
  r->ctx = ctx;
  if (rf__op_connect(&r->op, 0, in->op, 0) < 0) return NULL;
  return r;
}

rf_coll *rf_map(rf_coll *in, uint32_t out_arity, rf_map_fn fn, void *ctx) {
  rec_op *r = rec_new(in, &map_class, K_MAP, out_arity, (void *)fn, ctx);
  return r ? rf__coll_new(&r->op) : NULL;
}

rf_coll *rf_filter(rf_coll *in, rf_filter_fn fn, void *ctx) {
  rec_op *r = rec_new(in, &filter_class, K_FILTER, in ? in->op->arity : 0, (void *)fn, ctx);
  return r ? rf__coll_new(&r->op) : NULL;
}

rf_coll *rf_flat_map(rf_coll *in, uint32_t out_arity, rf_flat_map_fn fn, void *ctx) {
  rec_op *r = rec_new(in, &flat_map_class, K_FLAT_MAP, out_arity, (void *)fn, ctx);
  return r ? rf__coll_new(&r->op) : NULL;
}

rf_coll *rf_project(rf_coll *in, uint32_t n_cols, const uint32_t *cols) {
  rf_graph *g = rf__coll_graph(in);
  if (!g) return NULL;
  for (uint32_t c = 0; c < n_cols; c++)
    if (!cols || cols[c] >= in->op->arity) {
      rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_project: column %u does not exist "
                                                    "(the collection has %u)",
                                         cols ? cols[c] : 0, in->op->arity));
      return NULL;
    }
  rec_op *r = rec_new(in, &project_class, K_PROJECT, n_cols, NULL, NULL);
  if (!r) return NULL;
  r->n_cols = n_cols;
  memcpy(r->cols, cols, n_cols * sizeof(uint32_t));
  return rf__coll_new(&r->op);
}

rf_coll *rf_negate(rf_coll *in) {
  rec_op *r = rec_new(in, &negate_class, K_NEGATE, in ? in->op->arity : 0, NULL, NULL);
  return r ? rf__coll_new(&r->op) : NULL;
}

rf_coll *rf_inspect(rf_coll *in, rf_inspect_fn fn, void *ctx) {
  rec_op *r = rec_new(in, &inspect_class, K_INSPECT, in ? in->op->arity : 0, (void *)fn, ctx);
  return r ? rf__coll_new(&r->op) : NULL;
}

rf_coll *rf_concat_n(rf_coll *const *colls, size_t n) {
  if (!colls || n == 0) return NULL;
  for (size_t i = 0; i < n; i++)
    if (!colls[i]) return NULL;
  rf_graph *g = rf__coll_graph(colls[0]);
  for (size_t i = 1; i < n; i++) {
    if (colls[i]->op->g != g) {
      rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_concat: collections of different graphs"));
      return NULL;
    }
    if (colls[i]->op->scope != colls[0]->op->scope) {
      rf__graph_build_error(g, rf__error(RF_ESCOPE, "rf_concat: collections of different "
                                                    "scopes (use rf_enter / rf_leave)"));
      return NULL;
    }
    if (colls[i]->op->arity != colls[0]->op->arity) {
      rf__graph_build_error(g, rf__error(RF_EARITY, "rf_concat: collection %zu has %u columns, "
                                                    "the first has %u",
                                         i, colls[i]->op->arity, colls[0]->op->arity));
      return NULL;
    }
  }
  rec_op *r = (rec_op *)rf__op_new(g, colls[0]->op->scope, &concat_class, sizeof *r,
                                   (uint32_t)n, colls[0]->op->dim, colls[0]->op->arity);
  if (!r) return NULL;
  r->kind = K_CONCAT;
  for (size_t i = 0; i < n; i++)
    if (rf__op_connect(&r->op, (uint32_t)i, colls[i]->op, 0) < 0) return NULL;
  return rf__coll_new(&r->op);
}

rf_coll *rf_concat(rf_coll *a, rf_coll *b) {
  rf_coll *both[2] = {a, b};
  return rf_concat_n(both, 2);
}

/* An empty concat input is a loop variable's feedback, connected later. */
rf__op *rf__concat_op_new(rf_graph *g, rf_scope *s, uint32_t n_in, uint32_t dim,
                          uint32_t arity) {
  rec_op *r = (rec_op *)rf__op_new(g, s, &concat_class, sizeof *r, n_in, dim, arity);
  if (r) r->kind = K_CONCAT;
  return r ? &r->op : NULL;
}

/* ------------------------------------------------------------------ */
/* Probes                                                              */
/* ------------------------------------------------------------------ */

struct rf_probe {
  rf__op op;
  /* Several workers: the first time not yet complete (UINT64_MAX: none),
   * published by worker 0's replica when its frontier moves. Atomic:
   * stored on that worker (release), loaded by any thread. */
  uint64_t pub_frontier;
  /* Several workers: the least time a waiting thread waits for (UINT64_MAX:
   * none), so that the frontier wakes waiters only when it passes it, not
   * at every step (an input advanced per change moves it a thousand times
   * a round). Atomic: lowered by waiters before each check (compare-and-
   * swap to the smaller), reset by worker 0 before it rings. */
  uint64_t want;
};

static int probe_run(rf__op *op) {
  rf__msg *m;
  while ((m = rf__port_pop(&op->in[0]))) rf__msg_free(m);
  return 0;
}

/* Progress tracking's hook: publishes worker 0's frontier (a safe one:
 * every worker's is) and wakes the threads waiting on the probe if it
 * passed a time one of them waits for. The reset of `want` comes before
 * the ring, so a waiter that registered before it is woken and registers
 * again, and one that registers after it lowers `want` from UINT64_MAX. */
static void probe_publish(rf__op *op) {
  if (op->wk->index != 0) return;
  rf_probe *p = (rf_probe *)op;
  const rf__antichain *f = &op->in[0].frontier;
  uint64_t first = f->n ? f->t[0] : UINT64_MAX;
  rf__atomic_store_release_64(&p->pub_frontier, first);
  /* Full fence: the frontier is visible before `want` is read (Dekker with
   * probe_wait_done: store want; fence; load frontier). */
  rf__atomic_fence_seq_cst();
  uint64_t want = rf__atomic_load_relaxed_64(&p->want);
  if (want == UINT64_MAX || first <= want) return;
  (void)__atomic_compare_exchange_n(&p->want, &want, UINT64_MAX, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED);
  rf__sched_progressed(op->g);
}

static const rf__op_class probe_class = {.name = "probe", .run = probe_run};

rf_probe *rf_probe_new(rf_coll *in) {
  rf_graph *g = rf__coll_graph(in);
  if (!g) return NULL;
  if (in->op->dim != 1) {
    rf__graph_build_error(g, rf__error(RF_ESCOPE, "rf_probe_new: the collection is inside an "
                                                  "iterate scope; probe it after rf_leave"));
    return NULL;
  }
  rf_probe *p = (rf_probe *)rf__op_new(g, in->op->scope, &probe_class, sizeof *p, 1, 1, 0);
  if (!p || rf__op_connect(&p->op, 0, in->op, 0) < 0) return NULL;
  p->op.on_frontier = probe_publish;
  p->want = UINT64_MAX;
  return p;
}

bool rf_probe_done(const rf_probe *p, rf_time t) {
  if (!p || rf__graph_building(p->op.g)) return false;
  if (rf__graph_workers(p->op.g) > 1)
    /* Acquire: pairs with probe_publish's release. */
    return rf__atomic_load_acquire_64(&p->pub_frontier) > t;
  const rf__antichain *f = rf__port_frontier(&((rf_probe *)p)->op.in[0]);
  return !rf__antichain_le(f, &t);
}

typedef struct probe_wait {
  rf_probe *p;
  rf_time t;
} probe_wait;

static bool probe_wait_done(void *ctx) {
  probe_wait *w = ctx;
  if (rf__graph_workers(w->p->op.g) > 1) {
    /* Registers the time before looking (see probe_publish). Atomic:
     * compare-and-swap to the smaller, any number of waiters. */
    uint64_t want = rf__atomic_load_relaxed_64(&w->p->want);
    while (w->t < want && !__atomic_compare_exchange_n(&w->p->want, &want, w->t, false,
                                                       __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
    }
    rf__atomic_fence_seq_cst();
  }
  return rf_probe_done(w->p, w->t);
}

/* Several workers: an input open at a time <= t that another thread fed
 * last, and so may still advance? Then a waiter is not stalled. */
static bool fed_elsewhere(rf_graph *g, rf_time t) {
  uint64_t self = (uint64_t)pthread_self();
  size_t i = 0;
  for (rf_input *in; (in = next_input(g, &i));) {
    /* Atomic (all three): the feeding thread stores them. */
    uint64_t feeder = rf__atomic_load_relaxed_64(&in->feeder);
    if (feeder && feeder != self && !rf__atomic_load_relaxed_32(&in->pub_closed) &&
        rf__atomic_load_relaxed_64(&in->pub_time) <= t)
      return true;
  }
  return false;
}

static int probe_stalled(void *ctx) {
  probe_wait *w = ctx;
  if (rf__graph_workers(w->p->op.g) > 1 && fed_elsewhere(w->p->op.g, w->t)) return 0;
  return rf__error(RF_ESTALL, "rf_probe_wait: time %llu cannot complete: an input is still "
                              "at a time <= %llu (advance it past %llu or close it)",
                   (unsigned long long)w->t, (unsigned long long)w->t,
                   (unsigned long long)w->t);
}

int rf_probe_wait(rf_probe *p, rf_time t) {
  if (!p) return rf__error(RF_EINVAL, "rf_probe_wait: probe is NULL");
  RF_FORWARD_IF_ERROR(rf__graph_check_running(p->op.g, "rf_probe_wait"));
  probe_wait w = {p, t};
  if (rf__graph_workers(p->op.g) > 1) {
    rf__inputs_submit_own(p->op.g);
    return rf__sched_wait_until(p->op.g, probe_wait_done, probe_stalled, &w, "rf_probe_wait");
  }
  while (!rf_probe_done(p, t)) {
    int rc = rf_graph_step(p->op.g);
    if (rc < 0) return rc;
    if (rc == 0 && !rf_probe_done(p, t)) return probe_stalled(&w);
  }
  return 0;
}

/* ------------------------------------------------------------------ */
/* Arrangement -> collection                                           */
/* ------------------------------------------------------------------ */

static int flatten_run(rf__op *op) {
  rf__msg *m;
  while ((m = rf__port_pop(&op->in[0]))) {
    const rf__batch *b = m->batch;
    int rc = 0;
    if (b->n_upds > 0) {
      rf__upbuf *out = rf__upbuf_new(op->arity, op->dim, b->n_upds);
      rc = out ? 0 : RF_ENOMEM;
      for (size_t k = 0; rc == 0 && k < b->n_keys; k++)
        for (size_t v = b->key_off[k]; rc == 0 && v < b->key_off[k + 1]; v++)
          for (size_t u = rf__batch_upd(b, v); u < rf__batch_upd(b, v + 1); u++) {
            uint64_t *row = rf__upbuf_push_raw(out);
            memcpy(row, rf__batch_key(b, k), b->key_arity * sizeof(uint64_t));
            memcpy(row + b->key_arity, rf__batch_val(b, v), b->val_arity * sizeof(uint64_t));
            rf__time_extend(rf__batch_time(b, u), b->dim, op->dim, row + op->arity);
            row[op->arity + op->dim] = (uint64_t)b->diffs[u];
          }
      if (rc == 0) rc = rf__op_send(op, out);
      else rf__upbuf_unref(out);
    }
    rf__msg_free(m);
    if (rc < 0) return rf__error(RF_ENOMEM, "%s: out of memory", op->name);
  }
  return 0;
}

static const rf__op_class flatten_class = {.name = "arr_collection", .run = flatten_run};

rf_coll *rf_arr_collection(rf_arr *a) {
  if (!a) return NULL;
  rf__op *op = rf__op_new(a->op->g, a->op->scope, &flatten_class, sizeof(rf__op), 1,
                          a->op->dim, a->key_arity + a->val_arity);
  if (!op || rf__op_connect(op, 0, a->op, 0) < 0) return NULL;
  return rf__coll_new(op);
}

uint32_t rf_arr_key_arity(const rf_arr *a) { return a ? a->key_arity : 0; }
uint32_t rf_arr_val_arity(const rf_arr *a) { return a ? a->val_arity : 0; }
