/*
 * upbuf.c: update buffers (see upbuf.h).
 */
#include "dataflow/upbuf.h"

#include <string.h>

#include "common/alloc.h"
#include "common/sort.h"
#include "rhizoflow.h"

rf__upbuf *rf__upbuf_new(uint32_t arity, uint32_t dim, size_t cap_hint) {
  rf__upbuf *b = rf__malloc(sizeof *b);
  if (!b) return NULL;
  b->refs = 1;
  b->arity = arity;
  b->dim = dim;
  b->width = arity + dim + 1;
  b->n = 0;
  b->cap = 0;
  b->rows = NULL;
  if (cap_hint && rf__upbuf_reserve(b, cap_hint) < 0) {
    rf__free(b);
    return NULL;
  }
  return b;
}

rf__upbuf *rf__upbuf_ref(rf__upbuf *b) {
  b->refs++;
  return b;
}

static size_t rows_bytes(const rf__upbuf *b) { return b->cap * b->width * sizeof(uint64_t); }

void rf__upbuf_unref(rf__upbuf *b) {
  if (!b || --b->refs > 0) return;
  rf__free_sized(b->rows, rows_bytes(b));
  rf__free(b);
}

int rf__upbuf_reserve(rf__upbuf *b, size_t rows) {
  if (rows <= b->cap) return 0;
  size_t ncap = b->cap ? b->cap : 16;
  while (ncap < rows) ncap *= 2;
  uint64_t *nr = rf__realloc(b->rows, ncap * b->width * sizeof(uint64_t));
  if (!nr) return RF_ENOMEM;
  b->rows = nr;
  b->cap = ncap;
  return 0;
}

void rf__upbuf_shrink(rf__upbuf *b) {
  if (b->n == b->cap) return;
  if (b->n == 0) {
    rf__free_sized(b->rows, rows_bytes(b));
    b->rows = NULL;
    b->cap = 0;
    return;
  }
  b->rows = rf__shrink(b->rows, b->n * b->width * sizeof(uint64_t));
  b->cap = b->n;
}

int rf__upbuf_append(rf__upbuf *b, const rf__upbuf *src) {
  if (rf__upbuf_reserve(b, b->n + src->n) < 0) return RF_ENOMEM;
  memcpy(b->rows + b->n * b->width, src->rows, src->n * src->width * sizeof(uint64_t));
  b->n += src->n;
  return 0;
}

int rf__upbuf_push(rf__upbuf *b, const uint64_t *rec, const uint64_t *time, int64_t diff) {
  uint64_t *r = rf__upbuf_push_raw(b);
  if (!r) return RF_ENOMEM;
  /* A few words each: plain loops beat memcpy calls. */
  for (uint32_t i = 0; i < b->arity; i++) r[i] = rec[i];
  for (uint32_t i = 0; i < b->dim; i++) r[b->arity + i] = time[i];
  r[b->arity + b->dim] = (uint64_t)diff;
  return 0;
}

int rf__upbuf_consolidate(rf__upbuf *b) {
  uint32_t key = b->arity + b->dim, w = b->width;
  if (b->n == 0) return 0;
  if (rf__sort_rows(b->rows, b->n, w, key) < 0) return RF_ENOMEM;
  size_t out = 0;
  for (size_t i = 0; i < b->n;) {
    uint64_t *r = b->rows + i * w;
    int64_t sum = (int64_t)r[key];
    size_t j = i + 1;
    while (j < b->n && rf__words_cmp(b->rows + j * w, r, key) == 0) {
      sum += (int64_t)b->rows[j * w + key];
      j++;
    }
    if (sum != 0) {
      uint64_t *o = b->rows + out * w;
      if (o != r) memcpy(o, r, key * sizeof(uint64_t));
      o[key] = (uint64_t)sum;
      out++;
    }
    i = j;
  }
  b->n = out;
  return 0;
}

int rf__upbuf_min_times(const rf__upbuf *b, rf__antichain *out) {
  for (size_t i = 0; i < b->n; i++) {
    const uint64_t *t = rf__upbuf_time(b, i);
    if (rf__antichain_le(out, t)) continue; /* the common case: t adds nothing */
    if (rf__antichain_insert(out, t) < 0) return RF_ENOMEM;
  }
  return 0;
}
