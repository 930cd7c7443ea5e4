/*
 * public.c: the store's part of the public API (rhizoflow.h, section
 * "Durable delta store"). Thin wrappers over the internal store: they check
 * arguments, translate the public option and result types to and from the
 * internal rf__ ones (store.h, delta.h, updates.h, check.h), and add what
 * only the public reader needs (a NUL-terminated copy of each delta, the
 * timestamp bound, decoded updates handed to a callback). The logic lives
 * in the internal modules, which the CLI, tests and benchmarks also use.
 *
 * Threads: as the header says. An rf_store (and its scratch buffer for
 * encoding updates) belongs to the thread that opened it; an
 * rf_store_reader and a running rf_store_replay_updates have their own
 * internal reader and buffers, so they may run on other threads (the
 * internal reader synchronises with the writer, see store.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "rhizoflow.h"
#include "store/check.h"
#include "store/delta.h"
#include "store/store.h"
#include "store/updates.h"

struct rf_store {
  rf__deltas *ds;
  rf__bytes scratch; /* the owner's: encoding of updates */
  bool read_only;
};

struct rf_store_reader {
  rf__store_reader *r;
  int64_t until_timestamp; /* 0: no bound */
  char *json;              /* NUL-terminated copy of the last delta */
  size_t json_cap;
};

static rf__store_pos to_internal(rf_store_pos p) {
  rf__store_pos q = {p.segment, p.offset};
  return q;
}

static rf_store_pos to_public(rf__store_pos p) {
  rf_store_pos q = {p.segment, p.offset};
  return q;
}

rf_store_options rf_store_options_default(void) {
  rf__store_policy p = rf__store_policy_default();
  rf_store_options o;
  memset(&o, 0, sizeof o);
  o.dir = RF_STORE_DEFAULT_DIR;
  o.durability = RF_STORE_FSYNC;
  o.group_n = p.group_n;
  o.group_ms = p.group_ms;
  o.segment_size = p.segment_size;
  o.read_only = false;
  return o;
}

int rf_store_open(const rf_store_options *opts, rf_store **out) {
  RF_RETURN_ERROR_IF(!out, RF_EINVAL, "rf_store_open: out is NULL");
  rf_store_options o = opts ? *opts : rf_store_options_default();
  rf__store_policy p = rf__store_policy_default();
  switch (o.durability) {
  case RF_STORE_FSYNC: p.durability = RF_DURABILITY_FSYNC; break;
  case RF_STORE_GROUP: p.durability = RF_DURABILITY_GROUP; break;
  case RF_STORE_NONE: p.durability = RF_DURABILITY_NONE; break;
  default:
    return rf__error(RF_EINVAL, "rf_store_open: unknown durability %d (RF_STORE_FSYNC, "
                     "RF_STORE_GROUP or RF_STORE_NONE)", (int)o.durability);
  }
  if (o.group_n) p.group_n = o.group_n;
  if (o.group_ms) p.group_ms = o.group_ms;
  if (o.segment_size) p.segment_size = o.segment_size;
  p.read_only = o.read_only;
  const char *dir = o.dir && *o.dir ? o.dir : RF_STORE_DEFAULT_DIR;
  rf_store *st = rf__calloc(1, sizeof *st);
  RF_CHECK_ALLOC(st);
  int rc = rf__deltas_open(dir, &p, &st->ds);
  if (rc < 0) {
    rf__free(st);
    return rc;
  }
  st->read_only = o.read_only;
  *out = st;
  return 0;
}

int rf_store_close(rf_store *st) {
  if (!st) return 0;
  int rc = rf__deltas_close(st->ds);
  rf__free(st->scratch.data);
  rf__free(st);
  return rc;
}

const char *rf_store_recovery_note(const rf_store *st) {
  return st ? rf__store_recovery_note(rf__deltas_store(st->ds)) : NULL;
}

int rf_store_append_delta_json(rf_store *st, const char *json, size_t len, rf_store_pos *pos) {
  RF_RETURN_ERROR_IF(!st || !json, RF_EINVAL, "rf_store_append_delta_json: %s is NULL",
                     st ? "json" : "the store");
  rf__store_pos p;
  int rc = rf__deltas_add_json_at(st->ds, json, len, NULL, &p);
  if (rc == RF_DELTA_DUPLICATE) return RF_STORE_DUPLICATE;
  if (rc >= 0 && pos) *pos = to_public(p);
  return rc;
}

int rf_store_sync(rf_store *st) {
  RF_RETURN_ERROR_IF(!st, RF_EINVAL, "rf_store_sync: the store is NULL");
  return rf__store_sync(rf__deltas_store(st->ds));
}

int rf_store_wait_durable(rf_store *st, rf_store_pos pos) {
  RF_RETURN_ERROR_IF(!st, RF_EINVAL, "rf_store_wait_durable: the store is NULL");
  return rf__store_wait_durable(rf__deltas_store(st->ds), to_internal(pos));
}

/* ---- ingest --------------------------------------------------------------- */

/* The caller's options, reached from the internal callbacks' argument. */
typedef struct ingest_ctx {
  const rf_store_ingest_options *o;
} ingest_ctx;

static void report_to_public(const rf__ingest_report *in, rf_store_ingest_report *out) {
  out->lines = in->lines;
  out->accepted = in->accepted;
  out->duplicates = in->duplicates;
  out->rejected_lines = in->rejected;
  out->batches = in->batches;
  out->rejected_batches = in->rejected_batches;
}

static void on_progress(void *arg, const rf__ingest_report *so_far) {
  ingest_ctx *c = arg;
  rf_store_ingest_report r;
  report_to_public(so_far, &r);
  c->o->progress(c->o->ctx, &r);
}

static void on_reject(void *arg, uint64_t line, const char *message) {
  ingest_ctx *c = arg;
  c->o->on_reject(c->o->ctx, line, message);
}

static void on_batch_rejected(void *arg, uint64_t first, uint64_t last, uint64_t bad) {
  ingest_ctx *c = arg;
  c->o->on_batch_rejected(c->o->ctx, first, last, bad);
}

int rf_store_ingest_jsonl(rf_store *st, FILE *in, const rf_store_ingest_options *opts,
                          rf_store_ingest_report *report) {
  if (report) memset(report, 0, sizeof *report);
  RF_RETURN_ERROR_IF(!st || !in, RF_EINVAL, "rf_store_ingest_jsonl: %s is NULL",
                     st ? "the input" : "the store");
  rf_store_ingest_options none;
  memset(&none, 0, sizeof none);
  ingest_ctx c = {opts ? opts : &none};
  rf__ingest_opts o;
  memset(&o, 0, sizeof o);
  o.batch_lines = c.o->batch_lines;
  o.max_line = c.o->max_line;
  o.max_messages = 1; /* the first, for rf_last_error; the caller has on_reject */
  o.progress_every = c.o->progress_every;
  o.progress = c.o->progress ? on_progress : NULL;
  o.on_reject = c.o->on_reject ? on_reject : NULL;
  o.on_batch_rejected = c.o->on_batch_rejected ? on_batch_rejected : NULL;
  o.arg = &c;
  rf__ingest_report rep;
  int rc = rf__deltas_ingest(st->ds, in, &o, &rep);
  if (report) report_to_public(&rep, report);
  rf__ingest_report_free(&rep);
  return rc;
}

/* ---- reading ----------------------------------------------------------------- */

static int open_internal_reader(rf_store *st, const rf_store_read_options *o, const char *fn,
                                rf__store_reader **out) {
  RF_RETURN_ERROR_IF(!st, RF_EINVAL, "%s: the store is NULL", fn);
  RF_FORWARD_IF_ERROR(rf__store_reader_open(rf__deltas_store(st->ds), to_internal(o->from), out));
  if (o->until.segment || o->until.offset) rf__store_reader_set_until(*out, to_internal(o->until));
  return 0;
}

int rf_store_reader_open(rf_store *st, const rf_store_read_options *opts, rf_store_reader **out) {
  RF_RETURN_ERROR_IF(!out, RF_EINVAL, "rf_store_reader_open: out is NULL");
  rf_store_read_options o;
  memset(&o, 0, sizeof o);
  if (opts) o = *opts;
  RF_RETURN_ERROR_IF(o.until_timestamp < 0, RF_EINVAL,
                     "rf_store_reader_open: until_timestamp %" PRId64 " is negative",
                     o.until_timestamp);
  rf_store_reader *r = rf__calloc(1, sizeof *r);
  RF_CHECK_ALLOC(r);
  int rc = open_internal_reader(st, &o, "rf_store_reader_open", &r->r);
  if (rc < 0) {
    rf__free(r);
    return rc;
  }
  r->until_timestamp = o.until_timestamp;
  *out = r;
  return 0;
}

int rf_store_reader_next(rf_store_reader *r, rf_store_delta *out) {
  RF_RETURN_ERROR_IF(!r || !out, RF_EINVAL, "rf_store_reader_next: %s is NULL",
                     r ? "out" : "the reader");
  for (;;) {
    rf__store_record rec;
    int rc = rf__store_reader_next(r->r, &rec);
    if (rc <= 0) return rc;
    if (rec.type != RF_STORE_REC_DELTA) continue;
    int64_t ts;
    if (rf__delta_timestamp(rec.data, rec.len, &ts) < 0) {
      char name[32];
      rf__store_segment_name(rec.pos.segment, name, sizeof name);
      return rf__error(RF_ECORRUPT, "rf_store_reader_next: %s at offset %" PRIu64
                       ": a delta record not in canonical form (no timestamp)",
                       name, rec.pos.offset);
    }
    if (r->until_timestamp > 0 && ts > r->until_timestamp) continue;
    if (rf__grow((void **)&r->json, &r->json_cap, rec.len + 1, 1) < 0)
      return rf__error(RF_ENOMEM, "rf_store_reader_next: out of memory");
    memcpy(r->json, rec.data, rec.len);
    r->json[rec.len] = 0;
    out->json = r->json;
    out->len = rec.len;
    out->timestamp = ts;
    out->pos = to_public(rec.pos);
    return 1;
  }
}

rf_store_pos rf_store_reader_position(const rf_store_reader *r) {
  rf_store_pos none = {0, 0};
  return r ? to_public(rf__store_reader_position(r->r)) : none;
}

void rf_store_reader_close(rf_store_reader *r) {
  if (!r) return;
  rf__store_reader_close(r->r);
  rf__free(r->json);
  rf__free(r);
}

/* ---- collection updates --------------------------------------------------- */

int rf_store_append_updates(rf_store *st, const char *collection, rf_time time, uint32_t arity,
                            const rf_value *rows, const rf_diff *diffs, size_t n,
                            rf_store_pos *pos) {
  RF_RETURN_ERROR_IF(!st, RF_EINVAL, "rf_store_append_updates: the store is NULL");
  rf__store_pos p;
  int rc = rf__updates_append(rf__deltas_store(st->ds), collection, time, arity, rows, diffs, n,
                              &st->scratch, &p);
  if (rc >= 0 && n > 0 && pos) *pos = to_public(p);
  return rc;
}

int rf_store_replay_updates(rf_store *st, const rf_store_read_options *opts,
                            const char *collection, rf_store_updates_fn fn, void *ctx,
                            rf_store_pos *next) {
  RF_RETURN_ERROR_IF(!fn, RF_EINVAL, "rf_store_replay_updates: fn is NULL");
  rf_store_read_options o;
  memset(&o, 0, sizeof o);
  if (opts) o = *opts;
  rf__store_reader *r;
  RF_FORWARD_IF_ERROR(open_internal_reader(st, &o, "rf_store_replay_updates", &r));
  rf__updates_scratch sc = {0};
  char err[400];
  int rc;
  for (;;) {
    rf__store_record rec;
    rc = rf__store_reader_next(r, &rec);
    if (rc <= 0) break;
    rc = 0;
    if (rec.type != RF_STORE_REC_UPDATES) continue;
    rf__updates u;
    int v = rf__updates_decode(rec.data, rec.len, &sc, &u, err, sizeof err);
    if (v < 0) {
      char name[32];
      rf__store_segment_name(rec.pos.segment, name, sizeof name);
      rc = v == RF_ENOMEM ? rf__error(RF_ENOMEM, "rf_store_replay_updates: out of memory")
                          : rf__error(RF_ECORRUPT, "rf_store_replay_updates: %s at offset %" PRIu64
                                      ": %s", name, rec.pos.offset, err);
      break;
    }
    if (collection && strcmp(collection, u.name) != 0) continue;
    if (o.bound_time && u.time > o.until_time) continue;
    rc = fn(ctx, u.name, u.time, u.arity, u.rows, u.diffs, u.n);
    if (rc != 0) break;
  }
  if (next) *next = to_public(rf__store_reader_position(r));
  rf__updates_scratch_free(&sc);
  rf__store_reader_close(r);
  return rc;
}

/* ---- statistics and verification ---------------------------------------- */

int rf_store_get_stats(rf_store *st, rf_store_stats *out) {
  RF_RETURN_ERROR_IF(!st || !out, RF_EINVAL, "rf_store_get_stats: %s is NULL",
                     st ? "out" : "the store");
  rf__store_stats s;
  rf__store_get_stats(rf__deltas_store(st->ds), &s);
  out->segments = s.n_segments;
  out->records = s.n_records;
  out->batches = s.n_batches;
  out->deltas = rf__deltas_count(st->ds);
  out->update_records = s.n_by_type[RF_STORE_REC_UPDATES];
  out->bytes = s.bytes;
  out->payload_bytes = s.payload_bytes;
  out->dropped_bytes = s.dropped_bytes;
  return 0;
}

int rf_store_check(rf_store *st, rf_store_problem_fn fn, void *ctx, uint64_t *problems) {
  if (problems) *problems = 0;
  RF_RETURN_ERROR_IF(!st, RF_EINVAL, "rf_store_check: the store is NULL");
  return rf__store_check(st->ds, st->read_only, fn, ctx, problems);
}
