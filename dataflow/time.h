/*
 * time.h: timestamps and antichains.
 *
 * A time is `dim` 64-bit words: (epoch) at the top scope and (epoch, i1, ...,
 * ik) inside k nested iterate scopes. Times are partially ordered
 * component-wise (the product order); rf__time_cmp gives a total order (the
 * lexicographic one) that extends it, used for sorting.
 *
 * An antichain is a set of mutually incomparable times; as a frontier it
 * stands for every time >= one of its elements ("the future"). The empty
 * antichain is the frontier of a finished stream: nothing can come.
 */
#ifndef RF_DATAFLOW_TIME_H
#define RF_DATAFLOW_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RF_MAX_DIM 5 /* top epoch + RF_MAX_NESTING iteration coordinates */

/* Product order: a <= b in every coordinate. */
static inline bool rf__time_le(const uint64_t *a, const uint64_t *b, uint32_t dim) {
  for (uint32_t i = 0; i < dim; i++)
    if (a[i] > b[i]) return false;
  return true;
}
static inline bool rf__time_eq(const uint64_t *a, const uint64_t *b, uint32_t dim) {
  for (uint32_t i = 0; i < dim; i++)
    if (a[i] != b[i]) return false;
  return true;
}
/* Lexicographic total order extending the product order: <0, 0, >0. */
static inline int rf__time_cmp(const uint64_t *a, const uint64_t *b, uint32_t dim) {
  for (uint32_t i = 0; i < dim; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}
/* Least upper bound (coordinate-wise max). out may alias a or b. */
static inline void rf__time_join(const uint64_t *a, const uint64_t *b, uint64_t *out,
                                 uint32_t dim) {
  for (uint32_t i = 0; i < dim; i++) out[i] = a[i] > b[i] ? a[i] : b[i];
}
/* Greatest lower bound (coordinate-wise min). */
static inline void rf__time_meet(const uint64_t *a, const uint64_t *b, uint64_t *out,
                                 uint32_t dim) {
  for (uint32_t i = 0; i < dim; i++) out[i] = a[i] < b[i] ? a[i] : b[i];
}

typedef struct rf__antichain {
  uint32_t dim;   /* words per time */
  uint32_t n;     /* elements */
  uint32_t cap;   /* capacity in elements */
  uint64_t *t;    /* n * dim words; NULL when cap == 0 */
} rf__antichain;

void rf__antichain_init(rf__antichain *a, uint32_t dim);
void rf__antichain_free(rf__antichain *a);
void rf__antichain_clear(rf__antichain *a);
/* Empties the antichain and sets its dim (reallocating if the dim changes). */
void rf__antichain_reset(rf__antichain *a, uint32_t dim);
int rf__antichain_copy(rf__antichain *dst, const rf__antichain *src);
/* Inserts t unless some element is <= t; removes elements >= t. Returns 1 if
 * the antichain changed, 0 if not, RF_ENOMEM. */
int rf__antichain_insert(rf__antichain *a, const uint64_t *t);
/* The antichain holding exactly the single time t. */
int rf__antichain_set1(rf__antichain *a, const uint64_t *t);
static inline const uint64_t *rf__antichain_at(const rf__antichain *a, uint32_t i) {
  return a->t + (size_t)i * a->dim;
}
/* Some element <= t: t is in the frontier's future (not yet complete).
 * Inline: asked once per candidate time and per row in hot loops. */
static inline bool rf__antichain_le(const rf__antichain *a, const uint64_t *t) {
  for (uint32_t i = 0; i < a->n; i++)
    if (rf__time_le(a->t + (size_t)i * a->dim, t, a->dim)) return true;
  return false;
}
/* Some element < t (<= and not equal). */
bool rf__antichain_lt(const rf__antichain *a, const uint64_t *t);
/* Same set of elements. */
bool rf__antichain_eq(const rf__antichain *a, const rf__antichain *b);
/* Every element of b is >= some element of a (a is at or before b). */
bool rf__antichain_dominates(const rf__antichain *a, const rf__antichain *b);
/* out = the minimal elements of a ∪ b (the meet of two frontiers). */
int rf__antichain_meet(const rf__antichain *a, const rf__antichain *b,
                       rf__antichain *out);

/* The floor of a non-empty antichain: the meet (coordinate-wise minimum)
 * of its elements. */
static inline void rf__antichain_floor(const rf__antichain *a, uint64_t *out) {
  uint32_t d = a->dim;
  for (uint32_t c = 0; c < d; c++) out[c] = a->t[c];
  for (uint32_t i = 1; i < a->n; i++)
    for (uint32_t c = 0; c < d; c++) {
      uint64_t v = a->t[(size_t)i * d + c];
      if (v < out[c]) out[c] = v;
    }
}

/* Logical compaction: the least time t' such that for every time s in the
 * future of `frontier`, t <= s iff t' <= s. That is the meet, over the
 * frontier's elements f, of join(t, f). Times are products of totally
 * ordered coordinates, a distributive lattice, so that meet of joins is
 * the join of t with the meet of the elements: t' = join(t, floor), one
 * maximum per coordinate once the floor is known (a merge computes it once
 * and advances every time against it). An empty frontier leaves t as is.
 * out may alias t. */
static inline void rf__time_advance(const uint64_t *t, const rf__antichain *frontier,
                                    uint64_t *out) {
  uint32_t d = frontier->dim;
  if (frontier->n == 0) {
    for (uint32_t c = 0; c < d; c++) out[c] = t[c];
    return;
  }
  uint64_t floor[RF_MAX_DIM];
  rf__antichain_floor(frontier, floor);
  rf__time_join(t, floor, out, d);
}

#endif
