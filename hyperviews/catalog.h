/*
 * catalog.h: the strings and delta bodies behind the HyperViews dataflow.
 * The dataflow deals in 64-bit symbols; the catalog turns a string into its
 * symbol (interning), a symbol back into its string, and a delta's id
 * symbol into the delta's body (timestamp, author, system, pointers), so
 * that readers can render views and compare deltas in canonical order.
 *
 * Everything here is append-only: a string or delta, once added, stays at
 * the same address until the catalog is freed.
 *
 * Thread contract: one writer (the rf_hv's writer thread) adds strings and
 * deltas (hv_intern, hv_delta_alloc, hv_delta_publish). Any thread may
 * call hv_find, hv_name and hv_delta_of: every entry is filled before it is
 * published with a release store, and read with an acquire load. A reader
 * that learnt of a string or delta through the engine (a view read at a
 * time whose frontier it loaded, an inspect callback: the engine's
 * hand-offs are release/acquire too) finds it complete; one added after
 * that may or may not be found yet.
 */
#ifndef RF_HYPERVIEWS_CATALOG_H
#define RF_HYPERVIEWS_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "store/delta.h"

/* Kinds of a pointer's target. */
enum { HV_REF = 1, HV_STR, HV_INT, HV_REAL, HV_BOOL };

typedef struct hv_ptr {
  uint64_t role; /* symbol */
  uint64_t ctx;  /* HV_REF: context symbol, 0 if none */
  uint64_t a;    /* HV_REF: target id symbol; HV_STR: symbol; HV_INT: the
                    int64 bits; HV_REAL: the double's bits; HV_BOOL: 0/1 */
  uint32_t kind;
} hv_ptr;

typedef struct hv_delta {
  uint64_t id, author, system; /* symbols */
  int64_t ts;
  rf__delta_addr addr; /* content address of the canonical encoding */
  uint32_t n_ptrs;
  hv_ptr ptrs[];
} hv_delta;

typedef struct hv_catalog hv_catalog;

int hv_catalog_new(hv_catalog **out);
void hv_catalog_free(hv_catalog *c);

/* Writer: the symbol of the len bytes at s, interning them if new (ids
 * start at 1). 0 or RF_ENOMEM. */
int hv_intern(hv_catalog *c, const char *s, size_t len, uint64_t *sym);
/* Any thread: 1 and *sym if s is interned, else 0. */
int hv_find(const hv_catalog *c, const char *s, size_t len, uint64_t *sym);
/* Any thread: the NUL-terminated string of sym and its length, or NULL for
 * an id never published. */
const char *hv_name(const hv_catalog *c, uint64_t sym, size_t *len);

/* Writer: a delta body of n pointers, to fill in and then publish with
 * hv_delta_publish (memory from the catalog's arena; never freed alone). */
hv_delta *hv_delta_alloc(hv_catalog *c, uint32_t n_ptrs);
/* Writer: makes d the body of its id symbol. 0 or RF_ENOMEM. */
int hv_delta_publish(hv_catalog *c, hv_delta *d);
/* Any thread: the delta whose id has symbol `id`, or NULL. */
const hv_delta *hv_delta_of(const hv_catalog *c, uint64_t id);

/* Canonical order (docs/hyperviews.md): timestamp, then id bytes. */
int hv_delta_cmp(const hv_catalog *c, const hv_delta *a, const hv_delta *b);
/* Bytes compare of two symbols' strings (shorter first on a common prefix). */
int hv_sym_cmp(const hv_catalog *c, uint64_t a, uint64_t b);

#endif
