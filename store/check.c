/*
 * check.c: verifying a whole store (check.h). One pass of a reader over the
 * log (which checks every frame's checksum again) looks at each record by
 * type: a DELTA must be its own canonical form, an UPDATES record must
 * decode, RAW is opaque, SYMBOL records are checked by building a symbol
 * table from the log afterwards, anything else is of an unknown type. Then
 * the number of DELTA records must equal the number of distinct deltas (a
 * delta stored twice would break idempotence).
 */
#include "store/check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "store/symbols.h"
#include "store/updates.h"

typedef struct checker {
  rf__problem_fn fn;
  void *ctx;
  uint64_t problems;
} checker;

static void problem(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(checker *c, const char *fmt, ...) {
  c->problems++;
  if (!c->fn) return;
  char buf[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  c->fn(c->ctx, buf);
}

int rf__store_check(rf__deltas *ds, int note_is_problem, rf__problem_fn fn, void *ctx,
                    uint64_t *problems) {
  checker c = {fn, ctx, 0};
  rf__store *st = rf__deltas_store(ds);
  const char *note = rf__store_recovery_note(st);
  if (note && note_is_problem) problem(&c, "%s", note);
  rf__store_reader *r;
  RF_FORWARD_IF_ERROR(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r));
  rf__store_record rec;
  rf__bytes b = {NULL, 0, 0};
  rf__updates_scratch sc = {0};
  char err[400], name[32];
  uint64_t n_delta = 0;
  int rc;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) {
    rf__store_segment_name(rec.pos.segment, name, sizeof name);
    if (rec.type == RF_STORE_REC_RAW || rec.type == RF_STORE_REC_SYMBOL) continue;
    if (rec.type == RF_STORE_REC_UPDATES) {
      rf__updates u;
      int v = rf__updates_decode(rec.data, rec.len, &sc, &u, err, sizeof err);
      if (v == RF_ENOMEM) {
        rc = rf__error(RF_ENOMEM, "store check: out of memory");
        break;
      }
      if (v < 0) problem(&c, "%s at offset %" PRIu64 ": %s", name, rec.pos.offset, err);
      continue;
    }
    if (rec.type != RF_STORE_REC_DELTA) {
      problem(&c, "%s at offset %" PRIu64 ": unknown record type %u", name, rec.pos.offset,
              rec.type);
      continue;
    }
    n_delta++;
    b.len = 0;
    int v = rf__delta_canonicalize((const char *)rec.data, rec.len, &b, err, sizeof err);
    if (v == RF_ENOMEM) {
      rc = rf__error(RF_ENOMEM, "store check: out of memory");
      break;
    }
    if (v < 0 || b.len != rec.len || memcmp(b.data, rec.data, rec.len) != 0)
      problem(&c, "%s at offset %" PRIu64 ": delta not in canonical form%s%s", name, rec.pos.offset,
              v < 0 ? ": " : "", v < 0 ? err : "");
  }
  rf__free(b.data);
  rf__updates_scratch_free(&sc);
  rf__store_reader_close(r);
  if (rc == RF_ECORRUPT) {
    problem(&c, "%s", rf_last_error());
    rc = 0;
  }
  if (rc < 0) return rc;
  if (n_delta != rf__deltas_count(ds))
    problem(&c, "%" PRIu64 " delta records but %" PRIu64 " distinct deltas", n_delta,
            rf__deltas_count(ds));
  rf__symtab *syms = NULL;
  rc = rf__symtab_open(st, &syms);
  if (rc == RF_ENOMEM) return rc;
  if (rc < 0) problem(&c, "%s", rf_last_error());
  rf__symtab_close(syms);
  if (problems) *problems = c.problems;
  if (c.problems)
    return rf__error(RF_ECORRUPT, "store check: %" PRIu64 " problem%s found", c.problems,
                     c.problems == 1 ? "" : "s");
  return 0;
}
