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

void jw_put(jbuf *b, const char *s, size_t n) {
  if (b->err) return;
  if (rf__grow((void **)&b->data, &b->cap, b->len + n + 1, 1)) {
    b->err = RF_ENOMEM;
    return;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

void jw_puts(jbuf *b, const char *s) { jw_put(b, s, strlen(s)); }

void jw_string(jbuf *b, const char *s, size_t n) {
  jw_put(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
    jw_put(b, s + run, i - run);
    run = i + 1;
    char esc[8];
    switch (ch) {
      case '"': jw_puts(b, "\\\""); break;
      case '\\': jw_puts(b, "\\\\"); break;
      case '\b': jw_puts(b, "\\b"); break;
      case '\f': jw_puts(b, "\\f"); break;
      case '\n': jw_puts(b, "\\n"); break;
      case '\r': jw_puts(b, "\\r"); break;
      case '\t': jw_puts(b, "\\t"); break;
      default:
        snprintf(esc, sizeof esc, "\\u%04x", ch);
        jw_puts(b, esc);
    }
  }
  jw_put(b, s + run, n - run);
  jw_put(b, "\"", 1);
}

void jw_i64(jbuf *b, int64_t v) {
  char s[32];
  snprintf(s, sizeof s, "%" PRId64, v);
  jw_puts(b, s);
}

void jw_real(jbuf *b, double v) {
  char s[40];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, v);
    if (strtod(s, NULL) == v) break;
  }
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
