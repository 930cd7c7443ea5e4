/*
 * runner.c: drives one oracle case through the engine and compares every
 * closed time with the evaluator; shrinks failing cases.
 *
 * The comparison is on accumulated collections: the engine's output at time
 * t is the sum of every update its output inspect saw with time <= t,
 * consolidated; it must equal the evaluator's collection at t exactly. The
 * engine may send its updates in any grouping and order (unconsolidated,
 * early, in several batches); only the accumulation is checked, plus the
 * probe, live view and callback contracts.
 */
#include "runner.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder.h"

typedef struct runner {
  const or_program *p;
  const or_stream *s;
  const or_expected *exp;
  uint32_t workers;
  or_built *b;
  bool failed;
  or_fail_kind kind;
  or_buf rep;
  uint64_t hash;
} runner;

static void failf(runner *R, or_fail_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(runner *R, or_fail_kind kind, const char *fmt, ...) {
  if (R->failed) return;
  R->failed = true;
  R->kind = kind;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  or_buf_printf(&R->rep, "%s (workers %u)\n", line, R->workers);
}

static void fail_rc(runner *R, const char *what, int rc) {
  failf(R, OR_FAIL_ERROR, "%s returned %s: %s", what, rf_err_name(rc), rf_last_error());
}

/* Lists the records whose counts differ between two normalized collections. */
static void dump_differences(or_buf *b, const or_coll *eng, const or_coll *orc, int max) {
  size_t i = 0, j = 0;
  int shown = 0;
  or_buf_printf(b, "  differences (engine count vs oracle count):");
  while ((i < eng->n || j < orc->n) && shown < max) {
    int c = i >= eng->n   ? 1
            : j >= orc->n ? -1
                          : or_rec_cmp(or_coll_rec(eng, i), or_coll_rec(orc, j), eng->arity);
    const rf_value *rec;
    rf_diff ce = 0, co = 0;
    if (c < 0) {
      rec = or_coll_rec(eng, i);
      ce = eng->cnt[i++];
    } else if (c > 0) {
      rec = or_coll_rec(orc, j);
      co = orc->cnt[j++];
    } else {
      rec = or_coll_rec(eng, i);
      ce = eng->cnt[i++];
      co = orc->cnt[j++];
    }
    if (ce == co) continue;
    or_buf_printf(b, "\n    ");
    or_dump_record(b, rec, eng->arity);
    or_buf_printf(b, ": %" PRId64 " vs %" PRId64, ce, co);
    shown++;
  }
  or_buf_printf(b, "\n");
}

static void compare_output(runner *R, int o, const or_coll *eng, const or_coll *orc,
                           const char *when) {
  R->hash = or_mix64(R->hash ^ or_coll_hash(eng));
  if (or_coll_equal(eng, orc)) return;
  failf(R, OR_FAIL_MISMATCH, "output o%d (n%d) differs from the oracle %s", o, R->p->outputs[o], when);
  or_buf_printf(&R->rep, "  engine: ");
  or_dump_coll(&R->rep, eng, 40);
  or_buf_printf(&R->rep, "\n  oracle: ");
  or_dump_coll(&R->rep, orc, 40);
  or_buf_printf(&R->rep, "\n");
  dump_differences(&R->rep, eng, orc, 12);
}

static void check_time(runner *R, rf_time t) {
  or_coll acc;
  or_coll_init(&acc, 0);
  for (int o = 0; o < R->p->n_outputs && !R->failed; o++) {
    or_capture_accumulate(&R->b->caps[o], t, false, &acc);
    char when[64];
    snprintf(when, sizeof when, "at time %" PRIu64, t);
    compare_output(R, o, &acc, or_expected_at(R->exp, t, o), when);
  }
  or_coll_free(&acc);
}

static void check_callbacks(runner *R) {
  for (int o = 0; o < R->p->n_outputs && !R->failed; o++) {
    or_capture *c = &R->b->caps[o];
    pthread_mutex_lock(&c->mu);
    if (c->late || c->bad_shape)
      failf(R, OR_FAIL_PROTOCOL, "output o%d: %zu late and %zu malformed updates; first: %s", o, c->late,
            c->bad_shape, c->first_problem);
    pthread_mutex_unlock(&c->mu);
  }
  pthread_mutex_lock(&R->b->mu);
  if (R->b->contract_errors)
    failf(R, OR_FAIL_PROTOCOL, "%zu callback contract violations; first: %s", R->b->contract_errors,
          R->b->first_contract_error);
  pthread_mutex_unlock(&R->b->mu);
}

/* ------------------------------------------------------------------ */
/* Live views                                                          */
/* ------------------------------------------------------------------ */

typedef struct view_acc {
  or_coll *c;
  uint32_t key_arity, val_arity;
  const rf_value *want_key; /* lookups: every visited key must be this */
  bool wrong_key, out_of_order, zero_count;
  rf_value last_key[OR_MAX_ARITY];
  bool have_last;
} view_acc;

static int view_visit(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  view_acc *a = ctx;
  rf_value rec[2 * OR_MAX_ARITY];
  memcpy(rec, key, a->key_arity * sizeof *rec);
  if (a->val_arity) memcpy(rec + a->key_arity, val, a->val_arity * sizeof *rec);
  if (a->want_key && or_rec_cmp(key, a->want_key, a->key_arity)) a->wrong_key = true;
  if (a->have_last && or_rec_cmp(key, a->last_key, a->key_arity) < 0) a->out_of_order = true;
  memcpy(a->last_key, key, a->key_arity * sizeof *key);
  a->have_last = true;
  if (count == 0) a->zero_count = true;
  or_coll_push(a->c, rec, count);
  return 0;
}

/* Reads view o at t (a time or RF_TIME_LATEST), or only key when not NULL.
 * Returns the API's result; on 0, *out holds the normalized collection. */
static int view_read(runner *R, int o, rf_time t, const rf_value *key, or_coll *out) {
  uint32_t arity = R->p->nodes[R->p->outputs[o]].arity;
  or_coll_free(out);
  or_coll_init(out, arity);
  view_acc a;
  memset(&a, 0, sizeof a);
  a.c = out;
  a.key_arity = R->b->view_key_arity[o];
  a.val_arity = arity - a.key_arity;
  a.want_key = key;
  int rc = key ? rf_view_lookup(R->b->views[o], key, t, view_visit, &a)
               : rf_view_scan(R->b->views[o], t, view_visit, &a);
  if (rc) return rc;
  size_t n = out->n;
  or_coll_normalize(out);
  if (a.wrong_key || a.out_of_order || a.zero_count || out->n != n)
    failf(R, OR_FAIL_PROTOCOL,
          "view of o%d at time %" PRIu64 ": %s%s%s%s", o, t,
          a.wrong_key ? "rf_view_lookup visited another key; " : "",
          a.out_of_order ? "rf_view_scan visited keys out of order; " : "",
          a.zero_count ? "a value was visited with count 0; " : "",
          out->n != n ? "a (key, value) was visited twice" : "");
  return 0;
}

static void check_view_at(runner *R, int o, rf_time t, rf_time as_of, const char *label) {
  or_coll got;
  or_coll_init(&got, 0);
  int rc = view_read(R, o, t, NULL, &got);
  char when[96];
  snprintf(when, sizeof when, "in its live view (%s, time %" PRIu64 ")", label, as_of);
  bool kept = R->b->view_retains[o] && t != RF_TIME_LATEST && t >= R->b->view_retain_from[o];
  if (rc == RF_ECOMPACTED && !kept && t != RF_TIME_LATEST) {
    /* an old time the view was not asked to keep */
  } else if (rc) {
    char what[128];
    snprintf(what, sizeof what, "rf_view_scan(view of o%d, %s)", o, label);
    fail_rc(R, what, rc);
  } else {
    compare_output(R, o, &got, or_expected_at(R->exp, as_of, o), when);
  }
  or_coll_free(&got);
}

/* After a wait at `cur` (inputs open at cur) or, with closed, at the end:
 * every view reads what the oracle says, at the latest time, at every
 * retained time, and key by key; times not complete are refused. */
static void check_views(runner *R, rf_time cur, bool closed) {
  const or_program *p = R->p;
  rf_time last = cur - 1;
  int rc = rf_graph_run(R->b->g);
  if (rc < 0) {
    fail_rc(R, "rf_graph_run (before reading views)", rc);
    return;
  }
  for (int o = 0; o < p->n_outputs && !R->failed; o++) {
    rf_view *v = R->b->views[o];
    rf_time f = rf_view_frontier(v);
    if (closed ? f <= last : f != cur) {
      failf(R, OR_FAIL_PROTOCOL,
            "view of o%d: rf_view_frontier is %" PRIu64 " after rf_graph_run with every input %s %" PRIu64,
            o, f, closed ? "closed after" : "open at", closed ? last : cur);
      return;
    }
    check_view_at(R, o, RF_TIME_LATEST, last, "RF_TIME_LATEST");
    for (rf_time t = 0; t < last && !R->failed; t++) check_view_at(R, o, t, t, "an older time");
    if (!closed && !R->failed) {
      or_coll tmp;
      or_coll_init(&tmp, 0);
      rc = view_read(R, o, cur, NULL, &tmp);
      if (rc != RF_EPENDING && !R->failed)
        failf(R, OR_FAIL_PROTOCOL,
              "rf_view_scan(view of o%d, %" PRIu64 ") returned %s for a time that is not complete "
              "(expected RF_EPENDING)",
              o, cur, rf_err_name(rc));
      or_coll_free(&tmp);
    }
    /* lookups: every key of the expected state, and one absent key */
    const or_coll *want = or_expected_at(R->exp, last, o);
    uint32_t k = R->b->view_key_arity[o];
    or_coll got, sub;
    or_coll_init(&got, 0);
    or_coll_init(&sub, want->arity);
    for (size_t i = 0; i <= want->n && !R->failed; i++) {
      rf_value key[OR_MAX_ARITY];
      if (i < want->n) {
        if (i > 0 && or_rec_cmp(or_coll_rec(want, i - 1), or_coll_rec(want, i), k) == 0) continue;
        memcpy(key, or_coll_rec(want, i), k * sizeof *key);
      } else {
        for (uint32_t j = 0; j < k; j++) key[j] = UINT64_C(0x7777777777777777);
      }
      or_coll_clear(&sub);
      for (size_t j = 0; j < want->n; j++)
        if (or_rec_cmp(or_coll_rec(want, j), key, k) == 0)
          or_coll_push(&sub, or_coll_rec(want, j), want->cnt[j]);
      rc = view_read(R, o, RF_TIME_LATEST, key, &got);
      if (rc) {
        fail_rc(R, "rf_view_lookup", rc);
      } else if (!or_coll_equal(&got, &sub)) {
        or_buf kb;
        or_buf_init(&kb);
        or_dump_record(&kb, key, k);
        char when[160];
        snprintf(when, sizeof when, "in rf_view_lookup of key %s at the latest time %" PRIu64,
                 kb.s, last);
        or_buf_free(&kb);
        compare_output(R, o, &got, &sub, when);
      }
    }
    or_coll_free(&got);
    or_coll_free(&sub);
    /* time travel: now and then a retaining view moves its window forward */
    if (R->b->view_retains[o] && !closed && cur % 3 == 0 && last >= 2 && !R->failed) {
      rf_time from = last - 2;
      if (from > R->b->view_retain_from[o]) {
        rc = rf_view_retain_from(v, from);
        if (rc) {
          char what[96];
          snprintf(what, sizeof what, "rf_view_retain_from(view of o%d, %" PRIu64 ")", o, from);
          fail_rc(R, what, rc);
        }
        R->b->view_retain_from[o] = from;
      }
    }
  }
}

static void advance_all(runner *R, rf_time t) {
  for (int i = 0; i < R->p->n_inputs && !R->failed; i++) {
    int rc = rf_input_advance_to(R->b->inputs[i], t);
    if (rc) {
      char what[64];
      snprintf(what, sizeof what, "rf_input_advance_to(in%d, %" PRIu64 ")", i, t);
      fail_rc(R, what, rc);
    }
  }
}

/* Whether node i depends on input `in`: whether the graph has a path from
 * the input to it. rf_iterate may leave either the variable or the body's
 * result (both have the fixed point as their limit), so for OR_ITERATE the
 * path through the initial collection counts only when with_initial. */
static bool depends_on(const or_program *p, int i, int in, bool with_initial, bool *seen) {
  if (i < 0 || seen[i]) return false;
  seen[i] = true;
  const or_node *n = &p->nodes[i];
  if (n->op == OR_INPUT) return n->input == in;
  for (int j = 0; j < n->n_in; j++)
    if (depends_on(p, n->in[j], in, with_initial, seen)) return true;
  if (n->op == OR_VAR) { /* initial + feedback of this one variable */
    const or_scope *sc = &p->scopes[n->scope];
    return depends_on(p, sc->var_init[n->sub], in, with_initial, seen) ||
           depends_on(p, sc->var_next[n->sub], in, with_initial, seen);
  }
  if (n->op == OR_ITERATE) {
    const or_scope *sc = &p->scopes[n->sub];
    return depends_on(p, sc->var_next[0], in, with_initial, seen) ||
           (with_initial && depends_on(p, sc->var_init[0], in, with_initial, seen));
  }
  return false;
}

static bool output_depends_on(const or_program *p, int o, int in, bool with_initial) {
  bool seen[OR_MAX_NODES];
  memset(seen, 0, sizeof seen);
  return depends_on(p, p->outputs[o], in, with_initial, seen);
}

/* Advances every input but `lag` to `to`, lets the graph work, and checks
 * the frontiers: an output that depends on the lagging input (still at
 * `at`) cannot be complete at `at`; one that does not can get past it. */
static void advance_unevenly(runner *R, int lag, rf_time at, rf_time to) {
  const or_program *p = R->p;
  int rc;
  for (int i = 0; i < p->n_inputs && !R->failed; i++)
    if (i != lag && (rc = rf_input_advance_to(R->b->inputs[i], to)))
      fail_rc(R, "rf_input_advance_to (inputs advanced one by one)", rc);
  for (int j = 0; j < 3 && !R->failed; j++)
    if ((rc = rf_graph_step(R->b->g)) < 0) fail_rc(R, "rf_graph_step (one input lagging)", rc);
  for (int o = 0; o < p->n_outputs && !R->failed; o++) {
    if (output_depends_on(p, o, lag, false)) {
      if (rf_probe_done(R->b->probes[o], at))
        failf(R, OR_FAIL_PROTOCOL,
              "rf_probe_done(o%d, %" PRIu64 ") is true while in%d, which o%d depends on, is still "
              "open at %" PRIu64,
              o, at, lag, o, at);
    } else if (!output_depends_on(p, o, lag, true) && (rc = rf_probe_wait(R->b->probes[o], at))) {
      char what[160];
      snprintf(what, sizeof what,
               "rf_probe_wait(o%d, %" PRIu64 ") with only in%d (which o%d does not depend on) "
               "open at %" PRIu64,
               o, at, lag, o, at);
      fail_rc(R, what, rc);
    }
  }
}

static void drive(runner *R) {
  const or_program *p = R->p;
  const or_stream *s = R->s;
  or_built *b = R->b;
  int rc;
  if (or_build(b, p, R->workers)) {
    failf(R, OR_FAIL_ERROR, "%s", b->build_err);
    return;
  }
  for (int i = 0; i < p->n_inputs && s->buffered; i++)
    if ((rc = rf_input_set_buffered(b->inputs[i], true))) {
      fail_rc(R, "rf_input_set_buffered", rc);
      return;
    }
  if ((rc = rf_graph_start(b->g))) {
    fail_rc(R, "rf_graph_start", rc);
    return;
  }
  rf_time cur = 0, next_check = 0;
  for (int k = 0; k < s->n_steps && !R->failed; k++) {
    const or_step *st = &s->steps[k];
    if (st->time > cur) {
      advance_all(R, st->time);
      cur = st->time;
    }
    for (int u = 0; u < st->count && !R->failed; u++) {
      if (st->mid_flush && u == st->count / 2) {
        for (int i = 0; i < p->n_inputs && !R->failed; i++)
          if ((rc = rf_input_flush(b->inputs[i]))) fail_rc(R, "rf_input_flush", rc);
        for (int j = 0; j < 2 && !R->failed; j++)
          if ((rc = rf_graph_step(b->g)) < 0) fail_rc(R, "rf_graph_step (mid-epoch)", rc);
      }
      const or_update *up = &s->updates[st->first + u];
      rc = rf_input_update(b->inputs[up->input], up->rec, p->input_arity[up->input], up->diff);
      if (rc) fail_rc(R, "rf_input_update", rc);
    }
    if (p->n_inputs >= 2 && k % 2 == 1 && !R->failed)
      advance_unevenly(R, k % p->n_inputs, st->time, st->advance_to);
    advance_all(R, st->advance_to);
    cur = st->advance_to;
    if (!st->wait || R->failed) continue;
    for (int o = 0; o < p->n_outputs && !R->failed; o++) {
      rc = rf_probe_wait(b->probes[o], cur - 1);
      if (rc) {
        char what[96];
        snprintf(what, sizeof what, "rf_probe_wait(output o%d, %" PRIu64 ")", o, cur - 1);
        fail_rc(R, what, rc);
      } else if (!rf_probe_done(b->probes[o], cur - 1)) {
        failf(R, OR_FAIL_PROTOCOL, "rf_probe_wait(o%d, %" PRIu64 ") returned 0 but rf_probe_done is false", o, cur - 1);
      }
    }
    for (int o = 0; o < p->n_outputs; o++) {
      pthread_mutex_lock(&b->caps[o].mu);
      b->caps[o].closed_valid = true;
      b->caps[o].closed = cur - 1;
      pthread_mutex_unlock(&b->caps[o].mu);
    }
    for (rf_time t = next_check; t < cur && !R->failed; t++) check_time(R, t);
    next_check = cur;
    for (int o = 0; o < p->n_outputs && !R->failed; o++)
      if (rf_probe_done(b->probes[o], cur))
        failf(R, OR_FAIL_PROTOCOL, "rf_probe_done(o%d, %" PRIu64 ") is true while every input is open at %" PRIu64, o,
              cur, cur);
    check_callbacks(R);
    if (!R->failed) check_views(R, cur, false);
  }
  if (R->failed) return;
  for (int i = 0; i < p->n_inputs && !R->failed; i++)
    if ((rc = rf_input_close(b->inputs[i]))) fail_rc(R, "rf_input_close", rc);
  if (!R->failed && (rc = rf_graph_run(b->g)) < 0) fail_rc(R, "rf_graph_run (inputs closed)", rc);
  if (R->failed) return;
  for (int o = 0; o < p->n_outputs && !R->failed; o++)
    if (!rf_probe_done(b->probes[o], cur + 1000))
      failf(R, OR_FAIL_PROTOCOL, "after closing every input and rf_graph_run, rf_probe_done(o%d, %" PRIu64 ") is false",
            o, cur + 1000);
  /* every update ever produced adds up to the last time's collection */
  or_coll acc;
  or_coll_init(&acc, 0);
  for (int o = 0; o < p->n_outputs && !R->failed; o++) {
    or_capture_accumulate(&b->caps[o], 0, true, &acc);
    compare_output(R, o, &acc, or_expected_at(R->exp, or_stream_last_time(s), o),
                   "over all times after closing the inputs");
  }
  or_coll_free(&acc);
  check_callbacks(R);
  if (!R->failed) check_views(R, cur, true);
}

bool or_run_case(const or_program *p, const or_stream *s, const or_expected *exp,
                 uint32_t workers, or_outcome *out) {
  runner R;
  memset(&R, 0, sizeof R);
  R.p = p;
  R.s = s;
  R.exp = exp;
  R.workers = workers;
  or_buf_init(&R.rep);
  R.b = malloc(sizeof *R.b);
  if (!R.b) abort();
  drive(&R);
  or_built_destroy(R.b);
  free(R.b);
  memset(out, 0, sizeof *out);
  out->ok = !R.failed;
  out->kind = R.failed ? R.kind : OR_FAIL_NONE;
  out->trace_hash = R.hash;
  if (R.failed) {
    or_dump_program(&R.rep, p);
    or_dump_stream(&R.rep, p, s);
    out->report = or_buf_take(&R.rep);
  }
  or_buf_free(&R.rep);
  return out->ok;
}

void or_outcome_free(or_outcome *o) {
  free(o->report);
  o->report = NULL;
}

static bool write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k <= 0) return false;
    p += k;
    n -= (size_t)k;
  }
  return true;
}

bool or_run_case_isolated(const or_program *p, const or_stream *s, const or_expected *exp,
                          uint32_t workers, unsigned timeout_s, or_outcome *out) {
  memset(out, 0, sizeof *out);
  int fds[2];
  fflush(stdout);
  fflush(stderr);
  if (pipe(fds) < 0) return or_run_case(p, s, exp, workers, out);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return or_run_case(p, s, exp, workers, out);
  }
  if (pid == 0) {
    close(fds[0]);
    signal(SIGALRM, SIG_DFL);
    alarm(timeout_s);
    or_outcome o;
    or_run_case(p, s, exp, workers, &o);
    uint64_t hdr[3] = {(uint64_t)o.kind, o.trace_hash, o.report ? strlen(o.report) : 0};
    bool ok = write_all(fds[1], hdr, sizeof hdr) && (!o.report || write_all(fds[1], o.report, hdr[2]));
    _exit(ok ? 0 : 3);
  }
  close(fds[1]);
  or_buf got;
  or_buf_init(&got);
  char chunk[4096];
  ssize_t k;
  while ((k = read(fds[0], chunk, sizeof chunk)) != 0) {
    if (k < 0) continue;
    or_buf_append(&got, chunk, (size_t)k);
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  uint64_t hdr[3] = {0, 0, 0};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got.n >= sizeof hdr) {
    memcpy(hdr, got.s, sizeof hdr);
    out->kind = (or_fail_kind)hdr[0];
    out->ok = out->kind == OR_FAIL_NONE;
    out->trace_hash = hdr[1];
    if (!out->ok) {
      or_buf rep;
      or_buf_init(&rep);
      or_buf_append(&rep, got.s + sizeof hdr, got.n - sizeof hdr);
      out->report = or_buf_take(&rep);
    }
  } else {
    or_buf rep;
    or_buf_init(&rep);
    if (WIFSIGNALED(status))
      or_buf_printf(&rep, "the engine died with signal %d (%s) (workers %u)\n", WTERMSIG(status),
                    WTERMSIG(status) == SIGALRM ? "no result within the time limit: a hang?"
                    : WTERMSIG(status) == SIGSEGV ? "SIGSEGV"
                    : WTERMSIG(status) == SIGABRT ? "SIGABRT"
                                                   : "a crash",
                    workers);
    else
      or_buf_printf(&rep, "the child running the case exited with status %d%s (workers %u)\n",
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                    WIFEXITED(status) && WEXITSTATUS(status) == 66
                        ? " (ThreadSanitizer's exit status: its report is printed above)"
                        : "",
                    workers);
    or_dump_program(&rep, p);
    or_dump_stream(&rep, p, s);
    out->ok = false;
    out->kind = OR_FAIL_CRASH;
    out->report = or_buf_take(&rep);
  }
  or_buf_free(&got);
  return out->ok;
}

/* ------------------------------------------------------------------ */
/* Shrinking                                                           */
/* ------------------------------------------------------------------ */

/* How (p, s) fares against the engine in a child process: OR_FAIL_NONE when
 * it passes or is not a valid case (the evaluator finds no fixed point), a
 * failure kind, or OR_FAIL_CRASH + the signal that killed the child. */
static int child_outcome(const or_program *p, const or_stream *s, uint32_t workers) {
  or_expected exp;
  char m[256];
  or_eval_limits lim = or_eval_default_limits();
  lim.max_iterations = 200;
  if (or_eval_all(p, s, &lim, &exp, m, sizeof m) != OR_EVAL_OK) return 0;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    or_expected_free(&exp);
    return 0;
  }
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    signal(SIGALRM, SIG_DFL);
    alarm(4);
    or_outcome o;
    or_run_case(p, s, &exp, workers, &o);
    _exit((int)o.kind);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  or_expected_free(&exp);
  if (WIFSIGNALED(status)) return OR_FAIL_CRASH + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : OR_FAIL_CRASH;
}

bool or_run_isolated(const or_program *p, const or_stream *s, uint32_t workers) {
  or_expected exp;
  char m[256];
  or_eval_limits lim = or_eval_default_limits();
  or_eval_status st = or_eval_all(p, s, &lim, &exp, m, sizeof m);
  if (st != OR_EVAL_OK) {
    fprintf(stderr, "oracle: the evaluator rejects this case: %s: %s\n", or_eval_status_name(st), m);
    return false;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    or_expected_free(&exp);
    return false;
  }
  if (pid == 0) {
    signal(SIGALRM, SIG_DFL);
    alarm(60);
    or_outcome o;
    bool ok = or_run_case(p, s, &exp, workers, &o);
    if (!ok) fprintf(stderr, "%s", o.report);
    fflush(stderr);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  or_expected_free(&exp);
  if (WIFSIGNALED(status)) {
    or_buf b;
    or_buf_init(&b);
    or_buf_printf(&b, "the engine died with signal %d (%s) running this case (workers %u)\n",
                  WTERMSIG(status), WTERMSIG(status) == SIGALRM ? "timed out after 60 s" : "crash",
                  workers);
    or_dump_program(&b, p);
    or_dump_stream(&b, p, s);
    fprintf(stderr, "%s", b.s);
    or_buf_free(&b);
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool compatible(const or_program *p, int i, int r) {
  const or_node *a = &p->nodes[i], *b = &p->nodes[r];
  if (r < 0 || r == i || a->scope != b->scope || a->is_arr != b->is_arr || a->arity != b->arity)
    return false;
  return !a->is_arr || a->key_arity == b->key_arity;
}

/* Candidate replacements of node i: its operands, their operands, and for
 * rf_iterate the loop's initial collection. */
static int replacements(const or_program *p, int i, int *out) {
  const or_node *n = &p->nodes[i];
  int k = 0;
  if (n->op == OR_ITERATE) out[k++] = p->scopes[n->sub].var_init[0];
  if (n->op == OR_ENTER || n->op == OR_ARR_ENTER || n->op == OR_LEAVE) return k;
  for (int j = 0; j < n->n_in; j++) {
    const or_node *c = &p->nodes[n->in[j]];
    out[k++] = n->in[j];
    if (c->op == OR_ENTER || c->op == OR_ARR_ENTER || c->op == OR_LEAVE) continue;
    for (int m = 0; m < c->n_in; m++) out[k++] = c->in[m];
  }
  return k;
}

/* s without updates [start, start + len), steps adjusted. */
static void drop_updates(const or_stream *s, int start, int len, or_stream *out) {
  *out = *s;
  out->n_updates = 0;
  for (int k = 0; k < s->n_steps; k++) {
    out->steps[k].first = out->n_updates;
    for (int u = s->steps[k].first; u < s->steps[k].first + s->steps[k].count; u++)
      if (u < start || u >= start + len) out->updates[out->n_updates++] = s->updates[u];
    out->steps[k].count = out->n_updates - out->steps[k].first;
    if (out->steps[k].count < 2) out->steps[k].mid_flush = false;
  }
}

/* s without step k (which has no updates): the previous step advances
 * further instead. */
static bool drop_step(const or_stream *s, int k, or_stream *out) {
  if (s->n_steps < 2 || s->steps[k].count) return false;
  *out = *s;
  if (k > 0) {
    out->steps[k - 1].advance_to = s->steps[k].advance_to;
    out->steps[k - 1].wait = s->steps[k - 1].wait || s->steps[k].wait;
  }
  for (int j = k; j + 1 < s->n_steps; j++) out->steps[j] = out->steps[j + 1];
  out->n_steps--;
  out->steps[out->n_steps - 1].wait = true;
  return true;
}

int or_shrink(or_program *p, or_stream *s, uint32_t workers, int max_attempts) {
  or_program *cp = malloc(sizeof *cp);
  or_stream *cs = malloc(sizeof *cs);
  if (!cp || !cs) abort();
  int attempts = 0, reductions = 0;
  *cp = *p;
  *cs = *s;
  int want = child_outcome(cp, cs, workers);
  if (want == OR_FAIL_NONE) {
    free(cp);
    free(cs);
    return 0;
  }
#define TRY() (attempts++ < max_attempts && child_outcome(cp, cs, workers) == want)
  bool progress = true;
  while (progress && attempts < max_attempts) {
    progress = false;
    /* one output */
    for (int o = 0; o < p->n_outputs && p->n_outputs > 1; o++) {
      *cp = *p;
      cp->outputs[0] = p->outputs[o];
      cp->n_outputs = 1;
      or_program_mark_live(cp);
      *cs = *s;
      if (TRY()) {
        *p = *cp;
        reductions++;
        progress = true;
        break;
      }
    }
    /* bypass operators */
    for (int i = p->n_nodes - 1; i >= 0 && attempts < max_attempts; i--) {
      if (p->nodes[i].dead) continue;
      int cand[2 * OR_MAX_IN * OR_MAX_IN + 1];
      int nc = replacements(p, i, cand);
      for (int c = 0; c < nc; c++) {
        if (!compatible(p, i, cand[c])) continue;
        *cp = *p;
        or_program_redirect(cp, i, cand[c]);
        *cs = *s;
        if (TRY()) {
          *p = *cp;
          reductions++;
          progress = true;
          break;
        }
      }
    }
    /* drop updates, in halving chunks */
    for (int chunk = s->n_updates / 2 > 0 ? s->n_updates / 2 : 1; chunk >= 1; chunk /= 2) {
      for (int start = 0; start < s->n_updates && attempts < max_attempts;) {
        *cp = *p;
        drop_updates(s, start, chunk, cs);
        if (TRY()) {
          *s = *cs;
          reductions++;
          progress = true;
        } else {
          start += chunk;
        }
      }
    }
    /* drop empty steps and mid-epoch flushes */
    for (int k = s->n_steps - 1; k >= 0 && attempts < max_attempts; k--) {
      *cp = *p;
      if (drop_step(s, k, cs) && TRY()) {
        *s = *cs;
        reductions++;
        progress = true;
      }
    }
    if (s->n_steps > 0 && s->steps[0].time > 0 && attempts < max_attempts) {
      /* start at time 0 */
      *cp = *p;
      *cs = *s;
      rf_time d = s->steps[0].time;
      for (int k = 0; k < cs->n_steps; k++) {
        cs->steps[k].time -= d;
        cs->steps[k].advance_to -= d;
      }
      if (TRY()) {
        *s = *cs;
        reductions++;
        progress = true;
      }
    }
    for (int k = 0; k < s->n_steps && attempts < max_attempts; k++) {
      if (!s->steps[k].mid_flush) continue;
      *cp = *p;
      *cs = *s;
      cs->steps[k].mid_flush = false;
      if (TRY()) {
        *s = *cs;
        reductions++;
        progress = true;
      }
    }
  }
#undef TRY
  free(cp);
  free(cs);
  return reductions;
}
