/*
 * hyperviews.h: live materialized HyperViews and Views over a stream of
 * RhizomeDB deltas (DESIGN §9, docs/hyperviews.md), maintained by a
 * dataflow on the engine and read from any thread.
 *
 * An rf_hv holds the deltas given to it, the schemas they define, and the
 * dataflow that keeps every schema's HyperViews up to date. Deltas are
 * added in batches: rf_hv_add_json stages a delta, rf_hv_commit makes the
 * staged batch the next time (1, 2, ...; time 0 is empty), and the views
 * reflect a committed time once the workers have processed it
 * (rf_hv_sync waits for that). Reads name a time: RF_TIME_LATEST (the
 * latest visible one) or any visible time still retained
 * (rf_hv_retain_from keeps history readable).
 *
 * Threads: rf_hv_create/destroy, rf_hv_add_json, rf_hv_schema_deltas,
 * rf_hv_commit and rf_hv_sync belong to one thread (the writer). rf_hv_get,
 * rf_hv_objects, rf_hv_schemas, rf_hv_time, rf_hv_retain_from and
 * subscriptions may be used from any thread at any time, also while the
 * writer adds and the workers update; they never block the workers.
 */
#ifndef RF_HYPERVIEWS_H
#define RF_HYPERVIEWS_H

#include <stddef.h>
#include <stdint.h>

#include "rhizoflow.h"

typedef struct rf_hv rf_hv;

typedef struct rf_hv_options {
  uint32_t workers; /* dataflow worker threads, 1..64 (0: 1) */
} rf_hv_options;

/* Creates an empty instance (no deltas, no schemas) at time 0. */
RF_API int rf_hv_create(const rf_hv_options *opts, rf_hv **out);
/* Stops the workers and frees everything. Accepts NULL. Every
 * subscription must be closed first. */
RF_API void rf_hv_destroy(rf_hv *hv);

/* rf_hv_add_json's "nothing new" result. */
#define RF_HV_DUPLICATE 1

/* Validates one delta (JSON text, len bytes, not NUL-terminated) and adds
 * it to the open batch. Returns 0 (added), RF_HV_DUPLICATE (the same delta
 * was added before: nothing changes), RF_EINVAL (a bad delta, or an id
 * already used by a delta with other content: rf_last_error names the field
 * or the id; nothing is added), RF_ENOMEM. */
RF_API int rf_hv_add_json(rf_hv *hv, const char *json, size_t len);

/* Commits the open batch (possibly empty) as the next time and hands it to
 * the workers; *t (may be NULL) receives that time. Does not wait. */
RF_API int rf_hv_commit(rf_hv *hv, rf_time *t);
/* Waits until every committed time is visible to reads (RF_TIME_LATEST
 * then reads it). Returns 0 or the dataflow's error. */
RF_API int rf_hv_sync(rf_hv *hv);
/* The latest time visible to reads (0 before any commit is processed). */
RF_API rf_time rf_hv_time(rf_hv *hv);
/* Keeps every time >= t readable until moved forward (see rf_view_retain_from). */
RF_API int rf_hv_retain_from(rf_hv *hv, rf_time t);

/* The HyperView (resolve = 0) or View (resolve = 1) of `object` under
 * `schema` at time t, as JSON (docs/hyperviews.md), into *json (free with
 * rf_hv_free). An object with no live selected delta gives {"id": object}.
 * RF_ENOTFOUND if the schema does not exist at t; RF_EPENDING /
 * RF_ECOMPACTED as rf_view_lookup. */
RF_API int rf_hv_get(rf_hv *hv, const char *schema, const char *object, rf_time t,
                     int resolve, char **json);
RF_API void rf_hv_free(char *s);

/* Visits the objects of `schema` at time t in byte order of their ids. fn
 * returns 0 to go on, non-zero to stop (returned). RF_ENOTFOUND if the
 * schema does not exist at t. */
typedef int (*rf_hv_name_fn)(void *ctx, const char *name);
RF_API int rf_hv_objects(rf_hv *hv, const char *schema, rf_time t, rf_hv_name_fn fn,
                         void *ctx);
/* Visits the schema names that exist at time t, in byte order. */
RF_API int rf_hv_schemas(rf_hv *hv, rf_time t, rf_hv_name_fn fn, void *ctx);

/* Turns a schema definition (JSON: one schema object or an array of them,
 * docs/hyperviews.md) into the deltas that define it, given the schemas
 * live at the latest visible time: new rules, and negations of the rules
 * they replace. Each delta is passed to emit as JSON text (the caller adds
 * it with rf_hv_add_json and/or appends it to a store); timestamp is the
 * deltas' timestamp (> 0). Nothing is emitted if the definition is invalid
 * (RF_EINVAL naming the field) or would close a cycle of transforms
 * (RF_EINVAL naming the cycle). */
typedef int (*rf_hv_emit_fn)(void *ctx, const char *json, size_t len);
RF_API int rf_hv_schema_deltas(rf_hv *hv, const char *json, size_t len,
                               int64_t timestamp, rf_hv_emit_fn emit, void *ctx);

/* ---- change streams --------------------------------------------------- */

typedef struct rf_hv_sub rf_hv_sub;

/* One change of a materialized HyperView of the subscribed schema: delta
 * `delta` entered (diff +1) or left (-1) property `property` of the
 * HyperView of `via` under `schema`, which is (or, nested, is embedded in)
 * the HyperView of `object`. Strings valid until the next call on the
 * subscription. */
typedef struct rf_hv_change {
  rf_time time;
  const char *object, *schema, *via, *property, *delta;
  rf_diff diff;
  uint64_t lost; /* RF_HV_LAGGED: changes dropped */
} rf_hv_change;

/* rf_hv_sub_next's "you fell behind" result. */
#define RF_HV_LAGGED 2

/* Subscribes to the changes of schema's HyperViews from the next time on,
 * keeping at most `capacity` (0: 65536) changes not yet read. */
RF_API int rf_hv_subscribe(rf_hv *hv, const char *schema, size_t capacity,
                           rf_hv_sub **out);
/* The next change, in time order (every change of a time before any of a
 * later one), waiting up to timeout_ms (0: not at all, -1: forever) for a
 * time to complete. Returns 1 and *c, 0 if none came in time, RF_HV_LAGGED
 * with c->lost (the subscriber fell more than `capacity` behind: those
 * changes were dropped, and c->time is the first time whose changes will
 * all be delivered), or the dataflow's error. */
RF_API int rf_hv_sub_next(rf_hv_sub *s, rf_hv_change *c, int timeout_ms);
RF_API void rf_hv_unsubscribe(rf_hv_sub *s);

#endif
