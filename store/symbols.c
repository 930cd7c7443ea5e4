/*
 * symbols.c: the persisted symbol table (symbols.h): strings by id in an
 * array, ids by string in an open-addressing hash table (linear probing,
 * at most half full, keyed by XXH3-64 of the bytes), SYMBOL records in the
 * log as the durable copy.
 */
#include "store/symbols.h"

#include <inttypes.h>
#include <string.h>
#include <xxhash.h>

#include "common/alloc.h"
#include "common/error.h"
#include "store/le.h"

struct rf__symtab {
  rf__store *st;
  char **strs;   /* strs[id - 1], NUL-terminated copies */
  size_t *lens;  /* lens[id - 1] */
  size_t n;        /* ids in use */
  size_t strs_cap, lens_cap;
  uint64_t *slots; /* hash table of ids (0 = empty) */
  size_t n_slots;  /* power of two */
  uint8_t *rec;    /* scratch for one record */
  size_t rec_cap;
};

static size_t slot_of(const rf__symtab *t, const void *s, size_t len) {
  return (size_t)XXH3_64bits(s, len) & (t->n_slots - 1);
}

int rf__symtab_find(const rf__symtab *t, const void *s, size_t len, uint64_t *id) {
  if (!t->n_slots) return 0;
  for (size_t i = slot_of(t, s, len);; i = (i + 1) & (t->n_slots - 1)) {
    uint64_t v = t->slots[i];
    if (v == 0) return 0;
    if (t->lens[v - 1] == len && memcmp(t->strs[v - 1], s, len) == 0) {
      *id = v;
      return 1;
    }
  }
}

/* Makes room for one more string (table, arrays) and copies s into *copy:
 * after this, commit cannot fail. 0 or RF_ENOMEM (nothing changed that
 * matters: only capacities grew). */
static int reserve(rf__symtab *t, const void *s, size_t len, char **copy) {
  if ((t->n + 1) * 2 > t->n_slots) {
    size_t ncap = t->n_slots ? t->n_slots * 2 : 256;
    uint64_t *ns = rf__calloc(ncap, sizeof *ns);
    RF_CHECK_ALLOC(ns);
    for (size_t i = 0; i < t->n_slots; i++) {
      uint64_t v = t->slots[i];
      if (!v) continue;
      size_t k = (size_t)XXH3_64bits(t->strs[v - 1], t->lens[v - 1]) & (ncap - 1);
      while (ns[k]) k = (k + 1) & (ncap - 1);
      ns[k] = v;
    }
    rf__free(t->slots);
    t->slots = ns;
    t->n_slots = ncap;
  }
  if (rf__grow((void **)&t->strs, &t->strs_cap, t->n + 1, sizeof *t->strs) < 0 ||
      rf__grow((void **)&t->lens, &t->lens_cap, t->n + 1, sizeof *t->lens) < 0)
    return rf__error(RF_ENOMEM, "symbols: out of memory");
  *copy = rf__malloc(len + 1);
  RF_CHECK_ALLOC(*copy);
  if (len) memcpy(*copy, s, len);
  (*copy)[len] = 0;
  return 0;
}

/* Adds the reserved copy as id n + 1. */
static void commit(rf__symtab *t, char *copy, size_t len) {
  t->strs[t->n] = copy;
  t->lens[t->n] = len;
  uint64_t id = ++t->n;
  size_t i = slot_of(t, copy, len);
  while (t->slots[i]) i = (i + 1) & (t->n_slots - 1);
  t->slots[i] = id;
}


int rf__symtab_open(rf__store *st, rf__symtab **out) {
  rf__symtab *t = rf__calloc(1, sizeof *t);
  RF_CHECK_ALLOC(t);
  t->st = st;
  rf__store_reader *r;
  int rc = rf__store_reader_open(st, (rf__store_pos){0, 0}, &r);
  if (rc < 0) {
    rf__symtab_close(t);
    return rc;
  }
  rf__store_record rec;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) {
    if (rec.type != RF_STORE_REC_SYMBOL) continue;
    uint64_t found;
    const char *why = NULL;
    if (rec.len < 8)
      why = "shorter than its id";
    else if (get_u64(rec.data) != t->n + 1)
      why = "not the next id";
    else if (rf__symtab_find(t, rec.data + 8, rec.len - 8, &found))
      why = "a string interned already";
    if (why) {
      char name[32];
      rf__store_segment_name(rec.pos.segment, name, sizeof name);
      rc = rf__error(RF_ECORRUPT,
                     "symbols: %s at offset %" PRIu64 ": symbol record %s (id %" PRIu64
                     ", expected %zu)",
                     name, rec.pos.offset, why, rec.len >= 8 ? get_u64(rec.data) : 0, t->n + 1);
      break;
    }
    char *copy;
    if ((rc = reserve(t, rec.data + 8, rec.len - 8, &copy)) < 0) break;
    commit(t, copy, rec.len - 8);
  }
  rf__store_reader_close(r);
  if (rc < 0) {
    rf__symtab_close(t);
    return rc;
  }
  *out = t;
  return 0;
}

void rf__symtab_close(rf__symtab *t) {
  if (!t) return;
  for (size_t i = 0; i < t->n; i++) rf__free(t->strs[i]);
  rf__free(t->strs);
  rf__free(t->lens);
  rf__free(t->slots);
  rf__free(t->rec);
  rf__free(t);
}

int rf__symtab_intern(rf__symtab *t, const void *s, size_t len, uint64_t *id) {
  if (rf__symtab_find(t, s, len, id)) return 0;
  /* In a batch the SYMBOL record could still be dropped (abort, crash)
   * while the id stayed given out here: the next id written would then not
   * be the next one in the log. */
  RF_RETURN_ERROR_IF(rf__store_in_batch(t->st), RF_ESTATE,
                     "symbols: cannot intern a new string while a batch is open");
  RF_RETURN_ERROR_IF(len > RF_STORE_MAX_RECORD - 8, RF_EINVAL,
                     "symbols: a string of %zu bytes is over the limit", len);
  if (rf__grow((void **)&t->rec, &t->rec_cap, len + 8, 1) < 0)
    return rf__error(RF_ENOMEM, "symbols: out of memory");
  uint64_t next = t->n + 1;
  for (int i = 0; i < 8; i++) t->rec[i] = (uint8_t)(next >> (8 * i));
  if (len) memcpy(t->rec + 8, s, len);
  /* Make room in memory first: once the record is in the log, adding it
   * here must not fail (a later intern would reuse the id). */
  char *copy;
  RF_FORWARD_IF_ERROR(reserve(t, s, len, &copy));
  int rc = rf__store_append(t->st, RF_STORE_REC_SYMBOL, t->rec, len + 8, NULL);
  if (rc < 0) {
    rf__free(copy);
    return rc;
  }
  commit(t, copy, len);
  *id = next;
  return rc;
}

int rf__symtab_name(const rf__symtab *t, uint64_t id, const char **s, size_t *len) {
  RF_RETURN_ERROR_IF(id == 0 || id > t->n, RF_ENOTFOUND, "symbols: no symbol with id %" PRIu64,
                     id);
  *s = t->strs[id - 1];
  if (len) *len = t->lens[id - 1];
  return 0;
}

uint64_t rf__symtab_count(const rf__symtab *t) { return t->n; }
