/*
 * jsonw.c: the hand-written JSON writer of jsonw.h.
 */
#include "hyperviews/jsonw.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

/* After a write: records its error, or NUL-terminates the text. */
static void written(jbuf *j, int rc) {
  if (!rc) rc = rf__grow((void **)&j->b.data, &j->b.cap, j->b.len + 1, 1);
  if (rc) {
    if (!j->err) j->err = rc;
    return;
  }
  j->b.data[j->b.len] = 0;
}

void jw_put(jbuf *b, const char *s, size_t n) {
  if (!b->err) written(b, rf__bytes_put(&b->b, s, n));
}

void jw_puts(jbuf *b, const char *s) { jw_put(b, s, strlen(s)); }

void jw_string(jbuf *b, const char *s, size_t n) {
  if (!b->err) written(b, rf__json_put_string(&b->b, s, n));
}

void jw_i64(jbuf *b, int64_t v) {
  char s[32];
  snprintf(s, sizeof s, "%" PRId64, v);
  jw_puts(b, s);
}

void jw_real(jbuf *b, double v) {
  char s[40];
  rf__json_shortest_real(v, s, sizeof s - 2);
  if (!strpbrk(s, ".eEn")) strcat(s, ".0");
  jw_puts(b, s);
}

void jw_sym(jbuf *b, const hv_catalog *cat, uint64_t sym) {
  size_t n;
  const char *s = hv_name(cat, sym, &n);
  if (!s) {
    if (!b->err) b->err = rf__error(RF_ECORRUPT, "hyperviews: symbol %" PRIu64 " unknown", sym);
    return;
  }
  jw_string(b, s, n);
}

static void json_alloc_init(void) { json_set_alloc_funcs(rf__malloc, rf__free); }

void hv_json_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, json_alloc_init);
}
