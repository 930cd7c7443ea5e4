/*
 * catalog.c: interned strings and delta bodies (catalog.h), in an
 * append-only arena with two chunked pointer tables indexed by symbol:
 * the string of each symbol, and the delta body of each delta id symbol.
 * The string -> symbol map is an open-addressing hash table that only the
 * writer touches.
 */
#include "hyperviews/catalog.h"

#include <string.h>
#include <xxhash.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"

#define CHUNK_BITS 16
#define CHUNK (1u << CHUNK_BITS)
#define N_CHUNKS (1u << 16) /* symbols up to 2^32 */
#define ARENA_BLOCK (256u << 10)

typedef struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
} arena_block;

/* A pointer table indexed by symbol: chunk pointers are written once by
 * the writer (release) and read by any thread (acquire); entries likewise. */
typedef struct ptr_table {
  void **chunks[N_CHUNKS];
} ptr_table;

/* The string -> symbol map: open addressing; slots are only ever filled,
 * never emptied. The writer fills a slot's hash, then publishes its sym
 * (release); readers load sym (acquire), then hash. Growing publishes a
 * new map (release) and keeps the old one until the catalog is freed, so a
 * reader still probing it never reads freed memory (at most twice the
 * final map's memory in all). */
typedef struct slot {
  uint64_t hash, sym; /* sym 0: empty */
} slot;

typedef struct symmap {
  struct symmap *older; /* maps this one replaced, freed with the catalog */
  size_t cap;           /* a power of two */
  slot s[];
} symmap;

struct hv_catalog {
  arena_block *arena;
  ptr_table *names;  /* sym -> arena string: [u32 len][bytes][NUL] */
  ptr_table *deltas; /* sym -> hv_delta */
  uint64_t n_syms;   /* writer only: the last symbol given */
  symmap *map;       /* written by the writer (release), read by any thread */
};

static void *arena_alloc(hv_catalog *c, size_t n) {
  n = (n + 15) & ~(size_t)15;
  arena_block *b = c->arena;
  if (!b || b->cap - b->used < n) {
    size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
    arena_block *nb = rf__malloc(sizeof *nb + cap);
    if (!nb) return NULL;
    nb->next = b;
    nb->used = 0;
    nb->cap = cap;
    c->arena = b = nb;
  }
  void *p = b->data + b->used;
  b->used += n;
  return p;
}

/* Writer: stores v at index i, allocating its chunk if needed. */
static int table_set(ptr_table *t, uint64_t i, void *v) {
  if (i >> (2 * CHUNK_BITS)) return rf__error(RF_ERANGE, "hyperviews: more than 2^32 symbols");
  void **chunk = rf__atomic_load_acquire_ptr(&t->chunks[i >> CHUNK_BITS]);
  if (!chunk) {
    chunk = rf__calloc(CHUNK, sizeof *chunk);
    if (!chunk) return RF_ENOMEM;
    /* Release: the zeroed chunk is visible before its pointer. */
    rf__atomic_store_release_ptr(&t->chunks[i >> CHUNK_BITS], chunk);
  }
  /* Release: the entry's contents are visible before the entry. */
  rf__atomic_store_release_ptr(&chunk[i & (CHUNK - 1)], v);
  return 0;
}

/* Any thread. */
static void *table_get(const ptr_table *t, uint64_t i) {
  if (i >> (2 * CHUNK_BITS)) return NULL;
  void **chunk = rf__atomic_load_acquire_ptr(&t->chunks[i >> CHUNK_BITS]);
  return chunk ? rf__atomic_load_acquire_ptr(&chunk[i & (CHUNK - 1)]) : NULL;
}

static void table_free(ptr_table *t) {
  if (!t) return;
  for (size_t i = 0; i < N_CHUNKS; i++) rf__free(t->chunks[i]);
  rf__free(t);
}

int hv_catalog_new(hv_catalog **out) {
  hv_catalog *c = rf__calloc(1, sizeof *c);
  if (!c) return RF_ENOMEM;
  c->names = rf__calloc(1, sizeof *c->names);
  c->deltas = rf__calloc(1, sizeof *c->deltas);
  c->map = rf__calloc(1, sizeof *c->map + 1024 * sizeof(slot));
  if (c->map) c->map->cap = 1024;
  if (!c->names || !c->deltas || !c->map) {
    hv_catalog_free(c);
    return RF_ENOMEM;
  }
  *out = c;
  return 0;
}

void hv_catalog_free(hv_catalog *c) {
  if (!c) return;
  table_free(c->names);
  table_free(c->deltas);
  for (symmap *m = c->map, *o; m; m = o) {
    o = m->older;
    rf__free(m);
  }
  for (arena_block *b = c->arena, *n; b; b = n) {
    n = b->next;
    rf__free(b);
  }
  rf__free(c);
}

static const char *entry_str(const void *e, size_t *len) {
  uint32_t n;
  memcpy(&n, e, sizeof n);
  if (len) *len = n;
  return (const char *)e + sizeof n;
}

/* Any thread: the slot of s in m, or of the empty slot where it would go. */
static size_t probe_slot(const hv_catalog *c, const symmap *m, uint64_t h, const char *s,
                         size_t len, int *found) {
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const slot *sl = &m->s[i];
    /* Acquire: pairs with the writer's release of sym (hash written before). */
    uint64_t sym = rf__atomic_load_acquire_64(&sl->sym);
    if (!sym) {
      *found = 0;
      return i;
    }
    if (sl->hash == h) {
      size_t n;
      const char *e = entry_str(table_get(c->names, sym), &n);
      if (n == len && memcmp(e, s, len) == 0) {
        *found = 1;
        return i;
      }
    }
  }
}

/* Writer. */
static int map_grow(hv_catalog *c) {
  symmap *old = c->map;
  size_t cap = old->cap * 2;
  symmap *m = rf__calloc(1, sizeof *m + cap * sizeof(slot));
  if (!m) return RF_ENOMEM;
  m->cap = cap;
  m->older = old;
  for (size_t i = 0; i < old->cap; i++) {
    if (!old->s[i].sym) continue;
    size_t j = old->s[i].hash & (cap - 1);
    while (m->s[j].sym) j = (j + 1) & (cap - 1);
    m->s[j] = old->s[i];
  }
  /* Release: the filled map is visible before readers can load it. */
  rf__atomic_store_release_ptr(&c->map, m);
  return 0;
}

int hv_find(const hv_catalog *c, const char *s, size_t len, uint64_t *sym) {
  int found;
  const symmap *m = rf__atomic_load_acquire_ptr(&c->map);
  size_t i = probe_slot(c, m, XXH3_64bits(s, len), s, len, &found);
  if (found) *sym = rf__atomic_load_acquire_64(&m->s[i].sym);
  return found;
}

int hv_intern(hv_catalog *c, const char *s, size_t len, uint64_t *sym) {
  RF_RETURN_ERROR_IF(len > UINT32_MAX - 16, RF_EINVAL, "hyperviews: a string of %zu bytes", len);
  uint64_t h = XXH3_64bits(s, len);
  int found;
  size_t i = probe_slot(c, c->map, h, s, len, &found);
  if (found) {
    *sym = c->map->s[i].sym;
    return 0;
  }
  if ((c->n_syms + 1) * 2 > c->map->cap) {
    RF_FORWARD_IF_ERROR(map_grow(c));
    i = probe_slot(c, c->map, h, s, len, &found);
  }
  unsigned char *e = arena_alloc(c, sizeof(uint32_t) + len + 1);
  if (!e) return RF_ENOMEM;
  uint32_t n = (uint32_t)len;
  memcpy(e, &n, sizeof n);
  memcpy(e + sizeof n, s, len);
  e[sizeof n + len] = 0;
  uint64_t id = c->n_syms + 1;
  RF_FORWARD_IF_ERROR(table_set(c->names, id, e));
  c->n_syms = id;
  c->map->s[i].hash = h;
  /* Release: the string and the hash are visible before the slot is. */
  rf__atomic_store_release_64(&c->map->s[i].sym, id);
  *sym = id;
  return 0;
}

const char *hv_name(const hv_catalog *c, uint64_t sym, size_t *len) {
  const void *e = table_get(c->names, sym);
  return e ? entry_str(e, len) : NULL;
}

hv_delta *hv_delta_alloc(hv_catalog *c, uint32_t n_ptrs) {
  hv_delta *d = arena_alloc(c, sizeof *d + (size_t)n_ptrs * sizeof(hv_ptr));
  if (d) {
    memset(d, 0, sizeof *d);
    d->n_ptrs = n_ptrs;
  }
  return d;
}

int hv_delta_publish(hv_catalog *c, hv_delta *d) {
  return table_set(c->deltas, d->id, d);
}

const hv_delta *hv_delta_of(const hv_catalog *c, uint64_t id) {
  return table_get(c->deltas, id);
}

int hv_sym_cmp(const hv_catalog *c, uint64_t a, uint64_t b) {
  if (a == b) return 0;
  size_t la, lb;
  const char *sa = hv_name(c, a, &la), *sb = hv_name(c, b, &lb);
  if (!sa || !sb) return (a > b) - (a < b);
  int r = memcmp(sa, sb, la < lb ? la : lb);
  if (r) return r < 0 ? -1 : 1;
  return (la > lb) - (la < lb);
}

int hv_delta_cmp(const hv_catalog *c, const hv_delta *a, const hv_delta *b) {
  if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
  return hv_sym_cmp(c, a->id, b->id);
}
