/*
 * jsonw.h: writing JSON text by hand into a growing buffer, in the store's
 * canonical style (docs/store-format.md: only the escapes JSON requires,
 * integers in decimal, reals in their shortest exact form), and the one
 * place hyperviews/ points jansson at the allocation layer.
 */
#ifndef RF_HYPERVIEWS_JSONW_H
#define RF_HYPERVIEWS_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "hyperviews/catalog.h"

typedef struct jbuf {
  char *data; /* NUL-terminated; rf__malloc'd */
  size_t len, cap;
  int err; /* sticky: the first error (RF_ENOMEM, RF_ECORRUPT) */
} jbuf;

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
