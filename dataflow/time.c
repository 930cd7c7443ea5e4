/*
 * time.c: antichain operations (see time.h). Antichains are small (usually
 * one element), so every operation is a linear scan.
 */
#include "dataflow/time.h"

#include <string.h>

#include "common/alloc.h"
#include "rhizoflow.h"

void rf__antichain_init(rf__antichain *a, uint32_t dim) {
  a->dim = dim;
  a->n = 0;
  a->cap = 0;
  a->t = NULL;
}

void rf__antichain_free(rf__antichain *a) {
  rf__free(a->t);
  a->t = NULL;
  a->n = a->cap = 0;
}

void rf__antichain_clear(rf__antichain *a) { a->n = 0; }

static int reserve(rf__antichain *a, uint32_t n) {
  if (n <= a->cap) return 0;
  uint32_t ncap = a->cap ? a->cap * 2 : 2;
  while (ncap < n) ncap *= 2;
  uint64_t *nt = rf__realloc(a->t, (size_t)ncap * a->dim * sizeof(uint64_t));
  if (!nt) return RF_ENOMEM;
  a->t = nt;
  a->cap = ncap;
  return 0;
}

void rf__antichain_reset(rf__antichain *a, uint32_t dim) {
  /* Capacity is counted in elements of the old dim: drop it if dim changes. */
  if (a->dim != dim) {
    rf__free(a->t);
    a->t = NULL;
    a->cap = 0;
    a->dim = dim;
  }
  a->n = 0;
}

int rf__antichain_copy(rf__antichain *dst, const rf__antichain *src) {
  rf__antichain_reset(dst, src->dim);
  if (reserve(dst, src->n) < 0) return RF_ENOMEM;
  if (src->n) memcpy(dst->t, src->t, (size_t)src->n * src->dim * sizeof(uint64_t));
  dst->n = src->n;
  return 0;
}

int rf__antichain_insert(rf__antichain *a, const uint64_t *t) {
  uint32_t d = a->dim;
  for (uint32_t i = 0; i < a->n; i++)
    if (rf__time_le(a->t + (size_t)i * d, t, d)) return 0;
  /* Drop elements in t's future, then append t. */
  uint32_t w = 0;
  for (uint32_t i = 0; i < a->n; i++) {
    uint64_t *e = a->t + (size_t)i * d;
    if (rf__time_le(t, e, d)) continue;
    if (w != i) memmove(a->t + (size_t)w * d, e, d * sizeof(uint64_t));
    w++;
  }
  a->n = w;
  if (reserve(a, a->n + 1) < 0) return RF_ENOMEM;
  memcpy(a->t + (size_t)a->n * d, t, d * sizeof(uint64_t));
  a->n++;
  return 1;
}

int rf__antichain_set1(rf__antichain *a, const uint64_t *t) {
  a->n = 0;
  return rf__antichain_insert(a, t) < 0 ? RF_ENOMEM : 0;
}

bool rf__antichain_lt(const rf__antichain *a, const uint64_t *t) {
  for (uint32_t i = 0; i < a->n; i++) {
    const uint64_t *e = a->t + (size_t)i * a->dim;
    if (rf__time_le(e, t, a->dim) && !rf__time_eq(e, t, a->dim)) return true;
  }
  return false;
}

bool rf__antichain_eq(const rf__antichain *a, const rf__antichain *b) {
  if (a->n != b->n) return false;
  for (uint32_t i = 0; i < a->n; i++) {
    bool found = false;
    for (uint32_t j = 0; j < b->n && !found; j++)
      found = rf__time_eq(a->t + (size_t)i * a->dim, b->t + (size_t)j * b->dim, a->dim);
    if (!found) return false;
  }
  return true;
}

bool rf__antichain_dominates(const rf__antichain *a, const rf__antichain *b) {
  for (uint32_t j = 0; j < b->n; j++)
    if (!rf__antichain_le(a, b->t + (size_t)j * b->dim)) return false;
  return true;
}

int rf__antichain_meet(const rf__antichain *a, const rf__antichain *b,
                       rf__antichain *out) {
  rf__antichain tmp;
  rf__antichain_init(&tmp, a->dim);
  for (uint32_t i = 0; i < a->n; i++)
    if (rf__antichain_insert(&tmp, rf__antichain_at(a, i)) < 0) goto oom;
  for (uint32_t i = 0; i < b->n; i++)
    if (rf__antichain_insert(&tmp, rf__antichain_at(b, i)) < 0) goto oom;
  rf__antichain_free(out);
  *out = tmp;
  return 0;
oom:
  rf__antichain_free(&tmp);
  return RF_ENOMEM;
}
