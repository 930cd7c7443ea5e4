/*
 * test_store_symbols.c: the persisted symbol table (store/symbols.h): ids
 * are dense and stable across reopening, any bytes intern, a damaged
 * symbol record is an error naming segment and offset, and allocation
 * failure leaves the table and the log consistent, and no new string is
 * interned while a batch is open.
 */
#include "unit/store_helpers/store_test.h"
#include "common/alloc.h"
#include "common/error.h"
#include "store/symbols.h"

static rf__store *open_store(const char *dir) {
  rf__store_policy p = rf__store_policy_default();
  p.durability = RF_DURABILITY_NONE;
  p.segment_size = 4096;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  return st;
}

Test(store_symbols, ids_are_stable_across_reopening) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store *st = open_store(dir);
  rf__symtab *t;
  cr_assert_eq(rf__symtab_open(st, &t), 0);
  char buf[32];
  for (int i = 0; i < 2000; i++) {
    snprintf(buf, sizeof buf, "sym-%d", i);
    uint64_t id;
    cr_assert_eq(rf__symtab_intern(t, buf, strlen(buf), &id), 0);
    cr_assert_eq(id, (uint64_t)i + 1);
    if (i % 10 == 0) cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "other", 5, NULL), 0);
  }
  uint64_t id;
  cr_assert_eq(rf__symtab_intern(t, "sym-7", 5, &id), 0);
  cr_assert_eq(id, 8);
  cr_assert_eq(rf__symtab_intern(t, "", 0, &id), 0); /* the empty string is a symbol too */
  cr_assert_eq(id, 2001);
  cr_assert_eq(rf__symtab_intern(t, "a\0b", 3, &id), 0);
  cr_assert_eq(id, 2002);
  rf__symtab_close(t);
  rf__store_close(st);

  st = open_store(dir);
  cr_assert_eq(rf__symtab_open(st, &t), 0, "%s", rf_last_error());
  cr_assert_eq(rf__symtab_count(t), 2002);
  for (int i = 0; i < 2000; i++) {
    snprintf(buf, sizeof buf, "sym-%d", i);
    cr_assert(rf__symtab_find(t, buf, strlen(buf), &id));
    cr_assert_eq(id, (uint64_t)i + 1);
    const char *s;
    size_t len;
    cr_assert_eq(rf__symtab_name(t, id, &s, &len), 0);
    cr_assert(len == strlen(buf) && strcmp(s, buf) == 0);
  }
  cr_assert(rf__symtab_find(t, "a\0b", 3, &id));
  cr_assert_eq(id, 2002);
  cr_assert_not(rf__symtab_find(t, "a", 1, &id));
  const char *s;
  cr_assert_eq(rf__symtab_name(t, 0, &s, NULL), RF_ENOTFOUND);
  cr_assert_eq(rf__symtab_name(t, 2003, &s, NULL), RF_ENOTFOUND);
  cr_assert_eq(rf__symtab_intern(t, "new", 3, &id), 0);
  cr_assert_eq(id, 2003);
  rf__symtab_close(t);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_symbols, damaged_symbol_records) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store *st = open_store(dir);
  rf__symtab *t;
  cr_assert_eq(rf__symtab_open(st, &t), 0);
  uint64_t id;
  cr_assert_eq(rf__symtab_intern(t, "x", 1, &id), 0);
  rf__symtab_close(t);
  /* a record claiming id 5 where 2 comes next */
  unsigned char rec[9] = {5, 0, 0, 0, 0, 0, 0, 0, 'y'};
  rf__store_pos pos;
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_SYMBOL, rec, sizeof rec, &pos), 0);
  cr_assert_eq(rf__symtab_open(st, &t), RF_ECORRUPT);
  char want[80];
  snprintf(want, sizeof want, "00000000.seg at offset %llu", (unsigned long long)pos.offset);
  cr_assert(strstr(rf_last_error(), want) != NULL, "%s", rf_last_error());
  cr_assert(strstr(rf_last_error(), "not the next id") != NULL, "%s", rf_last_error());
  rf__store_close(st);
  remove_dir(dir);

  scratch_dir(dir, sizeof dir);
  st = open_store(dir);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_SYMBOL, rec, 4, NULL), 0);
  cr_assert_eq(rf__symtab_open(st, &t), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "shorter than its id") != NULL, "%s", rf_last_error());
  rf__store_close(st);
  remove_dir(dir);

  scratch_dir(dir, sizeof dir);
  st = open_store(dir);
  unsigned char one[9] = {1, 0, 0, 0, 0, 0, 0, 0, 'z'}, two[9] = {2, 0, 0, 0, 0, 0, 0, 0, 'z'};
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_SYMBOL, one, 9, NULL), 0);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_SYMBOL, two, 9, NULL), 0);
  cr_assert_eq(rf__symtab_open(st, &t), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "interned already") != NULL, "%s", rf_last_error());
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_symbols, out_of_memory_keeps_ids_consistent) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store *st = open_store(dir);
  rf__symtab *t;
  cr_assert_eq(rf__symtab_open(st, &t), 0);
  uint64_t expect = 0;
  char buf[32];
  for (int i = 0; i < 600; i++) {
    snprintf(buf, sizeof buf, "s%d", i);
    uint64_t id = 0;
    rf__alloc_fail_after((uint64_t)(i % 4) + 1);
    int rc = rf__symtab_intern(t, buf, strlen(buf), &id);
    rf__alloc_fail_after(0);
    cr_assert(rc == 0 || rc == RF_ENOMEM, "%d %s", rc, rf_last_error());
    if (rc == 0) cr_assert_eq(id, ++expect);
    cr_assert_eq(rf__symtab_count(t), expect);
  }
  rf__symtab_close(t);
  rf__store_close(st);
  st = open_store(dir);
  cr_assert_eq(rf__symtab_open(st, &t), 0, "%s", rf_last_error());
  cr_assert_eq(rf__symtab_count(t), expect);
  rf__symtab_close(t);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_symbols, no_new_string_inside_a_batch) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store *st = open_store(dir);
  rf__symtab *t;
  cr_assert_eq(rf__symtab_open(st, &t), 0);
  uint64_t a, b;
  cr_assert_eq(rf__symtab_intern(t, "known", 5, &a), 0);
  cr_assert_eq(rf__store_batch_begin(st), 0);
  /* a known string is fine; a new one could be dropped with the batch while
   * its id stayed given out, so it is refused */
  cr_assert_eq(rf__symtab_intern(t, "known", 5, &b), 0);
  cr_assert_eq(a, b);
  cr_assert_eq(rf__symtab_intern(t, "new", 3, &b), RF_ESTATE);
  cr_assert(strstr(rf_last_error(), "batch") != NULL, "%s", rf_last_error());
  cr_assert_eq(rf__store_batch_abort(st), 0);
  cr_assert_eq(rf__symtab_intern(t, "new", 3, &b), 0);
  cr_assert_eq(b, 2);
  rf__symtab_close(t);
  rf__store_close(st);
  remove_dir(dir);
}
