/*
 * alloc.h: the one allocation layer. Every byte rhizoflow allocates goes
 * through these functions (backed by jemalloc), so that memory can be
 * measured (rf__alloc_stats) and allocation failure can be injected in tests
 * (rf__alloc_fail_after).
 */
#ifndef RF_COMMON_ALLOC_H
#define RF_COMMON_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *rf__malloc(size_t n);
void *rf__calloc(size_t count, size_t size);
void *rf__realloc(void *p, size_t n);
void rf__free(void *p);
/* Best-effort: gives back the unused tail of a block, returning the block
 * to keep using (p itself if the allocator cannot move it: still valid,
 * only larger). Never fails, and the fault injector never targets it, so
 * an injected failure always means an allocation whose failure matters. */
void *rf__shrink(void *p, size_t n);
char *rf__strdup(const char *s);

/* The growing part of rf__grow. */
int rf__grow_slow(void **p, size_t *cap, size_t need, size_t elem);
/* Grows *p (an array of elem-byte items with capacity *cap) to hold at least
 * `need` items. Returns 0 or RF_ENOMEM (leaving *p unchanged). Inline: most
 * calls find the room already there, on hot paths (a call per key). */
static inline int rf__grow(void **p, size_t *cap, size_t need, size_t elem) {
  return need <= *cap ? 0 : rf__grow_slow(p, cap, need, elem);
}

/* Test hook: the n-th allocation from now fails (n = 0 disables). Counting
 * is global to the process. */
void rf__alloc_fail_after(uint64_t n);
/* Allocations that failed because of rf__alloc_fail_after. */
uint64_t rf__alloc_injected_failures(void);

/* jemalloc's view of the whole process (stats.allocated, stats.resident). */
void rf__alloc_stats(uint64_t *allocated, uint64_t *resident);

/* Frees p, an array of about `bytes` bytes (rf__free otherwise). Large
 * arrays (batches, update buffers, sort scratch) are freed this way: see
 * alloc.c for why the allocator is told. */
void rf__free_sized(void *p, size_t bytes);

#endif
