/*
 * hv_gen.h: random delta streams for the HyperView oracle tests. A 64-bit
 * seed gives a stream (the same seed always the same stream): schema rule
 * deltas over a few nested schemas (transforms up to three levels deep,
 * resolve rules with every policy), data deltas over few objects and
 * properties (so they collide) with primitive values and references,
 * conflicts (several authors, equal timestamps), negations and chains of
 * them up to depth 4, negations that arrive before their targets or point
 * backward in canonical order, schema changes mid-stream (a transform
 * re-pointed with a negation of the old rule, rules negated and restored,
 * a policy replaced), exact duplicates, reused ids with other content,
 * invalid deltas, out-of-order arrival; in some streams, schema
 * definitions to be turned into deltas by rf_hv_schema_deltas (one of them
 * closing a cycle, which must be rejected). The arrival order is cut into
 * batches of random sizes.
 */
#ifndef RF_TESTS_HV_GEN_H
#define RF_TESTS_HV_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum hvg_kind {
  HVG_DELTA,  /* text: one delta (JSON) to add */
  HVG_SCHEMA, /* text: a schema definition for rf_hv_schema_deltas at timestamp ts;
                 always the first item of its batch */
} hvg_kind;

typedef struct hvg_item {
  hvg_kind kind;
  char *text;
  int64_t ts; /* HVG_SCHEMA */
} hvg_item;

typedef struct hvg_stream {
  uint64_t seed;
  hvg_item *items;
  size_t n_items, cap_items;
  size_t *batch_end; /* batch b holds items [b ? batch_end[b-1] : 0, batch_end[b]) */
  size_t n_batches;
  char **names; /* every schema and object name of the stream (to read) */
  size_t n_names;
  char *subs[2]; /* schemas to subscribe to before the first batch */
  size_t n_subs;
  char features[256]; /* what the stream exercises, for reports */
} hvg_stream;

/* What the generator leaves out (all false by default): a way to go on
 * testing the rest while a known mismatch is being fixed. A seed gives
 * another stream under other options. */
typedef struct hvg_options {
  bool no_consensus; /* no resolve rule with the consensus policy */
  bool no_raw_cycle; /* no stream closing a schema cycle with raw rule deltas */
} hvg_options;

/* Reads RF_HV_AVOID (a comma-separated list: consensus, raw-cycle). */
void hvg_options_from_env(hvg_options *opt);

/* Draws the stream of `seed` into *s (free with hvg_free). opt may be NULL. */
void hvg_generate(uint64_t seed, const hvg_options *opt, hvg_stream *s);
void hvg_free(hvg_stream *s);

/* Writes the stream as JSON Lines: a header {"seed", "subscribe",
 * "names", "features"}, then one line per item {"batch": b, "delta": ...}
 * or {"batch": b, "schema": ..., "ts": N}, and {"batch": b} for an empty
 * batch. hvg_load reads it back (so a stream can be edited by hand and
 * replayed); false on a malformed file. */
void hvg_dump(FILE *f, const hvg_stream *s);
bool hvg_load(FILE *f, hvg_stream *s);

/* Builds a stream by hand: hvg_push adds an item to the current batch,
 * hvg_cut closes it. */
void hvg_init(hvg_stream *s);
void hvg_push(hvg_stream *s, hvg_kind kind, const char *text, int64_t ts);
void hvg_cut(hvg_stream *s);
void hvg_add_name(hvg_stream *s, const char *name);

/* splitmix64: the generator's random numbers. */
uint64_t hvg_rand(uint64_t *state);

#endif
