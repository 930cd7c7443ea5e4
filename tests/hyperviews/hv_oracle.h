/*
 * hv_oracle.h: the tests' from-scratch evaluator of docs/hyperviews.md.
 *
 * An hvo holds the deltas given to it, in arrival order, with the same
 * acceptance rules as the engine (an invalid delta or an id reused with
 * other content is rejected, the same delta again is a duplicate). Every
 * read evaluates the definitions of docs/hyperviews.md over the whole set
 * of accepted deltas: canonical order, liveness over negation chains,
 * target-context selection, the schema rules read from live deltas with
 * latest-wins, expansion through transforms with the cycle guard, every
 * resolution policy. Nothing is maintained incrementally; the only thing
 * kept between reads is a cache of the last evaluation, thrown away when a
 * delta is added.
 *
 * It shares no code with the engine (hyperviews/). It uses jansson for JSON and the
 * store's canonicalizer (store/delta.h) to validate a delta and to get the
 * form it is "shown as stored".
 *
 * Every json_t returned is a new reference (json_decref it).
 */
#ifndef RF_TESTS_HV_ORACLE_H
#define RF_TESTS_HV_ORACLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hvo hvo;

/* hvo_add's results. */
#define HVO_ADDED 0
#define HVO_DUPLICATE 1
#define HVO_REJECTED (-1)

hvo *hvo_create(void);
void hvo_destroy(hvo *o);

/* Adds one delta given as JSON text (len bytes). Returns HVO_ADDED,
 * HVO_DUPLICATE (same id, same canonical content: nothing changes) or
 * HVO_REJECTED (invalid, a negation of an unknown form, or an id already
 * used with other content; err, if given, receives why). */
int hvo_add(hvo *o, const char *json, size_t len, char *err, size_t err_cap);

/* Accepted deltas, in arrival order (canonical JSON text). */
size_t hvo_n_deltas(const hvo *o);
const char *hvo_delta_text(const hvo *o, size_t i);

/* HyperView (resolve 0) or View (resolve 1) of object under schema, or
 * NULL if the schema does not exist. */
json_t *hvo_get(hvo *o, const char *schema, const char *object, int resolve);
/* The existing schemas, an array of names in byte order. */
json_t *hvo_schemas(hvo *o);
/* 1 if the schema exists. */
int hvo_schema_exists(hvo *o, const char *schema);
/* The objects of a schema (byte order), or NULL if it does not exist. */
json_t *hvo_objects(hvo *o, const char *schema);
/* Every name the tests should read: the ids of every reference target of
 * an accepted delta (negation targets excepted), sorted. */
json_t *hvo_known_objects(hvo *o);
/* Every schema name mentioned by a rule-shaped delta (live or not), sorted. */
json_t *hvo_known_schemas(hvo *o);

/* The flattened content of every materialized HyperView of schema (docs
 * "Change streams"): a sorted array (byte order of the joined strings) of
 * distinct [object, schema, via, property, delta] arrays. Empty when the
 * schema does not exist. */
json_t *hvo_content(hvo *o, const char *schema);

/* The live state of schema `name` in the definition form of the docs:
 * {"name", "selection": "target-context", "transform": {R: S2},
 * "resolve": {P: {"policy": POL[, "authors": [...]]}}}, or NULL if it does
 * not exist. */
json_t *hvo_schema_state(hvo *o, const char *name);

/* What `schema add` of the definition (JSON text: one schema or an array)
 * at timestamp ts must append, given the live state now. Returns 0 and
 * *out = {"rules": [the new rule deltas, exactly], "must_negate": [ids of
 * live rules that must be negated], "may_negate": [ids that may also be
 * negated: shadowed live rules of a replaced key], "deltas": [rules and
 * one negation of each must_negate id, with ids of the oracle's choosing]},
 * or -1 with err (invalid definition, or a cycle of transforms). */
int hvo_schema_deltas(hvo *o, const char *json, size_t len, int64_t ts, json_t **out, char *err,
                      size_t err_cap);

/* Normalizes a schema definition (one object) to the form of
 * hvo_schema_state (resolve values as {"policy"[, "authors"]}), or NULL if
 * it is not a valid definition. */
json_t *hvo_normalize_def(const json_t *def);

/* Compares two names as bytes (memcmp, shorter first on a common prefix). */
int hvo_bytes_cmp(const char *a, size_t an, const char *b, size_t bn);

#endif
