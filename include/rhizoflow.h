/*
 * rhizoflow.h: the one public header of rhizoflow, an incremental
 * differential-dataflow runtime. Anything not declared here is not API.
 *
 * A program builds a dataflow graph (inputs, map, join, reduce, iterate, ...)
 * over collections of (record, time, diff) updates, starts it, feeds inputs
 * and advances their time, and reads results through inspect callbacks,
 * probes (has every update at time t been produced?) and live views
 * (arrangements that can be looked up by key).
 *
 * Conventions
 *   - Functions that can fail return an int: 0 on success, a negative RF_E*
 *     code otherwise; rf_strerror() names the code and rf_last_error() gives
 *     a message for the most recent failure on the calling thread, naming
 *     what was wrong.
 *   - Graph building is "sticky": a builder function returns NULL on error,
 *     records the first error in the graph, and passing NULL to a builder
 *     returns NULL again. rf_graph_start() returns that first error, so a
 *     program may build the whole graph and check once.
 *   - rf_coll, rf_arr, rf_scope, rf_var, rf_input, rf_probe and rf_view
 *     handles are owned by their graph and freed by rf_graph_destroy().
 *   - Values are 64-bit words in an order-preserving encoding; use the
 *     rf_from_* / rf_to_* helpers below to convert. u64 values are unchanged.
 *
 * Threads: with one worker (rf_config.workers 0 or 1) the dataflow runs
 * on the thread that calls rf_graph_step(), rf_probe_wait() or
 * rf_graph_run(). With W > 1 workers, rf_graph_start() starts W worker
 * threads that run it on their own, each over its shard of the keys, and
 * park (no CPU) when there is nothing to do; rf_graph_step/run and
 * rf_probe_wait then wait for them. Either way:
 *   - build (and start, destroy) the graph from one thread;
 *   - each input handle is used from one thread at a time (any thread but
 *     a worker); its staged updates go to the workers when its time
 *     advances, when it is flushed or closed, when 64k are staged, or when
 *     the thread that fed it waits (rf_graph_step, rf_graph_run,
 *     rf_probe_wait);
 *   - live views (rf_view_lookup, rf_view_scan, rf_view_frontier,
 *     rf_view_retain_from) may be used from any thread at any time: they
 *     never block the workers; with several workers so may rf_probe_done
 *     and rf_graph_stats (with one, they belong to the driving thread);
 *   - user callbacks (map, filter, inspect, join and reduce functions) may
 *     run on several worker threads at once: they must be thread-safe.
 * An error in any worker stops the dataflow; every call that waits on it
 * returns the error.
 */
#ifndef RHIZOFLOW_H
#define RHIZOFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RF_BUILDING_LIBRARY)
#define RF_API __attribute__((visibility("default")))
#else
#define RF_API
#endif

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* X(name, message): one list gives the enum, rf_strerror and rf_err_name. */
#define RF_ERRNO_MAP(X)                                                        \
  X(ENOMEM, -1, "out of memory")                                               \
  X(EINVAL, -2, "invalid argument")                                            \
  X(EARITY, -3, "record has the wrong number of columns")                      \
  X(ETIME, -4, "time is not in advance of the current time")                   \
  X(ECLOSED, -5, "handle is closed")                                           \
  X(ESTATE, -6, "not allowed in the graph's current state")                    \
  X(ESCOPE, -7, "collections belong to different scopes")                      \
  X(ECALLBACK, -8, "a user callback reported an error")                        \
  X(ESTALL, -9, "no progress is possible: an input holds the frontier back")   \
  X(EPENDING, -10, "time is not yet complete")                                 \
  X(ECOMPACTED, -11, "time has been compacted away")                           \
  X(ERANGE, -12, "value out of range")                                         \
  X(ECORRUPT, -13, "corrupt data")                                             \
  X(EIO, -14, "input/output error")                                            \
  X(ENOTFOUND, -15, "not found")                                               \
  X(EVERSION, -16, "data of a newer format version than this build reads")

typedef enum rf_errno {
  RF_OK = 0,
#define RF__ERR_ENUM(name, code, msg) RF_##name = code,
  RF_ERRNO_MAP(RF__ERR_ENUM)
#undef RF__ERR_ENUM
} rf_errno;

/* A static description of an error code ("out of memory"). */
RF_API const char *rf_strerror(int err);
/* The code's name ("RF_ENOMEM"). */
RF_API const char *rf_err_name(int err);
/* A message for the last error on this thread, naming what was wrong and
 * where ("rf_input_insert: input 'edges' takes 2 columns, got 3"). Valid until
 * the next rhizoflow call on this thread. Never NULL. */
RF_API const char *rf_last_error(void);

/* ------------------------------------------------------------------ */
/* Values, records, times                                              */
/* ------------------------------------------------------------------ */

typedef uint64_t rf_value; /* one column, order-preserving encoding */
typedef int64_t rf_diff;   /* a multiplicity */
typedef uint64_t rf_time;  /* a top-level time (an epoch) */

#define RF_MAX_COLS 32     /* most columns in a record */
#define RF_MAX_NESTING 4   /* most nested iterate scopes */
#define RF_TIME_LATEST UINT64_MAX /* "the latest complete time" for reads */

/* Order-preserving encodings: comparing encoded words as unsigned integers
 * orders the decoded values. */
static inline rf_value rf_from_u64(uint64_t x) { return x; }
static inline uint64_t rf_to_u64(rf_value v) { return v; }
static inline rf_value rf_from_i64(int64_t x) {
  return (uint64_t)x ^ (UINT64_C(1) << 63);
}
static inline int64_t rf_to_i64(rf_value v) {
  return (int64_t)(v ^ (UINT64_C(1) << 63));
}
static inline rf_value rf_from_bool(bool b) { return b ? 1 : 0; }
static inline bool rf_to_bool(rf_value v) { return v != 0; }
/* f64: negatives bit-inverted, non-negatives with the sign bit set.
 * NaN has no place in the order: rf_from_f64 returns RF_ERANGE for it. */
static inline int rf_from_f64(double d, rf_value *out) {
  uint64_t u;
  if (d != d) return RF_ERANGE;
  if (d == 0.0) d = 0.0; /* -0.0 and 0.0 encode alike */
  memcpy(&u, &d, sizeof u);
  *out = (u >> 63) ? ~u : (u | (UINT64_C(1) << 63));
  return 0;
}
static inline double rf_to_f64(rf_value v) {
  uint64_t u = (v >> 63) ? (v & ~(UINT64_C(1) << 63)) : ~v;
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* ------------------------------------------------------------------ */
/* Graphs                                                              */
/* ------------------------------------------------------------------ */

typedef struct rf_graph rf_graph; /* a dataflow: built, started, run */
typedef struct rf_coll rf_coll;   /* a collection: a stream of updates */
typedef struct rf_arr rf_arr;     /* an arrangement: a collection indexed by key */
typedef struct rf_scope rf_scope; /* a nested iterate scope */
typedef struct rf_var rf_var;     /* a loop variable of a scope */
typedef struct rf_input rf_input; /* a handle to feed an input collection */
typedef struct rf_probe rf_probe; /* observes a collection's frontier */
typedef struct rf_view rf_view;   /* a captured, readable arrangement */

typedef struct rf_config {
  uint32_t workers; /* worker threads, 1 to 64; 0 or 1: one, on the calling
                       thread (see Threads above) */
} rf_config;

/* Creates an empty graph. cfg may be NULL for defaults. */
RF_API int rf_graph_create(const rf_config *cfg, rf_graph **out);
/* Frees the graph and every handle it owns. Accepts NULL. */
RF_API void rf_graph_destroy(rf_graph *g);
/* The first error recorded while building (0 if none). */
RF_API int rf_graph_error(const rf_graph *g);
/* Ends building: checks the graph (every loop variable set, ...) and
 * prepares it to run. Returns the first building error if there was one. */
RF_API int rf_graph_start(rf_graph *g);
/* Runs every operator that has work once. Returns 1 if any work was done,
 * 0 if none was possible, or a negative error (a callback failed, memory
 * ran out). After an error the graph stays failed: every later call
 * returns the same error. With several workers: waits until the workers
 * have processed everything submitted so far and found no more work, and
 * returns 0 (or the error). */
RF_API int rf_graph_step(rf_graph *g);
/* Steps until no work remains. With every input closed this computes
 * everything; with open inputs it computes everything their times allow.
 * With several workers: waits for them, as rf_graph_step. */
RF_API int rf_graph_run(rf_graph *g);
/* Runs the graph as rf_graph_run, then merges each arrangement's batches
 * into one per worker, its times advanced as far as its readers allow. The
 * engine merges batches as updates arrive, a little at a time, so after a
 * bulk load an arrangement holds a dozen batches of very different sizes
 * for many rounds, and every join or reduce lookup searches each of them.
 * Compacting costs about twice the arranged updates in merge work, once
 * (with several workers each merges its own share, in parallel); the rounds
 * after it are faster at once. Nothing is computed and no result changes.
 * Call it from the thread that drives the graph, after a bulk load. */
RF_API int rf_graph_compact(rf_graph *g);

/* ------------------------------------------------------------------ */
/* Inputs                                                              */
/* ------------------------------------------------------------------ */

/* A new input collection of `arity` columns at the top scope. Its handle
 * starts at time 0. */
RF_API rf_coll *rf_input_new(rf_graph *g, const char *name, uint32_t arity,
                             rf_input **handle);
/* Adds `diff` copies of a record (negative removes) at the handle's current
 * time. The record is copied. */
RF_API int rf_input_update(rf_input *in, const rf_value *rec, uint32_t arity,
                           rf_diff diff);
RF_API int rf_input_insert(rf_input *in, const rf_value *rec, uint32_t arity);
RF_API int rf_input_remove(rf_input *in, const rf_value *rec, uint32_t arity);
/* Moves the handle's time forward to t (t >= current, else RF_ETIME): every
 * update given so far is sent at its time, and times before t are closed. */
RF_API int rf_input_advance_to(rf_input *in, rf_time t);
/* Sends the updates given so far without advancing time. */
RF_API int rf_input_flush(rf_input *in);
/* Buffered (off by default): with several workers, rf_input_advance_to no
 * longer sends by itself. The updates and the times they close go out
 * together at rf_input_flush, at rf_input_close, when 65,536 updates are
 * staged, or when the thread feeding the handle waits (rf_graph_run,
 * rf_graph_step, rf_probe_wait), as differential dataflow's input sessions
 * do. A feeder that advances after every change then hands the workers a
 * round at a time, not one change at a time while they are already
 * computing. Until then no other thread sees those times close: a thread
 * that waits for them while the feeder neither flushes nor waits, waits.
 * With one worker every input already works this way (updates go out when
 * a step runs). Set it from the feeding thread. */
RF_API int rf_input_set_buffered(rf_input *in, bool buffered);
/* Sends what is left and closes the input: no more updates at any time. */
RF_API int rf_input_close(rf_input *in);
RF_API rf_time rf_input_time(const rf_input *in);

/* ------------------------------------------------------------------ */
/* Per-record operators                                                */
/* ------------------------------------------------------------------ */

/* Callbacks return 0 (or, for filters, 1 keep / 0 drop); a negative value
 * stops the dataflow with RF_ECALLBACK. */
typedef int (*rf_map_fn)(void *ctx, const rf_value *in, rf_value *out);
typedef int (*rf_filter_fn)(void *ctx, const rf_value *rec);
typedef struct rf_emitter rf_emitter;
typedef int (*rf_flat_map_fn)(void *ctx, const rf_value *in, rf_emitter *out);
/* Emits one record (of the flat_map's out_arity columns) from a flat_map. */
RF_API int rf_emit(rf_emitter *e, const rf_value *rec);

RF_API rf_coll *rf_map(rf_coll *in, uint32_t out_arity, rf_map_fn fn, void *ctx);
RF_API rf_coll *rf_filter(rf_coll *in, rf_filter_fn fn, void *ctx);
RF_API rf_coll *rf_flat_map(rf_coll *in, uint32_t out_arity, rf_flat_map_fn fn,
                            void *ctx);
/* Keeps the listed columns, in the listed order (a common map); a column may
 * be listed more than once. */
RF_API rf_coll *rf_project(rf_coll *in, uint32_t n_cols, const uint32_t *cols);
RF_API rf_coll *rf_concat(rf_coll *a, rf_coll *b);
RF_API rf_coll *rf_concat_n(rf_coll *const *colls, size_t n);
RF_API rf_coll *rf_negate(rf_coll *in);
/* Sums the diffs of equal (record, time) pairs once their time is complete
 * and drops zeros. */
RF_API rf_coll *rf_consolidate(rf_coll *in);
RF_API uint32_t rf_coll_arity(const rf_coll *c);

/* ------------------------------------------------------------------ */
/* Arrangements, join, reduce                                          */
/* ------------------------------------------------------------------ */

/* Indexes a collection by its first key_arity columns (1..arity). The
 * arrangement is shared: every join, reduce and view that reads it reads the
 * same batches. */
RF_API rf_arr *rf_arrange(rf_coll *in, uint32_t key_arity);
/* The arranged updates as a collection again. */
RF_API rf_coll *rf_arr_collection(rf_arr *a);
RF_API uint32_t rf_arr_key_arity(const rf_arr *a);
RF_API uint32_t rf_arr_val_arity(const rf_arr *a);

/* For equal keys: records (key, a's value, b's value) at the join of the two
 * times with diff da*db. Both must have the same key arity. */
RF_API rf_coll *rf_join(rf_arr *a, rf_arr *b);
/* Same, but each match goes through fn, which writes out_arity columns to
 * out and returns 1 to emit, 0 to skip, or a negative error. */
typedef int (*rf_join_fn)(void *ctx, const rf_value *key, const rf_value *va,
                          const rf_value *vb, rf_value *out);
RF_API rf_coll *rf_join_map(rf_arr *a, rf_arr *b, uint32_t out_arity,
                            rf_join_fn fn, void *ctx);
/* Records of c whose first key_arity columns are (semijoin) / are not
 * (antijoin) present in keys, a collection of key_arity-column records.
 * Presence means a positive count; keys may hold duplicates. */
RF_API rf_coll *rf_semijoin(rf_coll *c, rf_coll *keys);
RF_API rf_coll *rf_antijoin(rf_coll *c, rf_coll *keys);

/* A general reducer: for one key, the accumulated input values (n >= 1 of
 * them, each val_arity columns, sorted, with their non-zero counts) in;
 * output values (out_val_arity columns each) with counts out via
 * rf_reduce_push (pushing a value twice adds the counts). It is never called
 * for a key with no values. The runtime emits only the differences of the
 * output over time. The function must be deterministic: it is called again
 * for the same input whenever the runtime needs the output at a time. */
typedef struct rf_reduce_out rf_reduce_out;
typedef int (*rf_reduce_fn)(void *ctx, const rf_value *key, const rf_value *vals,
                            const rf_diff *counts, size_t n, rf_reduce_out *out);
RF_API int rf_reduce_push(rf_reduce_out *out, const rf_value *val, rf_diff count);
RF_API rf_arr *rf_reduce(rf_arr *in, uint32_t out_val_arity, rf_reduce_fn fn,
                         void *ctx);
/* Built-in reducers, each arranged by the input's key. Each emits one value
 * for every key that has at least one value with a non-zero count.
 * count:  (key, sum of the counts)            i64 encoding (0 if they cancel)
 * sum:    (key, sum of value * count)         the one value column as i64;
 *                                             overflow stops the dataflow
 *                                             with RF_ERANGE
 * min/max:(key, least / greatest value)       values compared as encoded words
 * distinct: (record) once if its count is positive; keyed by every column
 * threshold: (key, val) with count fn(count) for each value; fn is only
 *            called with non-zero counts and returns the new count */
RF_API rf_arr *rf_count(rf_arr *in);
RF_API rf_arr *rf_sum(rf_arr *in);
RF_API rf_arr *rf_min(rf_arr *in);
RF_API rf_arr *rf_max(rf_arr *in);
RF_API rf_arr *rf_distinct(rf_coll *in);
typedef rf_diff (*rf_threshold_fn)(void *ctx, rf_diff count);
RF_API rf_arr *rf_threshold(rf_arr *in, rf_threshold_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Iteration                                                           */
/* ------------------------------------------------------------------ */

/* A nested scope whose times are (outer time..., iteration). parent NULL is
 * the top scope. At most RF_MAX_NESTING levels. */
RF_API rf_scope *rf_scope_new(rf_graph *g, rf_scope *parent);
/* Brings a collection or arrangement of the scope's parent (exactly the
 * parent: enter twice to go two levels down) into the scope at iteration 0.
 * An entered arrangement is shared, not copied. */
RF_API rf_coll *rf_enter(rf_scope *s, rf_coll *outer);
RF_API rf_arr *rf_arr_enter(rf_scope *s, rf_arr *outer);
/* A loop variable: starts as `initial` (a collection of scope s) and takes,
 * at each iteration, the value rf_var_set gave it at the previous one. */
RF_API rf_var *rf_var_new(rf_scope *s, rf_coll *initial);
RF_API rf_coll *rf_var_coll(rf_var *v);
RF_API int rf_var_set(rf_var *v, rf_coll *next);
/* The collection's updates in the parent scope: summed over iterations they
 * give the limit of the iteration. The updates are not consolidated: an
 * addition at one iteration and its retraction at a later one both leave,
 * at the same outer time. Accumulated counts are right; rf_consolidate the
 * result before rf_inspect to see only net changes. */
RF_API rf_coll *rf_leave(rf_coll *inner);

/* The common case in one call: a scope, a variable starting as `initial`
 * (entered), the body's result fed back, and the body's result left (at the
 * fixed point it equals the variable). */
typedef rf_coll *(*rf_iterate_fn)(void *ctx, rf_scope *s, rf_coll *var);
RF_API rf_coll *rf_iterate(rf_coll *initial, rf_iterate_fn body, void *ctx);

/* ------------------------------------------------------------------ */
/* Observing output                                                    */
/* ------------------------------------------------------------------ */

/* Calls fn on every update that passes (in arrival order), then passes the
 * collection on unchanged. time has time_dim words (1 at the top scope). */
typedef void (*rf_inspect_fn)(void *ctx, const rf_value *rec, uint32_t arity,
                              const uint64_t *time, uint32_t time_dim,
                              rf_diff diff);
RF_API rf_coll *rf_inspect(rf_coll *in, rf_inspect_fn fn, void *ctx);

/* A probe on a top-scope collection. */
RF_API rf_probe *rf_probe_new(rf_coll *in);
/* True when the collection's frontier has passed t: every update at a time
 * <= t has been produced. */
RF_API bool rf_probe_done(const rf_probe *p, rf_time t);
/* Runs the dataflow until rf_probe_done(p, t). RF_ESTALL if it cannot get
 * there because an input has not been advanced past t. With several
 * workers: waits for them; while an input that holds t back was last fed
 * by another thread, it waits for that thread instead of reporting a
 * stall. An input nobody has fed yet counts as the caller's: a thread that
 * waits for another to feed should wait until that one has started
 * (examples/threads.c). */
RF_API int rf_probe_wait(rf_probe *p, rf_time t);

/* A live view of a top-scope arrangement. By default the view keeps only
 * the latest complete state (history is compacted as time advances). A
 * time is readable once the view's own frontier has passed it
 * (rf_view_frontier); waiting on a probe of another collection does not
 * imply that. */
RF_API rf_view *rf_view_new(rf_arr *a);
/* Keeps every time >= t readable (time travel) until moved forward again;
 * times before t become compactable, and are compacted as the dataflow runs.
 * RF_ECOMPACTED if times before t are already gone. Any thread. */
RF_API int rf_view_retain_from(rf_view *v, rf_time t);
/* Visits the values of key at time t with their accumulated counts (only
 * non-zero counts). Views may be read from ANY thread, also while another
 * thread runs the dataflow: reads never block it and see a consistent state
 * (until rf_graph_destroy begins). t must be complete (RF_EPENDING otherwise) and retained
 * (RF_ECOMPACTED otherwise); RF_TIME_LATEST reads the latest complete time.
 * fn returns 0 to go on or non-zero to stop (returned as is). */
typedef int (*rf_view_fn)(void *ctx, const rf_value *key, const rf_value *val,
                          rf_diff count);
RF_API int rf_view_lookup(rf_view *v, const rf_value *key, rf_time t,
                          rf_view_fn fn, void *ctx);
/* Visits every (key, value, count) at time t, in key order. */
RF_API int rf_view_scan(rf_view *v, rf_time t, rf_view_fn fn, void *ctx);
/* The first time not yet complete (every time before it can be read). */
RF_API rf_time rf_view_frontier(const rf_view *v);

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

typedef struct rf_stats {
  uint64_t retained_updates; /* updates held in all arrangements' batches */
  uint64_t retained_batches;
  uint64_t retained_bytes;   /* bytes of those batches' arrays (keys, vals, times,
                                diffs, offsets): retained_bytes / retained_updates
                                is the cost of one retained update */
  uint64_t allocated_bytes;  /* jemalloc: bytes allocated by the process */
  uint64_t resident_bytes;   /* jemalloc: bytes in physically resident pages */
  /* Scheduler activity since the start, summed over the workers (read
   * while workers run, each figure may lag a little behind): */
  uint64_t operator_runs;     /* times an operator was run */
  uint64_t worker_messages;   /* data messages sent from one worker to another */
  uint64_t progress_messages; /* progress messages sent from one worker to another */
  uint64_t idle_waits;        /* times a worker found no work (and, with several
                                 workers, waited for some) */
} rf_stats;
RF_API int rf_graph_stats(rf_graph *g, rf_stats *out);

/* ---- Durable delta store (DESIGN §8) ---- */

/* A store is a directory on local disk that keeps, in arrival order and
 * durably, what entered the system: RhizomeDB deltas (one JSON object
 * each: validated, kept in a canonical JSON form and content-addressed, so
 * the same delta twice is stored once) and plain collection updates (rows
 * of rf_value words with diffs, for a named collection at a time). A
 * program replays it at start to rebuild its views, or up to a position or
 * a timestamp to see the past. docs/store-format.md gives the bytes.
 *
 * Ownership, lifetime and threads:
 *   - rf_store_open returns a handle the caller owns; rf_store_close frees
 *     it. One process at a time may open a store for writing (others get
 *     RF_EIO); any number may open it read-only.
 *   - The handle belongs to the thread that opened it: appends, ingest,
 *     sync, stats, check and close are called from that thread only.
 *   - Readers (rf_store_reader_*, rf_store_replay_updates) may run on any
 *     threads while the owner appends. A reader sees every delta or update
 *     whose append has returned (for ingest: whose batch was committed),
 *     never part of a batch. Close every reader, and let every replay
 *     return, before rf_store_close.
 *   - rf_store_wait_durable may be called from any thread, but not during
 *     rf_store_close.
 *   - The store copies what it is given. What it hands out (a delta's JSON,
 *     a collection name, rows and diffs) is valid until the next call on
 *     the same reader, or until the callback returns.
 *   - The store never calls into a dataflow: replay hands updates to a
 *     callback, which may feed an rf_input.
 * Errors: RF_EINVAL (a bad argument, or a bad delta: rf_last_error names
 * the field), RF_ECORRUPT (a damaged store) and RF_EVERSION (written by a
 * newer rhizoflow), with rf_last_error naming the segment file and byte
 * offset; RF_EIO (a system call failed; after a failed write or sync the
 * handle refuses appends: close and reopen it, which recovers the store);
 * RF_ESTATE (a write to a read-only store); RF_ENOTFOUND (no store at the
 * directory, read-only); RF_ENOMEM. */

#include <stdio.h> /* FILE, for rf_store_ingest_jsonl */

#define RF_STORE_DEFAULT_DIR "./rhizoflow-data"

typedef struct rf_store rf_store;               /* an open store */
typedef struct rf_store_reader rf_store_reader; /* replays its deltas */

/* When an append is acknowledged (returns 0): */
typedef enum rf_store_durability {
  RF_STORE_FSYNC = 0, /* on disk (fdatasync) before it returns: survives a power loss */
  RF_STORE_GROUP = 1, /* one fdatasync per group of group_n appends, or group_ms
                         after the group's first append (a background thread
                         of the store makes it so even if no append follows) */
  RF_STORE_NONE = 2,  /* handed to the kernel: survives a crash of the
                         process, not of the machine */
} rf_store_durability;

typedef struct rf_store_options {
  const char *dir;       /* the directory (NULL: RF_STORE_DEFAULT_DIR), created
                            unless read_only; copied */
  rf_store_durability durability;
  uint32_t group_n;      /* group commit: appends per group (0: 64) */
  uint32_t group_ms;     /* group commit: milliseconds (0: 10) */
  uint64_t segment_size; /* bytes per segment file before the next (0: 64 MiB) */
  bool read_only;        /* verify and read only: nothing created, repaired
                            or locked */
} rf_store_options;

/* fsync, the default directory, 64 appends or 10 ms, 64 MiB, read-write. */
RF_API rf_store_options rf_store_options_default(void);

/* Opens (creating if needed) the store, verifying every checksum. A torn
 * tail or an unfinished batch left by a crash is cut off and reported by
 * rf_store_recovery_note (read-only: left alone, and reads stop before
 * it). opts NULL: the defaults. Writes *out only on success. */
RF_API int rf_store_open(const rf_store_options *opts, rf_store **out);
/* Syncs (unless durability none) and frees the handle. Accepts NULL.
 * 0, or RF_EIO if a write or sync failed (the handle is freed anyway). */
RF_API int rf_store_close(rf_store *st);
/* What the open repaired (or, read-only, would repair), e.g.
 * "00000003.seg: torn tail at offset 4096 (incomplete record): truncated,
 * dropped 17 bytes"; NULL if nothing. Valid until rf_store_close. */
RF_API const char *rf_store_recovery_note(const rf_store *st);

/* A place in the log: segment number and byte offset. Positions compare
 * like the log (segment first). {0, 0} is before every record. */
typedef struct rf_store_pos {
  uint64_t segment;
  uint64_t offset;
} rf_store_pos;

/* rf_store_append_delta_json: the delta was stored already. */
#define RF_STORE_DUPLICATE 2

/* Validates one delta (len bytes of JSON: {id, timestamp, author, system,
 * pointers: [{role, target}]}) and appends it unless stored. Returns 0
 * (appended and acknowledged), 1 (appended; under group commit not yet
 * acknowledged: see rf_store_wait_durable), RF_STORE_DUPLICATE (stored
 * already: nothing written), RF_EINVAL (a bad delta: rf_last_error names
 * the field; nothing written), or another error. *pos (may be NULL)
 * receives the record's position when 0 or 1 is returned. */
RF_API int rf_store_append_delta_json(rf_store *st, const char *json, size_t len,
                                      rf_store_pos *pos);

/* Makes every append so far durable now. 0 or RF_EIO. */
RF_API int rf_store_sync(rf_store *st);
/* Blocks until the record at pos (returned by an append) is acknowledged;
 * under group commit that takes about group_ms. Any thread. 0, RF_EIO (a
 * write or sync failed: it never will be), RF_EINVAL (nothing appended at
 * or after pos). */
RF_API int rf_store_wait_durable(rf_store *st, rf_store_pos pos);

typedef struct rf_store_ingest_report {
  uint64_t lines;            /* lines read (blank lines included) */
  uint64_t accepted;         /* new deltas appended */
  uint64_t duplicates;       /* deltas stored already (or earlier in the input) */
  uint64_t rejected_lines;   /* bad lines */
  uint64_t batches;          /* batches appended */
  uint64_t rejected_batches; /* batches not appended: they held a bad line */
} rf_store_ingest_report;

typedef struct rf_store_ingest_options {
  size_t batch_lines;      /* lines per batch (0: 10,000) */
  size_t max_line;         /* longest line in bytes (0: 1 MiB); longer is bad */
  uint64_t progress_every; /* call progress every this many lines (0: never) */
  void (*progress)(void *ctx, const rf_store_ingest_report *so_far);
  /* each bad line: its number and what is wrong ("field 'pointers[0].role':
   * missing", "invalid JSON at column 7: ...") */
  void (*on_reject)(void *ctx, uint64_t line, const char *message);
  /* each rejected batch: nothing of lines first..last was appended */
  void (*on_batch_rejected)(void *ctx, uint64_t first, uint64_t last, uint64_t bad_lines);
  void *ctx; /* passed to the callbacks (called on this thread) */
} rf_store_ingest_options;

/* Appends the deltas of `in` (JSON Lines, one delta a line, blank lines
 * skipped) in batches of batch_lines lines. Each batch is validated in
 * full, then appended as a whole: a crash leaves it wholly stored or not
 * at all. A bad line rejects its own batch only; the other batches are
 * appended. Memory stays within one batch however long the input. Every
 * accepted delta is acknowledged when this returns 0 or RF_EINVAL.
 * Returns 0 (every line good), RF_EINVAL (some batches rejected;
 * rf_last_error sums it up, naming the first bad line and field), or an
 * error that stopped ingestion (earlier batches stay stored, the one in
 * progress does not). opts may be NULL; *report (may be NULL) is always
 * filled. */
RF_API int rf_store_ingest_jsonl(rf_store *st, FILE *in, const rf_store_ingest_options *opts,
                                 rf_store_ingest_report *report);

/* What to replay. Zeroed: everything, from the beginning. */
typedef struct rf_store_read_options {
  rf_store_pos from;       /* start here ({0, 0}: the beginning); a position
                              from a record or rf_store_reader_position */
  rf_store_pos until;      /* stop before this position ({0, 0}: no bound):
                              the log as it was when that record came */
  int64_t until_timestamp; /* deltas: only those with timestamp <= this
                              (0: all); the log is in arrival order, so the
                              rest are skipped, not a stopping point */
  bool bound_time;         /* updates: only those at time <= until_time */
  rf_time until_time;
} rf_store_read_options;

typedef struct rf_store_delta {
  const char *json; /* canonical JSON, NUL-terminated (len bytes) */
  size_t len;
  int64_t timestamp;
  rf_store_pos pos;
} rf_store_delta;

/* A reader of the stored deltas in log order. opts NULL: all of them. */
RF_API int rf_store_reader_open(rf_store *st, const rf_store_read_options *opts,
                                rf_store_reader **out);
/* 1 and *out filled; 0: no more for now (the end of the log or the bound:
 * call again later to tail the log as it grows); or RF_ECORRUPT (naming
 * segment and offset), RF_EIO, RF_ENOMEM. */
RF_API int rf_store_reader_next(rf_store_reader *r, rf_store_delta *out);
/* Where the next read starts (for opening a reader later that continues). */
RF_API rf_store_pos rf_store_reader_position(const rf_store_reader *r);
/* Accepts NULL. */
RF_API void rf_store_reader_close(rf_store_reader *r);

/* Appends n updates to `collection` (a non-empty name, at most 4096 bytes)
 * at `time`: rows holds n * arity words (arity 1..RF_MAX_COLS), diffs n
 * counts. All or nothing across a crash. Returns 0 (acknowledged), 1
 * (group commit: not yet), RF_EINVAL (naming the bad argument), or another
 * error. n == 0 writes nothing. *pos (may be NULL): the position to pass
 * to rf_store_wait_durable. */
RF_API int rf_store_append_updates(rf_store *st, const char *collection, rf_time time,
                                   uint32_t arity, const rf_value *rows, const rf_diff *diffs,
                                   size_t n, rf_store_pos *pos);

/* Called by rf_store_replay_updates for each stored batch of updates, in
 * log order. Return 0 to go on; anything else stops the replay and is
 * returned. A batch split over several records (more than fit in one)
 * comes as several calls. */
typedef int (*rf_store_updates_fn)(void *ctx, const char *collection, rf_time time,
                                   uint32_t arity, const rf_value *rows, const rf_diff *diffs,
                                   size_t n);
/* Replays the stored updates to `collection` (NULL: every collection)
 * within opts (NULL: all) through fn. Returns 0 at the end of the log (or
 * the bound), fn's non-zero value, or an error (RF_ECORRUPT naming segment
 * and offset). *next (may be NULL) receives where to continue: pass it as
 * opts->from to tail the log. Any thread, like a reader. */
RF_API int rf_store_replay_updates(rf_store *st, const rf_store_read_options *opts,
                                   const char *collection, rf_store_updates_fn fn, void *ctx,
                                   rf_store_pos *next);

typedef struct rf_store_stats {
  uint64_t segments;
  uint64_t records;        /* records in the log (batch framing excluded) */
  uint64_t batches;        /* committed batches */
  uint64_t deltas;         /* distinct deltas */
  uint64_t update_records; /* records of collection updates */
  uint64_t bytes;          /* on disk, every segment */
  uint64_t payload_bytes;  /* records' contents, framing excluded */
  uint64_t dropped_bytes;  /* cut off (or, read-only, left) at open */
} rf_store_stats;
RF_API int rf_store_get_stats(rf_store *st, rf_store_stats *out);

/* Reads the whole store back and verifies it: every checksum again, every
 * delta in canonical form and stored once, the symbol table, every update
 * record well formed, no record of an unknown type, and (read-only) no
 * damaged tail left. fn (may be NULL) is called with a message for each
 * problem, naming segment and offset. Returns 0 (no problem), RF_ECORRUPT
 * (problems found: their number in *problems, may be NULL) or an error
 * that stopped the check (RF_EIO, RF_ENOMEM). */
typedef void (*rf_store_problem_fn)(void *ctx, const char *message);
RF_API int rf_store_check(rf_store *st, rf_store_problem_fn fn, void *ctx, uint64_t *problems);

/* ------------------------------------------------------------------ */
/* HyperViews (DESIGN §9)                                              */
/* ------------------------------------------------------------------ */

/* Live materialized HyperViews and Views over a stream of RhizomeDB
 * deltas (docs/hyperviews.md gives the definitions and JSON shapes),
 * maintained by a dataflow on the engine and read from any thread.
 *
 * An rf_hv holds the deltas given to it, the schemas they define (schemas
 * are deltas too), and the dataflow that keeps every schema's HyperViews
 * up to date. Deltas are added in batches: rf_hv_add_json stages a delta,
 * rf_hv_commit makes the staged batch the next time (1, 2, ...; time 0 is
 * empty), and the views reflect a committed time once the workers have
 * processed it (rf_hv_sync waits for that). Reads name a time:
 * RF_TIME_LATEST (the latest time every view has completed) or any visible
 * time still retained (rf_hv_retain_from keeps history readable). To
 * rebuild views after a restart, replay a store (rf_store_reader_*) into
 * rf_hv_add_json, then commit.
 *
 * Threads: rf_hv_create/destroy, rf_hv_add_json, rf_hv_schema_deltas,
 * rf_hv_commit, rf_hv_sync and rf_hv_retain_from belong to one thread (the
 * writer). rf_hv_get, rf_hv_objects, rf_hv_schemas, rf_hv_time and
 * subscriptions may be used from any thread at any time, also while the
 * writer adds and the workers update; they never block the workers. With
 * one worker the dataflow runs in the writer's rf_hv_sync. */

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
/* Writer: keeps every time >= t readable until moved forward (see
 * rf_view_retain_from). */
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

#ifdef __cplusplus
}
#endif
#endif /* RHIZOFLOW_H */
