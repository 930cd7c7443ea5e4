/*
 * jsonw.h: writing JSON text by hand into a growing buffer, in the store's
 * canonical style (strings and reals through store/delta.h's encoders),
 * and the one place hyperviews/ points jansson at the allocation layer.
 */
#ifndef RF_HYPERVIEWS_JSONW_H
#define RF_HYPERVIEWS_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "hyperviews/catalog.h"
#include "store/delta.h"

/* A JSON text being written: the bytes (kept NUL-terminated after every
 * write) and a sticky error. */
typedef struct jbuf {
  rf__bytes b;
  int err; /* the first error (RF_ENOMEM, RF_ECORRUPT) */
} jbuf;

/* The text written so far (NUL-terminated; NULL if nothing was). */
static inline char *jw_text(const jbuf *j) { return (char *)j->b.data; }

void jw_put(jbuf *b, const char *s, size_t n);
void jw_puts(jbuf *b, const char *s);
void jw_string(jbuf *b, const char *s, size_t n);
void jw_i64(jbuf *b, int64_t v);
/* Always with a '.' or an exponent, so that it reads back as a real. */
void jw_real(jbuf *b, double v);
/* The string of a symbol, as a JSON string. */
void jw_sym(jbuf *b, const hv_catalog *cat, uint64_t sym);

/* Makes jansson allocate through rf__malloc (once per process; the store
 * sets the same functions). Call before any jansson use. */
void hv_json_init(void);

#endif
